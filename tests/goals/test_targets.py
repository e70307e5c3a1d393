"""Target schedules (goals/targets.py): pure functions of fixed periods, table-driven."""

from __future__ import annotations

from datetime import date

import pytest

from goals.periods import period_starts
from goals.targets import Target, schedule, to_date

FY_START, FY_END = date(2026, 4, 1), date(2027, 3, 31)
MONTHS = period_starts(FY_START, FY_END, "monthly", 4)
QUARTERS = period_starts(FY_START, FY_END, "quarterly", 4)
APR, MAY, JUN, MAR = MONTHS[0], MONTHS[1], MONTHS[2], MONTHS[-1]


def plan(periods=MONTHS, **numbers) -> dict[date, Target]:
    """The default schedule of an "increase" flow with a per-period target, changed by ``numbers``."""
    arguments = {
        "direction": "increase",
        "baseline": None,
        "target": None,
        "target_min": None,
        "target_max": None,
        "time_aggregation": "sum",
        "target_scope": "per_period",
        "periods": periods,
        "overrides": None,
    } | numbers
    return schedule(**arguments)


def values(targets: dict[date, Target]) -> list[float | None]:
    return [round(t.value, 6) if t.value is not None else None for t in targets.values()]


def test_the_schedule_has_one_target_per_period_in_order():
    targets = plan(target=50)

    assert list(targets) == MONTHS
    assert len(targets) == 12


@pytest.mark.parametrize(
    ("numbers", "expected"),
    [
        # ¥120M of revenue for the fiscal year, split evenly: ¥10M a month; the baseline does not
        # matter for a flow whose target is the window's total.
        (
            {"baseline": 100_000_000, "target": 120_000_000, "target_scope": "whole_window"},
            [10_000_000.0] * 12,
        ),
        ({"target": 120, "target_scope": "whole_window"}, [10.0] * 12),
        # 50 appointments a month from 35 today: a straight line reaching 50 in March.
        (
            {"baseline": 35, "target": 50},
            [36.25, 37.5, 38.75, 40.0, 41.25, 42.5, 43.75, 45.0, 46.25, 47.5, 48.75, 50.0],
        ),
        # A rate (average) or a stock (last) is a straight line even when "whole window" is set:
        # only a flow can be split.
        (
            {"baseline": 15, "target": 20, "time_aggregation": "average", "target_scope": "whole_window"},
            [round(15 + 5 * (i + 1) / 12, 6) for i in range(12)],
        ),
        (
            {"baseline": 45, "target": 60, "time_aggregation": "last"},
            [46.25, 47.5, 48.75, 50.0, 51.25, 52.5, 53.75, 55.0, 56.25, 57.5, 58.75, 60.0],
        ),
        # Going down: churn from 5% to 2%.
        (
            {"direction": "decrease", "baseline": 5, "target": 2, "time_aggregation": "average"},
            [4.75, 4.5, 4.25, 4.0, 3.75, 3.5, 3.25, 3.0, 2.75, 2.5, 2.25, 2.0],
        ),
        # Without a baseline the target is constant ("stay at 50 a month").
        ({"target": 50}, [50.0] * 12),
        # Without a target there is nothing to phase.
        ({"baseline": 35}, [None] * 12),
    ],
)
def test_default_schedule(numbers, expected):
    assert values(plan(**numbers)) == expected


def test_even_split_follows_the_number_of_periods():
    quarterly = plan(periods=QUARTERS, target=120, target_scope="whole_window")
    single = plan(periods=[FY_START], baseline=100, target=120)

    assert values(quarterly) == [30.0, 30.0, 30.0, 30.0]
    assert values(single) == [120.0]
    assert plan(periods=[], target=120) == {}


@pytest.mark.parametrize(
    ("target_min", "target_max", "expected"),
    [
        (40, 60, Target(low=40, high=60)),  # stay within 40–60
        (80, None, Target(low=80)),  # stay at or above 80
        (None, 5, Target(high=5)),  # stay at or below 5
    ],
)
def test_maintain_is_a_range_in_every_period(target_min, target_max, expected):
    targets = plan(direction="maintain", target=999, target_min=target_min, target_max=target_max)

    assert set(targets.values()) == {expected}
    assert expected.is_range


