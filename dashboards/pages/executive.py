"""The executive dashboard's content: per KGI where it stands over the window, where it is heading,
the status map of its tree, the KPIs most behind and how fresh the figures are.

Everything is read from the stored rollup (dashboards.selectors) and drawn by dashboards.figures;
the view only renders what :func:`executive_overview` returns. Queries: a fixed number per tree,
however many nodes it has.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from django.urls import reverse
from django.utils.translation import get_language, gettext

from dashboards import figures, projection
from dashboards.pages.node import expected_words
from dashboards.selectors import Freshness, OutlineNode, needs_actuals, rollup_states, trees_freshness, trees_outline
from dashboards.stored import series_of, trees_window_figures
from dashboards.windows import FYTD, Window
from goals import selectors as goals_selectors
from goals.models import Kind, Membership, Node
from goals.periods import period_end
from goals.rollup import document, explain
from goals.rollup.document import NodeFigures
from goals.templatetags.kpitree import gap_words
from goals.units import format_quantity, format_range

RANKED = 10
PLACEHOLDER = 987654321
RANKED_KINDS = (Kind.KPI, Kind.SUB_KPI)


@dataclass(frozen=True)
class Behind:
    """A KPI short of its target to date, and how much that weighs."""

    node: OutlineNode
    figures: NodeFigures
    shortfall: float  # the gap as a share of the target (0.25 = 25% short), so units compare
    score: float  # shortfall × weight: the order of the list
    gap_text: str
    explanation: str

    @property
    def shortfall_text(self) -> str:
        return "<1%" if self.shortfall < 0.005 else f"{self.shortfall * 100:.0f}%"


@dataclass
class KgiPanel:
    root: Node
    focus: Node  # the node the status map starts from (the KGI unless drilled into)
    trail: list[Node]  # the focus's ancestors, KGI first (empty at the KGI)
    figures: NodeFigures
    goal: float | None  # where the KGI must get to by the end of the window's span
    share: float | None  # how far from the baseline to the goal it has come (0.4 = 40%)
    gap_text: str  # "¥5.3M short" (of the target to date)
    to_go_text: str  # "¥12M" still to reach the goal
    expected: float | None  # the straight-line projection at the deadline
    expected_text: str
    bullet: dict
    progress: dict
    icicle: dict
    boxes: list[figures.StatusMapNode]
    outline: str  # the status map as an HTML list (its text equivalent)
    boxes_total: int
    counts: dict[str, int]
    counts_figure: dict
    behind: list[Behind]
    behind_total: int
    freshness: Freshness
    missing: int  # inputs missing over the window in the whole tree (docs/rollup.md §4)
    missing_nodes: list[OutlineNode]  # the hand-entered nodes that miss them, in tree order
    explanation: str
    periods: list[dict]  # the progress chart as a table: period, actual, target, status

    @property
    def node_count(self) -> int:
        return sum(self.counts.values())

    @property
    def share_text(self) -> str:
        return "" if self.share is None else f"{self.share * 100:.0f}%"

    @property
    def figure_id(self) -> str:
        """The prefix of the ids of this panel's figures (json_script elements)."""
        return f"kgi-{self.root.pk}"


def shortfall(figures_: NodeFigures) -> float | None:
    """How far short of the target to date, as a share of the target: a gap in yen and a gap in
    appointments become comparable. None when on or ahead of target, or nothing to compare."""
    if figures_.gap is None or figures_.gap >= 0:
        return None
    if figures_.target:
        scale = abs(figures_.target)
    elif figures_.low is not None and figures_.high is not None and figures_.high > figures_.low:
        scale = figures_.high - figures_.low
    else:
        scale = abs(figures_.low or figures_.high or 0)
    if not scale:
        return None
    return -figures_.gap / scale


def ranked_behind(
    nodes: Sequence[OutlineNode], by_node: Mapping[int, NodeFigures]
) -> list[tuple[OutlineNode, float, float]]:
    """(node, shortfall, score) of the KPIs and sub-KPIs short of target, ranked by shortfall ×
    weight, largest first (ties in tree order)."""
    rows = []
    for node in nodes:
        if node.kind not in RANKED_KINDS or node.pk not in by_node:
            continue
        share = shortfall(by_node[node.pk])
        if share is not None:
            rows.append((node, share, share * float(node.weight)))
    rows.sort(key=lambda row: (-row[2], row[0].lft))
    return rows


class _Blank(dict):
    def __missing__(self, key):
        return "…"


def explanation(node: Node | OutlineNode, figures_: NodeFigures) -> str:
    """Why the node has its status, from the stored reason code and the node's own rules (the
    full explanation with every input is on the node page)."""
    template = explain.REASON_TEXTS.get(figures_.reason)
    if template is None:
        return ""
    params = _Blank(
        at_risk_below=f"{float(node.at_risk_below):g}",
        off_track_below=f"{float(node.off_track_below):g}",
        aggregation=str(explain.METHOD_WORDS.get(node.time_aggregation, node.time_aggregation)),
        method=str(explain.METHOD_WORDS.get(node.value_source, node.value_source)),
        formula=node.formula,
    )
    return str(template) % params


