"""Where a node is heading: a straight line through its actuals so far, read at the deadline.

Pure arithmetic on the stored series (no ORM, no clock). A flow (``time_aggregation = sum``) is
projected as its running total against the whole window's target, so "¥120M in the year" can be
read straight off the line; a rate or a stock (``average`` / ``last``), and anything judged
against a range, is projected period by period against the target of the deadline's period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from goals.units import clamped

FLOW = "sum"


@dataclass(frozen=True)
class Projection:
    cumulative: bool  # True for a flow: the values are running totals
    actual: list[float | None]  # what is charted as the actual: running totals for a flow
    target: list[float | None]  # the target drawn beside it, accumulated the same way
    # The line to the deadline: for a flow from the latest running total on, at the fitted rate;
    # otherwise the fitted line itself, from the first actual on.
    line: list[float | None]
    expected: float  # the line's value in the deadline's period
    goal: float | None  # what ``expected`` is compared with (a range's bounds in low/high)
    low: float | None = None
    high: float | None = None
    gap: float | None = None  # expected against goal, signed like the rollup's gap (docs/rollup.md §5)
    # True when the straight line left the unit's valid range (a rate below 0% or above 100%, a
    # count below zero) and the line and ``expected`` were held at its limit: the page says so.
    clamped: bool = False


def running_totals(values: Sequence[float | None]) -> list[float | None]:
    """Running totals of a flow, None where the period has no value (missing is never zero: the
    total goes on from the periods that have one)."""
    total, out = 0.0, []
    for value in values:
        if value is None:
            out.append(None)
        else:
            total += value
            out.append(total)
    return out


def fit_line(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares ``(intercept, slope)``; one point (or all at one x) gives a flat line."""
    count = len(points)
    mean_x = sum(x for x, _ in points) / count
    mean_y = sum(y for _, y in points) / count
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return mean_y, 0.0
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
    return mean_y - slope * mean_x, slope


def projected_gap(
    expected: float, *, direction: str, goal: float | None, low: float | None = None, high: float | None = None
) -> float | None:
    """The gap at the deadline, positive = ahead (or within the limit / range), as the rollup's."""
    if direction == "maintain":
        if low is None and high is None:
            return None
        if low is not None and expected < low:
            return expected - low
        if high is not None and expected > high:
            return high - expected
        headroom = [
            bound
            for bound in (expected - low if low is not None else None, high - expected if high is not None else None)
            if bound is not None
        ]
        return min(headroom)
    if goal is None:
        return None
    return goal - expected if direction == "decrease" else expected - goal


def project(
    actuals: Sequence[float | None],
    targets: Sequence[float | None],
    *,
    aggregation: str,
    direction: str = "increase",
    low: Sequence[float | None] = (),
    high: Sequence[float | None] = (),
    unit: str = "",
) -> Projection | None:
    """Fit a least-squares line through the actuals so far and follow it to the last period
    (the deadline's). A flow's line is fitted through its running totals (from zero before the
    window opens) and carries on from the latest total at the fitted rate.

    ``actuals`` and ``targets`` are the node's stored columns, one entry per period of its window.
    The line stays within ``unit``'s valid range (goals.units.valid_range); a flow's running
    total only above its floor, as its ceiling bounds one period, not a total. None without a
    single actual.
    """
    count = len(actuals)
    known = [i for i, value in enumerate(actuals) if value is not None]
    if not known:
        return None
    # A range is judged per period (its latest period's bounds), even for a flow.
    cumulative = aggregation == FLOW and direction != "maintain"
    if cumulative:
        shown = running_totals(actuals)
        target_line = _target_totals(targets)
        goal = target_line[-1] if target_line else None
        # The total before the window opens is zero: that point anchors the line, so a single
        # month of actuals already projects its run rate.
        _, rate = fit_line([(0.0, 0.0)] + [(i + 1.0, shown[i]) for i in known])
        # What has been achieved is known: the line goes on from the latest total at that rate.
        start, total = known[-1], shown[known[-1]]

        def at(index: int) -> float:
            return total + rate * (index - start)

    else:
        shown = list(actuals)
        target_line = list(targets)
        goal = targets[-1] if targets else None
        intercept, slope = fit_line([(float(i), shown[i]) for i in known])
        start = known[0]

        def at(index: int) -> float:
            return intercept + slope * index

    held = False

    def within(value: float) -> float:
        nonlocal held
        inside, moved = clamped(value, unit)
        if cumulative and inside < value:
            return value  # a running total may pass a single period's ceiling
        held = held or moved
        return inside

    line = [None if i < start else within(at(i)) for i in range(count)]
    expected = within(at(count - 1))
    last_low = low[-1] if low else None
    last_high = high[-1] if high else None
    if direction == "maintain":
        goal = None
    return Projection(
        cumulative=cumulative,
        actual=shown,
        target=target_line,
        line=line,
        expected=expected,
        goal=goal,
        low=last_low,
        high=last_high,
        gap=projected_gap(expected, direction=direction, goal=goal, low=last_low, high=last_high),
        clamped=held,
    )


def _target_totals(targets: Sequence[float | None]) -> list[float | None]:
    """Running totals of a flow's targets; the total is unknown from the first period without one."""
    total: float | None = 0.0
    out: list[float | None] = []
    for value in targets:
        total = None if total is None or value is None else total + value
        out.append(total)
    return out
