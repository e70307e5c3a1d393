"""Figures as data: geometry computed from numbers, drawn by templates (no ORM, no clock).

Plotly figures are plain dicts (``go.Figure(...).to_plotly_json()``) that a template writes with
``json_script`` and static/js/figures.js draws. Status never relies on colour alone: every status
also has a symbol and a word. Numbers are rounded and only what is drawn is sent, so a page of
a 1,000-node tree stays small.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from goals.rollup.explain import missing_words
from goals.sparkline import Sparkline, sparkline  # noqa: F401  (the dashboards' figures include it)
from goals.units import is_yen

# --- Plotly figures --------------------------------------------------------------------------

STATUS_ORDER = ("off_track", "at_risk", "on_track", "no_data")
# Fills chosen to stay apart for the common colour-vision deficiencies; the symbol and the word
# carry the status without colour.
STATUS_COLOURS = {"on_track": "#23773f", "at_risk": "#f0b429", "off_track": "#c5372c", "no_data": "#cfd5df"}
STATUS_SYMBOLS = {"on_track": "✓", "at_risk": "!", "off_track": "✗", "no_data": "–"}
# The text on each fill: white on the green and the red, dark on the amber and the grey (each at
# least 4.5:1; plotly's own choice put dark text on the green).
STATUS_INKS = {"on_track": "#ffffff", "at_risk": "#1d2433", "off_track": "#ffffff", "no_data": "#1d2433"}
STATUS_MARKERS = {"on_track": "circle", "at_risk": "diamond", "off_track": "x", "no_data": "circle-open"}
STATUS_LABELS = {
    "on_track": _("On track"),
    "at_risk": _("At risk"),
    "off_track": _("Off track"),
    "no_data": _("No data"),
}
TARGET_COLOUR, ACTUAL_COLOUR, PROJECTION_COLOUR = "#5b6475", "#1f5fbf", "#6a3fa0"
# The status map shows the levels that fit in this many boxes (the deepest still readable in a
# box 900 pixels high); deeper levels are reached by drilling in.
ICICLE_BOXES = 120
LABEL_LENGTH = 40
# The box the status map starts from fills its whole height: its name is shown whole (up to
# this length), in lines; the other boxes cut theirs to LABEL_LENGTH on one line.
ROOT_LABEL_LENGTH, ROOT_LABEL_COLUMNS = 120, 30
# A status-map label on a phone, in lines of at most this many columns (a CJK character takes
# two): figures.js shows it there, where a box is a third of 390 px wide.
PHONE_LABEL_LENGTH, PHONE_LABEL_COLUMNS = 64, 16


# --- text: Plotly reads a subset of HTML in every text it draws ----------------------------------


def figure_text(text: object) -> str:
    """``text`` as Plotly shows it, literally. Plotly reads tags (``<a href>``, ``<b>``, ``<br>``
    …) and entities in labels, hover texts, titles, annotations, legend entries and tick texts, so
    a node named ``<a href="…">Session expired</a>`` would be drawn as a live link. Every text
    that goes into a figure passes through here once, after it is cut (a cut must never split
    ``&lt;``, nor leave a tag open). Only ``& < >`` matter: without ``<`` there is no tag, and
    Plotly knows no ``&quot;``."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def figure_lines(lines: Iterable[object]) -> str:
    """Lines of text as one figure text, each escaped, joined by the one tag we add: ``<br>``."""
    return "<br>".join(figure_text(line) for line in lines)


def short(name: str, length: int = LABEL_LENGTH) -> str:
    """A name cut to ``length`` characters with an ellipsis (before escaping: see figure_text)."""
    return name if len(name) <= length else name[: length - 1] + "…"


