"""The straight-line projection to the deadline (dashboards/projection.py)."""

from __future__ import annotations

import pytest

from dashboards.projection import fit_line, project, projected_gap, running_totals

N = None
TWELVE_TENS = [10.0] * 12


@pytest.mark.parametrize(
    ("case", "actuals", "targets", "aggregation", "direction", "expected", "goal", "gap"),
    [
        # A flow: the running total against the whole window's target (¥10M a month → ¥120M).
        ("flow on plan", [10, 10, 10, *[N] * 9], TWELVE_TENS, "sum", "increase", 120, 120, 0),
        # One month is enough: the line starts at zero before the window opens.
        ("flow, one month", [12, *[N] * 11], TWELVE_TENS, "sum", "increase", 144, 120, 24),
        ("flow behind", [8, 9, 10, *[N] * 9], TWELVE_TENS, "sum", "increase", 108, 120, -12),
        # A missing month adds nothing to the total (it is not filled in), so the line is lower.
        ("flow, a month missing", [10, N, 10, N], [10, 10, 10, 10], "sum", "increase", 26.428571, 40, -13.571429),
        # A rate or a stock: period by period, against the deadline's target.
        ("rate rising", [45, 46, 47, N, N], [46, 47, 48, 49, 50], "average", "increase", 49, 50, -1),
        ("stock, one value", [N, 30, N], [20, 25, 30], "last", "increase", 30, 30, 0),
        # A decrease reads the gap the other way round: below the limit is ahead.
        ("churn falling too slowly", [5, 4.8, 4.6, N], [4.5, 4, 3.5, 3], "average", "decrease", 4.4, 3, -1.4),
        ("churn beating the limit", [3, 2.5, 2, N], [4, 4, 4, 4], "average", "decrease", 1.5, 4, 2.5),
        # Without a target at the deadline there is nothing to compare with.
        ("flow, an unplanned month", [10, 10, N], [10, N, 10], "sum", "increase", 30, N, N),
        ("rate without a target", [1, 2, N], [N, N, N], "average", "increase", 3, N, N),
    ],
)
def test_projection(case, actuals, targets, aggregation, direction, expected, goal, gap):
    projection = project(actuals, targets, aggregation=aggregation, direction=direction)
    assert projection is not None
    assert projection.expected == pytest.approx(expected), case
    assert projection.goal == (None if goal is None else pytest.approx(goal)), case
    assert projection.gap == (None if gap is None else pytest.approx(gap)), case
    assert len(projection.line) == len(actuals)
    assert projection.line[-1] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("case", "actuals", "expected", "gap"),
    [
        ("heading for the middle", [50, 52, 54, N], 56, 4),  # 4 to spare below the ceiling of 60
        ("heading out above", [50, 55, 60, N], 65, -5),
        ("heading out below", [45, 42, 39, N], 36, -4),
    ],
)
def test_a_range_is_projected_per_period_against_the_last_bounds(case, actuals, expected, gap):
    projection = project(actuals, [N] * 4, aggregation="sum", direction="maintain", low=[40] * 4, high=[60] * 4)
    assert projection.cumulative is False  # a range is judged per period, even for a flow
    assert (projection.low, projection.high, projection.goal) == (40, 60, None)
    assert projection.expected == pytest.approx(expected), case
    assert projection.gap == pytest.approx(gap), case


def test_a_flow_is_charted_as_running_totals():
    projection = project([10, N, 5, N], [10, 10, 10, 10], aggregation="sum")
    assert projection.cumulative is True
    assert projection.actual == [10, N, 15, N]
    assert projection.target == [10, 20, 30, 40]
    # The line carries on from the latest total (15) at the fitted rate (4.643 a period).
    assert projection.line[:2] == [N, N]
    assert projection.line[2:] == [pytest.approx(15), pytest.approx(19.642857)]


def test_a_rate_line_starts_at_its_first_actual():
    projection = project([N, 2, 4, N], [5, 5, 5, 5], aggregation="average")
    assert projection.cumulative is False
    assert projection.actual == [N, 2, 4, N]
    assert projection.target == [5, 5, 5, 5]
    assert projection.line == [N, pytest.approx(2), pytest.approx(4), pytest.approx(6)]


