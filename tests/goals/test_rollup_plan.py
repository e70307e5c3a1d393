"""The plan check (goals/rollup/plan.py): do the drivers' targets add up to the parent's?

Pure and table-driven like tests/goals/test_rollup.py; docs/rollup.md "Plan check" has the
examples.
"""

from __future__ import annotations

from datetime import date

import pytest

from goals.rollup.engine import NodeSpec
from goals.rollup.plan import MEETS, OVER, SHORT, plan_checks, reason_text, summary_text, verdict_words

FY_START, FY_END = date(2026, 4, 1), date(2027, 3, 31)
APR, MAY, JUL = date(2026, 4, 1), date(2026, 5, 1), date(2026, 7, 1)


def node(id: int, parent: int | None = None, **fields) -> NodeSpec:
    """A monthly KPI over FY2026 (April start), changed by ``fields``."""
    fields.setdefault("code", f"n{id}")
    fields.setdefault("kind", "kpi")
    fields.setdefault("start", FY_START)
    fields.setdefault("deadline", FY_END)
    return NodeSpec(id=id, parent_id=parent, **fields)


def check(specs, node_id=1, *, tolerance=5.0, overrides=None):
    return plan_checks(specs, [node_id], fiscal_start_month=4, tolerance=tolerance, overrides=overrides)[node_id]


def row(result, start: date):
    return next((r, v) for r, v in result.rows if r.first == start)


def test_weekly_children_under_a_monthly_parent():
    """Two teams at 150 a week: 1,200 in a four-week month, 1,500 in a five-week month (a week
    counts in the month of its Thursday), 15,600 in the year (52 Thursdays) against 12 × 1,200."""
    specs = [
        node(1, value_source="sum", target=1200, unit="leads"),
        node(2, 1, frequency="weekly", target=150, unit="leads"),
        node(3, 1, frequency="weekly", target=150, unit="leads"),
    ]

    result = check(specs)

    may, may_verdict = row(result, MAY)  # Thursdays 7, 14, 21, 28
    july, july_verdict = row(result, JUL)  # Thursdays 2, 9, 16, 23, 30
    assert (may.implied, may.own, may_verdict) == (1200, 1200, MEETS)
    assert (july.implied, july.own, july.difference, july_verdict) == (1500, 1200, 300, OVER)
    assert sum(r.implied for r in result.periods) / 12 == 1300  # "about 1,300 a month"
    [(year, verdict)] = result.year_rows
    assert (year.implied, year.own, verdict) == (15_600, 14_400, OVER)
    assert round(year.ratio, 4) == 1.0833
    # The week of 29 March 2027 (Thursday 1 April) is the next year's; that of 30 March 2026
    # (Thursday 2 April) is April's.
    assert row(result, APR)[0].implied == 1500
    assert sorted(v for _, v in result.rows).count(OVER) == 4


def test_a_wider_tolerance_accepts_the_weekly_year():
    specs = [
        node(1, value_source="sum", target=1200),
        node(2, 1, frequency="weekly", target=150),
        node(3, 1, frequency="weekly", target=150),
    ]

    assert check(specs, tolerance=10).year_rows[0][1] == MEETS
    assert check(specs, tolerance=8).year_rows[0][1] == OVER


@pytest.mark.parametrize(
    ("value_source", "children", "parent_target", "implied", "verdict"),
    [
        ("sum", [(30, 1), (20, 1)], 50, 50, MEETS),
        ("sum", [(30, 1), (20, 1)], 52, 50, MEETS),  # 3.8% short: within 5%
        ("sum", [(30, 1), (15, 1)], 50, 45, SHORT),
        ("sum", [(300, 1), (100, 1)], 50, 400, OVER),
        ("average", [(10, 1), (20, 1)], 15, 15, MEETS),
        ("weighted_average", [(10, 3), (20, 1)], 15, 12.5, SHORT),
        ("min", [(10, 1), (20, 1)], 10, 10, MEETS),
        ("max", [(10, 1), (20, 1)], 10, 20, OVER),
    ],
)
def test_children_targets_combine_as_their_actuals_do(value_source, children, parent_target, implied, verdict):
    specs = [node(1, value_source=value_source, target=parent_target)]
    specs += [node(i, 1, target=t, weight=w) for i, (t, w) in enumerate(children, start=2)]

    result = check(specs)

    april, april_verdict = row(result, APR)
    assert (april.implied, april_verdict) == (implied, verdict)


def test_a_formula_over_descendants_by_code():
    """revenue = deals * deal_size, where deal_size sits under deals: codes resolve among all
    descendants. 20 deals a month × ¥500k = ¥10M a month, ¥120M a year; a flow formula's year
    is the sum of its months."""
    specs = [
        node(1, value_source="formula", formula="deals * deal_size", target=8_300_000, unit="JPY"),
        node(2, 1, code="deals", target=20),
        node(3, 2, code="deal_size", target=500_000, time_aggregation="average", unit="JPY"),
    ]

    result = check(specs)

    april, verdict = row(result, APR)
    assert (april.implied, verdict) == (10_000_000, OVER)
    [(year, _)] = result.year_rows
    assert (year.implied, year.own) == (120_000_000, 99_600_000)