def _columns(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def wrapped(text: str, columns: int) -> list[str]:
    """``text`` in lines of at most ``columns`` columns, broken at spaces, or between any two
    CJK characters (Japanese has no spaces); a longer word is split."""
    lines: list[str] = []
    line, width = "", 0
    for token in _tokens(text):
        size = sum(_columns(c) for c in token)
        if line and width + size > columns:
            lines.append(line.rstrip())
            line, width = token.lstrip(), sum(_columns(c) for c in token.lstrip())
        else:
            line, width = line + token, width + size
        while width > columns:  # a word longer than a line
            cut, used = 0, 0
            while cut < len(line) and used + _columns(line[cut]) <= columns:
                used += _columns(line[cut])
                cut += 1
            lines.append(line[:cut])
            line = line[cut:]
            width = sum(_columns(c) for c in line)
    if line.strip():
        lines.append(line.rstrip())
    return lines


# Characters that never start a line (Japanese line breaking rules): closing brackets, marks.
NO_LINE_START = set(")]}）」』】〕〉》、。，．,.:;!?・：；？！ーぁぃぅぇぉっゃゅょァィゥェォッャュョ…")


def _tokens(text: str) -> list[str]:
    """Words with the space before them; a CJK character is a word of its own, but a closing
    bracket or mark stays with the character before it."""
    tokens: list[str] = []
    for char in text:
        if char in NO_LINE_START and tokens and not tokens[-1][-1:].isspace():
            tokens[-1] += char
        elif _columns(char) == 2 or not tokens or tokens[-1][-1:].isspace() and not char.isspace():
            tokens.append(char)
        elif _columns(tokens[-1][-1]) == 2:
            tokens.append(char)
        else:
            tokens[-1] += char
    return tokens


def status_text(status: str) -> str:
    """``✗ Off track``: the status in a symbol and a word."""
    status = status if status in STATUS_SYMBOLS else "no_data"
    return f"{STATUS_SYMBOLS[status]} {STATUS_LABELS[status]}"


def rounded(value: float | None) -> float | int | None:
    """Enough digits for a chart and its hover text, and no more (figure JSON stays small)."""
    if value is None:
        return None
    if abs(value) >= 1000:
        return round(value)
    if abs(value) >= 10:
        return round(value, 1)
    return round(value, 3)


def axis_unit(unit: str, *, title: str = "") -> dict:
    """A value axis in the node's unit: ¥ before yen amounts, % after rates, the unit named."""
    axis: dict = {"title": {"text": figure_text(title or unit)}, "separatethousands": True, "automargin": True}
    if is_yen(unit):
        axis["tickprefix"] = "¥"
    elif unit == "%":
        axis["ticksuffix"] = "%"
    return axis


def _layout(title: str | Sequence[str], **extra) -> dict:
    """The common layout; ``title`` is plain text, or its lines."""
    return {
        "template": "none",  # plotly's default template alone is 7 KB per figure
        "title": {
            "text": figure_text(title) if isinstance(title, str) else figure_lines(title),
            "x": 0,
            "xanchor": "left",
            "font": {"size": 15},
        },
        "font": {"family": "system-ui, -apple-system, 'Segoe UI', 'Hiragino Sans', sans-serif", "size": 12},
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "paper_bgcolor": "rgba(0,0,0,0)",
        **extra,
    }


def _figure(data: list, layout: dict) -> dict:
    # Traces go in as dicts: plotly validates each once here (a go.Scatter built first was
    # validated, then copied and validated again by the figure).
    return go.Figure(data=data, layout=layout).to_plotly_json()


def progress_share(*, actual: float | None, baseline: float | None, goal: float | None) -> float | None:
    """How far the value has come from the baseline to the goal, as a share (0.4 = 40%).

    A flow counted from zero passes ``baseline=None``: 70 of a year's 120 is 0.58.
    """
    if actual is None or goal is None:
        return None
    start = baseline or 0.0
    if goal == start:
        return 1.0 if actual == goal else 0.0
    return (actual - start) / (goal - start)


def kgi_bullet(
    *,
    title: str,
    unit: str,
    actual: float | None,
    target: float | None,
    goal: float | None,
    baseline: float | None,
    status: str,
    direction: str = "increase",
) -> dict:
    """Actual against the target to date (the shaded band from the baseline), with the goal at
    the deadline as the threshold line: a bullet chart."""
    known = [v for v in (actual, target, goal, baseline) if v is not None]
    low, high = (min(known), max(known)) if known else (0.0, 1.0)
    if baseline is None and low > 0:
        low = 0.0  # a flow counted from zero
    pad = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
    good, bad = STATUS_COLOURS["on_track"], STATUS_COLOURS["off_track"]
    number: dict = {"valueformat": ",.0f" if max(abs(v) for v in known or [0]) >= 1000 else ",.2~f"}
    if is_yen(unit):
        number["prefix"] = "¥"
    elif unit == "%":
        number["suffix"] = "%"
    elif unit:
        number["suffix"] = " " + figure_text(unit)
    gauge: dict = {
        "shape": "bullet",
        "axis": {"range": [rounded(low - pad if baseline is not None else low), rounded(high + pad)]},
        "bar": {"color": STATUS_COLOURS.get(status, STATUS_COLOURS["no_data"]), "thickness": 0.45},
        "bgcolor": "#ffffff",
        "bordercolor": "#c9d0dc",
    }
    if target is not None:
        gauge["steps"] = [
            {"range": [rounded(baseline if baseline is not None else low), rounded(target)], "color": "#e4e8ef"}
        ]
    if goal is not None:
        gauge["threshold"] = {"line": {"color": "#1d2433", "width": 3}, "thickness": 0.9, "value": rounded(goal)}
    indicator: dict = {
        "mode": "number+gauge" + ("+delta" if target is not None and actual is not None else ""),
        "value": rounded(actual) if actual is not None else None,
        "number": number,
        "gauge": gauge,
        "domain": {"x": [0.28, 1], "y": [0, 1]},
        "title": {
            "text": STATUS_SYMBOLS.get(status, "–") + " " + str(STATUS_LABELS.get(status, "")),
            "font": {"size": 13},
        },
    }
    if target is not None and actual is not None:
        # A decrease target is met from above: going up is the bad direction.
        up, down = (bad, good) if direction == "decrease" else (good, bad)
        indicator["delta"] = {
            "reference": rounded(target),
            "valueformat": number["valueformat"],
            "increasing": {"color": up},
            "decreasing": {"color": down},
        }
    return _figure(
        [{"type": "indicator", **indicator}], _layout(title, height=150, margin={"l": 10, "r": 20, "t": 40, "b": 20})
    )


def progress_chart(
    *,
    title: str,
    unit: str,
    periods: Sequence[str],
    actual: Sequence[float | None],
    target: Sequence[float | None],
    line: Sequence[float | None] = (),
    statuses: Sequence[str] = (),
    expected: float | None = None,
    expected_text: str = "",
    cumulative: bool = False,
) -> dict:
    """Actual against target per period (running totals for a flow), with a straight-line
    projection to the deadline and the value it is expected to reach there."""
    y_title = gettext("%(unit)s, running total") % {"unit": unit} if cumulative and unit else unit
    markers = [STATUS_MARKERS.get(s, "circle") for s in statuses] if statuses else "circle"
    colours = [STATUS_COLOURS.get(s, ACTUAL_COLOUR) for s in statuses] if statuses else ACTUAL_COLOUR
    words = [status_text(s) for s in statuses] if statuses else None
    data = [
        dict(
            type="scatter",
            name=gettext("Target"),
            x=list(periods),
            y=[rounded(v) for v in target],
            mode="lines",
            line={"color": TARGET_COLOUR, "dash": "dash", "width": 2},
        ),
        dict(
            type="scatter",
            name=gettext("Actual"),
            x=list(periods),
            y=[rounded(v) for v in actual],
            mode="lines+markers",
            line={"color": ACTUAL_COLOUR, "width": 2},
            marker={"symbol": markers, "color": colours, "size": 9, "line": {"width": 1, "color": "#1d2433"}},
            text=words,
            hovertemplate="%{x|%Y-%m}: %{y:,}" + ("<br>%{text}" if words else "") + "<extra></extra>",
        ),
    ]
    annotations = []
    if any(v is not None for v in line):
        data.append(
            dict(
                type="scatter",
                name=gettext("Projection"),
                x=list(periods),
                y=[rounded(v) for v in line],
                mode="lines",
                line={"color": PROJECTION_COLOUR, "dash": "dot", "width": 2},
            )
        )
    if expected is not None and periods:
        marker, note = _expected_at_deadline(periods[-1], expected, expected_text)
        marker["hovertemplate"] = "%{y:,}<extra></extra>"
        data.append(marker)
        annotations += note
    layout = _layout(
        title,
        height=300,
        margin={"l": 10, "r": 20, "t": 40, "b": 10},
        xaxis={"title": {"text": gettext("Period")}, "type": "date", "tickformat": "%Y-%m", "automargin": True},
        yaxis=axis_unit(unit, title=y_title),
        legend={"orientation": "h", "y": -0.25},
        annotations=annotations,
        hovermode="closest",
    )
    return _figure(data, layout)


@dataclass(frozen=True)
class StatusMapNode:
    """One node of the status map."""

    id: int
    parent: int | None  # None for the box the map starts from
    label: str
    status: str
    attainment: float | None
    url: str  # where a click goes: the node page, or the dashboard drilled into the node
    depth: int = 0
    page: str = ""  # the node page
    missing: int = 0  # the stored inputs missing over the window (docs/rollup.md §4)

    @property
    def status_text(self) -> str:
        return status_text(self.status)


def depth_within(depths: Sequence[int], budget: int = ICICLE_BOXES) -> int:
    """The deepest level of the map such that all the boxes down to it fit in ``budget``
    (the first level always shows)."""
    by_depth: dict[int, int] = {}
    for depth in depths:
        by_depth[depth] = by_depth.get(depth, 0) + 1
    total, deepest = 0, min(by_depth, default=0)
    for depth in sorted(by_depth):
        total += by_depth[depth]
        if total > budget and depth > min(by_depth):
            break
        deepest = depth
    return deepest


def boxes_within(boxes: Sequence[StatusMapNode], budget: int = ICICLE_BOXES) -> list[StatusMapNode]:
    """The top levels of the map that fit in ``budget`` boxes together (at least the first one)."""
    deepest = depth_within([box.depth for box in boxes], budget)
    return [box for box in boxes if box.depth <= deepest]


def status_icicle(boxes: Sequence[StatusMapNode], *, title: str) -> dict:
    """The tree from left to right, each box coloured by status, with its symbol and attainment
    as text; a box's ``customdata`` is where a click on it goes."""
    shown = {box.id for box in boxes}
    labels, phone_labels, texts, colours, inks = [], [], [], [], []
    for box in boxes:
        symbol = STATUS_SYMBOLS.get(box.status, "–")
        if box.parent in shown:
            labels.append(figure_text(f"{symbol} {short(box.label)}"))
        else:
            labels.append(figure_lines(wrapped(f"{symbol} {short(box.label, ROOT_LABEL_LENGTH)}", ROOT_LABEL_COLUMNS)))
        phone = f"{symbol} {short(box.label, ROOT_LABEL_LENGTH if box.parent not in shown else PHONE_LABEL_LENGTH)}"
        phone_labels.append(figure_lines(wrapped(phone, PHONE_LABEL_COLUMNS)))
        attainment = "" if box.attainment is None else f" · {box.attainment:.0f}%"
        # A box off track for lack of data must say so: "Off track · 37% · 6 inputs missing".
        missing = f" · {missing_words(box.missing)}" if box.missing else ""
        texts.append(figure_text(str(STATUS_LABELS.get(box.status, STATUS_LABELS["no_data"])) + attainment + missing))
        colours.append(STATUS_COLOURS.get(box.status, STATUS_COLOURS["no_data"]))
        inks.append(STATUS_INKS.get(box.status, STATUS_INKS["no_data"]))
    # plotly validates (and copies) every element of every array: for hundreds of boxes that was
    # most of the page's figure time. The trace is validated with one box's worth of each array,
    # then given the whole arrays, which are built right here from strings only.
    arrays = {
        "ids": [str(box.id) for box in boxes],
        "parents": [str(box.parent) if box.parent in shown else "" for box in boxes],
        "labels": labels,
        "text": texts,
        # Where a click goes, and the label in short lines for a phone (figures.js).
        "customdata": [[box.url, phone] for box, phone in zip(boxes, phone_labels, strict=True)],
    }
    trace = go.Icicle(
        **{name: values[:1] for name, values in arrays.items()},
        marker={"colors": colours[:1], "line": {"color": "#ffffff", "width": 1}},
        # The text's colour is set per box (plotly's own choice put dark text on the green).
        insidetextfont={"color": inks[:1]},
        outsidetextfont={"color": inks[:1]},  # plotly draws the first box's text with this one
        tiling={"orientation": "h"},
        leaf={"opacity": 1},
        texttemplate="%{label}<br>%{text}",
        hovertemplate="%{label}<br>%{text}<extra></extra>",
        sort=False,
    )
    figure = _figure(
        [trace], _layout(title, height=max(360, min(900, 24 * len(boxes))), margin={"l": 0, "r": 0, "t": 40, "b": 0})
    )
    figure["data"][0].update(arrays)
    figure["data"][0]["marker"]["colors"] = colours
    figure["data"][0]["insidetextfont"]["color"] = inks
    figure["data"][0]["outsidetextfont"]["color"] = inks
    return figure


def status_outline(boxes: Sequence[StatusMapNode]) -> SafeString:
    """The status map's text equivalent: the boxes as an indented list of links, each with its
    status in words. Built here in one pass (a template loop over hundreds of boxes was a third
    of the page's time); every value is escaped by ``format_html_join``."""
    words = {status: status_text(status) for status in STATUS_SYMBOLS}
    return format_html_join(
        "\n",
        '<li class="depth-{}"><a href="{}">{}</a> <span class="status status-{}">{}</span>{}{}</li>',
        (
            (
                min(box.depth, 6),
                box.page or box.url,
                box.label,
                box.status if box.status in words else "no_data",
                words.get(box.status, words["no_data"]),
                "" if box.attainment is None else f" {box.attainment:.0f}%",
                f" · {missing_words(box.missing)}" if box.missing else "",
            )
            for box in boxes
        ),
    )


def status_counts_chart(counts: Mapping[str, int], *, title: str) -> dict:
    """How many nodes are in each status, worst first, each bar labelled with symbol and count."""
    statuses = list(STATUS_ORDER)
    data = [
        dict(
            type="bar",
            orientation="h",
            y=[status_text(s) for s in statuses],
            x=[counts.get(s, 0) for s in statuses],
            marker={"color": [STATUS_COLOURS[s] for s in statuses], "line": {"color": "#1d2433", "width": 1}},
            text=[counts.get(s, 0) for s in statuses],
            textposition="outside",
            hovertemplate="%{y}: %{x}<extra></extra>",
            cliponaxis=False,
        )
    ]
    layout = _layout(
        title,
        height=200,
        margin={"l": 10, "r": 30, "t": 40, "b": 10},
        xaxis={"title": {"text": gettext("Nodes")}, "rangemode": "tozero", "automargin": True},
        yaxis={"autorange": "reversed", "automargin": True},
        bargap=0.3,
    )
    return _figure(data, layout)


# --- the manager's and the member's dashboards ----------------------------------------------------

DRIVER_COLOUR, RESULT_COLOUR, OVERALL_COLOUR = "#8fb3e8", "#1d2433", "#1d2433"
HISTORY_COLOURS = ("#1f5fbf", "#b35c00", "#2f8f4e", "#6a3fa0", "#c5372c", "#00838f", "#7a5c3e", "#5b6475")


def indicator_pair_chart(
    *,
    title: str | Sequence[str],
    periods: Sequence[str],
    driver_name: str,
    driver_unit: str,
    driver: Sequence[float | None],
    driver_statuses: Sequence[str],
    result_name: str,
    result_unit: str,
    result: Sequence[float | None],
    result_statuses: Sequence[str],
    monthly: bool = True,
) -> dict:
    """A leading indicator (bars, left axis) and the result it drives (line, right axis) per
    period, each in its own unit, so a rise of one can be read against the other. Each point's
    status is in its hover text; the result's markers also have the status's shape."""
    data = [
        go.Bar(
            name=figure_text(short(driver_name)),
            x=list(periods),
            y=[rounded(v) for v in driver],
            marker={"color": DRIVER_COLOUR, "line": {"color": "#1f5fbf", "width": 1}},
            text=[status_text(s) for s in driver_statuses],
            textposition="none",
            # User text stays out of the template (Plotly would read "%{…}" in it): the unit is
            # the trace's meta.
            meta=figure_text(driver_unit),
            hovertemplate="%{x|%Y-%m}: %{y:,} %{meta}<br>%{text}<extra></extra>",
            yaxis="y",
        ),
        go.Scatter(
            name=figure_text(short(result_name)),
            x=list(periods),
            y=[rounded(v) for v in result],
            mode="lines+markers",
            line={"color": RESULT_COLOUR, "width": 2},
            marker={
                "symbol": [STATUS_MARKERS.get(s, "circle") for s in result_statuses],
                "color": [STATUS_COLOURS.get(s, STATUS_COLOURS["no_data"]) for s in result_statuses],
                "size": 10,
                "line": {"width": 1, "color": "#1d2433"},
            },
            text=[status_text(s) for s in result_statuses],
            meta=figure_text(result_unit),
            hovertemplate="%{x|%Y-%m}: %{y:,} %{meta}<br>%{text}<extra></extra>",
            yaxis="y2",
        ),
    ]
    left = axis_unit(driver_unit, title=gettext("%(unit)s (leading, bars)") % {"unit": driver_unit})
    right = axis_unit(result_unit, title=gettext("%(unit)s (result, line)") % {"unit": result_unit})
    left.update(rangemode="tozero")
    right.update(overlaying="y", side="right", rangemode="tozero", showgrid=False, tickmode="auto", nticks=6)
    xaxis = {"title": {"text": gettext("Period")}, "type": "date", "tickformat": "%Y-%m", "automargin": True}
    if monthly:
        xaxis["dtick"] = "M1" if len(periods) <= 6 else "M3"
    layout = _layout(
        title,
        height=340,
        margin={"l": 10, "r": 10, "t": 64, "b": 10},
        xaxis=xaxis,
        yaxis=left,
        yaxis2=right,
        showlegend=False,  # the axis titles say which is which, and the caption names both
        hovermode="x unified",
        bargap=0.35,
    )
    return _figure(data, layout)


def attainment_history_chart(
    *,
    title: str,
    periods: Sequence[str],
    lines: Sequence[tuple[str, Sequence[float | None], Sequence[str]]],
    overall: Sequence[float | None],
) -> dict:
    """Attainment (% of the target to date) per period: one line per KPI (name, attainments,
    statuses), the overall score as a thick line, and the 100% mark dashed."""
    data = []
    for index, (name, attainments, statuses) in enumerate(lines):
        data.append(
            go.Scatter(
                name=figure_text(short(name)),
                x=list(periods),
                y=[rounded(v) for v in attainments],
                mode="lines+markers",
                line={"color": HISTORY_COLOURS[index % len(HISTORY_COLOURS)], "width": 1.5},
                marker={"symbol": [STATUS_MARKERS.get(s, "circle") for s in statuses], "size": 8},
                text=[status_text(s) for s in statuses],
                # No <extra>: the hover's second box shows the trace's (escaped) name.
                hovertemplate="%{x|%Y-%m}: %{y:.1f}%<br>%{text}",
            )
        )
    data.append(
        go.Scatter(
            name=gettext("Overall score"),
            x=list(periods),
            y=[rounded(v) for v in overall],
            mode="lines+markers",
            line={"color": OVERALL_COLOUR, "width": 4},
            marker={"symbol": "square", "size": 9},
            hovertemplate="%{x|%Y-%m}: %{y:.1f}%<extra>" + gettext("Overall score") + "</extra>",
        )
    )
    layout = _layout(
        title,
        height=340,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis={
            "title": {"text": gettext("Period")},
            "type": "date",
            "tickformat": "%Y-%m",
            "dtick": "M1" if len(periods) <= 12 else "M3",
            "automargin": True,
        },
        yaxis={
            "title": {"text": gettext("Attainment, %")},
            "ticksuffix": "%",
            "automargin": True,
        },
        shapes=[
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": 100,
                "y1": 100,
                "line": {"color": TARGET_COLOUR, "dash": "dash", "width": 1},
            }
        ],
        legend={"orientation": "h", "y": -0.3},
        hovermode="closest",
    )
    return _figure(data, layout)