def test_nothing_to_project_without_an_actual():
    assert project([N, N, N], [10, 10, 10], aggregation="sum") is None
    assert project([], [], aggregation="last") is None


@pytest.mark.parametrize(
    ("points", "line"),
    [
        ([(0, 1), (1, 3), (2, 5)], (1, 2)),
        ([(0, 0), (1, 1), (2, 0)], (1 / 3, 0)),
        ([(3, 7)], (7, 0)),  # one point: a flat line through it
        ([(2, 1), (2, 3)], (2, 0)),  # no spread in x: flat at the mean
    ],
)
def test_fit_line(points, line):
    assert fit_line(points) == pytest.approx(line)


def test_running_totals_skip_missing_periods():
    assert running_totals([1, N, 2, 3]) == [1, N, 3, 6]
    assert running_totals([N, N]) == [N, N]


@pytest.mark.parametrize(
    ("expected", "direction", "goal", "low", "high", "gap"),
    [
        (110, "increase", 100, N, N, 10),
        (90, "increase", 100, N, N, -10),
        (3, "decrease", 5, N, N, 2),
        (6, "decrease", 5, N, N, -1),
        (50, "maintain", N, 40, 60, 10),
        (76, "maintain", N, 80, N, -4),  # "at or above 80"
        (4, "maintain", N, N, 5, 1),  # "at or below 5"
        (50, "maintain", N, N, N, N),
        (50, "increase", N, N, N, N),
    ],
)
def test_projected_gap_reads_like_the_rollup_gap(expected, direction, goal, low, high, gap):
    assert projected_gap(expected, direction=direction, goal=goal, low=low, high=high) == gap


@pytest.mark.parametrize(
    ("case", "actuals", "aggregation", "unit", "expected", "clamped"),
    [
        # §2.6 of issue 9: a falling rate was "expected at −3.27%"; a percentage is 0–100.
        ("rate falling below zero", [30, 20, 10, N, N, N, N], "average", "%", 0, True),
        ("rate rising above 100", [80, 90, 100, N], "average", "%", 100, True),
        ("rate inside", [40, 42, 44, N], "average", "%", 46, False),
        # A count never goes below zero …
        ("count falling below zero", [9, 6, 3, N, N], "average", "contacts", 0, True),
        # … and a running total of a count may well pass 100 (only the floor bounds a total).
        ("flow of contacts", [60, 60, N], "sum", "contacts", 180, False),
        # Any other unit (a yen profit) goes where its line goes.
        ("profit into a loss", [30, 20, 10, N, N], "average", "JPY", -10, False),
        ("no unit", [3, 2, 1, N, N], "average", "", -1, False),
    ],
)
def test_a_projection_stays_within_its_units_range(case, actuals, aggregation, unit, expected, clamped):
    projection = project(actuals, [50] * len(actuals), aggregation=aggregation, unit=unit)
    assert projection.expected == pytest.approx(expected), case
    assert projection.clamped is clamped, case
    low, high = (0, 100) if unit == "%" else (0, None) if unit == "contacts" else (None, None)
    for value in projection.line:
        if value is not None:
            assert low is None or value >= low, case
            assert high is None or projection.cumulative or value <= high, case


@pytest.mark.parametrize(
    ("actuals", "unit", "said"),
    [
        ([30, 20, 10, N, N, N, N], "%", "Expected at the deadline: 0% (50% short) · the straight line leaves"),
        ([40, 45, 50, N], "%", "Expected at the deadline: 55% (5% ahead)"),
        ([343.16, N], "contacts", "Expected at the deadline: 343 contacts"),
    ],
)
def test_the_expected_text_says_the_projection_was_held_at_the_limit(actuals, unit, said):
    from dashboards.pages.node import expected_words
    from goals.models import Node

    node = Node(name="x", unit=unit, direction="increase", time_aggregation="average")
    targets = [50] * len(actuals) if unit == "%" else [N] * len(actuals)
    text = expected_words(project(actuals, targets, aggregation="average", unit=unit), node)
    assert text.startswith(said)
    assert ("held at the limit" in text) is ("leaves" in said)
