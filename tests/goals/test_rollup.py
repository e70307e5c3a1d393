"""The rollup engine (goals/rollup/engine.py): pure, table-driven, fixed dates, no database.

docs/rollup.md states each rule with a worked example; the examples are tested here.
"""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace

import pytest

from goals import smart
from goals.periods import period_end
from goals.rollup.engine import AT_RISK, NO_DATA, OFF_TRACK, ON_TRACK, NodeSpec, TreeRollup, worst_status
from goals.targets import Target

FY_START, FY_END = date(2026, 4, 1), date(2027, 3, 31)
APR, MAY, JUN, JUL, AUG, SEP, OCT = (date(2026, month, 1) for month in range(4, 11))
Q1 = (APR, date(2026, 6, 30))  # the first quarter of a fiscal year starting in April
AS_OF = date(2026, 10, 15)  # mid-October: April to October have started, November has not


def node(id: int, parent: int | None = None, **fields) -> NodeSpec:
    """A monthly KPI over the fiscal year, changed by ``fields``."""
    fields.setdefault("code", f"n{id}")
    fields.setdefault("kind", "kpi")
    fields.setdefault("start", FY_START)
    fields.setdefault("deadline", FY_END)
    return NodeSpec(id=id, parent_id=parent, **fields)


def ksf(id: int, parent: int | None = None, **fields) -> NodeSpec:
    """A success factor: no number and no dates of its own."""
    return node(id, parent, kind="ksf", start=None, deadline=None, **fields)


def engine(specs, points=None, *, as_of: date = AS_OF, overrides=None) -> TreeRollup:
    return TreeRollup(specs, points or {}, as_of=as_of, fiscal_start_month=4, overrides=overrides)


def month(start: date) -> tuple[date, date]:
    return start, period_end(start, "monthly")


def close(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


# --- combining children, per period ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value_source", "children", "expected"),
    [
        ("sum", [(10, 1), (20, 1), (30, 1)], 60),
        ("average", [(10, 1), (20, 1), (30, 1)], 20),
        ("min", [(10, 1), (20, 1), (30, 1)], 10),
        ("max", [(10, 1), (20, 1), (30, 1)], 30),
        # Weights are relative: 3:2:1 gives (30 + 40 + 30) / 6.
        ("weighted_average", [(10, 3), (20, 2), (30, 1)], 100 / 6),
        # They need not total 100 (or 1): 60:30 and 0.5:0.25 are the same 2:1.
        ("weighted_average", [(10, 60), (40, 30)], 20),
        ("weighted_average", [(10, 0.5), (40, 0.25)], 20),
        # A zero weight leaves a child out; equal weights are the plain average.
        ("weighted_average", [(10, 1), (40, 0)], 10),
        ("weighted_average", [(10, 7), (40, 7)], 25),
    ],
)
def test_children_are_combined_per_period(value_source, children, expected):
    specs = [node(1, value_source=value_source, target=1)]
    points = {}
    for index, (value, weight) in enumerate(children, start=2):
        specs.append(node(index, 1, weight=weight))
        points[index] = {APR: value}

    assessment = engine(specs, points).assess(1, *month(APR))

    assert close(assessment.actual) == close(expected)
    assert assessment.reason.code == "thresholds"  # judged against its own target
    assert [value for _, value, _ in assessment.inputs] == [value for value, _ in children]


@pytest.mark.parametrize(
    ("formula", "inputs", "expected"),
    [
        # revenue = customers × average spend
        ("customers * average_spend", {"customers": 40, "average_spend": 25_000}, 1_000_000),
        # close rate in % = contracts / appointments × 100
        ("contracts / appointments * 100", {"contracts": 10, "appointments": 50}, 20),
        ("(online + shop) / 2", {"online": 30, "shop": 50}, 40),
        ("max(online, shop) - min(online, shop)", {"online": 30, "shop": 50}, 20),
        ("avg(online, shop, 10)", {"online": 30, "shop": 50}, 30),
    ],
)
def test_formula_over_the_childrens_values(formula, inputs, expected):
    specs = [node(1, value_source="formula", formula=formula, target=1)]
    points = {}
    for index, (code, value) in enumerate(inputs.items(), start=2):
        specs.append(node(index, 1, code=code))
        points[index] = {APR: value}

    assessment = engine(specs, points).assess(1, *month(APR))

    assert close(assessment.actual) == expected


