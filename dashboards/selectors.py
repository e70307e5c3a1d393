"""Reads for the dashboards: the stored rollup (``RollupSeries``, docs/rollup.md §10) per window,
and how fresh it is. The dashboards never recompute a rollup, with one exception: a custom range
(and a fiscal year to date that ends before the stored figures' ``as_of``) is not among the
stored windows, so it is computed on request with the engine. Every function here runs a fixed
number of queries, however large the tree.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from functools import lru_cache

from django.core.cache import cache
from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, F, FloatField, Func, Max, Q, TextField
from django.db.models.functions import Cast

from dashboards.windows import CUSTOM, FYTD, MONTH, QUARTER, Window
from goals import selectors as goals_selectors
from goals import smart
from goals.models import Kind, Measurement, Node, RollupSeries, RollupState, ValueSource
from goals.periods import add_months, period_end, period_start, period_starts
from goals.rollup.engine import MAX_SCORE

NO_DATA = "no_data"
# The stored document's key for each window it keeps; a month is one of the node's own periods.
_STORED = {QUARTER: "quarter", FYTD: "year"}


@dataclass(frozen=True)
class NodeFigures:
    """A node's rollup over one window: what the stored columns hold for it (unrounded)."""

    actual: float | None = None
    target: float | None = None
    low: float | None = None
    high: float | None = None
    attainment: float | None = None
    gap: float | None = None
    status: str = NO_DATA
    missing: int = 0
    reason: str = ""  # the code of the rule that decided (goals.selectors.REASONS)
    period: date | None = None  # the first day of the stored period or window read


EMPTY = NodeFigures()
_FIGURE_FIELDS = tuple(field.name for field in fields(NodeFigures))
_COLUMNS = ("actual", "target", "low", "high", "attainment", "gap", "status", "missing", "reason")


def tree_series(root: Node) -> dict[int, dict]:
    """The stored rollup document of every active node of ``root``'s tree that has one."""
    return {
        node_id: series
        for node_id, series in Node.objects.filter(
            tree_id=root.tree_id, organisation_id=root.organisation_id, is_archived=False
        ).values_list("pk", "rollup__series")
        if series
    }


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
    numbered: bool  # it has a target or a range of its own
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
            ExpressionWrapper(
                Q(target_value__isnull=False) | Q(target_min__isnull=False) | Q(target_max__isnull=False),
                output_field=BooleanField(),
            ),
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


def figures_at(columns: Mapping, index: int) -> NodeFigures:
    """Entry ``index`` of a stored set of columns (the top level, ``quarter`` or ``year``)."""
    value = [columns[name][index] if name in columns else None for name in _COLUMNS]
    return NodeFigures(
        *value[:6],
        status=value[6] or NO_DATA,
        missing=value[7] or 0,
        reason=value[8] or "",
        period=_day(columns["period"][index]),
    )


@lru_cache(maxsize=4096)
def _day(text: str) -> date:
    return date.fromisoformat(text)


def period_index(periods: Sequence[str], day: date, frequency: str) -> int | None:
    """The index of the stored period (ISO first days, oldest first) that contains ``day``."""
    position = bisect_right(periods, day.isoformat()) - 1
    if position < 0:
        return None
    if day > period_end(date.fromisoformat(periods[position]), frequency):
        return None
    return position


def stored_figures(series: Mapping | None, window: Window, frequency: str) -> NodeFigures | None:
    """The node's figures for a month, quarter or fiscal year to date read from its stored
    document; None when the stored windows cannot answer (a custom range, a month of a daily or
    weekly node, or a fiscal year "to date" of a month before the stored ``as_of``)."""
    if window.kind == CUSTOM or _needs_engine(series, window):
        return None
    if window.kind == MONTH and frequency in ("daily", "weekly"):
        return None  # the node's own periods are days or weeks: no stored entry is the month
    if not series:
        return EMPTY
    if window.kind == MONTH:
        index = period_index(series.get("period", []), window.first, frequency)
        return EMPTY if index is None else figures_at(series, index)
    columns = series.get(_STORED[window.kind]) or {}
    try:
        index = columns.get("period", []).index(window.first.isoformat())
    except ValueError:
        return EMPTY
    return figures_at(columns, index)


