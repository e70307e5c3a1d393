"""The rollup's storage: the engine loaded with a tree (or what one node depends on) from the
database, a saved node's window as the engine resolves it, and the documents written back
(``RollupSeries``) and read.

The documents' format is goals.rollup.document's; this module only moves them in and out.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from decimal import Context as DecimalContext
from decimal import Decimal

from django.db import connection
from django.db.models import CharField, Exists, FloatField, OuterRef, Q
from django.db.models.functions import Cast

from goals import formula as formulas
from goals import smart, targets
from goals.models import (
    Measurement,
    Node,
    Organisation,
    RollupSeries,
    RollupState,
    TargetOverride,
)
from goals.periods import (
    inherited_window,
    window_fits,
)
from goals.rollup import document, plan
from goals.rollup.engine import NodeSpec, TreeRollup


def rollup_spec(node: Node) -> NodeSpec:
    def number(value):
        return None if value is None else float(value)

    return NodeSpec(
        id=node.pk,
        parent_id=node.parent_id,
        code=node.code,
        kind=node.kind,
        unit=node.unit,
        direction=node.direction,
        value_source=node.value_source,
        formula=node.formula,
        time_aggregation=node.time_aggregation,
        frequency=node.frequency,
        weight=float(node.weight),
        baseline=number(node.baseline_value),
        target=number(node.target_value),
        target_min=number(node.target_min),
        target_max=number(node.target_max),
        target_scope=node.target_scope,
        start=node.start_date,
        deadline=node.deadline,
        at_risk_below=float(node.at_risk_below),
        off_track_below=float(node.off_track_below),
        status_rule=node.status_rule,
    )


def _tree_actuals(tree_id: int) -> dict[int, dict[date, float]]:
    """Every actual of the tree's active nodes as floats, by node and period, in one query.

    The rebuild of a large tree reads hundreds of thousands of actuals, and Django's per-row
    conversions (a Decimal for each value, a date parsed from each string on SQLite) were most of
    the time it took to load them: the query is built by the ORM but its rows are read raw, the
    value cast to a float by the database and each distinct period parsed once. On SQLite the
    period is cast to text too: its driver otherwise parses every ``date`` column value itself,
    with Django's converter, once per row. The floats are those ``float(value)`` of the
    DecimalField would give (see ``_as_read_by_django``).
    """
    sqlite = connection.vendor == "sqlite"
    query = Measurement.objects.filter(node__tree_id=tree_id, node__is_archived=False).order_by()
    period = Cast("period_start", CharField()) if sqlite else "period_start"
    sql, params = query.values_list("node_id", period, Cast("value", FloatField())).query.sql_with_params()
    periods: dict[object, date] = {}
    points: dict[int, dict[date, float]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for node_id, period, value in cursor.fetchall():
            day = periods.get(period)
            if day is None:
                day = periods[period] = date.fromisoformat(period) if isinstance(period, str) else period
            if sqlite and not -1e11 < value < 1e11:
                value = _as_read_by_django(value)
            points[node_id][day] = value
    return points


_SQLITE_DECIMAL = DecimalContext(prec=15)


_FOUR_PLACES = Decimal("0.0001")


def _as_read_by_django(value: float) -> float:
    """A large actual as Django reads it from SQLite (15 significant digits, 4 places), so the
    engine sees the same number as before. Below 1e11 (15 digits with 4 places) the float read
    by the database already is that number; PostgreSQL's numeric-to-float cast is always exact."""
    return float(_SQLITE_DECIMAL.create_decimal_from_float(value).quantize(_FOUR_PLACES))


def inputs_in_error(nodes: Sequence[Node]) -> dict[int, tuple[str, ...]]:
    """Which loaded nodes have a child in SMART error that makes it unfit to feed them, and why
    (goals.smart.inputs_in_error): the engine withholds those children (TreeRollup's
    ``withheld``). One pass over the loaded nodes, no query (goals.smart.input_reports)."""
    return smart.inputs_in_error(nodes, smart.input_reports(nodes))