# --- over time ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time_aggregation", "expected_quarter"),
    [("sum", 90), ("average", 30), ("last", 60)],
)
def test_own_actuals_are_aggregated_over_time(time_aggregation, expected_quarter):
    specs = [node(1, time_aggregation=time_aggregation, target=30)]
    rollup = engine(specs, {1: {APR: 10, MAY: 20, JUN: 60}})

    assert rollup.assess(1, *Q1).actual == expected_quarter
    assert rollup.assess(1, *month(MAY)).actual == 20


def test_a_formula_over_a_quarter_is_a_ratio_of_sums():
    """4 contracts out of 104 appointments is 3.8%, not the mean of the monthly rates (3.76%)."""
    specs = [
        node(
            1,
            code="close_rate",
            value_source="formula",
            formula="contracts / appointments * 100",
            target=20,
            time_aggregation="average",  # a rate: the formula over the window's inputs
        ),
        node(2, 1, code="contracts", target=2),
        node(3, 1, code="appointments", target=50),
    ]
    contracts = {APR: 1, MAY: 1, JUN: 2}
    appointments = {APR: 30, MAY: 34, JUN: 40}
    rollup = engine(specs, {2: contracts, 3: appointments})

    quarter = rollup.assess(1, *Q1)
    monthly = [rollup.assess(1, *month(m)).actual for m in (APR, MAY, JUN)]

    assert round(quarter.actual, 2) == 3.85  # 4 / 104 × 100
    assert round(sum(monthly) / 3, 2) == 3.76  # what averaging the monthly rates would say
    assert quarter.inputs == [(2, 4, OFF_TRACK), (3, 104, OFF_TRACK)]
    assert quarter.reason.code == "thresholds"


def test_a_computed_node_combines_its_childrens_values_for_the_same_window():
    """Two teams' headcounts are stocks (last): the company's Q1 headcount is the sum of the
    teams' June figures, not the sum of every month."""
    specs = [
        node(1, value_source="sum", time_aggregation="last", target=25),
        node(2, 1, time_aggregation="last", target=10),
        node(3, 1, time_aggregation="last", target=15),
    ]
    rollup = engine(specs, {2: {APR: 8, MAY: 9, JUN: 10}, 3: {APR: 12, MAY: 14, JUN: 16}})

    assert rollup.assess(1, *Q1).actual == 26
    assert rollup.assess(1, *month(APR)).actual == 20


# --- target to date ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "window", "expected"),
    [
        # A flow of 10 a month, asked for the fiscal year in mid-October with nothing entered:
        # April–September, 60 (October is still open and has no value yet).
        ({"target": 10}, (FY_START, FY_END), Target(60)),
        ({"target": 10}, Q1, Target(30)),
        # A window wholly in the future shows its plan.
        ({"target": 10}, (date(2027, 1, 1), FY_END), Target(30)),
        ({"target": 120, "target_scope": "whole_window"}, (FY_START, FY_END), Target(60)),
        # A stock from 45 to 60 by March: September's point on the line, not March's.
        ({"baseline": 45, "target": 60, "time_aggregation": "last"}, (FY_START, FY_END), Target(52.5)),
        # A rate from 15 to 20 by March: the mean of April–September's targets, 15 + 5 × 3.5/12.
        ({"baseline": 15, "target": 20, "time_aggregation": "average"}, (FY_START, FY_END), Target(16.458333)),
        ({"direction": "maintain", "target_min": 40, "target_max": 60}, (FY_START, FY_END), Target(low=40, high=60)),
    ],
)
def test_the_target_to_date_covers_the_periods_started_by_as_of(fields, window, expected):
    rollup = engine([node(1, **fields)])

    target = rollup.assess(1, *window).target

    assert Target(close(target.value), close(target.low), close(target.high)) == expected


def test_overrides_change_the_target_of_their_period():
    rollup = engine([node(1, target=50)], {1: {MAY: 40}}, overrides={1: {MAY: 40.0}})

    may = rollup.assess(1, *month(MAY))

    assert may.target == Target(40.0)
    assert may.status == ON_TRACK
    assert rollup.target_for(rollup.specs[1], *Q1) == Target(140.0)
    # A flow is judged on its months with data (docs/rollup.md §4): here May alone.
    assert rollup.assess(1, *Q1).target == Target(40.0)


