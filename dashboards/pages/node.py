"""The figures of a node page: the node's chart over its whole window with the projection to its
deadline, its own figures for the selected window, and its children's.

Read from the stored rollup (dashboards.selectors) and drawn by dashboards.figures; goals.views
renders what :func:`node_figures` returns. A fixed number of queries, however many children.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.template.defaultfilters import floatformat
from django.utils.translation import get_language, gettext

from dashboards import figures, projection
from dashboards.stored import nodes_window_figures, series_of, series_points
from dashboards.windows import Window
from goals.access import attainment_visible
from goals.forms import period_label
from goals.models import Membership, Node
from goals.rollup import document
from goals.rollup import plan as plans
from goals.rollup.document import EMPTY, NodeFigures
from goals.templatetags.kpitree import gap_words
from goals.units import format_quantity, format_range

SPARKLINE_PERIODS = 12


def expected_words(projected: projection.Projection, node: Node) -> str:
    """ "Expected at the deadline: 57% (3 points short)", and that the line was held at the
    unit's limit when it left the range (a rate is never "expected at −3.27%")."""
    text = gettext("Expected at the deadline: %(value)s") % {
        "value": format_quantity(projected.expected, node.unit, get_language() or "en", compact=True)
    }
    if projected.gap is not None:
        text += f" ({gap_words(projected.gap, node)})"
    if projected.clamped:
        text += " · " + gettext("the straight line leaves the possible values, so it is held at the limit")
    return text


@dataclass(frozen=True)
class ChartRow:
    """One period of the chart, as its table equivalent shows it."""

    period: date
    actual: float | None  # a running total for a flow
    target: float | None  # likewise
    low: float | None
    high: float | None
    projection: float | None
    status: str
    attainment: float | None = None  # the score of a node without a number (NodeChart.score)


@dataclass(frozen=True)
class NodeChart:
    title: str
    figure: dict
    rows: list[ChartRow]
    cumulative: bool
    has_range: bool
    expected: float | None
    expected_text: str  # "Expected at the deadline: ¥118M (¥2M short)"
    # A node without a number of its own and without a value (a KSF): its score is charted,
    # not an actual against a target it does not have.
    score: bool = False


@dataclass(frozen=True)
class ChildRow:
    node: Node
    figures: NodeFigures
    visible: bool  # False: another team member's personal KPI the caller may not see
    gap_text: str
    sparkline: figures.Sparkline | None
    recent: list[tuple[date, float | None, float | None]] = field(default_factory=list)


@dataclass(frozen=True)
class PlanLine:
    """One window of the plan check as the table shows it."""

    label: str
    implied: str
    own: str
    difference: str
    verdict: str  # plans.MEETS / OVER / SHORT, or "" without a number
    words: str  # "adds up", "¥2.1M short", or why there is no number


@dataclass(frozen=True)
class PlanTable:
    """Do the drivers' targets add up to the node's? (goals.rollup.plan)"""

    summary: str  # the year's line, as the tree shows it; "" without one
    reason: str  # why there is no plan check; "" when there is one
    tolerance: str
    periods: list[PlanLine]
    years: list[PlanLine]


@dataclass(frozen=True)
class NodeFiguresPage:
    window: Window
    figures: NodeFigures  # the node over the window
    gap_text: str
    chart: NodeChart | None
    children: list[ChildRow]
    plan: PlanTable | None = None


def _quantity(value: float | None, unit: str) -> str:
    return format_quantity(value, unit, get_language() or "en")


def _hover(
    node: Node, period: date, own: float | None, shown: float | None, target, low, high, status, *, cumulative
) -> list[str]:
    """The lines of one point's hover text (plain text: dashboards.figures escapes it): period,
    actual (and the period's own value under a running total), target or range, status."""
    lines = [period_label(period, node.frequency)]
    if cumulative:
        lines.append(
            gettext("Running total: %(total)s (this period %(value)s)")
            % {"total": _quantity(shown, node.unit), "value": _quantity(own, node.unit)}
        )
        if target is not None:
            lines.append(gettext("Target, running total: %(value)s") % {"value": _quantity(target, node.unit)})
    else:
        lines.append(gettext("Actual: %(value)s") % {"value": _quantity(own, node.unit)})
        if low is not None or high is not None:
            lines.append(
                gettext("Range: %(range)s") % {"range": format_range(low, high, node.unit, get_language() or "en")}
            )
        elif target is not None:
            lines.append(gettext("Target: %(value)s") % {"value": _quantity(target, node.unit)})
    lines.append(gettext("Status of the period: %(status)s") % {"status": figures.status_text(status)})
    return lines


