"""Synthetic KPI trees of any size with actuals, for benchmarks and load tests (generate_tree).

A tree is planned in memory — KGI → KSFs → KPIs → sub-KPIs with a mix of value sources (hand-entered
leaves, sums, averages, weighted averages, min/max and a few formulas) and units that agree along
every sum — then written with a handful of bulk inserts: the nested-set columns (lft, rght, level,
tree_id) are assigned here in one depth-first pass instead of by django-mptt one save at a time.

Bulk inserts skip ``save()``: no history records are written for these nodes and actuals, and no
rollup is run. The tree is marked stale instead, so ``manage.py rollup`` or the beat sweep computes it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from goals.models import Measurement, Node, Organisation, RollupState
from goals.periods import EARLIEST_DATE, LATEST_DATE, MAX_WINDOW_PERIODS, add_months, period_end, window_fits

# KGI → this many KSFs → this many KPIs each (the SMART rules allow at most 3 KPIs per KSF);
# below them sub-KPIs branch evenly, as widely as the requested size needs.
KSFS_PER_KGI = 5
KPIS_PER_KSF = 3
MEASUREMENT_BATCH = 5000

# What a node measures decides its unit, how it aggregates over time and how it combines its
# children. A formula node's children measure different things (customers × spend per customer).
MEASURES = {
    "money": {"unit": "JPY", "time_aggregation": "sum", "scale": (1e5, 1e7), "places": 0},
    "count": {"unit": "customers", "time_aggregation": "sum", "scale": (10, 500), "places": 0},
    "price": {"unit": "JPY", "time_aggregation": "average", "scale": (1000, 50000), "places": 0},
    "rate": {"unit": "%", "time_aggregation": "average", "scale": (10, 60), "places": 2},
}
FORMULAS = {
    # measure → (children's measures, formula over the first two children's codes)
    "money": (("count", "price"), "{0} * {1}"),
    "count": (("count", "rate"), "{0} * {1} / 100"),
}


@dataclass
class PlannedNode:
    index: int
    parent: PlannedNode | None
    kind: str
    level: int
    measure: str = "money"
    code: str = ""
    value_source: str = "manual"
    formula: str = ""
    direction: str = "increase"
    baseline: float | None = None
    target: float | None = None
    target_min: float | None = None
    target_max: float | None = None
    status_rule: str = "weighted"
    weight: Decimal = Decimal("1")
    # False for a node without a number of its own (a KSF, some sub-KPIs): its status comes
    # from its children, and baseline/target above are only what its inputs add up to.
    has_number: bool = True
    lft: int = 0
    rght: int = 0
    children: list[PlannedNode] = field(default_factory=list)
    child_measures: tuple[str, ...] = ()


@dataclass(frozen=True)
class GeneratedTree:
    root: Node
    nodes: int
    leaves: int
    actuals: int
    depth: int


def fanouts(nodes: int, depth: int) -> list[int]:
    """Children per node at each level (the KGI's first). Sub-KPI levels widen from the top, one
    level at a time, while the levels above the deepest stay under ``nodes``: the tree is as deep
    as asked and its deepest level is filled only as far as ``nodes`` goes."""
    fixed = [KSFS_PER_KGI, KPIS_PER_KSF][: max(depth, 0)]
    branching = [1] * max(depth - len(fixed), 0)

    def total(levels: list[int]) -> int:
        count, width = 1, 1
        for fanout in levels:
            width *= fanout
            count += width
        return count

    widened = True
    while widened and total(fixed + branching) < nodes:
        widened = False
        for level in range(len(branching)):
            wider = branching.copy()
            wider[level] += 1
            # Widening the deepest level is always allowed; a level above it only while the
            # levels above the deepest stay under ``nodes`` (else the deepest would stay empty).
            if level < len(branching) - 1 and total(fixed + wider[:-1]) >= nodes:
                continue
            branching, widened = wider, True
            if total(fixed + branching) >= nodes:
                break
    return fixed + branching


def plan_tree(*, nodes: int, depth: int = 6, seed: int = 1) -> list[PlannedNode]:
    """Nodes in depth-first order (the order of ``lft``), breadth-first filled up to ``nodes``."""
    rng = random.Random(seed)
    root = PlannedNode(0, None, "kgi", 0, code="kgi", value_source="sum")
    planned = [root]
    level_nodes = [root]
    for level, fanout in enumerate(fanouts(nodes, depth), start=1):
        next_level = []
        for parent in level_nodes:
            for _ in range(fanout):
                if len(planned) >= nodes:
                    break
                kind = {1: "ksf", 2: "kpi"}.get(level, "sub_kpi")
                child = PlannedNode(len(planned), parent, kind, level)
                child.code = f"{kind}{child.index}"
                parent.children.append(child)
                planned.append(child)
                next_level.append(child)
        level_nodes = next_level
    for node in planned:
        _choose_source(node, rng)
    for node in reversed(planned):
        _choose_targets(node, rng)
    return _depth_first(root)


def _choose_source(node: PlannedNode, rng: random.Random) -> None:
    """How the node gets its value; decides what its children measure. Parents come first."""
    if node.parent is not None:
        siblings = node.parent.children
        position = siblings.index(node)
        measures = node.parent.child_measures
        node.measure = (
            (measures[position] if position < len(measures) else measures[0]) if measures else node.parent.measure
        )
    if node.kind == "ksf":
        # A success factor has no number of its own: it sums its KPIs' money for the KGI and takes
        # its status from its children (weighted, or worst-of for some).
        node.value_source = "sum"
        node.status_rule = "worst" if rng.random() < 0.2 else "weighted"
        node.weight = Decimal(rng.choice((1, 2, 3)))
        return
    if not node.children:
        node.value_source = "manual"
        return
    if node.kind == "kgi":
        return
    roll = rng.random()
    if node.measure in FORMULAS and len(node.children) >= 2 and roll < 0.1:
        child_measures, template = FORMULAS[node.measure]
        node.value_source = "formula"
        node.formula = template.format(node.children[0].code, node.children[1].code)
        # Children past the first two measure what the first one does (unused by the formula).
        node.child_measures = child_measures
        return
    if node.measure in ("money", "count"):
        node.value_source = "max" if node.measure == "count" and roll > 0.92 else "sum"
    elif node.measure == "price":
        node.value_source = "min" if roll > 0.9 else ("weighted_average" if roll > 0.5 else "average")
    else:
        node.value_source = "weighted_average" if roll > 0.5 else "average"
    if node.value_source == "weighted_average":
        for child in node.children:
            child.weight = Decimal(rng.choice((1, 1, 2, 3)))


def _choose_targets(node: PlannedNode, rng: random.Random) -> None:
    """Baselines and targets, leaves first; computed parents get targets that match their inputs."""
    spec = MEASURES[node.measure]
    low, high = spec["scale"]
    if not node.children:
        baseline = rng.uniform(low, high)
        if node.measure == "rate" and rng.random() < 0.3:
            node.direction = "maintain"
            # Stay within ±20% of today's level; the plan is to hold the middle of the range.
            node.target_min, node.target_max = round(baseline * 0.8, 2), round(baseline * 1.2, 2)
            node.baseline = node.target = round(baseline, 2)
            return
        if node.measure == "price" and rng.random() < 0.3:
            node.direction = "decrease"  # a cost to bring down
            node.baseline, node.target = baseline, baseline * rng.uniform(0.8, 0.95)
        else:
            node.baseline, node.target = baseline, baseline * rng.uniform(1.05, 1.3)
        if node.measure == "rate":
            node.target = min(node.target, 95.0)
        return
    baselines = [c.baseline for c in node.children]
    targets = [c.target for c in node.children]
    if node.value_source == "formula":
        factor = 0.01 if node.measure == "count" else 1.0
        node.baseline = baselines[0] * baselines[1] * factor
        node.target = targets[0] * targets[1] * factor
    elif node.value_source == "sum":
        node.baseline, node.target = sum(baselines), sum(targets)
    elif node.value_source == "min":
        node.baseline, node.target = min(baselines), min(targets)
    elif node.value_source == "max":
        node.baseline, node.target = max(baselines), max(targets)
    else:
        node.baseline, node.target = sum(baselines) / len(baselines), sum(targets) / len(targets)
    if node.kind == "ksf" or (node.kind == "sub_kpi" and rng.random() < 0.1):
        node.has_number = False


def _depth_first(root: PlannedNode) -> list[PlannedNode]:
    """Assign the nested-set numbers in one depth-first walk; returns the nodes in ``lft`` order."""
    order: list[PlannedNode] = []
    counter = 1
    stack: list[tuple[PlannedNode, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            node.rght = counter
            counter += 1
            continue
        node.lft = counter
        counter += 1
        order.append(node)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.children))
    return order


def _amount(value: float | None, places: int = 4) -> Decimal | None:
    return None if value is None else round(Decimal(repr(value)), places)


def planned_actuals(
    planned: list[PlannedNode], *, periods: list[date], seed: int = 1
) -> list[tuple[int, date, Decimal]]:
    """(node index, period start, value) for the hand-entered leaves: the target path with noise.

    Each leaf has its own pace around the plan; about 2% of the points are missing, and about 2%
    of the leaves have no actual at all (missing data stays missing in the rollup).
    """
    rng = random.Random(seed + 1)
    out = []
    count = len(periods)
    for node in planned:
        if node.value_source != "manual" or node.children:
            continue
        if rng.random() < 0.02:
            continue
        places = MEASURES[node.measure]["places"]
        pace = rng.gauss(1.0, 0.08)
        start, goal = node.baseline, node.target
        for index, period in enumerate(periods):
            if rng.random() < 0.02:
                continue
            planned_value = start + (goal - start) * (index + 1) / count
            value = max(planned_value * pace * rng.uniform(0.93, 1.07), 0.0)
            if node.measure == "rate":
                value = min(value, 100.0)
            out.append((node.index, period, Decimal(f"{value:.{places}f}")))
    return out


@transaction.atomic
def tree_generate(
    *, organisation: Organisation, nodes: int, periods: int, today: date, depth: int = 6, seed: int = 1
) -> GeneratedTree:
    """Write a synthetic tree of about ``nodes`` nodes with ``periods`` monthly periods of actuals
    ending in the current month; returns its root. The tree is left marked stale (not rolled up)."""
    from goals.services import _lock_new_root, _lock_organisation

    if nodes < 1 or periods < 1:
        raise ValueError("nodes and periods must be at least 1")
    first = add_months(today, -(periods - 1)) if periods < today.year * 12 else date.min
    last = period_end(today.replace(day=1), "monthly")
    # Bulk inserts skip goals.services: the one SMART rule a period count can break is checked here.
    if not window_fits(first, last, "monthly"):
        raise ValueError(
            f"{periods} monthly periods ending this month do not fit the supported window "
            f"({EARLIEST_DATE} … {LATEST_DATE}, at most {MAX_WINDOW_PERIODS['monthly']} periods)"
        )
    organisation = _lock_organisation(organisation.pk)
    _lock_new_root()
    tree_id = (Node.objects.aggregate(top=Max("tree_id"))["top"] or 0) + 1
    planned = plan_tree(nodes=nodes, depth=depth, seed=seed)
    starts = [add_months(first, i) for i in range(periods)]

    by_level: dict[int, list[PlannedNode]] = {}
    for node in planned:
        by_level.setdefault(node.level, []).append(node)
    pks: dict[int, int] = {}
    for level in sorted(by_level):
        rows = [_node_row(node, organisation, tree_id, pks, first, last) for node in by_level[level]]
        # Level by level, so every parent's primary key is known when its children are inserted.
        created = Node.objects.bulk_create(rows, batch_size=1000)
        for node, row in zip(by_level[level], created, strict=True):
            pks[node.index] = row.pk

    actuals = planned_actuals(planned, periods=starts, seed=seed)
    _insert_actuals([(pks[index], period, value) for index, period, value in actuals])
    now = timezone.now()
    root = Node.objects.get(pk=pks[0])
    RollupState.objects.create(root=root, stale_since=now, requested_at=now)
    return GeneratedTree(
        root=root,
        nodes=len(planned),
        leaves=sum(1 for n in planned if not n.children),
        actuals=len(actuals),
        depth=max(n.level for n in planned),
    )


def _insert_actuals(rows: list[tuple[int, date, Decimal]]) -> None:
    """Insert actuals without building model instances (ten times faster than bulk_create here):
    COPY on PostgreSQL, batched executemany elsewhere. Values go through the backend's adapters."""
    table = Measurement._meta.db_table
    columns = "node_id, period_start, value, note, entered_at"
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608 (our table)
                for node_id, period, value in rows:
                    copy.write_row((node_id, period, value, "", now))
            return
        sql = f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, '', %s)"  # noqa: S608 (our table)
        for offset in range(0, len(rows), MEASUREMENT_BATCH):
            cursor.executemany(
                sql,
                [
                    (node_id, ops.adapt_datefield_value(period), ops.adapt_decimalfield_value(value, 20, 4), now)
                    for node_id, period, value in rows[offset : offset + MEASUREMENT_BATCH]
                ],
            )