# --- attainment, gap and status ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "actual", "attainment", "gap", "status"),
    [
        # Increase: more is better; the gap is actual − target.
        ({"target": 50}, 50, 100, 0, ON_TRACK),
        ({"target": 50}, 60, 120, 10, ON_TRACK),
        ({"target": 50}, 47, 94, -3, AT_RISK),
        ({"target": 50}, 45, 90, -5, AT_RISK),  # exactly 90% is still only at risk
        ({"target": 50}, 44, 88, -6, OFF_TRACK),
        ({"target": 50}, 0, 0, -50, OFF_TRACK),
        # A target of zero is met by anything not negative.
        ({"target": 0}, 3, 100, 3, ON_TRACK),
        # Decrease: above the target is bad; the gap is target − actual, so it reads the same way.
        ({"direction": "decrease", "target": 3}, 4, 75, -1, OFF_TRACK),
        ({"direction": "decrease", "target": 10}, 10.5, 95.238095, -0.5, AT_RISK),
        ({"direction": "decrease", "target": 4}, 3, 133.333333, 1, ON_TRACK),
        ({"direction": "decrease", "target": 3}, 0, 100, 3, ON_TRACK),
        # A negative target (cut a loss to ¥5M; net churn below −2%): the ratio of two negatives
        # reads backwards, so attainment is 100 + gap / |target| × 100.
        ({"target": -5}, -3, 140, 2, ON_TRACK),
        ({"target": -5}, -7, 60, -2, OFF_TRACK),
        ({"target": -5}, 1, 220, 6, ON_TRACK),
        ({"direction": "decrease", "target": -2}, -1, 50, -1, OFF_TRACK),
        ({"direction": "decrease", "target": -2}, -3, 150, 1, ON_TRACK),
        # Maintain within 40–60: inside is on track with the headroom as the gap; outside is never
        # on track, and the thresholds say how far off (attainment falls with the distance
        # measured in range widths).
        ({"direction": "maintain", "target_min": 40, "target_max": 60}, 50, 100, 10, ON_TRACK),
        ({"direction": "maintain", "target_min": 40, "target_max": 60}, 58, 100, 2, ON_TRACK),
        ({"direction": "maintain", "target_min": 40, "target_max": 60}, 60, 100, 0, ON_TRACK),
        ({"direction": "maintain", "target_min": 40, "target_max": 60}, 62, 90, -2, AT_RISK),
        ({"direction": "maintain", "target_min": 40, "target_max": 60}, 35, 75, -5, OFF_TRACK),
        ({"direction": "maintain", "target_min": 40, "target_max": 60}, 0, 0, -40, OFF_TRACK),
        # Stay at or above 80 (a floor only): the width is the bound itself.
        ({"direction": "maintain", "target_min": 80}, 85, 100, 5, ON_TRACK),
        ({"direction": "maintain", "target_min": 80}, 76, 95, -4, AT_RISK),
        # Stay at or below 5 (a ceiling only): "1 point over the limit".
        ({"direction": "maintain", "target_max": 5}, 4, 100, 1, ON_TRACK),
        ({"direction": "maintain", "target_max": 5}, 6, 80, -1, OFF_TRACK),
        ({"direction": "maintain", "target_max": 5}, 5.25, 95, -0.25, AT_RISK),
    ],
)
def test_attainment_gap_and_status_follow_the_direction(fields, actual, attainment, gap, status):
    a = engine([node(1, **fields)], {1: {APR: actual}}).assess(1, *month(APR))

    assert a.actual == actual
    assert close(a.attainment) == attainment
    assert close(a.gap) == gap
    assert a.status == status
    if fields.get("direction") == "maintain":
        assert a.reason.code == ("in_range" if status == ON_TRACK else "out_of_range")
    else:
        assert a.reason.as_dict() == {"code": "thresholds", "at_risk_below": 100, "off_track_below": 90}