def _needs_engine(series: Mapping | None, window: Window) -> bool:
    """The stored fiscal year is "to date" of ``as_of``: it answers a year to date that ends in
    ``as_of``'s month or later (a past year was stored whole), not one that ends before it."""
    if window.kind != FYTD or not series or "as_of" not in series:
        return False
    return _ends_before(window.first, window.last, series["as_of"])


@lru_cache(maxsize=256)
def _ends_before(first: date, last: date, as_of: str) -> bool:
    return last < date.fromisoformat(as_of) and last < period_end(first, "yearly")


def tree_window_figures(
    root: Node, window: Window, *, series: Mapping[int, dict] | None = None
) -> dict[int, NodeFigures]:
    """Every active node of ``root``'s tree, by id, with its figures over ``window``.

    Read from the stored rollup (pass ``series`` from :func:`tree_series` to reuse documents
    already loaded). Without ``series`` only the parts of each document the window needs are
    read: the database extracts them, so a large tree's documents are never decoded whole.
    A custom range is computed with the engine on request, the one exception.
    """
    if series is None:
        return trees_window_figures([root], window)
    rows = Node.objects.filter(tree_id=root.tree_id, organisation_id=root.organisation_id, is_archived=False)
    return _figures_of(rows.values_list("pk", "frequency", "tree_id"), series, window, {root.tree_id: root})[
        root.tree_id
    ]


class DocumentParts(Func):
    """Parts of a stored rollup document as one JSON array (text), ``[part, part, …]`` in the
    order of ``keys``, for the database to cut out of each document: the application then
    decodes a few hundred bytes per node instead of the whole document (about 4 KB for two
    years of months). One parse per document on SQLite (JSON_EXTRACT with several paths)."""

    output_field = TextField()

    def __init__(self, field: str, keys: Sequence[str]) -> None:
        if len(keys) < 2:
            raise ValueError("SQLite returns a bare value for one path: ask for two keys or more")
        self.keys = tuple(keys)
        super().__init__(F(field))

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        paths = ", ".join("%s" for _ in self.keys)
        return f"JSON_EXTRACT({sql}, {paths})", [*params, *(f'$."{key}"' for key in self.keys)]

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        parts = ", ".join(f"{sql} -> %s" for _ in self.keys)
        # A node without a stored document is NULL, as on SQLite (not an array of nulls).
        return (
            f"CASE WHEN {sql} IS NULL THEN NULL ELSE jsonb_build_array({parts})::text END",
            [*params, *(value for key in self.keys for value in (*params, key))],
        )


# A tree's stored figures change only when a rollup run writes them: until then the figures of a
# stored window are kept in the cache, under the run's time (RollupState.computed_at).
FIGURES_CACHE_SECONDS = 3600


def trees_window_figures(
    roots: Sequence[Node], window: Window, *, versions: Mapping[int, object] | None = None, today: date | None = None
) -> dict[int, NodeFigures]:
    """:func:`tree_window_figures` of several trees of one organisation, in one query (plus the
    engine's for a custom range, one load per tree).

    With ``versions`` (each tree's ``RollupState.computed_at``, by tree id) and ``today``, the
    figures of a stored window come from the cache when that run's have been read before: the
    query and the decoding of a 1,000-node tree's documents were a third of the executive
    dashboard's time. A custom range, computed from live actuals, is never cached.
    """
    if not roots:
        return {}
    keys: dict[int, str] = {}
    if versions is not None and window.kind != CUSTOM:
        keys = {root.tree_id: _figures_key(root.tree_id, versions.get(root.tree_id), window, today) for root in roots}
    found = cache.get_many(list(keys.values())) if keys else {}
    out: dict[int, NodeFigures] = {}
    pending = []
    for root in roots:
        packed = found.get(keys.get(root.tree_id, ""))
        if packed is None:
            pending.append(root)
        else:
            out.update((row[0], NodeFigures(*row[1:])) for row in packed)
    if not pending:
        return out
    by_tree = _read_window_figures(pending, window)
    if keys:
        cache.set_many(
            {
                keys[tree_id]: [
                    (node_id, *(getattr(f, name) for name in _FIGURE_FIELDS)) for node_id, f in figures.items()
                ]
                for tree_id, figures in by_tree.items()
            },
            FIGURES_CACHE_SECONDS,
        )
    for figures in by_tree.values():
        out.update(figures)
    return out


