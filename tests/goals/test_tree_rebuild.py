"""The full rebuild (jobs.tree_rollup) is fast without changing what it stores.

The rollup rules themselves are tested in test_rollup*.py; these tests pin what the speed-ups in
the rebuild's loading, evaluation and writing must keep: the same numbers, the same series, and a
number of SQL statements that does not grow with the tree.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from goals import targets as schedules
from goals.dev.trees import tree_generate
from goals.models import Measurement, Node, RollupSeries, RollupState
from goals.periods import add_months, period_anchor, period_end, period_starts
from goals.rollup import jobs, storage
from goals.rollup.engine import NodeSpec, TreeRollup

TODAY = date(2026, 11, 20)


def test_rebuild_stores_exactly_what_the_engine_computes(organisation):
    tree = tree_generate(organisation=organisation, nodes=150, periods=8, today=TODAY)

    jobs.tree_rollup(root_id=tree.root.pk, as_of=TODAY)

    engine, nodes = storage.tree_engine(tree.root, as_of=TODAY)
    stored = {row.node_id: row.series for row in RollupSeries.objects.filter(node__tree_id=tree.root.tree_id)}
    assert stored == {n.pk: json.loads(json.dumps(engine.series(n.pk))) for n in nodes}


def test_rebuild_twice_changes_nothing(organisation):
    tree = tree_generate(organisation=organisation, nodes=60, periods=4, today=TODAY)
    jobs.tree_rollup(root_id=tree.root.pk, as_of=TODAY)
    first = {r.node_id: r.series for r in RollupSeries.objects.all()}
    # The rows carry the time of the run that wrote them, stored as the ORM stores a DateTimeField.
    written = RollupState.objects.get(root=tree.root).computed_at
    assert set(RollupSeries.objects.values_list("computed_at", flat=True)) == {written}

    jobs.tree_rollup(root_id=tree.root.pk, as_of=TODAY)

    assert {r.node_id: r.series for r in RollupSeries.objects.all()} == first
    assert RollupSeries.objects.count() == 60
    # Nothing changed, so no row was written again: they keep the first run's time.
    assert RollupState.objects.get(root=tree.root).computed_at > written
    assert set(RollupSeries.objects.values_list("computed_at", flat=True)) == {written}


def test_rebuild_statements_do_not_grow_with_the_tree(organisation):
    small = tree_generate(organisation=organisation, nodes=30, periods=3, today=TODAY)
    large = tree_generate(organisation=organisation, nodes=1200, periods=3, today=TODAY, seed=2)
    counts = []
    for tree in (small, large):
        with CaptureQueriesContext(connection) as captured:
            jobs.tree_rollup(root_id=tree.root.pk, as_of=TODAY)
        counts.append(len(captured.captured_queries))

    assert counts[0] == counts[1]
    assert counts[0] <= 12


@pytest.mark.parametrize(
    "value",
    ["0.0001", "-5.25", "12.34", "99999999999.9999", "123456789012.3456", "1234567890123456.7891", "100000000000"],
)
def test_actuals_are_read_as_the_decimal_field_reads_them(saas_tree, value):
    node = Node.objects.filter(tree_id=saas_tree.tree_id, value_source="manual").exclude(pk=saas_tree.pk).first()
    Measurement.objects.create(node=node, period_start=date(2026, 4, 1), value=Decimal(value))
    through_the_orm = float(Measurement.objects.get(node=node).value)

    assert storage._tree_actuals(saas_tree.tree_id)[node.pk] == {date(2026, 4, 1): through_the_orm}


def _brute_force(engine: TreeRollup, spec: NodeSpec, points: dict, first: date, last: date):
    """The windows as they were computed before they were cached and bisected."""
    # A period is in the window that holds its anchor (a week's Thursday).
    inside = sorted((d, v) for d, v in points.items() if first <= period_anchor(d, spec.frequency) <= last)
    plan = [
        (start, target)
        for start, target in sorted(engine.schedule(spec).items())
        if first <= period_anchor(start, spec.frequency) <= last
    ]
    started = [target for start, target in plan if start <= engine.as_of]
    return [v for _, v in inside], schedules.to_date(started or [t for _, t in plan], spec.time_aggregation)


@pytest.mark.parametrize("frequency", ["weekly", "monthly", "quarterly"])
def test_windows_cut_by_bisection_are_the_windows_filtered_one_by_one(frequency):
    start, deadline = date(2026, 4, 1), date(2027, 3, 31)
    # Actuals on the node's own period starts and a few on other days, before and after its window.
    days = period_starts(start, deadline, frequency, 4)
    points = {day: float(i) for i, day in enumerate(days)} | {
        date(2026, 3, 15): 99.0,
        date(2026, 5, 17): 7.5,
        date(2027, 6, 1): 3.0,
    }
    spec = NodeSpec(
        id=1,
        parent_id=None,
        code="n",
        kind="kpi",
        frequency=frequency,
        baseline=10.0,
        target=20.0,
        start=start,
        deadline=deadline,
        time_aggregation="average",
    )
    engine = TreeRollup([spec], {1: points}, as_of=date(2026, 10, 10), fiscal_start_month=4)
    windows = [(d, period_end(d, frequency)) for d in days] + [
        (date(2026, 1, 1), date(2026, 4, 30)),
        (date(2026, 4, 1), date(2026, 9, 30)),
        (date(2026, 10, 1), date(2027, 12, 31)),
        (add_months(start, 24), add_months(start, 25)),
    ]
    for first, last in windows:
        values, target = _brute_force(engine, spec, points, first, last)
        assessment = engine.assess(1, first, last)
        assert [v for _, v, _ in assessment.inputs] == values
        assert assessment.target == target