@pytest.mark.parametrize(
    ("actual", "status"),
    [(100, ON_TRACK), (95, ON_TRACK), (94.9, AT_RISK), (80, AT_RISK), (79.9, OFF_TRACK)],
)
def test_thresholds_are_per_node(actual, status):
    spec = node(1, target=100, at_risk_below=95, off_track_below=80)

    a = engine([spec], {1: {APR: actual}}).assess(1, *month(APR))

    assert a.status == status
    assert a.reason.as_dict() == {"code": "thresholds", "at_risk_below": 95, "off_track_below": 80}


def test_a_value_without_a_target_is_shown_but_not_judged():
    a = engine([node(1)], {1: {APR: 7}}).assess(1, *month(APR))

    assert (a.actual, a.attainment, a.gap, a.status, a.reason.code) == (7, None, None, NO_DATA, "no_target")


# --- missing data ------------------------------------------------------------------------------


def test_missing_actuals_stay_missing_and_are_counted():
    rollup = engine([node(1, target=10, time_aggregation="average")], {1: {APR: 10, JUN: 30}})

    quarter = rollup.assess(1, *Q1)
    may = rollup.assess(1, *month(MAY))

    assert quarter.actual == 20  # the mean of April and June, not (10 + 0 + 30) / 3
    assert quarter.missing == 1
    assert (may.actual, may.status, may.missing) == (None, NO_DATA, 1)
    assert may.reason.as_dict() == {"code": "no_actual", "missing": 1}


@pytest.mark.parametrize(
    ("as_of", "window", "missing"),
    [
        # In mid-October, April to September are expected; October is not missing until it has
        # ended, November on are not due yet.
        (AS_OF, (FY_START, FY_END), 6),
        (AS_OF, month(OCT), 0),
        (AS_OF, month(date(2026, 11, 1)), 0),
        # Before the window starts nothing is missing; after it ends, every period is.
        (date(2026, 3, 31), (FY_START, FY_END), 0),
        (date(2027, 6, 1), (FY_START, FY_END), 12),
        # A window wider than the node's own: only its periods count.
        (date(2027, 6, 1), (date(2026, 1, 1), date(2027, 12, 31)), 12),
        (date(2026, 5, 1), Q1, 1),
    ],
)
def test_expected_periods_are_relative_to_as_of(as_of, window, missing):
    a = engine([node(1, target=10)], as_of=as_of).assess(1, *window)

    assert (a.actual, a.missing, a.status) == (None, missing, NO_DATA)


def test_a_missing_child_is_left_out_not_counted_as_zero():
    specs = [node(1, value_source="average", target=20), node(2, 1, target=20), node(3, 1, target=20)]
    rollup = engine(specs, {2: {APR: 10, MAY: 10}, 3: {APR: 30}})

    may = rollup.assess(1, *month(MAY))

    assert may.actual == 10  # the one child that has a value, not (10 + 0) / 2
    assert may.missing == 1
    assert may.status == OFF_TRACK
    assert may.inputs == [(2, 10, OFF_TRACK), (3, None, NO_DATA)]
    assert rollup.assess(1, *month(APR)).actual == 20


def test_missing_inputs_add_up_the_tree():
    specs = [
        node(1, value_source="sum", target=30),
        node(2, 1, value_source="sum", target=20),
        node(3, 2, target=10),
        node(4, 2, target=10),
        node(5, 1, target=10),
    ]
    rollup = engine(specs, {3: {APR: 10}}, as_of=date(2026, 5, 20))

    # On 20 May, May is still open: node 4 and node 5 miss April.
    assert rollup.assess(1, *Q1).missing == 2
    assert rollup.assess(2, *Q1).missing == 1


def test_a_kpi_without_a_target_is_still_an_input_that_can_be_missing():
    specs = [
        node(1, value_source="formula", formula="contracts / appointments * 100", target=20),
        node(2, 1, code="contracts"),  # a plain count without a target of its own
        node(3, 1, code="appointments", target=50),
    ]
    a = engine(specs, {3: {APR: 50}}).assess(1, *month(APR))

    assert (a.actual, a.status, a.missing) == (None, NO_DATA, 1)
    assert a.reason.as_dict() == {"code": "formula_missing", "codes": "contracts"}