def indicator_pair_figure(pair) -> dict:
    """:func:`indicator_pair_chart` of a ``dashboards.pages.manager.PairSeries``."""
    driver, result = pair.pair.driver, pair.pair.result

    def column(points, name):
        return [getattr(p, name) for p in points]

    def statuses(points):
        return [p.status for p in points]

    return indicator_pair_chart(
        # On two lines: a chart is half a page wide. The translation marks the break.
        title=[
            line % {"driver": short(driver.name), "result": short(result.name)}
            for line in gettext("%(driver)s →<br>%(result)s").split("<br>")
        ],
        periods=[p.isoformat() for p in pair.periods],
        driver_name=driver.name,
        driver_unit=driver.unit,
        driver=column(pair.driver, "actual"),
        driver_statuses=statuses(pair.driver),
        result_name=result.name,
        result_unit=result.unit,
        result=column(pair.result, "actual"),
        result_statuses=statuses(pair.result),
        monthly=driver.frequency == "monthly",
    )


HISTORY_LINES = 8


def attainment_history_figure(cards, history) -> dict:
    """:func:`attainment_history_chart` of the member dashboard's KPIs (``KpiCard``) and months
    (``HistoryRow``): the overall score and the first ``HISTORY_LINES`` KPIs (the table beside
    the chart has them all)."""
    return attainment_history_chart(
        title=gettext("My attainment per month"),
        periods=[row.period.isoformat() for row in history],
        lines=[
            (
                card.node.name,
                [row.cells[index].attainment for row in history],
                [row.cells[index].status for row in history],
            )
            for index, card in enumerate(cards[:HISTORY_LINES])
        ],
        overall=[row.score for row in history],
    )