def _node_row(
    node: PlannedNode, organisation: Organisation, tree_id: int, pks: dict[int, int], first: date, last: date
) -> Node:
    spec = MEASURES[node.measure]
    dated = node.kind != "ksf"  # a KSF follows its KGI's window
    label = {"kgi": "Revenue", "ksf": "Success factor", "kpi": "KPI", "sub_kpi": "Sub-KPI"}[node.kind]
    return Node(
        organisation=organisation,
        parent_id=pks[node.parent.index] if node.parent is not None else None,
        kind=node.kind,
        name=f"{label} {node.index} ({node.measure})",
        code=node.code,
        unit=spec["unit"],
        direction=node.direction,
        baseline_value=_amount(node.baseline) if node.has_number else None,
        target_value=_amount(node.target) if node.has_number and node.direction != "maintain" else None,
        target_min=_amount(node.target_min),
        target_max=_amount(node.target_max),
        start_date=first if dated else None,
        deadline=last if dated else None,
        frequency="monthly",
        indicator_type="lagging" if node.level <= 2 else "leading",
        time_aggregation=spec["time_aggregation"],
        weight=node.weight,
        value_source=node.value_source,
        formula=node.formula,
        status_rule=node.status_rule,
        lft=node.lft,
        rght=node.rght,
        tree_id=tree_id,
        level=node.level,
    )