@pytest.mark.parametrize(
    ("numbers", "override", "expected"),
    [
        # A manager lowers May (Golden Week) and raises March (fiscal year end).
        ({"target": 50}, {MAY: 40.0, MAR: 70.0}, [50.0, 40.0] + [50.0] * 9 + [70.0]),
        # An override replaces the default exactly, whatever the phasing.
        (
            {"baseline": 35, "target": 50},
            {APR: 30.0},
            [30.0, 37.5, 38.75, 40.0, 41.25, 42.5, 43.75, 45.0, 46.25, 47.5, 48.75, 50.0],
        ),
        # The other periods of an even split keep their share (the total moves with the override).
        ({"target": 120, "target_scope": "whole_window"}, {JUN: 25.0}, [10.0, 10.0, 25.0] + [10.0] * 9),
        # An override may give a period a target the node otherwise lacks.
        ({}, {APR: 7.0}, [7.0] + [None] * 11),
    ],
)
def test_overrides_replace_the_default_of_their_period(numbers, override, expected):
    assert values(plan(overrides=override, **numbers)) == expected


@pytest.mark.parametrize(
    ("target_min", "target_max", "expected"),
    [
        (40, 60, Target(low=45, high=60)),  # a range: the override moves the floor
        (80, None, Target(low=45)),  # at or above: the floor
        (None, 5, Target(high=45)),  # at or below: the ceiling, never a new floor
    ],
)
def test_a_maintain_override_moves_the_bound_the_target_has(target_min, target_max, expected):
    targets = plan(direction="maintain", target_min=target_min, target_max=target_max, overrides={MAY: 45.0})

    assert targets[MAY] == expected
    assert targets[APR] == Target(low=target_min, high=target_max)


def test_a_restated_target_is_a_new_schedule_from_the_new_numbers():
    """Restating replaces the numbers; the old schedule is what the old numbers (kept in the
    node's history) give, and overrides stay with their periods."""
    overrides = {MAY: 38.0}
    before = plan(baseline=35, target=50, overrides=overrides)
    after = plan(baseline=35, target=65, overrides=overrides)

    assert values(before) == [36.25, 38.0, 38.75, 40.0, 41.25, 42.5, 43.75, 45.0, 46.25, 47.5, 48.75, 50.0]
    assert values(after) == [37.5, 38.0, 42.5, 45.0, 47.5, 50.0, 52.5, 55.0, 57.5, 60.0, 62.5, 65.0]
    # Replaying the old numbers reproduces the old schedule exactly: nothing else is needed to
    # show what the targets were before the restatement.
    assert plan(baseline=35, target=50, overrides=overrides) == before
    assert before[MAR].value == 50.0
    assert after[MAR].value == 65.0


def test_a_restated_deadline_rephases_over_the_new_window():
    half_year = period_starts(FY_START, date(2026, 9, 30), "monthly", 4)

    assert values(plan(periods=half_year, baseline=35, target=50)) == [37.5, 40.0, 42.5, 45.0, 47.5, 50.0]
    assert values(plan(periods=half_year, target=120, target_scope="whole_window")) == [20.0] * 6


@pytest.mark.parametrize(
    ("targets", "time_aggregation", "expected"),
    [
        # A flow's target to date is the sum of its periods' targets.
        ([Target(10), Target(10), Target(12)], "sum", Target(32)),
        # A rate's is their mean; a stock's is the latest.
        ([Target(15), Target(16), Target(20)], "average", Target(17)),
        ([Target(46), Target(47), Target(48)], "last", Target(48)),
        # Periods without a target do not count as zero.
        ([Target(10), Target(), Target(20)], "sum", Target(30)),
        ([Target(10), Target(), Target(20)], "average", Target(15)),
        ([Target(10), Target(20), Target()], "last", Target(20)),
        # A range to date is the latest period's range.
        ([Target(low=40, high=60), Target(low=45, high=60)], "average", Target(low=45, high=60)),
        ([Target(high=5), Target(high=4)], "sum", Target(high=4)),
        # Nothing known, nothing to date.
        ([], "sum", Target()),
        ([Target(), Target()], "last", Target()),
    ],
)
def test_to_date(targets, time_aggregation, expected):
    assert to_date(targets, time_aggregation) == expected