def why(node: Node | OutlineNode, figures_: NodeFigures) -> str:
    """The ranked list's and the monthly report's "why": the numbers, the rule that decided and
    how many inputs are missing in the window (the stored count: a KPI off track for want of
    data must not read as merely off track)."""
    parts = (numbers_text(node, figures_), explanation(node, figures_), explain.missing_words(figures_.missing))
    return " · ".join(part for part in parts if part)


def numbers_text(node: Node | OutlineNode, figures_: NodeFigures) -> str:
    """ "38 appointments against a target to date of 45 (84%)"."""
    language = get_language() or "en"
    if figures_.actual is None:
        return ""
    actual = format_quantity(figures_.actual, node.unit, language)
    if figures_.target is not None:
        target = format_quantity(figures_.target, node.unit, language)
    elif figures_.low is not None or figures_.high is not None:
        target = format_range(figures_.low, figures_.high, node.unit, language)
    else:
        return actual
    text = gettext("%(actual)s against a target to date of %(target)s") % {"actual": actual, "target": target}
    if figures_.attainment is not None:
        text += f" ({figures_.attainment:.0f}%)"
    return text


def _number(value) -> float | None:
    return None if value is None else float(value)


def _goal(root: Node, series: Mapping, window: Window) -> tuple[float | None, float | None]:
    """(goal, baseline) the bullet measures from: a flow counts from zero to the total target of
    the window's span (a fiscal year to date: the whole year); a rate or a stock goes from its
    baseline to its target."""
    if root.time_aggregation == "sum" and root.direction != "maintain":
        last = period_end(window.first, "yearly") if window.kind == FYTD else window.last
        first, last = window.first.isoformat(), last.isoformat()
        targets = [
            target
            for period, target in zip(
                document.column(series, "period"), document.column(series, "target"), strict=False
            )
            if target is not None and first <= period <= last
        ]
        return (sum(targets) if targets else None), None
    if root.direction == "maintain":
        return None, _number(root.baseline_value)
    return _number(root.target_value), _number(root.baseline_value)


def _progress(root: Node, series: Mapping, *, title: str) -> tuple[dict, float | None, str]:
    """The KGI's chart per period over its whole window, with the straight-line projection."""
    periods = document.column(series, "period")
    actual, target = document.column(series, "actual"), document.column(series, "target")
    line: list[float | None] = []
    expected, expected_text, shown, cumulative = None, "", actual, False
    projected = projection.project(
        actual,
        target,
        aggregation=root.time_aggregation,
        direction=root.direction,
        low=document.column(series, "low"),
        high=document.column(series, "high"),
        unit=root.unit,
    )
    if projected is not None:
        line, expected, cumulative = projected.line, projected.expected, projected.cumulative
        shown, target = projected.actual, projected.target
        expected_text = expected_words(projected, root)
    figure = figures.progress_chart(
        title=title,
        unit=root.unit,
        periods=periods,
        actual=shown,
        target=target,
        line=line,
        statuses=[] if cumulative else document.column(series, "status"),
        expected=expected,
        expected_text=expected_text,
        cumulative=cumulative,
    )
    return figure, expected, expected_text


def _boxes(
    nodes: Sequence[OutlineNode], focus: Node, by_node: Mapping[int, NodeFigures], window: Window
) -> list[figures.StatusMapNode]:
    """The focus's subtree as boxes: a box with children drills into it, a leaf (and the focus
    itself) opens the node page."""
    inside = [n for n in nodes if focus.lft <= n.lft and n.rght <= focus.rght]
    deepest = figures.depth_within([n.level - focus.level for n in inside])
    nodes = [n for n in inside if n.level - focus.level <= deepest]
    parents = {n.parent_id for n in inside}
    # reverse() once, not once per box: a thousand boxes took a tenth of a second.
    page = reverse("goals:node", args=[PLACEHOLDER]).replace(str(PLACEHOLDER), "{}")
    drill = reverse("dashboards:executive") + "?node={}&" + window.query
    out = []
    for node in nodes:
        url = page.format(node.pk)
        if node.pk != focus.pk and node.pk in parents:
            url = drill.format(node.pk)
        node_figures = by_node.get(node.pk)
        out.append(
            figures.StatusMapNode(
                id=node.pk,
                parent=None if node.pk == focus.pk else node.parent_id,
                label=node.name,
                status=node_figures.status if node_figures else "no_data",
                attainment=node_figures.attainment if node_figures else None,
                url=url,
                depth=node.level - focus.level,
                page=page.format(node.pk),
                missing=node_figures.missing if node_figures else 0,
            )
        )
    return out