def tree_engine(root: Node, *, as_of: date) -> tuple[TreeRollup, list[Node]]:
    """The rollup engine loaded with a tree's active nodes, actuals and target overrides."""
    nodes = list(Node.objects.filter(tree_id=root.tree_id, is_archived=False).order_by("lft"))
    ids = [n.pk for n in nodes]
    points = _tree_actuals(root.tree_id)
    overrides: dict[int, dict[date, float]] = defaultdict(dict)
    for node_id, period, value in TargetOverride.objects.filter(node_id__in=ids).values_list(
        "node_id", "period_start", "value"
    ):
        overrides[node_id][period] = float(value)
    engine = TreeRollup(
        [rollup_spec(n) for n in nodes],
        points,
        as_of=as_of,
        fiscal_start_month=root.organisation.fiscal_year_start_month,
        overrides=overrides,
        withheld=inputs_in_error(nodes),
    )
    return engine, nodes


def node_engine(node: Node, *, as_of: date) -> tuple[TreeRollup, list[Node]]:
    """The rollup engine loaded with what one node's figures depend on: its active subtree (its
    value and status come from there) and its ancestors (a KSF follows its KGI's window).

    Its assessments of the node and its descendants are :func:`tree_engine`'s; reading one KPI
    no longer loads its siblings and the rest of the tree with all their actuals.
    """
    nodes = list(
        Node.objects.filter(tree_id=node.tree_id, is_archived=False)
        .filter(Q(lft__gte=node.lft, rght__lte=node.rght) | Q(lft__lt=node.lft, rght__gt=node.rght))
        .order_by("lft")
    )
    by_id = {n.pk: n for n in nodes}
    below = Q(node__tree_id=node.tree_id, node__is_archived=False, node__lft__gte=node.lft, node__rght__lte=node.rght)
    points: dict[int, dict[date, float]] = defaultdict(dict)
    for node_id, period, value in Measurement.objects.filter(below).values_list("node_id", "period_start", "value"):
        points[node_id][period] = float(value)
    overrides: dict[int, dict[date, float]] = defaultdict(dict)
    for node_id, period, value in TargetOverride.objects.filter(below).values_list("node_id", "period_start", "value"):
        overrides[node_id][period] = float(value)
    engine = TreeRollup(
        [rollup_spec(n) for n in nodes],
        points,
        as_of=as_of,
        fiscal_start_month=node.organisation.fiscal_year_start_month,
        overrides=overrides,
        # The subtree's nodes have all their children loaded; the ancestors (for their window) do not.
        withheld={
            pk: why
            for pk, why in inputs_in_error(nodes).items()
            if by_id[pk].lft >= node.lft and by_id[pk].rght <= node.rght
        },
    )
    return engine, nodes