# --- the node page and the monthly report -------------------------------------------------------

RANGE_FILL, WINDOW_FILL = "rgba(91, 100, 117, 0.15)", "rgba(31, 95, 191, 0.08)"


def node_chart(
    *,
    title: str,
    unit: str,
    periods: Sequence[str],
    actual: Sequence[float | None],
    target: Sequence[float | None],
    low: Sequence[float | None] = (),
    high: Sequence[float | None] = (),
    statuses: Sequence[str] = (),
    hover: Sequence[Sequence[str]] = (),
    line: Sequence[float | None] = (),
    expected: float | None = None,
    expected_text: str = "",
    cumulative: bool = False,
    window: tuple[str, str] | None = None,
    width: int | None = None,
    height: int = 340,
) -> dict:
    """One node over its whole window: the actual per period (a running total for a flow), each
    point marked with its period's status (shape and colour; ``hover``, lines per point, says it
    in words), the
    target — or the band between a range's low and high — the straight-line projection to the
    deadline and the value expected there; ``window`` (first, last) shades the period selected.

    ``width`` fixes the size for paper (the monthly report); without it the figure fills its box.
    """
    x = list(periods)
    y_title = gettext("%(unit)s, running total") % {"unit": unit} if cumulative and unit else unit
    data = []
    if any(v is not None for v in [*low, *high]):
        data.append(
            go.Scatter(
                name=gettext("Lowest acceptable"),
                x=x,
                y=[rounded(v) for v in low] or [None] * len(x),
                mode="lines",
                line={"color": TARGET_COLOUR, "dash": "dash", "width": 1},
                hovertemplate="%{x|%Y-%m}: %{y:,}<extra>" + gettext("Lowest acceptable") + "</extra>",
            )
        )
        data.append(
            go.Scatter(
                name=gettext("Highest acceptable"),
                x=x,
                y=[rounded(v) for v in high] or [None] * len(x),
                mode="lines",
                line={"color": TARGET_COLOUR, "dash": "dash", "width": 1},
                fill="tonexty",
                fillcolor=RANGE_FILL,
                hovertemplate="%{x|%Y-%m}: %{y:,}<extra>" + gettext("Highest acceptable") + "</extra>",
            )
        )
    if any(v is not None for v in target):
        data.append(
            go.Scatter(
                name=gettext("Target, running total") if cumulative else gettext("Target"),
                x=x,
                y=[rounded(v) for v in target],
                mode="lines",
                line={"color": TARGET_COLOUR, "dash": "dash", "width": 2},
                hovertemplate="%{x|%Y-%m}: %{y:,}<extra>" + gettext("Target") + "</extra>",
            )
        )
    data.append(
        _status_trace(gettext("Actual, running total") if cumulative else gettext("Actual"), x, actual, statuses, hover)
    )
    annotations: list[dict] = []
    if any(v is not None for v in line):
        data.append(
            go.Scatter(
                name=gettext("Projection"),
                x=x,
                y=[rounded(v) for v in line],
                mode="lines",
                line={"color": PROJECTION_COLOUR, "dash": "dot", "width": 2},
                hoverinfo="skip",
            )
        )
    if expected is not None and x:
        marker, note = _expected_at_deadline(x[-1], expected, expected_text)
        marker["text"] = [figure_text(expected_text)]
        marker["hovertemplate"] = "%{text}<extra></extra>" if expected_text else "%{y:,}<extra></extra>"
        data.append(go.Scatter(**{k: v for k, v in marker.items() if k != "type"}))
        annotations += note
    shapes, marks = _selected_window(window)
    annotations += marks
    layout = _layout(
        title,
        height=height,
        # The legend sits at the foot of the whole figure, below the axis title, at any height.
        margin={"l": 10, "r": 20, "t": 50, "b": 40},
        xaxis={"title": {"text": gettext("Period")}, "type": "date", "tickformat": "%Y-%m", "automargin": True},
        yaxis=axis_unit(unit, title=y_title),
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom"},
        annotations=annotations,
        shapes=shapes,
        hovermode="closest",
    )
    figure = _figure(data, layout)
    return figure if width is None else for_paper(figure, width=width)