@pytest.mark.parametrize(
    ("value_source", "formula", "points", "reason"),
    [
        # A missing input: no value, and which input.
        ("formula", "contracts / appointments * 100", {3: 50}, {"code": "formula_missing", "codes": "contracts"}),
        (
            "formula",
            "contracts / appointments * 100",
            {},
            {"code": "formula_missing", "codes": "appointments, contracts"},
        ),
        # Division by zero is no data with the reason, not a crash and not infinity.
        (
            "formula",
            "contracts / appointments * 100",
            {2: 3, 3: 0},
            {"code": "division_by_zero", "formula": "contracts / appointments * 100"},
        ),
        ("formula", "contracts / (appointments - 50)", {2: 3, 3: 50}, {"code": "division_by_zero"}),
        # A code no node below has (yet): the formula waits for it (a top-down build).
        ("formula", "contracts / visits", {2: 3, 3: 50}, {"code": "formula_waiting", "codes": "visits"}),
        # A node below without a value for the period: a missing input.
        ("formula", "contracts / appointments", {2: 3}, {"code": "formula_missing", "codes": "appointments"}),
        # A formula that does not parse (SMART stops it at definition time; the rollup still copes).
        ("formula", "contracts / ", {2: 3, 3: 50}, {"code": "formula_error"}),
        ("formula", "__import__('os')", {2: 3, 3: 50}, {"code": "formula_error"}),
        ("formula", "", {2: 3, 3: 50}, {"code": "formula_error"}),
        # No child has a value; weights that add up to zero.
        ("sum", "", {}, {"code": "no_inputs", "children": 2}),
        ("weighted_average", "", {2: 3, 3: 50}, {"code": "zero_weights"}),
    ],
)
def test_errors_give_no_data_with_the_reason(value_source, formula, points, reason):
    specs = [
        node(1, value_source=value_source, formula=formula, target=20),
        node(2, 1, code="contracts", weight=0),
        node(3, 1, code="appointments", weight=0),
    ]
    a = engine(specs, {k: {APR: v} for k, v in points.items()}).assess(1, *month(APR))

    assert (a.actual, a.attainment, a.gap, a.status) == (None, None, None, NO_DATA)
    assert a.reason.as_dict().items() >= reason.items()


# --- a node without a number (KSF) -------------------------------------------------------------

# Under one KSF: A (weight 3) at 100%, B (weight 1) at 60%, C (weight 2) without data.
KSF_CHILDREN = [node(2, 1, target=100, weight=3), node(3, 1, target=100, weight=1), node(4, 1, target=100, weight=2)]
KSF_POINTS = {2: {APR: 100}, 3: {APR: 60}}


@pytest.mark.parametrize(
    ("fields", "attainment", "status", "reason"),
    [
        # Weighted score (the default): (3 × 100 + 1 × 60) / 4 = 90 → at risk. C has no data and no
        # weight in the score; it shows in the missing count instead.
        ({}, 90, AT_RISK, "weighted_children"),
        # The KSF's own thresholds judge the score.
        ({"at_risk_below": 85, "off_track_below": 80}, 90, ON_TRACK, "weighted_children"),
        ({"off_track_below": 95}, 90, OFF_TRACK, "weighted_children"),
        # Worst-of: B is off track, so the KSF is.
        ({"status_rule": "worst"}, 60, OFF_TRACK, "worst_of_children"),
    ],
)
def test_a_ksf_takes_its_status_from_its_children(fields, attainment, status, reason):
    a = engine([ksf(1, **fields), *KSF_CHILDREN], KSF_POINTS).assess(1, *month(APR))

    assert (a.actual, a.gap) == (None, None)
    assert (close(a.attainment), a.status, a.reason.code) == (attainment, status, reason)
    assert a.missing == 1
    assert a.inputs == [(2, 100, ON_TRACK), (3, 60, OFF_TRACK), (4, None, NO_DATA)]


def test_one_child_far_ahead_cannot_hide_a_sibling_far_behind():
    """Each child's attainment counts at most 150%: (150 + 20) / 2 = 85, off track (not 160)."""
    specs = [ksf(1), node(2, 1, target=100), node(3, 1, target=100)]

    a = engine(specs, {2: {APR: 300}, 3: {APR: 20}}).assess(1, *month(APR))

    assert (a.attainment, a.status) == (85, OFF_TRACK)