def kgi_panel(
    root: Node,
    window: Window,
    *,
    nodes: Sequence[OutlineNode],
    by_node: Mapping[int, NodeFigures],
    root_series: Mapping,
    freshness: Freshness,
    focus: Node | None = None,
) -> KgiPanel:
    """One KGI's part of the dashboard, from what :func:`executive_overview` loaded (no queries):
    its tree's ``nodes`` in tree order, their figures over the window, the KGI's stored document."""
    mine = by_node.get(root.pk, NodeFigures())
    focus = focus or root
    subtree = [n for n in nodes if focus.lft <= n.lft and n.rght <= focus.rght]

    goal, baseline = _goal(root, root_series, window)
    share = figures.progress_share(actual=mine.actual, baseline=baseline, goal=goal)
    to_go = None
    if goal is not None and mine.actual is not None:
        to_go = mine.actual - goal if root.direction != "decrease" else goal - mine.actual
    bullet = figures.kgi_bullet(
        title=gettext("%(kgi)s — %(window)s") % {"kgi": root.name, "window": window.label},
        unit=root.unit,
        actual=mine.actual,
        target=mine.target,
        goal=goal,
        baseline=baseline,
        status=mine.status,
        direction=root.direction,
    )
    progress, expected, expected_text = _progress(
        root, root_series, title=gettext("Actual and target per period, with the projection to the deadline")
    )

    boxes = _boxes(nodes, focus, by_node, window)
    icicle = figures.status_icicle(
        boxes, title=gettext("Status map of %(node)s: click a box to open it") % {"node": focus.name}
    )
    counts = Counter(by_node[n.pk].status if n.pk in by_node else "no_data" for n in subtree)
    counts_figure = figures.status_counts_chart(counts, title=gettext("Nodes by status"))

    # The stored `missing` of every hand-entered node over the window (what its node page and the
    # progress API say), added up over the tree: a KGI entered by hand counts only its own.
    gaps = [(n, by_node[n.pk].missing) for n in nodes if needs_actuals(n) and n.pk in by_node]
    gaps = [(n, count) for n, count in gaps if count]

    ranked = ranked_behind(subtree, by_node)
    behind = [
        Behind(
            node=node,
            figures=by_node[node.pk],
            shortfall=share_,
            score=score,
            gap_text=gap_words(by_node[node.pk].gap, node),
            explanation=why(node, by_node[node.pk]),
        )
        for node, share_, score in ranked[:RANKED]
    ]
    return KgiPanel(
        root=root,
        focus=focus,
        trail=[n for n in nodes if n.lft < focus.lft and focus.rght < n.rght],
        figures=mine,
        goal=goal,
        share=share,
        gap_text=gap_words(mine.gap, root),
        to_go_text=gap_words(to_go, root) if to_go is not None else "—",
        expected=expected,
        expected_text=expected_text,
        bullet=bullet,
        progress=progress,
        icicle=icicle,
        boxes=boxes,
        outline=figures.status_outline(boxes),
        boxes_total=len(subtree),
        counts={status: counts.get(status, 0) for status in figures.STATUS_ORDER},
        counts_figure=counts_figure,
        behind=behind,
        behind_total=len(ranked),
        freshness=freshness,
        missing=sum(count for _n, count in gaps),
        missing_nodes=[n for n, _count in gaps],
        explanation=explanation(root, mine),
        periods=[
            {
                "period": date.fromisoformat(period),
                "actual": actual,
                "target": target,
                "status": status,
            }
            for period, actual, target, status in zip(
                document.column(root_series, "period"),
                document.column(root_series, "actual"),
                document.column(root_series, "target"),
                document.column(root_series, "status"),
                strict=False,
            )
        ],
    )


def executive_overview(
    membership: Membership, window: Window, *, today: date, focus: Node | None = None
) -> list[KgiPanel]:
    """A panel per KGI of the organisation (only the focus's tree when drilled into a node), in
    six queries however many trees and nodes there are (a custom range adds the engine's)."""
    roots = list(goals_selectors.trees_of(membership))
    if focus is not None:
        roots = [root for root in roots if root.tree_id == focus.tree_id]
    if not roots:
        return []
    tree_ids = [root.tree_id for root in roots]
    states = rollup_states(tree_ids)
    outlines = trees_outline(membership.organisation_id, tree_ids)
    versions = {tree_id: computed_at for tree_id, (_stale, computed_at) in states.items()}
    by_node = trees_window_figures(roots, window, versions=versions, today=today)
    documents = series_of([root.pk for root in roots])
    freshness = trees_freshness(
        outlines, today=today, fiscal_start_month=membership.organisation.fiscal_year_start_month, states=states
    )
    return [
        kgi_panel(
            root,
            window,
            nodes=outlines[root.tree_id],
            by_node=by_node,
            root_series=documents.get(root.pk) or {},
            freshness=freshness[root.tree_id],
            focus=focus if focus is not None and focus.tree_id == root.tree_id else None,
        )
        for root in roots
    ]