def _selected_window(window: tuple[str, str] | None) -> tuple[list[dict], list[dict]]:
    """The shade over the window selected (first, last) and its label."""
    if window is None:
        return [], []
    shade = {
        "type": "rect",
        "xref": "x",
        "yref": "paper",
        "x0": window[0],
        "x1": window[1],
        "y0": 0,
        "y1": 1,
        "fillcolor": WINDOW_FILL,
        "line": {"width": 0},
        "layer": "below",
    }
    label = {
        "x": window[0],
        "y": 1,
        "xref": "x",
        "yref": "paper",
        "text": gettext("Selected period"),
        "showarrow": False,
        "xanchor": "left",
        "yanchor": "bottom",
        "font": {"size": 11, "color": ACTUAL_COLOUR},
    }
    return [shade], [label]


def score_chart(
    *,
    title: str,
    periods: Sequence[str],
    attainment: Sequence[float | None],
    statuses: Sequence[str],
    hover: Sequence[Sequence[str]],
    at_risk_below: float,
    off_track_below: float,
    window: tuple[str, str] | None = None,
    width: int | None = None,
    height: int = 340,
) -> dict:
    """A node without a number of its own (a KSF) over its whole window: its score per period
    (the attainment its children give it, % of their targets to date), each point marked with
    its period's status, and the two thresholds its own status is judged by. ``window`` and
    ``width`` as in :func:`node_chart`."""
    x = list(periods)
    data = []
    for threshold, name in (
        (at_risk_below, gettext("At risk below %(value)s%%") % {"value": _percent(at_risk_below)}),
        (off_track_below, gettext("Off track below %(value)s%%") % {"value": _percent(off_track_below)}),
    ):
        data.append(
            go.Scatter(
                name=figure_text(name),
                x=x,
                y=[rounded(threshold)] * len(x),
                mode="lines",
                line={"color": TARGET_COLOUR, "dash": "dash" if threshold == at_risk_below else "dot", "width": 1.5},
                hoverinfo="skip",
            )
        )
    data.append(_status_trace(gettext("Score"), x, attainment, statuses, hover))
    shapes, annotations = _selected_window(window)
    layout = _layout(
        title,
        height=height,
        margin={"l": 10, "r": 20, "t": 50, "b": 40},
        xaxis={"title": {"text": gettext("Period")}, "type": "date", "tickformat": "%Y-%m", "automargin": True},
        yaxis={
            "title": {"text": gettext("Score, %")},
            "ticksuffix": "%",
            "rangemode": "tozero",
            "automargin": True,
        },
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom"},
        annotations=annotations,
        shapes=shapes,
        hovermode="closest",
    )
    figure = _figure(data, layout)
    return figure if width is None else for_paper(figure, width=width)