def tree_engine_around(
    root: Node, node_ids: Sequence[int], *, as_of: date
) -> tuple[TreeRollup, list[int], set[int], dict[int, dict]] | None:
    """What recomputing only ``node_ids`` and their ancestors needs, or None if it cannot be done.

    The engine is loaded with those nodes (their actuals and overrides) and their ancestors'
    other children, whose stored documents come back as the fourth item: (engine, every loaded id
    in tree order, the ids to recompute, stored documents of the rest). A constant number of
    queries, whatever the size of the tree.
    """
    changed = list(
        Node.objects.filter(tree_id=root.tree_id, pk__in=node_ids, is_archived=False).values_list("lft", "rght")
    )
    if not changed or len(changed) != len(set(node_ids)):
        return None
    on_path = Q()
    for lft, rght in changed:
        on_path |= Q(lft__lte=lft, rght__gte=rght)
    active = Node.objects.filter(tree_id=root.tree_id, is_archived=False)
    on_path_rows = list(active.filter(on_path).values_list("pk", "lft", "rght", "value_source", "formula"))
    path = {pk for pk, *_ in on_path_rows}
    # A formula on the path names nodes anywhere under it: they (and the nodes between) are read
    # from storage like the path's other children.
    named = Q()
    for _pk, lft, rght, source, text in on_path_rows:
        if source == "formula":
            try:
                codes = formulas.parse(text).codes
            except formulas.FormulaError:
                continue
            named |= Q(code__in=sorted(codes), lft__gt=lft, rght__lt=rght)
    between = Q(pk__in=[])
    if named:
        # The named nodes and their ancestors (in the same statement: the count stays fixed).
        between = Q(Exists(active.filter(named, lft__gte=OuterRef("lft"), rght__lte=OuterRef("rght"))))
    nodes = list(active.filter(Q(pk__in=path) | Q(parent_id__in=path) | between).order_by("lft"))
    others = [n.pk for n in nodes if n.pk not in path]
    stored = nodes_documents([n.pk for n in nodes])
    if any("error" in doc for doc in stored.values()):
        # A node in error (a child in SMART error withheld, a window that cannot be computed):
        # only actuals changed, so the last full rebuild's errors stand; it decides them again.
        return None
    stored = {pk: doc for pk, doc in stored.items() if pk not in path}
    if len(stored) != len(others) or any(document.computed_on(doc) != as_of.isoformat() for doc in stored.values()):
        return None
    manual = [n.pk for n in nodes if n.pk in path and n.value_source == "manual"]
    points: dict[int, dict[date, float]] = defaultdict(dict)
    for node_id, period, value in Measurement.objects.filter(node_id__in=manual).values_list(
        "node_id", "period_start", "value"
    ):
        points[node_id][period] = float(value)
    overrides: dict[int, dict[date, float]] = defaultdict(dict)
    for node_id, period, value in TargetOverride.objects.filter(node_id__in=list(path)).values_list(
        "node_id", "period_start", "value"
    ):
        overrides[node_id][period] = float(value)
    engine = TreeRollup(
        [rollup_spec(n) for n in nodes],
        points,
        as_of=as_of,
        fiscal_start_month=root.organisation.fiscal_year_start_month,
        overrides=overrides,
    )
    return engine, [n.pk for n in nodes], path, stored


def period_targets(
    pairs: Sequence[tuple[Node, date]], organisation, *, today: date
) -> dict[tuple[int, date], float | None]:
    """The scheduled target value of each (node, period), overrides included."""
    return {
        key: (plan.value if plan is not None else None)
        for key, plan in period_plan(pairs, organisation, today=today).items()
    }


def period_plan(
    pairs: Sequence[tuple[Node, date]], organisation, *, today: date
) -> dict[tuple[int, date], targets.Target | None]:
    """The scheduled target of each (node, period) — a value or a range — overrides included."""
    nodes = {node.pk: node for node, _ in pairs}
    overrides: dict[int, dict[date, float]] = defaultdict(dict)
    for node_id, period, value in TargetOverride.objects.filter(node_id__in=list(nodes)).values_list(
        "node_id", "period_start", "value"
    ):
        overrides[node_id][period] = float(value)
    # Phased over the window the rollup uses: a KPI without dates follows its ancestor's (the
    # note rule and "My KPIs" read this; without it such a KPI had no target, issue 9 §1.6).
    windows = nodes_windows(list(nodes.values()))
    engine = TreeRollup(
        [replace(rollup_spec(n), start=windows[n.pk][0], deadline=windows[n.pk][1]) for n in nodes.values()],
        {},
        as_of=today,
        fiscal_start_month=organisation.fiscal_year_start_month,
        overrides=overrides,
    )
    return {(node.pk, period): engine.schedule(engine.specs[node.pk]).get(period) for node, period in pairs}