@pytest.mark.parametrize("order", [(2, 3), (3, 2)])
def test_worst_of_shows_the_furthest_behind_among_equally_bad_children(order):
    specs = [ksf(1, status_rule="worst")] + [node(i, 1, target=100) for i in order]

    a = engine(specs, {2: {APR: 80}, 3: {APR: 60}}).assess(1, *month(APR))

    assert (a.attainment, a.status) == (60, OFF_TRACK)


def test_worst_of_names_the_child_whose_figures_it_shows():
    """B's 60% and off track, judged on B's thresholds: the reason names B, not the KSF's own
    thresholds (which are not used)."""
    a = engine([ksf(1, status_rule="worst", at_risk_below=50, off_track_below=40), *KSF_CHILDREN], KSF_POINTS).assess(
        1, *month(APR)
    )

    assert (close(a.attainment), a.status) == (60, OFF_TRACK)
    assert a.reason.as_dict() == {"code": "worst_of_children", "child": "n3"}


@pytest.mark.parametrize("status_rule", ["weighted", "worst"])
def test_a_ksf_without_child_data_has_no_data(status_rule):
    a = engine([ksf(1, status_rule=status_rule), *KSF_CHILDREN]).assess(1, *month(APR))

    assert (a.attainment, a.status, a.reason.code, a.missing) == (None, NO_DATA, "no_child_data", 3)


def test_a_ksf_with_zero_weights_has_no_data():
    specs = [ksf(1), node(2, 1, target=100, weight=0)]

    a = engine(specs, {2: {APR: 100}}).assess(1, *month(APR))

    assert (a.status, a.reason.code) == (NO_DATA, "zero_weights")


def test_a_ksf_weighs_children_of_every_direction_by_attainment():
    specs = [
        ksf(1),
        node(2, 1, target=50),  # 55 of 50: 110%
        node(3, 1, direction="decrease", target=4, time_aggregation="average"),  # churn 5% for 4%: 80%
        node(4, 1, direction="maintain", target_min=40, target_max=60),  # inside: 100%
    ]

    a = engine(specs, {2: {APR: 55}, 3: {APR: 5}, 4: {APR: 50}}).assess(1, *month(APR))

    assert (close(a.attainment), a.status) == (96.666667, AT_RISK)


def test_windows_are_inherited_from_the_nearest_dated_ancestor():
    """A KSF has no dates of its own: it follows the KGI's window, and so do its undated KPIs."""
    specs = [
        node(1, kind="kgi", target=120, baseline=100, time_aggregation="last"),
        ksf(2, 1),
        node(3, 2, start=None, deadline=None, target=10),
        node(4, 2, start=date(2026, 7, 1), deadline=None, target=10),
    ]
    rollup = engine(specs)

    assert (rollup.specs[2].start, rollup.specs[2].deadline) == (FY_START, FY_END)
    assert (rollup.specs[3].start, rollup.specs[3].deadline) == (FY_START, FY_END)
    assert (rollup.specs[4].start, rollup.specs[4].deadline) == (date(2026, 7, 1), FY_END)
    assert rollup.periods(rollup.specs[2])[0] == FY_START
    assert len(rollup.series(2)["period"]) == 12
    assert len(rollup.series(4)["period"]) == 9


def test_a_node_without_any_dates_has_no_periods():
    rollup = engine([node(1, start=None, deadline=None, target=10)], {1: {APR: 10}})

    assert rollup.periods(rollup.specs[1]) == []
    assert rollup.series(1)["period"] == []


# --- the stored series -------------------------------------------------------------------------

SERIES_KEYS = ["period", "actual", "target", "low", "high", "attainment", "gap", "status", "missing", "reason"]


