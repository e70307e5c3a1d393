"""Target schedules: what a node should have reached in each period (pure functions).

By default the schedule is phased from ``baseline_value`` to ``target_value`` over
``start_date``..``deadline``: a flow whose target is for the whole window (``target_scope`` =
``whole_window``, e.g. ¥120M of revenue in a fiscal year) is split evenly over its periods; any
other number (a per-period flow such as "50 appointments a month", a rate, a stock) follows a
straight line from the baseline to the target, reaching the target in the deadline's period.
A manager's override for a period replaces the default for that period. For "stay within" it
replaces the bound the target has: the ceiling of a "stay at or below" target, the floor
otherwise. Restating a target (new baseline, target or range) gives a new schedule from the new
numbers; the node's history keeps the numbers the old one was phased from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date


def has_number(*, direction: str, target: object, low: object, high: object) -> bool:
    """Whether a node has a number of its own (it is judged against it; without one — a KSF —
    it takes its status from its children): a range for "stay within", a target otherwise."""
    if direction == "maintain":
        return low is not None or high is not None
    return target is not None


def thresholds_apply(*, has_number: bool, status_rule: str) -> bool:
    """Whether a node's own thresholds (at risk below, off track below) judge it: with a number
    of its own, or when it scores its children by weight. A node without a number that takes
    the worst of its children shows that child's status, judged on the child's thresholds, so
    its own are not used (docs/rollup.md §7)."""
    return has_number or status_rule != "worst"


@dataclass(frozen=True)
class Target:
    """The target of one period: a value, or a range for "stay within"."""

    value: float | None = None
    low: float | None = None
    high: float | None = None

    @property
    def is_range(self) -> bool:
        return self.low is not None or self.high is not None


def schedule(
    *,
    direction: str,
    baseline: float | None,
    target: float | None,
    target_min: float | None,
    target_max: float | None,
    time_aggregation: str,
    target_scope: str,
    periods: Sequence[date],
    overrides: Mapping[date, float] | None = None,
) -> dict[date, Target]:
    """The target for each period start in ``periods`` (the node's periods in its window)."""
    overrides = overrides or {}
    out: dict[date, Target] = {}
    count = len(periods)
    for index, start in enumerate(periods):
        if start in overrides:
            out[start] = _override(direction, overrides[start], target_min, target_max)
            continue
        if direction == "maintain":
            out[start] = Target(low=target_min, high=target_max)
        elif target is None:
            out[start] = Target()
        elif time_aggregation == "sum" and target_scope == "whole_window":
            out[start] = Target(value=target / count)
        elif baseline is None:
            out[start] = Target(value=target)
        else:
            out[start] = Target(value=baseline + (target - baseline) * (index + 1) / count)
    return out


def _override(direction: str, value: float, target_min: float | None, target_max: float | None) -> Target:
    if direction != "maintain":
        return Target(value=value)
    # One number cannot restate a two-sided range; it moves the bound that matters: a "stay at
    # or below" target has only a ceiling, so the override must not turn it into a floor.
    if target_min is None and target_max is not None:
        return Target(high=value)
    return Target(low=value, high=target_max)


def to_date(targets: Sequence[Target], time_aggregation: str) -> Target:
    """The target over several periods, aggregated the way the actuals are."""
    known = [t for t in targets if t.value is not None or t.is_range]
    if not known:
        return Target()
    if known[0].is_range:
        last = known[-1]
        return Target(low=last.low, high=last.high)
    values = [t.value for t in known]
    if time_aggregation == "sum":
        return Target(value=sum(values))
    if time_aggregation == "average":
        return Target(value=sum(values) / len(values))
    return Target(value=values[-1])