def _figures_key(tree_id: int, version, window: Window, today: date | None) -> str:
    stamp = f"{version.timestamp():.6f}" if isinstance(version, datetime) else "none"
    return f"dashboards:figures:{tree_id}:{stamp}:{window.kind}:{window.first:%Y%m}-{window.last:%Y%m}:{today or ''}"


def _read_window_figures(roots: Sequence[Node], window: Window) -> dict[int, dict[int, NodeFigures]]:
    """The figures of the trees' active nodes, by tree id and node id."""
    keys = _window_keys(window)
    nodes = Node.objects.filter(
        organisation_id=roots[0].organisation_id, tree_id__in=[r.tree_id for r in roots], is_archived=False
    )
    if not keys:
        rows = list(nodes.values_list("pk", "frequency", "tree_id"))
        return _figures_of(rows, {}, window, {r.tree_id: r for r in roots})
    rows = list(nodes.values_list("pk", "frequency", "tree_id", DocumentParts("rollup__series", keys)))
    documents = {row[0]: dict(zip(keys, json.loads(row[3]), strict=True)) for row in rows if row[3] is not None}
    return _figures_of(rows, documents, window, {r.tree_id: r for r in roots})


def _figures_of(
    rows, documents: Mapping[int, Mapping], window: Window, roots: Mapping[int, Node]
) -> dict[int, dict[int, NodeFigures]]:
    out: dict[int, dict[int, NodeFigures]] = {tree_id: {} for tree_id in roots}
    computed: dict[int, list[int]] = {}
    for node_id, frequency, tree_id, *_ in rows:
        figures = stored_figures(documents.get(node_id), window, frequency)
        if figures is None:
            computed.setdefault(tree_id, []).append(node_id)
        else:
            out[tree_id][node_id] = figures
    for tree_id, node_ids in computed.items():
        out[tree_id].update(engine_figures(roots[tree_id], window, node_ids))
    return out


def _window_keys(window: Window) -> tuple[str, ...]:
    """The keys of a stored document that answer ``window`` (the first one is always present)."""
    if window.kind == MONTH:
        return ("period", *_COLUMNS)
    if window.kind in _STORED:
        return ("as_of", _STORED[window.kind])
    return ()


def engine_figures(root: Node, window: Window, node_ids: Sequence[int]) -> dict[int, NodeFigures]:
    """Figures computed now with the rollup engine (a window the rollup does not store)."""
    engine, _nodes = goals_selectors.tree_engine(root)
    out = {}
    for node_id in node_ids:
        if node_id not in engine.specs:
            out[node_id] = EMPTY
            continue
        a = engine.assess(node_id, window.first, window.last)
        out[node_id] = NodeFigures(
            actual=a.actual,
            target=a.target.value,
            low=a.target.low,
            high=a.target.high,
            attainment=a.attainment,
            gap=a.gap,
            status=a.status,
            missing=a.missing,
            reason=a.reason.code,
            period=window.first,
        )
    return out


# --- freshness ------------------------------------------------------------------------------


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
    """Someone enters this node's value by hand (a KSF without a number takes no actuals)."""
    if node.value_source != ValueSource.MANUAL:
        return False
    if node.kind == Kind.KSF:
        if isinstance(node, OutlineNode):
            return node.numbered
        return node.target_value is not None or node.target_min is not None or node.target_max is not None
    return True


def missing_actuals(nodes: Sequence[Node], *, today: date, fiscal_start_month: int) -> list[MissingActual]:
    """The hand-entered nodes of a tree (all its active nodes, in tree order) that have no actual
    for the period containing ``today``, in one query. A node whose window has not started or
    is over expects nothing; a node without dates follows its nearest dated ancestor."""
    by_id = {n.pk: n for n in nodes}
    windows: dict[int, tuple[date | None, date | None]] = {}
    for node in nodes:  # parents come first in tree order
        start, deadline = windows.get(node.parent_id, (None, None))
        windows[node.pk] = (node.start_date or start, node.deadline or deadline)
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