def test_series_is_one_column_per_figure_and_one_row_per_period():
    specs = [node(1, target=10, baseline=None)]
    rollup = engine(specs, {1: {APR: 10, MAY: 9, JUN: 8.5, AUG: 12}}, as_of=date(2026, 8, 20))

    series = rollup.series(1)

    assert list(series) == [*SERIES_KEYS, "as_of", "quarter", "year"]
    assert series["as_of"] == "2026-08-20"
    assert {len(series[key]) for key in SERIES_KEYS} == {12}
    assert series["period"][:3] == ["2026-04-01", "2026-05-01", "2026-06-01"]
    assert series["period"][-1] == "2027-03-01"
    assert series["actual"][:6] == [10, 9, 8.5, None, 12, None]
    assert series["target"] == [10.0] * 12  # future periods show their plan
    assert series["low"] == series["high"] == [None] * 12
    assert series["attainment"][:6] == [100.0, 90.0, 85.0, None, 120.0, None]
    assert series["gap"][:6] == [0, -1, -1.5, None, 2, None]
    assert series["status"][:6] == [ON_TRACK, AT_RISK, OFF_TRACK, NO_DATA, ON_TRACK, NO_DATA]
    assert series["status"][5:] == [NO_DATA] * 7
    # July is missing; September has not started by 20 August, so it is not.
    assert series["missing"] == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert series["reason"][3] == "no_actual"
    assert series["reason"][0] == "thresholds"
    # The fiscal quarters and the fiscal year, each to date: Q2 is July (missing) and August. A
    # flow is judged on its months with data (docs/rollup.md §4): Q2 on August's target alone,
    # with July counted as missing; a quarter without data shows its target to date.
    quarter = series["quarter"]
    assert quarter["period"] == ["2026-04-01", "2026-07-01", "2026-10-01", "2027-01-01"]
    assert quarter["actual"] == [27.5, 12, None, None]
    assert quarter["target"] == [30.0, 10.0, 30.0, 30.0]
    assert quarter["missing"] == [0, 1, 0, 0]
    assert quarter["status"][:2] == [AT_RISK, ON_TRACK]
    assert series["year"]["actual"] == [39.5]
    assert series["year"]["target"] == [40.0]
    assert series["year"]["missing"] == [1]
    # It is stored as JSON as it is.
    assert json.loads(json.dumps(series)) == series


def test_series_of_a_range_has_bounds_and_no_target_value():
    spec = node(1, direction="maintain", target_min=40, target_max=60, time_aggregation="average")

    series = engine([spec], {1: {APR: 50}}).series(1)

    assert series["target"][0] is None
    assert (series["low"][0], series["high"][0]) == (40, 60)
    assert (series["status"][0], series["gap"][0]) == (ON_TRACK, 10)


def test_series_of_a_ksf_follows_its_children():
    kgi = node(9, kind="kgi", target=120, time_aggregation="last")
    series = engine([kgi, ksf(1, 9), *KSF_CHILDREN], KSF_POINTS).series(1)

    assert series["status"][0] == AT_RISK
    assert series["attainment"][0] == 90
    assert series["actual"][0] is None and series["target"][0] is None


def test_assessments_are_remembered():
    rollup = engine([node(1, target=10)], {1: {APR: 10}})

    assert rollup.assess(1, *Q1) is rollup.assess(1, *Q1)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], NO_DATA),
        ([NO_DATA], NO_DATA),
        ([ON_TRACK, NO_DATA], ON_TRACK),
        ([ON_TRACK, AT_RISK], AT_RISK),
        ([AT_RISK, OFF_TRACK, ON_TRACK], OFF_TRACK),
    ],
)
def test_worst_status(statuses, expected):
    assert worst_status(statuses) == expected


# --- units: checked when the tree is defined, not at rollup time ---------------------------------


@pytest.mark.parametrize("value_source", ["sum", "average", "weighted_average", "min", "max"])
def test_combining_children_of_different_units_is_a_definition_error(value_source):
    parent = SimpleNamespace(
        kind="kpi",
        name="Appointments per month",
        description="",
        code="appointments",
        owner_id=1,
        unit="appointments",
        direction="increase",
        baseline_value=35,
        target_value=50,
        target_min=None,
        target_max=None,
        start_date=FY_START,
        deadline=FY_END,
        frequency="monthly",
        indicator_type="leading",
        value_source=value_source,
        formula="",
        time_aggregation="sum",
        rationale="More appointments give more chances to close.",
    )
    mixed = smart.NodeContext(parent_kind="ksf", child_units=("appointments", "calls"))
    same = smart.NodeContext(parent_kind="ksf", child_units=("appointments", "appointments"))
    formula = smart.NodeContext(
        parent_kind="ksf", child_units=("contracts", "appointments"), descendant_codes=frozenset({"a", "b"})
    )

    assert "M-unit-mismatch" in {f.rule for f in smart.check_node(parent, mixed).errors}
    assert "M-unit-mismatch" not in {f.rule for f in smart.check_node(parent, same).errors}
    parent.value_source, parent.formula = "formula", "a / b * 100"
    assert "M-unit-mismatch" not in {f.rule for f in smart.check_node(parent, formula).errors}