def nodes_plan_checks(nodes: Sequence[Node], *, loaded: Sequence[Node] = ()) -> dict[int, plan.PlanCheck]:
    """The plan check (goals.rollup.plan) of each active computed node among ``nodes``.

    What a check needs is the node's subtree (its inputs) and its ancestors (a KSF follows its
    KGI's window): taken from ``loaded`` (nodes already read that form whole subtrees, the tree
    page's) when the node's ancestors are all there, read otherwise — at most three queries
    however many nodes are asked for (the nodes, their overrides, the organisation). A node
    being edited is checked as given, with the targets typed, against its saved drivers.
    """
    computed = [n for n in nodes if n.pk and n.value_source in plan.COMPUTED_SOURCES and not n.is_archived]
    if not computed:
        return {}
    known = {n.pk: n for n in loaded if not n.is_archived}

    def ancestors_known(node: Node) -> bool:
        while node.parent_id is not None:
            if node.parent_id not in known:
                return False
            node = known[node.parent_id]
        return True

    specs = {n.pk: n for n in known.values()}
    wanted = Q()
    for node in computed:
        if node.pk not in known or not ancestors_known(node):
            around = Q(lft__gte=node.lft, rght__lte=node.rght) | Q(lft__lt=node.lft, rght__gt=node.rght)
            wanted |= Q(tree_id=node.tree_id) & around
    if wanted:
        specs.update({n.pk: n for n in Node.objects.filter(wanted, is_archived=False)})
    # The nodes as given: a node being edited is checked with the targets typed.
    specs.update({n.pk: n for n in computed})
    tree = sorted(specs.values(), key=lambda n: (n.tree_id, n.lft))
    overrides: dict[int, dict[date, float]] = defaultdict(dict)
    for node_id, period, value in TargetOverride.objects.filter(node_id__in=list(specs)).values_list(
        "node_id", "period_start", "value"
    ):
        overrides[node_id][period] = float(value)
    organisations = {
        pk: (month, float(tolerance))
        for pk, month, tolerance in Organisation.objects.filter(
            pk__in={n.organisation_id for n in computed}
        ).values_list("pk", "fiscal_year_start_month", "plan_tolerance_percent")
    }
    withheld = inputs_in_error(tree)
    checks: dict[int, plan.PlanCheck] = {}
    for organisation_id, (month, tolerance) in organisations.items():
        mine = [n for n in tree if n.organisation_id == organisation_id]
        checks |= plan.plan_checks(
            [rollup_spec(n) for n in mine],
            [n.pk for n in computed if n.organisation_id == organisation_id],
            fiscal_start_month=month,
            tolerance=tolerance,
            overrides=overrides,
            withheld=withheld,
        )
    return checks


def tree_engine_periods(node: Node, *, today: date) -> list[date]:
    """The starts of the node's periods over its window (a KSF's window is its ancestors')."""
    engine = TreeRollup(
        [rollup_spec(n) for n in node.get_ancestors(include_self=True)],
        {},
        as_of=today,
        fiscal_start_month=node.organisation.fiscal_year_start_month,
    )
    return engine.periods(engine.specs[node.pk])


def node_target_plan(node: Node, *, today: date) -> list[dict]:
    """Each period's default (phased) target, its override if any, and the one in force."""
    overrides = {o.period_start: o for o in TargetOverride.objects.filter(node=node)}
    engine = TreeRollup(
        [rollup_spec(n) for n in node.get_ancestors(include_self=True)],
        {},
        as_of=today,
        fiscal_start_month=node.organisation.fiscal_year_start_month,
    )
    spec = engine.specs[node.pk]
    default = engine.schedule(spec)
    rows = []
    for start in engine.periods(spec):
        override = overrides.get(start)
        planned = default[start]
        rows.append(
            {
                "period_start": start,
                "default": planned.value if planned.value is not None else planned.low,
                "default_high": planned.high,
                "override": override,
                "in_force": float(override.value) if override else planned.value,
            }
        )
    return rows


def stored_progress(node: Node) -> list[dict]:
    """The node's rolled-up series as rows (what the last rollup stored), oldest first."""
    stored = node_document(node)
    if not stored:
        return []
    return [
        {
            "period": f.period,
            "actual": f.actual,
            "target": f.target,
            "attainment": f.attainment,
            "gap": f.gap,
            "status": f.status,
            "missing": f.missing,
        }
        for f in document.entries(stored)
    ]