# --- the manager's and the member's dashboards ------------------------------------------------

# The kinds whose number is a person's result (a KSF is a factor, judged by its KPIs).
PERSONAL_KINDS = (Kind.KGI, Kind.KPI, Kind.SUB_KPI)
# A chart over time of a daily or weekly node shows only the window (a year of days is long).
_FINER_THAN_A_MONTH = ("daily", "weekly")
_STATUS_RANK = {"off_track": 0, "at_risk": 1, "no_data": 2, "on_track": 3}


def series_of(node_ids: Sequence[int]) -> dict[int, dict]:
    """The stored rollup documents of the nodes, in one query."""
    return dict(RollupSeries.objects.filter(node_id__in=list(node_ids)).values_list("node_id", "series"))


def _assessed(assessment, first: date) -> NodeFigures:
    return NodeFigures(
        actual=assessment.actual,
        target=assessment.target.value,
        low=assessment.target.low,
        high=assessment.target.high,
        attainment=assessment.attainment,
        gap=assessment.gap,
        status=assessment.status,
        missing=assessment.missing,
        reason=assessment.reason.code,
        period=first,
    )


def nodes_window_figures(
    nodes: Sequence[Node], windows: Sequence[Window], *, series: Mapping[int, dict], roots: Mapping[int, Node]
) -> dict[int, list[NodeFigures]]:
    """Each node's figures for each of ``windows`` (a list per node, in the order of the windows).

    Read from the stored rollup. What it does not store — a custom range, a month of a daily or
    weekly node — is computed with the engine, loaded once per tree that needs it (``roots``:
    the trees' roots by tree id).
    """
    out: dict[int, list[NodeFigures]] = {}
    pending: dict[int, list[tuple[int, int]]] = {}
    for node in nodes:
        row = out[node.pk] = [EMPTY] * len(windows)
        for index, window in enumerate(windows):
            figures = stored_figures(series.get(node.pk), window, node.frequency)
            if figures is None:
                pending.setdefault(node.tree_id, []).append((node.pk, index))
            else:
                row[index] = figures
    for tree_id, wanted in pending.items():
        engine, _nodes = goals_selectors.tree_engine(roots[tree_id])
        for node_id, index in wanted:
            if node_id in engine.specs:
                window = windows[index]
                out[node_id][index] = _assessed(engine.assess(node_id, window.first, window.last), window.first)
    return out


def node_windows(rows: Sequence[tuple[int, int | None, date | None, date | None]]) -> dict[int, tuple]:
    """(start, deadline) of each node from rows (id, parent id, start, deadline) in tree order;
    a missing date is its nearest dated ancestor's, as in the rollup engine."""
    windows: dict[int, tuple[date | None, date | None]] = {}
    for node_id, parent_id, start, deadline in rows:
        inherited = windows.get(parent_id, (None, None))
        windows[node_id] = (start or inherited[0], deadline or inherited[1])
    return windows


def trees_node_windows(organisation_id: int, tree_ids: Sequence[int]) -> dict[int, tuple]:
    """:func:`node_windows` of every active node of the trees, in one query."""
    rows = (
        Node.objects.filter(organisation_id=organisation_id, tree_id__in=list(tree_ids), is_archived=False)
        .order_by("tree_id", "lft")
        .values_list("pk", "parent_id", "start_date", "deadline")
    )
    return node_windows(list(rows))


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
    node, in one query. ``spans``: each node's (start, deadline), from :func:`node_windows`."""
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