# --- one bad node never fails the tree (docs/rollup.md §8) ---------------------------------------

APRIL = (APR, period_end(APR, "monthly"))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"deadline": date(9999, 12, 31)}, {"deadline": "9999-12-31", "start": "2026-04-01"}),
        ({"start": date(1, 1, 1)}, {"deadline": "2027-03-31", "start": "0001-01-01"}),
        ({"frequency": "daily", "start": date(2020, 1, 1)}, {"deadline": "2027-03-31", "start": "2020-01-01"}),
    ],
)
def test_a_window_that_cannot_be_computed_makes_the_node_an_error(change, reason):
    specs = [node(1, kind="kgi", value_source="sum", target=100.0), node(2, 1, target=50.0), node(3, 1, **change)]
    e = engine(specs, {2: {APR: 60.0}, 3: {APR: 70.0}})

    broken = e.assess(3, *APRIL)
    document = e.series(3)

    assert (broken.actual, broken.status, broken.missing) == (None, NO_DATA, 0)
    assert broken.reason.as_dict() == {
        "code": "window_unsupported",
        "frequency": change.get("frequency", "monthly"),
        **reason,
    }
    assert document["period"] == [] and document["quarter"]["period"] == []
    assert document["error"]["code"] == "window_unsupported"
    # The rest of the tree is computed; the broken node counts as a child without a value.
    assert e.assess(2, *APRIL).status == ON_TRACK
    assert e.assess(1, *APRIL).actual == 60.0
    assert len(e.series(1)["period"]) == 12


def test_a_ksf_inherits_an_unsupported_window_and_reports_it():
    specs = [node(1, kind="kgi", value_source="sum", target=100.0, deadline=date(9999, 12, 31)), ksf(2, 1)]

    e = engine(specs)

    assert e.series(2)["error"]["code"] == "window_unsupported"
    assert e.assess(2, *APRIL).status == NO_DATA


def test_a_node_that_raises_is_no_data_with_the_error_and_its_siblings_are_computed(monkeypatch):
    specs = [node(1, kind="kgi", value_source="sum", target=100.0), node(2, 1, target=50.0), node(3, 1, target=5.0)]
    e = engine(specs, {2: {APR: 60.0}, 3: {APR: 70.0}})
    computed = TreeRollup._own_value

    def own_value(self, spec, first, last):
        if spec.id == 3:
            raise ArithmeticError("something unforeseen")
        return computed(self, spec, first, last)

    monkeypatch.setattr(TreeRollup, "_own_value", own_value)

    assert e.assess(3, *APRIL).reason.as_dict() == {
        "code": "node_error",
        "error": "ArithmeticError: something unforeseen",
    }
    assert e.series(3)["error"]["code"] == "node_error"
    assert e.assess(2, *APRIL).status == ON_TRACK
    assert e.assess(1, *APRIL).actual == 60.0


@pytest.mark.parametrize(
    "formula",
    ["a * 1e308 * 10", "1e308 * 1e308 * a", "a * 1e308 * 10 - a * 1e308 * 10", "-a * 1e308 * 10"],
)
def test_a_formula_that_overflows_is_no_data_with_the_reason(formula):
    specs = [node(1, kind="kgi", value_source="formula", formula=formula, target=1.0), node(2, 1, code="a")]
    e = engine(specs, {2: {APR: 2.0}})

    april = e.assess(1, APR, period_end(APR, "monthly"))

    assert (april.actual, april.attainment, april.gap, april.status) == (None, None, None, NO_DATA)
    assert april.reason.code == "overflow"
    json.dumps(e.series(1), allow_nan=False)  # JSON has no NaN or Infinity


def test_a_value_whose_attainment_overflows_is_shown_but_not_judged():
    specs = [
        node(1, kind="kgi", value_source="formula", formula="a * 1.5e308", target=0.001),
        node(2, 1, code="a"),
    ]
    e = engine(specs, {2: {APR: 1.0}})

    april = e.assess(1, APR, period_end(APR, "monthly"))

    assert (april.actual, april.attainment, april.gap, april.status) == (1.5e308, None, None, NO_DATA)
    assert april.reason.code == "overflow"