def node_chart(
    node: Node,
    series: Mapping | None,
    *,
    title: str,
    window: Window | None = None,
    width: int | None = None,
    height: int = 340,
) -> NodeChart | None:
    """The node's stored periods as a chart with the projection to its deadline (None before
    its first rollup). ``title`` names the node for screen readers and the table; the figure
    itself has a short title that fits its width."""
    if not series or not document.column(series, "period"):
        return None
    periods = [date.fromisoformat(p) for p in document.column(series, "period")]
    count = len(periods)

    def column(name: str) -> list:
        values = document.column(series, name) or []
        return list(values) + [None] * (count - len(values))

    actual, target, low, high = column("actual"), column("target"), column("low"), column("high")
    statuses = [s or "no_data" for s in column("status")]
    if not node.has_number and all(v is None for v in [*actual, *target, *low, *high]):
        return _score_chart(node, periods, column("attainment"), statuses, window=window, width=width, height=height)
    projected = projection.project(
        actual,
        target,
        aggregation=node.time_aggregation,
        direction=node.direction,
        low=low,
        high=high,
        unit=node.unit,
    )
    cumulative = projected.cumulative if projected is not None else False
    if cumulative:
        shown, target_shown = projected.actual, projected.target
    else:
        shown, target_shown = actual, target
    line = projected.line if projected is not None else [None] * count
    expected_text = expected_words(projected, node) if projected is not None else ""
    hover = [
        _hover(node, p, a, s, t, lo, hi, st, cumulative=cumulative)
        for p, a, s, t, lo, hi, st in zip(periods, actual, shown, target_shown, low, high, statuses, strict=True)
    ]
    figure = figures.node_chart(
        title=chart_title(cumulative=cumulative),
        unit=node.unit,
        periods=[p.isoformat() for p in periods],
        actual=shown,
        target=target_shown,
        low=low,
        high=high,
        statuses=statuses,
        hover=hover,
        line=line,
        expected=projected.expected if projected is not None else None,
        expected_text=expected_text,
        cumulative=cumulative,
        window=(window.first.isoformat(), window.last.isoformat()) if window is not None else None,
        width=width,
        height=height,
    )
    rows = [
        ChartRow(p, s, t, lo, hi, ln, st)
        for p, s, t, lo, hi, ln, st in zip(periods, shown, target_shown, low, high, line, statuses, strict=True)
    ]
    return NodeChart(
        title=title,
        figure=figure,
        rows=rows,
        cumulative=cumulative,
        has_range=any(v is not None for v in [*low, *high]),
        expected=projected.expected if projected is not None else None,
        expected_text=expected_text,
    )


def _score_chart(node: Node, periods, attainment, statuses, *, window, width, height) -> NodeChart:
    """The chart of a node without a number or a value: its score, and a title that says so."""
    hover = [
        [
            period_label(p, node.frequency),
            gettext("Score: %(value)s") % {"value": "—" if a is None else f"{floatformat(a, 1)}%"},
            gettext("Status of the period: %(status)s") % {"status": figures.status_text(st)},
        ]
        for p, a, st in zip(periods, attainment, statuses, strict=True)
    ]
    figure = figures.score_chart(
        title=score_title(node),
        periods=[p.isoformat() for p in periods],
        attainment=attainment,
        statuses=statuses,
        hover=hover,
        at_risk_below=float(node.at_risk_below),
        off_track_below=float(node.off_track_below),
        window=(window.first.isoformat(), window.last.isoformat()) if window is not None else None,
        width=width,
        height=height,
    )
    rows = [
        ChartRow(p, None, None, None, None, None, st, a) for p, a, st in zip(periods, attainment, statuses, strict=True)
    ]
    return NodeChart(
        title=gettext("%(node)s: score per period, from its children") % {"node": node.name},
        figure=figure,
        rows=rows,
        cumulative=False,
        has_range=False,
        expected=None,
        expected_text="",
        score=True,
    )