def has_number(node: Node) -> bool:
    return node.target_value is not None or node.target_min is not None or node.target_max is not None


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
        if node.indicator_type != "leading" or node.kind == Kind.KSF or not has_number(node):
            continue
        parent = by_id.get(node.parent_id)
        if parent is not None and has_number(parent) and parent.frequency == node.frequency:
            pairs.append(IndicatorPair(node, parent))
            continue
        siblings = [
            s
            for s in children.get(node.parent_id, [])
            if s.pk != node.pk
            and s.indicator_type == "lagging"
            and s.kind != Kind.KSF
            and has_number(s)
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


@dataclass(frozen=True)
class SeriesPoint:
    period: date
    actual: float | None
    target: float | None
    attainment: float | None
    status: str


def series_points(series: Mapping | None, *, first: date, last: date) -> list[SeriesPoint]:
    """The node's own stored periods that start from ``first`` to ``last`` (pure)."""
    if not series:
        return []
    out = []
    for index, text in enumerate(series.get("period", [])):
        start = date.fromisoformat(text)
        if first <= start <= last:
            out.append(
                SeriesPoint(
                    start,
                    series["actual"][index],
                    series["target"][index],
                    series["attainment"][index],
                    series["status"][index] or NO_DATA,
                )
            )
    return out


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
class ManagerTrees:
    roots: list[Node]  # every active tree of the organisation, for the choice of trees
    trees: list[goals_selectors.TreeOverview]  # the chosen ones, with their SMART reports
    scope: str  # "mine", "all" or the chosen root's id


def manager_trees(membership, *, user_id: int, tree_id: int | None, everything: bool) -> ManagerTrees:
    """The trees on a manager's dashboard: the one of ``tree_id``; or, with ``everything``, all
    (the user's first); otherwise the user's — those where they own a node — or all when they
    own none. Only the chosen trees' nodes are loaded and checked against SMART, in four
    queries whatever their size."""
    active = goals_selectors.nodes_of(membership).filter(is_archived=False)
    roots = list(active.filter(level=0).order_by("tree_id"))
    by_tree = {root.tree_id: root for root in roots}
    mine = set(active.filter(owner_id=user_id).values_list("tree_id", flat=True)) & set(by_tree)
    if tree_id is not None:
        chosen = [tree_id] if tree_id in by_tree else []
        scope = str(by_tree[tree_id].pk) if chosen else ""
    elif everything or not mine:
        chosen, scope = sorted(by_tree, key=lambda tid: (tid not in mine, tid)), "all"
    else:
        chosen, scope = sorted(mine), "mine"
    nodes: dict[int, list[Node]] = {tid: [] for tid in chosen}
    for node in active.filter(tree_id__in=chosen).select_related("owner").order_by("tree_id", "lft"):
        nodes[node.tree_id].append(node)
    reports = goals_selectors.tree_smart_reports([n for tid in chosen for n in nodes[tid]])
    trees = []
    for tid in chosen:
        members = nodes[tid]
        tree_reports = {n.pk: reports[n.pk] for n in members}
        summary = smart.summarise_tree(members, list(tree_reports.values()))
        trees.append(goals_selectors.TreeOverview(members[0], members, tree_reports, summary))
    return ManagerTrees(roots, trees, scope)


STATUS_ROWS = 200


@dataclass(frozen=True)
class TreeStatus:
    """One tree on the manager's dashboard: every node with its figures, and the counts."""

    root: Node
    rows: list[tuple[Node, NodeFigures]]
    counts: dict[str, int]

    @property
    def listed(self) -> list[tuple[Node, NodeFigures]]:
        """The rows the page lists: all of a tree of up to ``STATUS_ROWS`` nodes; of a larger
        one those not on track (the counts and the status map cover the rest)."""
        if len(self.rows) <= STATUS_ROWS:
            return self.rows
        return [row for row in self.rows if row[1].status != "on_track"][:STATUS_ROWS]

    @property
    def unlisted(self) -> int:
        return len(self.rows) - len(self.listed)


@dataclass(frozen=True)
class PairSeries:
    """An indicator pair with both nodes' stored actuals over the chart's periods."""

    pair: IndicatorPair
    periods: list[date]
    driver: list[SeriesPoint]
    result: list[SeriesPoint]


@dataclass(frozen=True)
class ManagerDashboard:
    trees: list[TreeStatus]
    missing: list[OwnerMissing]
    unexplained: list[Unexplained]
    pairs: list[PairSeries]
    pair_count: int  # how many pairs the trees have, of which ``pairs`` are the first
    stale: bool
    failures: tuple[goals_selectors.RollupFailure, ...] = ()  # trees whose last rollup failed


def _pair_series(pair: IndicatorPair, series: Mapping[int, dict], window: Window, today: date) -> PairSeries:
    first, last = chart_range(window, frequency=pair.driver.frequency)
    last = min(last, today)
    driver = {p.period: p for p in series_points(series.get(pair.driver.pk), first=first, last=last)}
    result = {p.period: p for p in series_points(series.get(pair.result.pk), first=first, last=last)}
    periods = sorted(set(driver) | set(result))

    def at(points: Mapping[date, SeriesPoint], period: date) -> SeriesPoint:
        return points.get(period) or SeriesPoint(period, None, None, None, NO_DATA)

    return PairSeries(pair, periods, [at(driver, p) for p in periods], [at(result, p) for p in periods])


def manager_dashboard(
    membership, roots: Sequence[Node], nodes: Sequence[Node], *, window: Window, today: date, pair_limit: int = 6
) -> ManagerDashboard:
    """What a manager chases in ``window`` over the trees of ``roots`` (``nodes``: their active
    nodes in tree order, owners loaded), in a fixed number of queries whatever their size."""
    organisation = membership.organisation
    fiscal = organisation.fiscal_year_start_month
    tree_ids = [root.tree_id for root in roots]
    for root in roots:
        root.organisation = organisation  # the engine reads the fiscal year from it
    states = rollup_states(tree_ids)
    figures = trees_window_figures(
        roots, window, versions={tree_id: state[1] for tree_id, state in states.items()}, today=today
    )
    trees = []
    for root in roots:
        rows = [(n, figures.get(n.pk, EMPTY)) for n in nodes if n.tree_id == root.tree_id]
        counts = dict.fromkeys(("on_track", "at_risk", "off_track", NO_DATA), 0)
        for _node, found in rows:
            counts[found.status if found.status in counts else NO_DATA] += 1
        trees.append(TreeStatus(root, rows, counts))
    spans = node_windows([(n.pk, n.parent_id, n.start_date, n.deadline) for n in nodes])
    missing = missing_in_window(nodes, window=window, today=today, fiscal_start_month=fiscal, spans=spans)
    noted = noted_actuals(nodes, window, fiscal_start_month=fiscal)
    pairs = indicator_pairs(nodes)
    watched = pairs_to_watch(pairs, figures, limit=pair_limit)
    series = series_of([node.pk for pair in watched for node in (pair.driver, pair.result)]) if watched else {}
    return ManagerDashboard(
        trees=trees,
        missing=missing_by_owner(missing),
        unexplained=off_track_without_note(nodes, figures, noted),
        pairs=[_pair_series(p, series, window, today) for p in watched],
        pair_count=len(pairs),
        stale=any(state[0] for state in states.values()),
        failures=tuple(goals_selectors.rollup_failures(organisation.pk, tree_ids)),
    )


@dataclass(frozen=True)
class KpiCard:
    """One of my KPIs over the window, with its last periods for the sparkline."""

    node: Node
    root: Node
    figures: NodeFigures
    recent: list[SeriesPoint]
    owned: bool  # False: I enter it as a reporter

    @property
    def recent_rows(self) -> list[tuple[date, float | None, float | None]]:
        """(period, actual, target) of the last periods, as the sparkline's text lists them."""
        return [(p.period, p.actual, p.target) for p in self.recent]

    @property
    def bar(self) -> float:
        """The progress bar's filled share, 0–100 (the number itself is shown beside it)."""
        if self.figures.attainment is None:
            return 0.0
        return max(0.0, min(100.0, self.figures.attainment))


@dataclass(frozen=True)
class HistoryRow:
    period: date
    cells: list[NodeFigures]  # one per KPI, in the order of the cards
    score: float | None


@dataclass(frozen=True)
class TeamRow:
    user: object
    kpis: int
    counts: dict[str, int]
    score: float | None


@dataclass(frozen=True)
class MemberDashboard:
    cards: list[KpiCard]
    to_enter: list[MissingEntry]
    history: list[HistoryRow]
    score: float | None  # over the window
    team: list[TeamRow] | None  # None: the organisation keeps personal attainment private
    stale: bool

    @property
    def history_by_kpi(self) -> list[tuple[KpiCard, list[NodeFigures]]]:
        """The history turned round: each KPI with its figures month by month."""
        return [(card, [row.cells[index] for row in self.history]) for index, card in enumerate(self.cards)]


SPARKLINE_PERIODS = 12


def history_months(window: Window, *, months: int = 12) -> list[Window]:
    """The month windows of the attainment history: ``months`` up to the end of the window
    (or the whole window when longer, at most two years) (pure)."""
    first, last = chart_range(window, months=months)
    first = max(first, add_months(last, -23))
    return [
        Window(MONTH, month, period_end(month, "monthly"), window.fiscal_start_month)
        for month in period_starts(first, last, "monthly")
    ]


def member_dashboard(membership, *, user, window: Window, today: date, show_team: bool) -> MemberDashboard:
    """The caller's KPIs over ``window``, what they still have to enter, their attainment per
    month, and — when ``show_team`` — everyone's score, in a fixed number of queries."""
    organisation = membership.organisation
    fiscal = organisation.fiscal_year_start_month
    user_id = membership.user_id
    people = {user_id: user}
    if show_team:
        for member in organisation.memberships.filter(role="member").exclude(user_id=user_id).select_related("user"):
            people[member.user_id] = member.user
    kpis = personal_nodes(organisation.pk, list(people))
    mine = kpis[user_id]
    everyone = {n.pk: n for nodes in kpis.values() for n in nodes}
    tree_ids = sorted({n.tree_id for n in everyone.values()})
    roots = {
        root.tree_id: root
        for root in Node.objects.filter(organisation_id=organisation.pk, level=0, tree_id__in=tree_ids)
    }
    for root in roots.values():
        root.organisation = organisation  # the engine reads the fiscal year from it
    months = history_months(window)
    series = series_of(list(everyone))
    figures = nodes_window_figures(mine, [window, *months], series=series, roots=roots)
    cards = []
    for node in mine:
        last = min(window.last, today)
        points = series_points(series.get(node.pk), first=date.min, last=last)[-SPARKLINE_PERIODS:]
        cards.append(KpiCard(node, roots[node.tree_id], figures[node.pk][0], points, node.owner_id == user_id))
    history = []
    for index, month in enumerate(months, start=1):
        cells = [figures[node.pk][index] for node in mine]
        history.append(HistoryRow(month.first, cells, overall_score([c.attainment for c in cells])))
    spans = trees_node_windows(organisation.pk, tree_ids) if mine else {}
    to_enter = missing_in_window(mine, window=window, today=today, fiscal_start_month=fiscal, spans=spans)
    team = None
    if show_team:
        others = [n for n in everyone.values() if n.pk not in {m.pk for m in mine}]
        team_figures = {pk: row[0] for pk, row in figures.items()}
        team_figures.update(
            {pk: row[0] for pk, row in nodes_window_figures(others, [window], series=series, roots=roots).items()}
        )
        team = []
        for person_id, person in people.items():
            found = [team_figures[n.pk] for n in kpis[person_id]]
            counts = dict.fromkeys(("on_track", "at_risk", "off_track", NO_DATA), 0)
            for f in found:
                counts[f.status if f.status in counts else NO_DATA] += 1
            team.append(TeamRow(person, len(found), counts, overall_score([f.attainment for f in found])))
        team.sort(key=lambda row: (row.user.get_full_name() or row.user.username).lower())
    return MemberDashboard(
        cards=cards,
        to_enter=to_enter,
        history=history,
        score=overall_score([card.figures.attainment for card in cards]),
        team=team,
        stale=trees_stale(organisation.pk, tree_ids) if tree_ids else False,
    )


def reported_by(user_id: int, node_ids: Sequence[int]) -> frozenset[int]:
    """Which of the nodes the user enters actuals for as a reporter, in one query."""
    through = Node.reporters.through
    return frozenset(
        through.objects.filter(user_id=user_id, node_id__in=list(node_ids)).values_list("node_id", flat=True)
    )


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
