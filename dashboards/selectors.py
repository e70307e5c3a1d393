"""Reads for the dashboards besides the stored figures (dashboards/stored.py): the tree's
outline, how fresh its figures are, what is missing, notes on actuals and indicator pairs. Every
function here runs a fixed number of queries, however large the tree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, FloatField, Max, Q
from django.db.models.functions import Cast

from dashboards.windows import Window
from goals import selectors as goals_selectors
from goals.models import Kind, Measurement, Node, RollupState, ValueSource, has_number_q
from goals.periods import add_months, period_end, period_start, period_starts, tree_windows
from goals.rollup.document import EMPTY, NodeFigures
from goals.rollup.engine import MAX_SCORE


@dataclass(frozen=True, slots=True)
class OutlineNode:
    """What a dashboard shows of a node, read as plain values: a 1,000-node tree loads in a
    fraction of the time its model instances take (django-mptt's ``__init__`` alone doubles it)."""

    pk: int
    parent_id: int | None
    tree_id: int
    lft: int
    rght: int
    level: int
    kind: str
    name: str
    code: str
    unit: str
    direction: str
    value_source: str
    time_aggregation: str
    frequency: str
    formula: str
    weight: float
    at_risk_below: float
    off_track_below: float
    start_date: date | None
    deadline: date | None
    numbered: bool  # it has a number of its own (goals.models.has_number_q)
    owner_id: int | None
    owner_name: str


_OUTLINE_FIELDS = (
    "pk",
    "parent_id",
    "tree_id",
    "lft",
    "rght",
    "level",
    "kind",
    "name",
    "code",
    "unit",
    "direction",
    "value_source",
    "time_aggregation",
    "frequency",
    "formula",
)


def tree_outline(root: Node) -> list[OutlineNode]:
    """The active nodes of ``root``'s tree in tree order, with their owners' names, in one query."""
    return trees_outline(root.organisation_id, [root.tree_id]).get(root.tree_id, [])


def trees_outline(organisation_id: int, tree_ids: Sequence[int]) -> dict[int, list[OutlineNode]]:
    """:func:`tree_outline` of several trees of the organisation, by tree id, in one query."""
    rows = (
        Node.objects.filter(organisation_id=organisation_id, tree_id__in=list(tree_ids), is_archived=False)
        .order_by("tree_id", "lft")
        .values_list(
            *_OUTLINE_FIELDS,
            Cast("weight", FloatField()),
            Cast("at_risk_below", FloatField()),
            Cast("off_track_below", FloatField()),
            "start_date",
            "deadline",
            ExpressionWrapper(has_number_q(), output_field=BooleanField()),
            "owner_id",
            "owner__first_name",
            "owner__last_name",
            "owner__username",
        )
    )
    # Built by the ORM, read raw (as goals.selectors reads actuals): Django's per-value
    # converters were half the time. SQLite gives dates as text and booleans as integers.
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        raw = cursor.fetchall()
    days: dict[object, date | None] = {None: None}

    def day(value) -> date | None:
        if value not in days:
            days[value] = date.fromisoformat(value) if isinstance(value, str) else value
        return days[value]

    out: dict[int, list[OutlineNode]] = {tree_id: [] for tree_id in tree_ids}
    for row in raw:
        out[row[2]].append(
            OutlineNode(
                *row[:18],
                day(row[18]),
                day(row[19]),
                bool(row[20]),
                row[21],
                owner_name=f"{row[22] or ''} {row[23] or ''}".strip() or (row[24] or ""),
            )
        )
    return out


@dataclass(frozen=True)
class MissingActual:
    """A hand-entered node without an actual for its current period."""

    node: Node
    period: date


@dataclass(frozen=True)
class Freshness:
    stale: bool  # a rollup is pending: the figures may lag the actuals
    computed_at: datetime | None  # when the stored figures were last computed
    last_actual_at: datetime | None  # when the newest actual of the tree was entered or changed
    missing: list[MissingActual]  # actuals not yet entered for the current period

    @property
    def missing_count(self) -> int:
        return len(self.missing)


def needs_actuals(node: Node | OutlineNode) -> bool:
    """Someone enters this node's value by hand (goals.models.Node.takes_actuals)."""
    if isinstance(node, OutlineNode):
        return node.value_source == ValueSource.MANUAL and (node.kind != Kind.KSF or node.numbered)
    return node.takes_actuals


def missing_actuals(nodes: Sequence[Node], *, today: date, fiscal_start_month: int) -> list[MissingActual]:
    """The hand-entered nodes of a tree (all its active nodes, in tree order) that have no actual
    for the period containing ``today``, in one query. A node whose window has not started or
    is over expects nothing; a node without dates follows its nearest dated ancestor."""
    by_id = {n.pk: n for n in nodes}
    windows = tree_windows((n.pk, n.parent_id, n.start_date, n.deadline) for n in nodes)  # parents first
    due: dict[int, date] = {}
    for node in nodes:
        if not needs_actuals(node):
            continue
        current = period_start(today, node.frequency, fiscal_start_month)
        start, deadline = windows[node.pk]
        if (start is not None and period_end(current, node.frequency) < start) or (
            deadline is not None and current > deadline
        ):
            continue
        due[node.pk] = current
    if not due:
        return []
    entered = set(
        Measurement.objects.filter(
            node__tree_id__in={n.tree_id for n in nodes}, period_start__in=set(due.values())
        ).values_list("node_id", "period_start")
    )
    return [MissingActual(by_id[pk], period) for pk, period in due.items() if (pk, period) not in entered]


def tree_freshness(
    root: Node, *, today: date, nodes: Sequence[Node] | None = None, fiscal_start_month: int | None = None
) -> Freshness:
    """How current the stored figures of ``root``'s tree are, in three queries (four without
    ``nodes``, the tree's active nodes in tree order)."""
    if nodes is None:
        nodes = goals_selectors.tree_nodes(root)
    if fiscal_start_month is None:
        fiscal_start_month = root.organisation.fiscal_year_start_month
    return trees_freshness({root.tree_id: nodes}, today=today, fiscal_start_month=fiscal_start_month)[root.tree_id]


def rollup_states(tree_ids: Sequence[int]) -> dict[int, tuple[datetime | None, datetime | None]]:
    """(stale since, computed at) of each tree's rollup, by tree id, in one query."""
    return {
        tree_id: (stale, computed)
        for tree_id, stale, computed in RollupState.objects.filter(root__tree_id__in=list(tree_ids)).values_list(
            "root__tree_id", "stale_since", "computed_at"
        )
    }


def trees_freshness(
    nodes_by_tree: Mapping[int, Sequence[Node | OutlineNode]],
    *,
    today: date,
    fiscal_start_month: int,
    states: Mapping[int, tuple] | None = None,
) -> dict[int, Freshness]:
    """:func:`tree_freshness` of several trees (their active nodes in tree order, by tree id),
    in three queries (two with ``states`` from :func:`rollup_states`)."""
    tree_ids = list(nodes_by_tree)
    if states is None:
        states = rollup_states(tree_ids)
    last_actuals = dict(
        Measurement.objects.filter(node__tree_id__in=tree_ids, node__is_archived=False)
        .values("node__tree_id")
        .annotate(last=Max("entered_at"))
        .values_list("node__tree_id", "last")
        .order_by()
    )
    every_node = [node for nodes in nodes_by_tree.values() for node in nodes]
    missing: dict[int, list[MissingActual]] = {tree_id: [] for tree_id in tree_ids}
    for item in missing_actuals(every_node, today=today, fiscal_start_month=fiscal_start_month):
        missing[item.node.tree_id].append(item)
    return {
        tree_id: Freshness(
            stale=bool(states.get(tree_id, (None, None))[0]),
            computed_at=states.get(tree_id, (None, None))[1],
            last_actual_at=last_actuals.get(tree_id),
            missing=missing[tree_id],
        )
        for tree_id in tree_ids
    }


# The kinds whose number is a person's result (a KSF is a factor, judged by its KPIs).
PERSONAL_KINDS = (Kind.KGI, Kind.KPI, Kind.SUB_KPI)


# A chart over time of a daily or weekly node shows only the window (a year of days is long).
_FINER_THAN_A_MONTH = ("daily", "weekly")


_STATUS_RANK = {"off_track": 0, "at_risk": 1, "no_data": 2, "on_track": 3}


def trees_node_windows(organisation_id: int, tree_ids: Sequence[int]) -> dict[int, tuple]:
    """Each active node's window (goals.periods.tree_windows) of every active node of the trees, in one query."""
    rows = (
        Node.objects.filter(organisation_id=organisation_id, tree_id__in=list(tree_ids), is_archived=False)
        .order_by("tree_id", "lft")
        .values_list("pk", "parent_id", "start_date", "deadline")
    )
    return tree_windows(rows)


@dataclass(frozen=True)
class MissingEntry:
    """A hand-entered node and its periods in the window that have started and have no actual."""

    node: Node
    periods: tuple[date, ...]  # oldest first


@dataclass(frozen=True)
class OwnerMissing:
    """What one person (None: nobody owns the node) still has to enter."""

    owner: object | None
    entries: list[MissingEntry]

    @property
    def count(self) -> int:
        return sum(len(entry.periods) for entry in self.entries)


def due_periods(node: Node, *, window: Window, today: date, fiscal_start_month: int, span: tuple) -> list[date]:
    """The node's periods that overlap ``window``, have started by ``today`` and lie inside its
    own ``span`` (start, deadline): the periods an actual is expected for (pure)."""
    start, deadline = span
    last = min(window.last, today)
    return [
        p
        for p in period_starts(window.first, last, node.frequency, fiscal_start_month)
        if (start is None or period_end(p, node.frequency) >= start) and (deadline is None or p <= deadline)
    ]


def missing_in_window(
    nodes: Sequence[Node], *, window: Window, today: date, fiscal_start_month: int, spans: Mapping[int, tuple]
) -> list[MissingEntry]:
    """The periods of ``window`` (up to ``today``) that still lack an actual, per hand-entered
    node, in one query. ``spans``: each node's (start, deadline), from goals.periods.tree_windows."""
    due = {
        node.pk: due_periods(
            node,
            window=window,
            today=today,
            fiscal_start_month=fiscal_start_month,
            span=spans.get(node.pk, (node.start_date, node.deadline)),
        )
        for node in nodes
        if needs_actuals(node)
    }
    due = {pk: periods for pk, periods in due.items() if periods}
    if not due:
        return []
    first = min(periods[0] for periods in due.values())
    entered = set(
        Measurement.objects.filter(
            node__tree_id__in={n.tree_id for n in nodes},
            node__organisation_id=nodes[0].organisation_id,
            period_start__gte=first,
            period_start__lte=min(window.last, today),
        ).values_list("node_id", "period_start")
    )
    by_id = {n.pk: n for n in nodes}
    out = []
    for pk, periods in due.items():
        missing = tuple(p for p in periods if (pk, p) not in entered)
        if missing:
            out.append(MissingEntry(by_id[pk], missing))
    return out


def missing_by_owner(entries: Sequence[MissingEntry]) -> list[OwnerMissing]:
    """The entries grouped by the node's owner, who has most to enter first, nobody's last."""
    groups: dict[int | None, OwnerMissing] = {}
    for entry in entries:
        key = entry.node.owner_id
        if key not in groups:
            groups[key] = OwnerMissing(entry.node.owner, [])
        groups[key].entries.append(entry)
    return sorted(groups.values(), key=lambda g: (g.owner is None, -g.count, str(g.owner or "")))


def noted_actuals(nodes: Sequence[Node], window: Window, *, fiscal_start_month: int) -> set[int]:
    """The nodes with a note on an actual of a period that overlaps ``window``, in one query."""
    if not nodes:
        return set()
    by_id = {n.pk: n for n in nodes}
    # A yearly node's period overlapping the window starts at most a year before it.
    since = period_start(window.first, "yearly", fiscal_start_month)
    rows = (
        Measurement.objects.filter(
            node__tree_id__in={n.tree_id for n in nodes},
            node__organisation_id=nodes[0].organisation_id,
            period_start__gte=since,
            period_start__lte=window.last,
        )
        .exclude(note="")
        .values_list("node_id", "period_start")
    )
    return {pk for pk, start in rows if pk in by_id and period_end(start, by_id[pk].frequency) >= window.first}


@dataclass(frozen=True)
class Unexplained:
    """An off-track node with no note on its actuals (nor on those it is computed from)."""

    node: Node
    figures: NodeFigures


def off_track_without_note(
    nodes: Sequence[Node], figures: Mapping[int, NodeFigures], noted: set[int]
) -> list[Unexplained]:
    """Off-track nodes (not KSFs: a factor is explained by its KPIs) where nobody said why in
    the window: no note on the node's own actuals — or, for a computed node, on those of the
    nodes below it that it is computed from. Worst first (pure)."""
    noted_spans: dict[int, list[int]] = {}
    for node in nodes:
        if node.pk in noted:
            noted_spans.setdefault(node.tree_id, []).append(node.lft)
    out = []
    for node in nodes:
        found = figures.get(node.pk, EMPTY)
        if node.kind == Kind.KSF or found.status != "off_track" or node.pk in noted:
            continue
        below = noted_spans.get(node.tree_id, ())
        if node.value_source != ValueSource.MANUAL and any(node.lft < lft < node.rght for lft in below):
            continue
        out.append(Unexplained(node, found))
    out.sort(key=lambda u: (u.figures.attainment is None, u.figures.attainment or 0.0))
    return out


@dataclass(frozen=True)
class IndicatorPair:
    """A leading indicator and the result it drives (its parent, or a lagging sibling)."""

    driver: Node
    result: Node


def indicator_pairs(nodes: Sequence[Node]) -> list[IndicatorPair]:
    """Pairs to chart together, in tree order (pure). A leading node with a number drives its
    parent when the parent has a number; otherwise a lagging sibling — one counted over time the
    same way first (appointments → contracts). Both must be measured as often."""
    by_id = {n.pk: n for n in nodes}
    children: dict[int | None, list[Node]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    pairs = []
    for node in nodes:
        if node.indicator_type != "leading" or node.kind == Kind.KSF or not node.has_number:
            continue
        parent = by_id.get(node.parent_id)
        if parent is not None and parent.has_number and parent.frequency == node.frequency:
            pairs.append(IndicatorPair(node, parent))
            continue
        siblings = [
            s
            for s in children.get(node.parent_id, [])
            if s.pk != node.pk
            and s.indicator_type == "lagging"
            and s.kind != Kind.KSF
            and s.has_number
            and s.frequency == node.frequency
        ]
        siblings.sort(key=lambda s: s.time_aggregation != node.time_aggregation)
        if siblings:
            pairs.append(IndicatorPair(node, siblings[0]))
    return pairs


def pairs_to_watch(
    pairs: Sequence[IndicatorPair], figures: Mapping[int, NodeFigures], *, limit: int
) -> list[IndicatorPair]:
    """The pairs whose result is furthest behind first (off track, at risk, …), then tree order."""
    ranked = sorted(pairs, key=lambda p: _STATUS_RANK.get(figures.get(p.result.pk, EMPTY).status, 2))
    return ranked[:limit]


def personal_nodes(organisation_id: int, user_ids: Sequence[int]) -> dict[int, list[Node]]:
    """Each user's KPIs — owned, or entered as a reporter — active, in tree order, in two queries."""
    through = Node.reporters.through
    reported: dict[int, set[int]] = {}
    for node_id, user_id in through.objects.filter(
        user_id__in=list(user_ids), node__organisation_id=organisation_id
    ).values_list("node_id", "user_id"):
        reported.setdefault(node_id, set()).add(user_id)
    nodes = (
        Node.objects.filter(organisation_id=organisation_id, is_archived=False, kind__in=PERSONAL_KINDS)
        .filter(Q(owner_id__in=list(user_ids)) | Q(pk__in=list(reported)))
        .select_related("owner")
        .order_by("tree_id", "lft")
    )
    out: dict[int, list[Node]] = {user_id: [] for user_id in user_ids}
    for node in nodes:
        for user_id in {node.owner_id, *reported.get(node.pk, ())}:
            if user_id in out:
                out[user_id].append(node)
    return out


def overall_score(attainments: Sequence[float | None]) -> float | None:
    """A person's score for a period: the mean attainment of their KPIs that have one, each
    counted at most as far as the tree's weighted scores count it (goals.rollup.MAX_SCORE), so a
    target beaten by far does not hide one missed (pure)."""
    known = [min(a, MAX_SCORE) for a in attainments if a is not None]
    return sum(known) / len(known) if known else None


def chart_range(window: Window, *, frequency: str = "monthly", months: int = 12) -> tuple[date, date]:
    """The periods a chart over time shows: the ``months`` up to the end of the window (or the
    whole window when longer); for a daily or weekly node only the window itself (pure)."""
    if frequency in _FINER_THAN_A_MONTH:
        return window.first, window.last
    return min(window.first, add_months(window.last, -(months - 1))), window.last


def trees_stale(organisation_id: int, tree_ids: Sequence[int]) -> bool:
    """Whether a rollup of any of the trees is pending (the figures may lag the actuals)."""
    return RollupState.objects.filter(
        root__organisation_id=organisation_id, root__tree_id__in=list(tree_ids), stale_since__isnull=False
    ).exists()


@dataclass(frozen=True)
class ActualNote:
    """The note entered with an actual: for a miss, its cause and the next action."""

    node_id: int
    period: date
    text: str
    by: object | None  # the user who entered the actual
    at: datetime


def window_notes(root: Node, window: Window) -> dict[int, list[ActualNote]]:
    """The notes on the actuals of ``root``'s tree whose period overlaps ``window``, by node,
    oldest period first, in one query."""
    fiscal = root.organisation.fiscal_year_start_month
    # A yearly node's period overlapping the window starts at most a year before it.
    since = period_start(window.first, "yearly", fiscal)
    rows = (
        Measurement.objects.filter(
            node__tree_id=root.tree_id,
            node__organisation_id=root.organisation_id,
            node__is_archived=False,
            period_start__gte=since,
            period_start__lte=window.last,
        )
        .exclude(note="")
        .select_related("entered_by", "node")
        .order_by("node_id", "period_start")
    )
    out: dict[int, list[ActualNote]] = {}
    for m in rows:
        if period_end(m.period_start, m.node.frequency) < window.first:
            continue
        out.setdefault(m.node_id, []).append(ActualNote(m.node_id, m.period_start, m.note, m.entered_by, m.entered_at))
    return out