def _percent(value: float) -> str:
    return f"{float(value):g}"


PAPER_WIDTH = 680  # px: an A4 page's width inside the monthly report's margins


def for_paper(figure: dict, *, width: int = PAPER_WIDTH) -> dict:
    """The figure at a fixed width, without its tool bar, so it prints as laid out on screen."""
    figure = {**figure, "layout": {**figure.get("layout", {}), "width": width}}
    figure["config"] = {**figure.get("config", {}), "responsive": False, "displayModeBar": False}
    return figure


def _expected_at_deadline(x, expected: float, text: str) -> tuple[dict, list[dict]]:
    """The star at the deadline where the projection ends, and its label (if there is one)."""
    marker = dict(
        type="scatter",
        name=gettext("Expected at the deadline"),
        x=[x],
        y=[rounded(expected)],
        mode="markers",
        marker={"symbol": "star", "size": 14, "color": PROJECTION_COLOUR},
    )
    if not text:
        return marker, []
    note = {
        "x": x,
        "y": rounded(expected),
        "text": figure_text(text),
        "showarrow": True,
        "arrowhead": 0,
        "ax": -40,
        "ay": -30,
        "xanchor": "right",
        "font": {"color": PROJECTION_COLOUR},
    }
    return marker, [note]


def _status_trace(name: str, x, values, statuses, hover) -> go.Scatter:
    """The line of a node's values (its actuals, or a KSF's score), each point marked with its
    period's status and explained on hover."""
    marked = list(statuses) or ["no_data"] * len(x)
    return go.Scatter(
        name=name,
        x=x,
        y=[rounded(v) for v in values],
        mode="lines+markers",
        line={"color": ACTUAL_COLOUR, "width": 2},
        marker={
            "symbol": [STATUS_MARKERS.get(s, "circle") for s in marked],
            "color": [STATUS_COLOURS.get(s, STATUS_COLOURS["no_data"]) for s in marked],
            "size": 10,
            "line": {"width": 1, "color": "#1d2433"},
        },
        text=[figure_lines(lines) for lines in hover] or [status_text(s) for s in marked],
        hovertemplate="%{text}<extra></extra>",
    )
