"""How periods map to windows (issue 9 §2.1, §2.2, §2.5): a week belongs to the month that holds
its Thursday, a node in a window shorter than its period is not due, and an open period without a
value is left out of "to date". Both engines (goals/rollup/engine.py and columns.py) answer alike.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from goals.actuals import period_lock_months
from goals.periods import period_anchor, period_end, window_is_shorter
from goals.rollup import columns
from goals.rollup.engine import NO_DATA, ON_TRACK, NodeSpec, TreeRollup

OCT, NOV, DEC = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)
Q3 = (OCT, date(2026, 12, 31))  # October–December, the third quarter of a year from April


def month(start: date) -> tuple[date, date]:
    return start, period_end(start, "monthly")


@pytest.mark.parametrize(
    ("start", "frequency", "anchor"),
    [
        (date(2026, 9, 28), "weekly", date(2026, 10, 1)),  # Thursday 1 October: October's
        (date(2026, 10, 26), "weekly", date(2026, 10, 29)),  # 26 Oct … 1 Nov: October's
        (date(2026, 11, 30), "weekly", date(2026, 12, 3)),  # 30 Nov … 6 Dec: December's
        (date(2026, 12, 28), "weekly", date(2026, 12, 31)),  # 28 Dec … 3 Jan: 2026's
        (date(2026, 10, 1), "monthly", date(2026, 10, 1)),
        (date(2026, 10, 1), "quarterly", date(2026, 10, 1)),
        (date(2026, 10, 17), "daily", date(2026, 10, 17)),
    ],
)
def test_a_period_belongs_to_the_window_that_holds_its_anchor(start, frequency, anchor):
    assert period_anchor(start, frequency) == anchor
    if frequency == "weekly":
        # Locks follow the same rule: the month that counts the week is the month that freezes it.
        lock = period_lock_months(period=start, frequency=frequency, fiscal_start_month=4)
        assert lock == [anchor.replace(day=1)]


@pytest.mark.parametrize(
    ("window", "frequency", "shorter"),
    [
        (month(NOV), "quarterly", True),
        (month(NOV), "monthly", False),
        (month(NOV), "weekly", False),
        (Q3, "quarterly", False),
        (Q3, "yearly", True),
        ((NOV, date(2026, 11, 7)), "monthly", True),
        ((NOV, NOV), "daily", False),
    ],
)
def test_a_window_shorter_than_a_period(window, frequency, shorter):
    assert window_is_shorter(*window, frequency) is shorter


def _week(id: int, parent: int | None, **fields) -> NodeSpec:
    fields.setdefault("kind", "kpi")
    return NodeSpec(
        id=id,
        parent_id=parent,
        code=f"n{id}",
        frequency="weekly",
        start=date(2026, 9, 28),
        deadline=date(2026, 12, 27),
        target=100,
        **fields,
    )


# Team A's weeks across October and November (weeks from Monday; the Thursday decides).
TEAM_A = {
    2: {date(2026, 9, 28): 100, date(2026, 10, 19): 110, date(2026, 10, 26): 120, date(2026, 11, 2): 130},
    3: {date(2026, 10, 5): 150, date(2026, 10, 26): 160, date(2026, 11, 9): 170, date(2026, 11, 30): 180},
}


def test_a_week_across_two_months_is_counted_once_in_the_month_of_its_thursday():
    specs = [_week(1, None, value_source="sum"), _week(2, 1), _week(3, 1)]
    engine = TreeRollup(specs, TEAM_A, as_of=date(2026, 12, 20), fiscal_start_month=4)

    october, november, december = (engine.assess(1, *month(m)).actual for m in (OCT, NOV, DEC))
    # 26 Oct … 1 Nov (Thursday 29 October) is October's; 30 Nov … 6 Dec is December's.
    assert october == 100 + 110 + 120 + 150 + 160
    assert november == 130 + 170
    assert december == 180
    assert october + november + december == sum(sum(v.values()) for v in TEAM_A.values())
    # The children's Novembers add up to the parent's.
    assert engine.assess(2, *month(NOV)).actual + engine.assess(3, *month(NOV)).actual == november
    # A quarter is its months.
    assert engine.assess(1, *Q3).actual == october + november + december


def _documents(engine: TreeRollup, ids) -> tuple[dict, dict]:
    by_engine = {i: json.loads(json.dumps(engine.series(i))) for i in ids}
    by_columns = {i: json.loads(doc) for i, doc in columns.ColumnarRollup(engine, ids).documents()}
    return by_engine, by_columns


def test_both_engines_put_a_week_in_the_quarter_of_its_thursday():
    specs = [_week(1, None, value_source="sum"), _week(2, 1), _week(3, 1)]
    engine = TreeRollup(specs, TEAM_A, as_of=date(2026, 12, 20), fiscal_start_month=4)
    by_engine, by_columns = _documents(engine, [1, 2, 3])

    assert by_engine == by_columns
    # The week of 28 September (Thursday 1 October) is in October–December, not July–September.
    quarters = by_engine[2]["quarter"]
    assert quarters["period"] == ["2026-07-01", "2026-10-01"]
    assert quarters["actual"] == [None, 100 + 110 + 120 + 130]


def _node(id: int, parent: int | None, **fields) -> NodeSpec:
    fields.setdefault("kind", "kpi")
    fields.setdefault("frequency", "monthly")
    fields.setdefault("code", f"n{id}")
    return NodeSpec(id=id, parent_id=parent, start=date(2026, 4, 1), deadline=date(2027, 3, 31), **fields)


def test_a_coarser_child_is_not_due_in_a_finer_window_and_its_parent_says_so():
    # A KSF over two monthly KPIs and a quarterly range KPI (3 … 4 hours) entered for Oct–Dec.
    specs = [
        _node(1, None, kind="ksf"),
        _node(2, 1, target=100),
        _node(3, 1, target=100),
        _node(4, 1, frequency="quarterly", direction="maintain", target_min=3, target_max=4),
    ]
    points = {2: {NOV: 110}, 3: {NOV: 93.58}, 4: {OCT: 3.5}}
    engine = TreeRollup(specs, points, as_of=date(2026, 12, 20), fiscal_start_month=4)

    quarterly = engine.assess(4, *month(NOV))
    assert (quarterly.actual, quarterly.status, quarterly.missing) == (None, NO_DATA, 0)
    assert quarterly.reason.as_dict() == {"code": "not_due", "frequency": "quarterly"}
    ksf = engine.assess(1, *month(NOV))
    assert ksf.attainment == pytest.approx((110 + 93.58) / 2)  # the two monthly KPIs, not three
    assert (4, None, NO_DATA) in ksf.inputs
    # In its own window the quarterly KPI is judged, and counts for the KSF.
    assert engine.assess(4, *Q3).status == ON_TRACK
    assert engine.assess(1, *Q3).inputs[-1] == (4, 3.5, ON_TRACK)


def test_a_yearly_tree_is_not_due_in_its_quarters_in_both_engines():
    specs = [
        NodeSpec(
            id=1,
            parent_id=None,
            code="kgi",
            kind="kgi",
            value_source="sum",
            target=100,
            frequency="yearly",
            start=date(2026, 4, 1),
            deadline=date(2027, 3, 31),
        ),
        NodeSpec(
            id=2,
            parent_id=1,
            code="kpi",
            kind="kpi",
            target=100,
            frequency="yearly",
            start=date(2026, 4, 1),
            deadline=date(2027, 3, 31),
        ),
    ]
    engine = TreeRollup(specs, {2: {date(2026, 4, 1): 90}}, as_of=date(2026, 12, 20), fiscal_start_month=4)
    by_engine, by_columns = _documents(engine, [1, 2])

    assert by_engine == by_columns
    assert set(by_engine[1]["quarter"]["reason"]) == {"not_due"}
    assert by_engine[1]["year"]["actual"] == [90]


def test_an_open_period_without_a_value_is_left_out_of_to_date():
    # On 1 December: October 99.6%, November 108%, December open with nothing entered yet.
    specs = [_node(1, None, target=1000)]
    points = {1: {OCT: 996, NOV: 1080}}
    engine = TreeRollup(specs, points, as_of=DEC, fiscal_start_month=4)

    quarter = engine.assess(1, *Q3)
    # It was 2076 of 3000, 69.2% off track; now 2076 of 2000 (October and November).
    assert (quarter.actual, quarter.target.value) == (2076, 2000)
    assert quarter.attainment == pytest.approx(103.8)
    assert (quarter.status, quarter.missing) == (ON_TRACK, 0)
    # December has no value and is not missing until it has ended; it shows its plan.
    december = engine.assess(1, *month(DEC))
    assert (december.status, december.missing, december.target.value) == (NO_DATA, 0, 1000)
    # Once December has a value, it counts whole; once it has ended without one, it is missing —
    # and a flow entered by hand is judged on its periods that have data (§2.4): 2076 of 2000.
    with_december = TreeRollup(specs, {1: {OCT: 996, NOV: 1080, DEC: 500}}, as_of=DEC, fiscal_start_month=4)
    assert with_december.assess(1, *Q3).target.value == 3000
    after = TreeRollup(specs, points, as_of=date(2027, 1, 1), fiscal_start_month=4).assess(1, *Q3)
    assert (after.target.value, after.missing, after.status) == (2000, 1, ON_TRACK)


def test_both_engines_leave_an_open_period_out_of_to_date():
    specs = [
        _node(1, None, value_source="sum", target=2000),
        _node(2, 1, target=1000),
        _node(3, 1, target=1000),
    ]
    points = {2: {OCT: 996, NOV: 1080}, 3: {OCT: 1000, NOV: 1000, DEC: 400}}
    engine = TreeRollup(specs, points, as_of=date(2026, 12, 10), fiscal_start_month=4)
    by_engine, by_columns = _documents(engine, [1, 2, 3])

    assert by_engine == by_columns
    q3 = by_engine[2]["quarter"]["period"].index("2026-10-01")
    assert by_engine[2]["quarter"]["target"][q3] == 2000  # December open without a value
    assert by_engine[3]["quarter"]["target"][q3] == 3000  # December has a value
    assert by_engine[1]["quarter"]["target"][q3] == 6000  # its December has a value (node 3's)


def test_the_dashboards_read_a_coarser_node_as_not_due_in_a_month():
    # Before: November read the October–December entry, "3.5 hours, on track 100%".
    from dashboards.stored import stored_figures
    from dashboards.windows import MONTH, QUARTER, Window

    specs = [_node(4, None, frequency="quarterly", direction="maintain", target_min=3, target_max=4)]
    engine = TreeRollup(specs, {4: {OCT: 3.5}}, as_of=date(2026, 12, 20), fiscal_start_month=4)
    series = json.loads(json.dumps(engine.series(4)))

    november = stored_figures(series, Window(MONTH, NOV, date(2026, 11, 30)), "quarterly")
    assert (november.actual, november.status, november.reason) == (None, NO_DATA, "not_due")
    quarter = stored_figures(series, Window(QUARTER, OCT, date(2026, 12, 31)), "quarterly")
    assert (quarter.actual, quarter.status) == (3.5, ON_TRACK)


def _revenue_tree(time_aggregation: str) -> list[NodeSpec]:
    return [
        _node(
            1,
            None,
            kind="kgi",
            value_source="formula",
            formula="visitors * conversion",
            target=1000,
            time_aggregation=time_aggregation,
        ),
        _node(2, 1, code="visitors", target=10000),
        _node(3, 1, code="conversion", target=0.05, time_aggregation="average"),
    ]


VISITS = {
    2: {date(2026, 4, 1): 10000, date(2026, 5, 1): 12000, date(2026, 6, 1): 9000, date(2026, 7, 1): 15000},
    3: {date(2026, 4, 1): 0.04, date(2026, 5, 1): 0.05, date(2026, 6, 1): 0.07, date(2026, 7, 1): 0.03},
}


def test_a_flow_formula_over_a_window_is_the_sum_of_its_periods_in_both_engines():
    # KGI = visitors × conversion (issue 9 §1.3): the fiscal year to date is the running total of
    # the months, not the year's visitors × its mean conversion (46,000 × 0.0475 = 2,185).
    engine = TreeRollup(_revenue_tree("sum"), VISITS, as_of=date(2026, 8, 10), fiscal_start_month=4)
    by_engine, by_columns = _documents(engine, [1, 2, 3])

    assert by_engine == by_columns
    months = by_engine[1]["actual"][:4]
    assert months == pytest.approx([400, 600, 630, 450])
    running = sum(months)
    assert by_engine[1]["year"]["actual"] == [running]
    assert by_engine[1]["quarter"]["actual"][:2] == [sum(months[:3]), months[3]]
    assert engine.assess(1, date(2026, 4, 1), date(2026, 8, 31)).actual == running  # a custom range


def test_a_rate_formula_over_a_window_is_the_formula_of_its_aggregated_inputs():
    # close rate = won / appts with time_aggregation = average: a ratio of sums.
    specs = [
        _node(1, None, value_source="formula", formula="won / appts * 100", target=10, time_aggregation="average"),
        _node(2, 1, code="won", target=3),
        _node(3, 1, code="appts", target=30),
    ]
    points = {2: {date(2026, 4, 1): 1, date(2026, 5, 1): 3}, 3: {date(2026, 4, 1): 30, date(2026, 5, 1): 10}}
    engine = TreeRollup(specs, points, as_of=date(2026, 6, 10), fiscal_start_month=4)
    by_engine, by_columns = _documents(engine, [1, 2, 3])

    assert by_engine == by_columns
    assert by_engine[1]["quarter"]["actual"][0] == pytest.approx(4 / 40 * 100)
