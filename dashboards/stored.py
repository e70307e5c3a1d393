"""The stored rollup as the dashboards read it: each node's document (``RollupSeries``,
docs/rollup.md "Stored results") for a window, cached per rollup run. The format is read through
goals.rollup.document only. The dashboards never recompute a rollup, with one exception: a custom
range (and a fiscal year to date that ends before the stored figures' ``as_of``) is not among the
stored windows, so it is computed on request with the engine. Every function here runs a fixed
number of queries, however large the tree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime

from django.core.cache import cache
from django.db.models import F, Func, TextField

from dashboards.windows import CUSTOM, FYTD, MONTH, QUARTER, Window
from goals.models import Node
from goals.periods import window_is_shorter
from goals.rollup import document, storage
from goals.rollup.document import EMPTY, NOT_DUE, NodeFigures

# The stored document's key for each window it keeps; a month is one of the node's own periods.
_STORED = {QUARTER: "quarter", FYTD: "year"}


_FIGURE_FIELDS = tuple(field.name for field in fields(NodeFigures))


def tree_series(root: Node) -> dict[int, dict]:
    """The stored rollup document of every active node of ``root``'s tree that has one."""
    return {
        node_id: series
        for node_id, series in Node.objects.filter(
            tree_id=root.tree_id, organisation_id=root.organisation_id, is_archived=False
        ).values_list("pk", "rollup__series")
        if series
    }


def stored_figures(series: Mapping | None, window: Window, frequency: str) -> NodeFigures | None:
    """The node's figures for a month, quarter or fiscal year to date read from its stored
    document; None when the stored windows cannot answer (a custom range, a month of a daily or
    weekly node, or a fiscal year "to date" of a month before the stored ``as_of``)."""
    if window.kind == CUSTOM or _needs_engine(series, window):
        return None
    if window.kind == MONTH and frequency in ("daily", "weekly"):
        return None  # the node's own periods are days or weeks: no stored entry is the month
    if window_is_shorter(window.first, window.last, frequency):
        return NOT_DUE  # a quarterly KPI in November: not its period's figures (docs/rollup.md §3)
    if not series:
        return EMPTY
    if window.kind == MONTH:
        return document.period_figures(series, window.first, frequency)
    return document.window_figures(series, _STORED[window.kind], window.first)


def _needs_engine(series: Mapping | None, window: Window) -> bool:
    return window.kind == FYTD and document.year_to_date_stale(series, window.first, window.last)


def tree_window_figures(
    root: Node, window: Window, *, today: date, series: Mapping[int, dict] | None = None
) -> dict[int, NodeFigures]:
    """Every active node of ``root``'s tree, by id, with its figures over ``window``.

    Read from the stored rollup (pass ``series`` from :func:`tree_series` to reuse documents
    already loaded). Without ``series`` only the parts of each document the window needs are
    read: the database extracts them, so a large tree's documents are never decoded whole.
    A custom range is computed with the engine on request, the one exception, as of ``today``.
    """
    if series is None:
        return trees_window_figures([root], window, today=today)
    rows = Node.objects.filter(tree_id=root.tree_id, organisation_id=root.organisation_id, is_archived=False)
    return _figures_of(
        rows.values_list("pk", "frequency", "tree_id"), series, window, {root.tree_id: root}, today=today
    )[root.tree_id]


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
    roots: Sequence[Node], window: Window, *, today: date, versions: Mapping[int, object] | None = None
) -> dict[int, NodeFigures]:
    """:func:`tree_window_figures` of several trees of one organisation, in one query (plus the
    engine's for a custom range, one load per tree, as of ``today``).

    With ``versions`` (each tree's ``RollupState.computed_at``, by tree id), the
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
    by_tree = _read_window_figures(pending, window, today=today)
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


def _figures_key(tree_id: int, version, window: Window, today: date) -> str:
    stamp = f"{version.timestamp():.6f}" if isinstance(version, datetime) else "none"
    return f"dashboards:figures:{tree_id}:{stamp}:{window.kind}:{window.first:%Y%m}-{window.last:%Y%m}:{today}"


def _read_window_figures(roots: Sequence[Node], window: Window, *, today: date) -> dict[int, dict[int, NodeFigures]]:
    """The figures of the trees' active nodes, by tree id and node id."""
    keys = _window_keys(window)
    nodes = Node.objects.filter(
        organisation_id=roots[0].organisation_id, tree_id__in=[r.tree_id for r in roots], is_archived=False
    )
    if not keys:
        rows = list(nodes.values_list("pk", "frequency", "tree_id"))
        return _figures_of(rows, {}, window, {r.tree_id: r for r in roots}, today=today)
    rows = list(nodes.values_list("pk", "frequency", "tree_id", DocumentParts("rollup__series", keys)))
    documents = {row[0]: dict(zip(keys, json.loads(row[3]), strict=True)) for row in rows if row[3] is not None}
    return _figures_of(rows, documents, window, {r.tree_id: r for r in roots}, today=today)


def _figures_of(
    rows, documents: Mapping[int, Mapping], window: Window, roots: Mapping[int, Node], *, today: date
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
        out[tree_id].update(engine_figures(roots[tree_id], window, node_ids, today=today))
    return out


def _window_keys(window: Window) -> tuple[str, ...]:
    """The keys of a stored document that answer ``window`` (the first one is always present)."""
    if window.kind == MONTH:
        return ("period", *document.COLUMNS)
    if window.kind in _STORED:
        return ("as_of", _STORED[window.kind])
    return ()


def engine_figures(root: Node, window: Window, node_ids: Sequence[int], *, today: date) -> dict[int, NodeFigures]:
    """Figures computed now with the rollup engine as of ``today`` (a window the rollup does not
    store)."""
    engine, _nodes = storage.tree_engine(root, as_of=today)
    out = {}
    for node_id in node_ids:
        if node_id not in engine.specs:
            out[node_id] = EMPTY
            continue
        out[node_id] = _assessed(engine.assess(node_id, window.first, window.last), window.first)
    return out


def series_of(node_ids: Sequence[int]) -> dict[int, dict]:
    """The stored rollup documents of the nodes, in one query."""
    return storage.nodes_documents(node_ids)


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
    nodes: Sequence[Node],
    windows: Sequence[Window],
    *,
    series: Mapping[int, dict],
    roots: Mapping[int, Node],
    today: date,
) -> dict[int, list[NodeFigures]]:
    """Each node's figures for each of ``windows`` (a list per node, in the order of the windows).

    Read from the stored rollup. What it does not store — a custom range, a month of a daily or
    weekly node — is computed with the engine as of ``today``, loaded once per tree that needs it
    (``roots``: the trees' roots by tree id).
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
        engine, _nodes = storage.tree_engine(roots[tree_id], as_of=today)
        for node_id, index in wanted:
            if node_id in engine.specs:
                window = windows[index]
                out[node_id][index] = _assessed(engine.assess(node_id, window.first, window.last), window.first)
    return out


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
    return [
        SeriesPoint(f.period, f.actual, f.target, f.attainment, f.status)
        for f in document.entries(series, first=first, last=last)
    ]