def node_document(node: Node) -> dict:
    """The node's stored document ({} before its first rollup)."""
    return RollupSeries.objects.filter(node=node).values_list("series", flat=True).first() or {}


def nodes_documents(node_ids: Sequence[int]) -> dict[int, dict]:
    """The stored documents of the nodes, by id, in one query."""
    return dict(RollupSeries.objects.filter(node_id__in=list(node_ids)).values_list("node_id", "series"))


def period_status(node: Node, period: date) -> tuple[str, bool]:
    """The stored status of the node in the period, and whether a recomputation is pending."""
    return document.status_at(node_document(node), period)[0], tree_is_stale(node)


@contextmanager
def cyclic_gc_paused():
    """A rebuild allocates millions of small objects and creates no reference cycles; Python's
    cyclic garbage collector would scan them over and over (a third of a large rebuild's time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def documents_upsert(documents: list[tuple[int, str]], computed_at) -> None:
    """Insert or replace the series of every node with one statement, whatever the tree's size.

    What ``RollupSeries.objects.bulk_create(update_conflicts=True)`` did, without a model instance
    and a second JSON encoding per node and without its batches (SQLite's take 333 rows, so their
    number grew with the tree): one prepared statement run over all rows (``executemany``), in
    process on SQLite and pipelined by psycopg on PostgreSQL. Sending the rows to PostgreSQL as two
    arrays for one ``INSERT … SELECT FROM unnest(…)`` measured three times slower. A row whose
    document is unchanged is not written again (most of a same-day re-run on PostgreSQL was the
    write of identical documents).
    """
    table = connection.ops.quote_name(RollupSeries._meta.db_table)
    computed_at = connection.ops.adapt_datetimefield_value(computed_at)
    # PostgreSQL's json type has no equality: its text is compared.
    changed = (
        f"{table}.series::text IS DISTINCT FROM EXCLUDED.series::text"
        if connection.vendor == "postgresql"
        else f"{table}.series IS NOT EXCLUDED.series"
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (node_id, series, computed_at) VALUES (%s, %s, %s) "  # noqa: S608 (no user input)
            "ON CONFLICT (node_id) DO UPDATE SET series = EXCLUDED.series, computed_at = EXCLUDED.computed_at "
            f"WHERE {changed}",
            [(pk, document, computed_at) for pk, document in documents],
        )


def tree_is_stale(node: Node) -> bool:
    """True while a rollup of the node's tree is pending (results may lag the actuals)."""
    return RollupState.objects.filter(root__tree_id=node.tree_id, stale_since__isnull=False).exists()


def node_window(node: Node) -> tuple[date | None, date | None]:
    """The node's start date and deadline; a missing one is its nearest dated ancestor's, as in
    the rollup engine (a KSF follows its KGI's window). (None, None) for a window SMART refuses."""
    return nodes_windows([node])[node.pk]


def nodes_windows(nodes: Sequence[Node]) -> dict[int, tuple[date | None, date | None]]:
    """:func:`node_window` of several saved nodes, with at most one query (their ancestors)."""
    undated = [n for n in nodes if n.start_date is None or n.deadline is None]
    ancestors = []
    if undated:
        above = Q()
        for n in undated:
            above |= Q(tree_id=n.tree_id, lft__lt=n.lft, rght__gt=n.rght)
        ancestors = list(
            Node.objects.filter(above)
            .order_by("-level")
            .values_list("tree_id", "lft", "rght", "start_date", "deadline")
        )
    windows = {}
    for n in nodes:
        start, deadline = n.start_date, n.deadline
        for tree_id, lft, rght, above_start, above_deadline in ancestors:  # nearest first
            if tree_id == n.tree_id and lft < n.lft and rght > n.rght:
                start, deadline = inherited_window(start, deadline, (above_start, above_deadline))
        # A window written before SMART refused it: the rollup reports the node as an error;
        # callers fall back to their default range instead of thousands of periods.
        windows[n.pk] = (start, deadline) if window_fits(start, deadline, n.frequency) else (None, None)
    return windows