def score_title(node: Node) -> str:
    if node.status_rule == "worst":
        return gettext("Score per period: the child furthest behind")
    return gettext("Score per period: the weighted score of its children")


def plan_table(node: Node, check: plans.PlanCheck | None) -> PlanTable | None:
    """The plan check of a computed node, formatted with its unit; None for a node entered by
    hand (it has no drivers whose targets add up to it)."""
    if check is None or check.reason == "not_computed":
        return None
    language = get_language() or "en"

    def line(row: plans.PlanRow, verdict: str) -> PlanLine:
        difference = row.difference
        shown = format_quantity(difference, node.unit, language)
        if difference is not None and difference > 0:
            shown = "+" + shown
        words = plans.verdict_words(row, verdict, node.unit, language, compact=False)
        return PlanLine(
            row.label,
            format_quantity(row.implied, node.unit, language),
            format_quantity(row.own, node.unit, language),
            shown,
            verdict,
            words or plans.row_reason_text(row.reason),
        )

    return PlanTable(
        summary=plans.summary_text(check, node.unit, language, compact=False),
        reason=plans.reason_text(check) if check.reason else "",
        tolerance=f"{check.tolerance:g}",
        periods=[line(row, verdict) for row, verdict in check.rows],
        years=[line(row, verdict) for row, verdict in check.year_rows],
    )


def chart_title(*, cumulative: bool) -> str:
    if cumulative:
        return gettext("Running total against target, with the projection to the deadline")
    return gettext("Actual against target per period, with the projection to the deadline")


def chart_label(node: Node) -> str:
    """What the chart shows, naming the node (for screen readers and the table's caption)."""
    return gettext("%(node)s: actual against target, with the projection to the deadline") % {"node": node.name}


def node_figures(
    node: Node,
    children: Sequence[Node],
    *,
    root: Node,
    membership: Membership,
    window: Window,
    today: date,
    sees_attainment: bool,
    hidden_owners: frozenset[int],
    reported: frozenset[int] = frozenset(),
    plan_check: plans.PlanCheck | None = None,
) -> NodeFiguresPage:
    """What the node page draws for ``window``; children the caller may not see keep their name
    and link but no figures (``hidden_owners``/``reported`` as in goals.access)."""
    root.organisation = membership.organisation  # the engine reads the fiscal year from it
    visible = {
        child.pk: attainment_visible(membership, child, hidden_owners=hidden_owners, reports=child.pk in reported)
        for child in children
    }
    wanted = [node] if sees_attainment else []
    wanted += [child for child in children if visible[child.pk]]
    series = series_of([n.pk for n in wanted]) if wanted else {}
    by_node = (
        nodes_window_figures(wanted, [window], series=series, roots={root.tree_id: root}, today=today) if wanted else {}
    )
    own = by_node[node.pk][0] if node.pk in by_node else EMPTY
    chart = None
    if sees_attainment:
        chart = node_chart(node, series.get(node.pk), title=chart_label(node), window=window)
    rows = []
    last = min(window.last, today)
    for child in children:
        if not visible[child.pk]:
            rows.append(ChildRow(child, EMPTY, False, "", None))
            continue
        found = by_node[child.pk][0] if child.pk in by_node else EMPTY
        points = series_points(series.get(child.pk), first=date.min, last=last)[-SPARKLINE_PERIODS:]
        recent = [(p.period, p.actual, p.target) for p in points]
        spark = figures.sparkline([p.actual for p in points], [p.target for p in points], width=120, height=32)
        rows.append(ChildRow(child, found, True, gap_words(found.gap, child), spark, recent))
    return NodeFiguresPage(
        window=window,
        figures=own,
        gap_text=gap_words(own.gap, node),
        chart=chart,
        children=rows,
        plan=plan_table(node, plan_check),
    )