def test_a_rate_formula_is_a_ratio_of_the_targets_sums():
    """close rate = contracts / appointments × 100 with 5 contracts and 50 appointments a month
    plans 10%; against a 12% target that is 2 points short."""
    specs = [
        node(
            1, value_source="formula", formula="contracts / appointments * 100", target=12, time_aggregation="average"
        ),
        node(2, 1, code="contracts", target=5),
        node(3, 1, code="appointments", target=50),
    ]

    result = check(specs)

    april, verdict = row(result, APR)
    assert (april.implied, april.difference, verdict) == (10, -2, SHORT)
    assert result.year_rows[0][0].implied == 10  # 60 / 600, not a mean of monthly rates


def test_a_computed_child_without_a_target_passes_its_own_implied_target_up():
    specs = [
        node(1, value_source="sum", target=100),
        node(2, 1, kind="ksf", value_source="sum", start=None, deadline=None),
        node(3, 2, target=60),
        node(4, 2, target=50),
    ]

    assert row(check(specs), APR)[0].implied == 110


def test_overrides_and_the_baseline_schedule_are_the_targets_rolled_up():
    specs = [node(1, value_source="sum", target=100), node(2, 1, target=50), node(3, 1, target=50)]

    result = check(specs, overrides={2: {MAY: 20}})

    assert row(result, MAY)[0].implied == 70
    assert row(result, MAY)[1] == SHORT
    assert row(result, APR)[1] == MEETS


def test_a_quarterly_driver_is_not_an_input_of_a_month():
    specs = [
        node(1, value_source="sum", target=100, frequency="quarterly"),
        node(2, 1, target=60, frequency="quarterly"),
        node(3, 1, target=40, frequency="monthly"),
    ]

    result = check(specs)

    # A monthly driver in a quarter: its three months (120), plus the quarterly one's 60.
    assert row(result, APR)[0].implied == 180


@pytest.mark.parametrize(
    ("specs", "reason"),
    [
        ([node(1, target=100), node(2, 1, target=50)], "not_computed"),
        ([node(1, value_source="sum", direction="maintain", target_min=1, target_max=2)], "range"),
        ([node(1, value_source="sum"), node(2, 1, target=50)], "no_target"),
        ([node(1, value_source="sum", target=100), node(2, 1, target=50), node(3, 1)], "input_without_target"),
        (
            [node(1, value_source="sum", target=9), node(2, 1, direction="maintain", target_min=1, target_max=2)],
            "input_range",
        ),
        ([node(1, value_source="formula", formula="a + b", target=9), node(2, 1, code="a", target=5)], "unknown_codes"),
        ([node(1, value_source="formula", formula="a +", target=9), node(2, 1, code="a", target=5)], "formula_error"),
    ],
)
def test_no_plan_check_says_why(specs, reason):
    result = check(specs)

    assert result.reason == reason
    assert not result.rows and not result.year_rows
    assert reason_text(result)


def test_a_code_not_below_the_node_is_unknown_even_if_it_exists_elsewhere():
    specs = [
        node(10, value_source="sum", target=1),
        node(1, 10, value_source="formula", formula="a * 2", target=9),
        node(2, 10, code="a", target=5),  # a sibling, not a descendant
    ]

    result = check(specs)

    assert (result.reason, dict(result.params)) == ("unknown_codes", {"codes": "a"})


def test_a_division_by_a_zero_target_gives_no_number_for_the_window():
    specs = [
        node(1, value_source="formula", formula="a / b", target=1, time_aggregation="average"),
        node(2, 1, code="a", target=5),
        node(3, 1, code="b", target=0),
    ]

    april, verdict = row(check(specs), APR)

    assert (april.implied, april.reason, verdict) == (None, "division_by_zero", "")


def test_words_with_the_unit():
    specs = [node(1, value_source="sum", target=8_300_000, unit="JPY"), node(2, 1, target=40_200_000, unit="JPY")]
    result = check(specs)

    assert verdict_words(*result.year_rows[0], "JPY", "en") == "4.8× over"
    assert summary_text(result, "JPY", "en") == (
        "Year from April 2026: the drivers' targets add up to ¥482.4M; the target is ¥99.6M — 4.8× over"
    )
    short = check([node(1, value_source="sum", target=10_000_000, unit="JPY"), node(2, 1, target=7_900_000)])
    assert verdict_words(*short.rows[0], "JPY", "en") == "¥2.1M short"


def test_a_weekly_node_has_the_years_of_its_weeks_thursdays():
    """A weekly KPI over FY2026 starts with the week of Monday 30 March 2026 (Thursday 2 April:
    FY2026's) and ends with that of 29 March 2027 (Thursday 1 April: the next year's). Its years
    are its window's, as its stored document has them: FY2026, not a stray FY2025 of two days."""
    specs = [
        node(1, value_source="sum", target=300, frequency="weekly"),
        node(2, 1, frequency="daily", target=20),
        node(3, 1, frequency="daily", target=20),
    ]

    result = check(specs)

    assert [row.first for row, _ in result.year_rows] == [FY_START]
    assert result.rows[0][0].implied == 200  # 2 × 5 days (1 … 5 April) × 20: 30 and 31 March have no target
