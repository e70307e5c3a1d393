"""Rollup arithmetic: actuals, targets to date, attainment, gap and status up a KPI tree.

Pure: the tree comes in as :class:`NodeSpec` values and the actuals as points per node; no ORM.
docs/rollup.md explains every rule with worked examples. In short, for a node and a window of
time (one of its periods, or any range):

- a node whose value is entered by hand aggregates its own actuals over the window with its
  ``time_aggregation`` (``sum`` for flows, ``average``, ``last`` for stocks);
- a computed node combines its children's values *for the same window* (``sum``, ``average``,
  ``weighted_average``, ``min``, ``max``) or applies its formula to them — so a ratio over a
  quarter is a ratio of the quarter's sums, never an average of monthly ratios;
- missing actuals stay missing (never zero) and are counted in ``missing``; a formula with a
  missing input or a division by zero gives no value and says why; a flow entered by hand, and
  a computed "decrease" flow, are judged only on the periods that have all their data, so a
  missing input never makes a node look good;
- the target to date covers the window's periods that have started by ``as_of``;
- attainment and gap compare the value with the target to date, read in the node's direction
  (a positive gap is always good: ahead of an increase target, under a decrease target, inside
  a range);
- the status is ``on_track``/``at_risk``/``off_track`` from the node's thresholds, ``no_data``
  without a value; a node with no number of its own (a KSF) takes its status from its children
  (their weighted score, judged on its thresholds, or its worst child's status and attainment,
  judged on that child's).
"""

from __future__ import annotations

import logging
import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from math import inf

from goals import formula as formulas
from goals import targets as schedules
from goals.periods import (
    inherited_window,
    period_anchor,
    period_end,
    period_is_open,
    period_start,
    period_starts,
    window_fits,
    window_is_shorter,
)

logger = logging.getLogger(__name__)

ON_TRACK, AT_RISK, OFF_TRACK, NO_DATA = "on_track", "at_risk", "off_track", "no_data"
_SEVERITY = {NO_DATA: -1, ON_TRACK: 0, AT_RISK: 1, OFF_TRACK: 2}
# A child far ahead must not hide a sibling far behind in a weighted score.
MAX_SCORE = 150.0
# Pages show an attainment with one decimal (``floatformat:1``); a status is judged on that
# number, so "90.0%" is never "off track below 90%" (docs/rollup.md §6).
ATTAINMENT_STEP = Decimal("0.1")


def shown_attainment(attainment: float) -> float:
    """The attainment as pages show it: one decimal, half up (as ``floatformat`` rounds).

    Fast in binary, and decided on the decimal digits only near a tie (x.x5), where binary
    arithmetic and the page could round differently. goals.rollup.columns.shown_attainments
    does the same over columns, so both engines judge identical numbers.
    """
    scaled = attainment * 10.0
    if not math.isfinite(scaled):
        return attainment
    nearest = math.floor(scaled + 0.5)
    if abs(scaled - nearest) > 0.4999:
        return float(Decimal(repr(attainment)).quantize(ATTAINMENT_STEP, ROUND_HALF_UP))
    return nearest / 10.0


@dataclass(frozen=True)
class NodeSpec:
    id: int
    parent_id: int | None
    code: str
    kind: str
    unit: str = ""
    direction: str = "increase"
    value_source: str = "manual"
    formula: str = ""
    time_aggregation: str = "sum"
    frequency: str = "monthly"
    weight: float = 1.0
    baseline: float | None = None
    target: float | None = None
    target_min: float | None = None
    target_max: float | None = None
    target_scope: str = "per_period"
    start: date | None = None
    deadline: date | None = None
    at_risk_below: float = 100.0
    off_track_below: float = 90.0
    status_rule: str = "weighted"

    @property
    def has_number(self) -> bool:
        return schedules.has_number(
            direction=self.direction, target=self.target, low=self.target_min, high=self.target_max
        )


@dataclass(frozen=True)
class Reason:
    """Why a node has its value and status, as a code with parameters (translated for display)."""

    code: str
    params: tuple[tuple[str, object], ...] = ()

    def as_dict(self) -> dict:
        return {"code": self.code, **dict(self.params)}


@dataclass
class Assessment:
    """One node over one window."""

    actual: float | None
    target: schedules.Target
    attainment: float | None
    gap: float | None
    status: str
    missing: int
    reason: Reason
    inputs: list[tuple[int, float | None, str]] = field(default_factory=list)  # (id, value, status)


def _reason(code: str, **params: object) -> Reason:
    items = tuple(params.items())
    return Reason(code, items if len(items) < 2 else tuple(sorted(items)))


def _no_data(reason: Reason) -> Assessment:
    return Assessment(None, schedules.Target(), None, None, NO_DATA, 0, reason)


class TreeRollup:
    """Evaluates one tree for any window; remembers what it has computed."""

    def __init__(
        self,
        specs: Iterable[NodeSpec],
        points: Mapping[int, Mapping[date, float]],
        *,
        as_of: date,
        fiscal_start_month: int = 1,
        overrides: Mapping[int, Mapping[date, float]] | None = None,
        withheld: Mapping[int, Sequence[str]] | None = None,
    ) -> None:
        self.specs = {s.id: s for s in specs}
        # Nodes that cannot be computed, with the reason: their assessments are no data.
        self.errors: dict[int, Reason] = {}
        self._inherit_windows()
        self._withhold(withheld or {})
        self.children: dict[int | None, list[NodeSpec]] = defaultdict(list)
        for spec in self.specs.values():
            self.children[spec.parent_id].append(spec)
        self.points = points
        self.as_of = as_of
        self.fiscal_start_month = fiscal_start_month
        self.overrides = overrides or {}
        self._memo: dict[tuple[int, date, date], Assessment] = {}
        self._schedules: dict[int, dict[date, schedules.Target]] = {}
        self._formulas: dict[int, formulas.ParsedFormula | formulas.FormulaError] = {}
        self._descendants: dict[int, dict[str, NodeSpec]] = {}
        # Caches of pure results (the engine is built per computation, its inputs never change):
        # they keep a whole-tree series linear in the number of periods, not quadratic.
        self._sorted_points: dict[int, tuple[list[date], list[float]]] = {}
        self._sorted_plans: dict[int, tuple[list[date], list[schedules.Target], list[date]]] = {}
        self._period_lists: dict[tuple, list[date]] = {}
        self._period_ends: dict[tuple[date, str], date] = {}

    def _inherit_windows(self) -> None:
        """A node without dates (typically a KSF) follows its nearest dated ancestor's window."""
        resolved: dict[int, NodeSpec] = {}

        def resolve(spec: NodeSpec) -> NodeSpec:
            if spec.id in resolved:
                return resolved[spec.id]
            if (spec.start is None or spec.deadline is None) and spec.parent_id in self.specs:
                parent = resolve(self.specs[spec.parent_id])
                start, deadline = inherited_window(spec.start, spec.deadline, (parent.start, parent.deadline))
                spec = replace(spec, start=start, deadline=deadline)
            resolved[spec.id] = spec
            return spec

        for spec in list(self.specs.values()):
            resolve(spec)
        # A window SMART refuses (a deadline of 9999-12-31, a daily KPI over 40 years), written
        # before the rule existed: the node is an error without periods, so no date arithmetic
        # overflows and the rest of the tree is computed. Its children inherited the same window.
        for node_id, spec in resolved.items():
            if not window_fits(spec.start, spec.deadline, spec.frequency):
                self.errors[node_id] = _reason(
                    "window_unsupported",
                    start=spec.start.isoformat() if spec.start else "",
                    deadline=spec.deadline.isoformat() if spec.deadline else "",
                    frequency=spec.frequency,
                )
                resolved[node_id] = replace(spec, start=None, deadline=None)
        self.specs = resolved

    def _withhold(self, withheld: Mapping[int, Sequence[str]]) -> None:
        """A node with a child in error (goals.smart.inputs_in_error: why, by node) is no data.

        A child in error must not feed its parent: 8,000 followers summed into "sessions" is a
        number nobody can trust, and it would move every status above. Only a node that uses
        its children is affected: one computed from them, or one without a number of its own
        (its status comes from them); a node with its own actuals and target is judged as usual.
        """
        for node_id, why in withheld.items():
            spec = self.specs.get(node_id)
            if spec is None or node_id in self.errors:
                continue
            if spec.value_source != "manual" or not spec.has_number:
                self.errors[node_id] = _reason("input_in_error", inputs=" ".join(str(w) for w in why))

    # --- periods and targets -------------------------------------------------------------

    def periods(self, spec: NodeSpec) -> list[date]:
        """The starts of the node's periods from its start date to its deadline."""
        if spec.start is None or spec.deadline is None:
            return []
        return list(self._period_starts(spec.start, spec.deadline, spec.frequency))

    def _period_starts(self, first: date, last: date, frequency: str) -> list[date]:
        key = (first, last, frequency)
        starts = self._period_lists.get(key)
        if starts is None:
            starts = self._period_lists[key] = period_starts(first, last, frequency, self.fiscal_start_month)
        return starts

    def _period_end(self, start: date, frequency: str) -> date:
        key = (start, frequency)
        end = self._period_ends.get(key)
        if end is None:
            end = self._period_ends[key] = period_end(start, frequency)
        return end

    def schedule(self, spec: NodeSpec) -> dict[date, schedules.Target]:
        if spec.id not in self._schedules:
            self._schedules[spec.id] = schedules.schedule(
                direction=spec.direction,
                baseline=spec.baseline,
                target=spec.target,
                target_min=spec.target_min,
                target_max=spec.target_max,
                time_aggregation=spec.time_aggregation,
                target_scope=spec.target_scope,
                periods=self.periods(spec),
                overrides=self.overrides.get(spec.id),
            )
        return self._schedules[spec.id]

    def target_for(self, spec: NodeSpec, first: date, last: date) -> schedules.Target:
        """The target to date: of the window's periods that have started by ``as_of``.

        Actuals only exist up to now, so a fiscal year asked for in October is judged against
        April–October, not the whole year. A window wholly in the future shows its plan.
        """
        plan = self._sorted_plans.get(spec.id)
        if plan is None:
            items = sorted(self.schedule(spec).items(), key=lambda item: item[0])
            # A period belongs to the window that holds its anchor (a week's Thursday): sorted
            # by start, the periods are sorted by anchor too.
            plan = self._sorted_plans[spec.id] = (
                [start for start, _ in items],
                [t for _, t in items],
                [period_anchor(start, spec.frequency) for start, _ in items],
            )
        starts, targets, anchors = plan
        low, high = bisect_left(anchors, first), bisect_right(anchors, last)
        inside = list(zip(starts[low:high], targets[low:high], strict=True))
        started = [
            target
            for start, target in inside
            if start <= self.as_of and not self._open_without_value(spec, start, first, last)
        ]
        return schedules.to_date(started or [target for _, target in inside], spec.time_aggregation)

    def _flow_target(self, spec: NodeSpec, first: date, last: date, target: schedules.Target) -> schedules.Target:
        """A flow entered by hand is judged on the periods that have an actual: their targets.

        Missing months must never make a KPI look good: 240 repeat contacts in two months
        against eight months' 800 (a "decrease" flow) would read 333%, on track. Against the
        two months' 200 it is 83%, off track, with six missing (docs/rollup.md §4).
        """
        if target.value is None or target.is_range:
            return target
        anchors, _ = self._sorted_points[spec.id]  # the periods with an actual, by anchor
        plan = {period_anchor(start, spec.frequency): t for start, t in self.schedule(spec).items()}
        chosen = [plan.get(day) for day in anchors[bisect_left(anchors, first) : bisect_right(anchors, last)]]
        if not chosen or any(t is None or t.value is None for t in chosen):
            return target
        return schedules.to_date(chosen, spec.time_aggregation)

    def _complete_flow(self, spec, first, last, actual, missing, target, reason):
        """A computed "decrease" flow is judged on the periods whose inputs are all in:
        (actual, target, reason).

        A team that has not reported lowers a sum of complaints and would make it look good;
        so a period with a missing input has no value (reason ``inputs_missing``), and a wider
        window is the sum of its other periods against their targets, the missing inputs
        counted as usual (docs/rollup.md §4). A window where nothing is missing is unchanged.
        """
        frequency = spec.frequency
        periods = [start for start in self.periods(spec) if first <= period_anchor(start, frequency) <= last]
        if not periods:
            return actual, target, reason
        if len(periods) == 1 and (first, last) == (periods[0], self._period_end(periods[0], frequency)):
            if missing and actual is not None:
                return None, target, _reason("inputs_missing")
            return actual, target, reason
        assessed = [self.assess(spec.id, start, self._period_end(start, frequency)) for start in periods]
        if not any(a.missing for a in assessed):
            return actual, target, reason
        # A period with a missing input has no value (above): the others are complete.
        counted = [(start, a.actual) for start, a in zip(periods, assessed, strict=True) if a.actual is not None]
        if not counted:
            return None, target, reason if actual is None else _reason("inputs_missing")
        value = sum(v for _, v in counted)
        if not math.isfinite(value):
            return None, target, _reason("overflow")
        plan = self.schedule(spec)
        chosen = [plan.get(start) for start, _ in counted]
        if all(t is not None and t.value is not None for t in chosen):
            target = schedules.to_date(chosen, "sum")
        return value, target, reason

    def _open_without_value(self, spec: NodeSpec, start: date, first: date, last: date) -> bool:
        """Whether the period ``start`` is still in progress and has no value yet: it is left out
        of a wider window's target to date until it has one (docs/rollup.md §2, "to date")."""
        if not period_is_open(start, spec.frequency, self.as_of):
            return False
        end = self._period_end(start, spec.frequency)
        if (first, last) == (start, end):
            return False  # the period itself: its own planned target
        return self.assess(spec.id, start, end).actual is None

    def _expected_periods(self, spec: NodeSpec, first: date, last: date) -> list[date]:
        """The node's periods inside the window that should have an actual by now."""
        key = ("expected", first, last, spec.frequency, spec.start, spec.deadline)
        expected = self._period_lists.get(key)
        if expected is not None:
            return expected
        starts = self._period_starts(first, last, spec.frequency)
        current = period_start(self.as_of, spec.frequency, self.fiscal_start_month)
        expected = self._period_lists[key] = [
            s
            for s in starts
            if first <= period_anchor(s, spec.frequency) <= last
            # An open period is not missing until it has ended.
            and s <= current
            and self._period_end(s, spec.frequency) < self.as_of
            and (spec.start is None or self._period_end(s, spec.frequency) >= spec.start)
            and (spec.deadline is None or s <= spec.deadline)
        ]
        return expected

    # --- values ----------------------------------------------------------------------------

    def assess(self, node_id: int, first: date, last: date) -> Assessment:
        key = (node_id, first, last)
        if key not in self._memo:
            try:
                self._memo[key] = self._assess(self.specs[node_id], first, last)
            except Exception as error:  # one node's fault must not fail its whole tree
                self._memo[key] = self._failed(node_id, error)
        return self._memo[key]

    def _failed(self, node_id: int, error: Exception) -> Assessment:
        """A node whose computation raised: no data, with the error as the reason (and logged)."""
        if node_id not in self.errors:
            logger.exception("The rollup of node %s failed; it is reported as no data.", node_id)
            self.errors[node_id] = _reason("node_error", error=f"{type(error).__name__}: {error}")
        return _no_data(self.errors[node_id])

    def _assess(self, spec: NodeSpec, first: date, last: date) -> Assessment:
        if spec.id in self.errors:
            return _no_data(self.errors[spec.id])
        if window_is_shorter(first, last, spec.frequency):
            # A quarterly KPI in November: not due, so no value and no status; its parent leaves
            # it out like a child without a value.
            return _no_data(_reason("not_due", frequency=spec.frequency))
        children = self.children.get(spec.id, [])
        if spec.value_source == "manual":
            actual, missing, reason, inputs = self._own_value(spec, first, last)
        else:
            actual, missing, reason, inputs = self._combined_value(spec, children, first, last)
        target = self.target_for(spec, first, last)
        if spec.value_source == "manual" and spec.time_aggregation == "sum" and actual is not None:
            target = self._flow_target(spec, first, last, target)
        elif judged_on_complete_periods(spec):
            actual, target, reason = self._complete_flow(spec, first, last, actual, missing, target, reason)
        if spec.has_number:
            attainment, gap, status, judged = self._judge(spec, actual, target)
            return Assessment(actual, target, attainment, gap, status, missing, judged or reason, inputs)
        return self._from_children(spec, children, first, last, actual, target, missing, reason, inputs)

    def _own_value(self, spec: NodeSpec, first: date, last: date):
        mine = self._sorted_points.get(spec.id)
        if mine is None:
            items = sorted(self.points.get(spec.id, {}).items())
            # Keyed by anchor: an actual counts in the window that holds its period's anchor.
            mine = self._sorted_points[spec.id] = (
                [period_anchor(d, spec.frequency) for d, _ in items],
                [v for _, v in items],
            )
        dates, points = mine
        low, high = bisect_left(dates, first), bisect_right(dates, last)
        inside = list(zip(dates[low:high], points[low:high], strict=True))
        expected = self._expected_periods(spec, first, last)
        present = {d for d, _ in inside}
        missing = sum(1 for d in expected if period_anchor(d, spec.frequency) not in present)
        inputs = [(spec.id, v, "") for _, v in inside]
        if not inside:
            # Only a KSF without a number takes no actuals (goals.actuals refuses them); a KPI
            # without a target is still an input someone must enter, e.g. to a formula above.
            if spec.kind == "ksf" and not spec.has_number:
                return None, 0, _reason("no_number"), inputs
            return None, missing, _reason("no_actual", missing=missing), inputs
        values = [v for _, v in inside]
        if spec.time_aggregation == "sum":
            value = sum(values)
        elif spec.time_aggregation == "average":
            value = sum(values) / len(values)
        else:
            value = values[-1]
        return value, missing, _reason("actual", aggregation=spec.time_aggregation, points=len(values)), inputs

    def formula_inputs(self, spec: NodeSpec) -> dict[str, NodeSpec]:
        """The nodes a formula may name: the node's descendants, by code, in tree order (a KGI
        = sessions × cvr × aov over KPIs under different KSFs; docs/rollup.md §1)."""
        found = self._descendants.get(spec.id)
        if found is None:
            found = self._descendants[spec.id] = {}
            stack = list(reversed(self.children.get(spec.id, [])))
            while stack:
                below = stack.pop()
                found[below.code] = below
                stack.extend(reversed(self.children.get(below.id, [])))
        return found

    def _formula_value(self, spec: NodeSpec, first: date, last: date):
        """A formula over the descendants it names; their missing inputs are its own."""
        parsed = self._formula(spec)
        if isinstance(parsed, formulas.FormulaError):
            return None, 0, _reason("formula_error", error=str(parsed)), []
        named = [below for code, below in self.formula_inputs(spec).items() if code in parsed.codes]
        assessed = [(below, self.assess(below.id, first, last)) for below in named]
        missing = sum(a.missing for _, a in assessed)
        inputs = [(below.id, a.actual, a.status) for below, a in assessed]
        waiting = sorted(parsed.codes - {below.code for below in named})
        if waiting:
            # Built top down: the formula was written before the nodes it names (a SMART warning).
            return None, missing, _reason("formula_waiting", codes=", ".join(waiting)), inputs
        flow = self._flow_formula(spec, first, last)
        if flow is not None:
            value, reason = flow
            return value, missing, reason, inputs
        values = {below.code: a.actual for below, a in assessed}
        absent = sorted(code for code in parsed.codes if values.get(code) is None)
        if absent:
            return None, missing, _reason("formula_missing", codes=", ".join(absent)), inputs
        # The same arithmetic as the columnar rebuild (goals.rollup.columns): one window is a
        # column of one.
        result, problem = formula_value(parsed, values)
        if problem == "division_by_zero":
            # A code, not the message: the reason is stored and translated when shown.
            return None, missing, _reason("division_by_zero", formula=spec.formula), inputs
        if problem:
            return None, missing, _reason(problem), inputs
        return result, missing, _reason("formula", formula=spec.formula), inputs

    def _combined_value(self, spec: NodeSpec, children: Sequence[NodeSpec], first: date, last: date):
        if spec.value_source == "formula":
            return self._formula_value(spec, first, last)
        assessed = [(child, self.assess(child.id, first, last)) for child in children]
        missing = sum(a.missing for _, a in assessed)
        inputs = [(child.id, a.actual, a.status) for child, a in assessed]
        present = [(child, a.actual) for child, a in assessed if a.actual is not None]
        if not present:
            return None, missing, _reason("no_inputs", children=len(children)), inputs
        value, problem = combine(spec.value_source, [v for _, v in present], [child.weight for child, _ in present])
        if problem:
            return None, missing, _reason(problem), inputs
        absent = len(children) - len(present)
        return value, missing, _reason("combined", method=spec.value_source, used=len(present), absent=absent), inputs

    def _flow_formula(self, spec: NodeSpec, first: date, last: date) -> tuple[float | None, Reason] | None:
        """A flow formula (``time_aggregation = sum``: revenue = sessions × cvr × aov) over a
        window wider than one of its periods is the sum of its per-period values, so running
        totals, quarters, the fiscal year and the report agree to the yen (docs/rollup.md §3).
        None for a rate or stock formula, or a window that is one period (or holds none): those
        apply the formula to the window's aggregated inputs."""
        if spec.time_aggregation != "sum":
            return None
        periods = [start for start in self.periods(spec) if first <= period_anchor(start, spec.frequency) <= last]
        if not periods or (
            len(periods) == 1 and (first, last) == (periods[0], self._period_end(periods[0], spec.frequency))
        ):
            return None
        assessed = [self.assess(spec.id, start, self._period_end(start, spec.frequency)) for start in periods]
        values = [a.actual for a in assessed if a.actual is not None]
        if not values:
            return None, assessed[-1].reason
        value = sum(values)
        if not math.isfinite(value):
            return None, _reason("overflow")
        return value, _reason("formula", formula=spec.formula)

    def _formula(self, spec: NodeSpec):
        if spec.id not in self._formulas:
            try:
                self._formulas[spec.id] = formulas.parse(spec.formula)
            except formulas.FormulaError as error:
                self._formulas[spec.id] = error
        return self._formulas[spec.id]

    # --- judging ---------------------------------------------------------------------------

    @staticmethod
    def _judge(spec: NodeSpec, actual: float | None, target: schedules.Target):
        return judge(spec, actual, target)

    @staticmethod
    def _status(spec: NodeSpec, attainment: float) -> str:
        # Judged on the number the pages show (§6): 89.99999 is shown as 90.0 and is at risk.
        attainment = shown_attainment(attainment)
        if attainment >= spec.at_risk_below:
            return ON_TRACK
        if attainment >= spec.off_track_below:
            return AT_RISK
        return OFF_TRACK

    def _from_children(self, spec, children, first, last, actual, target, missing, reason, inputs):
        assessed = [(child, self.assess(child.id, first, last)) for child in children]
        judged = [(child, a) for child, a in assessed if a.status != NO_DATA]
        missing = max(missing, sum(a.missing for _, a in assessed))
        inputs = [(child.id, a.actual, a.status) for child, a in assessed] or inputs
        if not children:
            # A leaf without a target (a plain metric): its value is shown but not judged.
            why = _reason("no_target") if actual is not None else reason
            return Assessment(actual, target, None, None, NO_DATA, missing, why, inputs)
        if not judged:
            return Assessment(actual, target, None, None, NO_DATA, missing, _reason("no_child_data"), inputs)
        if spec.status_rule == "worst":
            # The worst child's status and attainment, judged on that child's thresholds (the
            # node's own are not used); among equally bad children, the furthest behind. The
            # reason names it, so the explanation says whose figures these are.
            child, worst = max(judged, key=lambda item: (_SEVERITY[item[1].status], -(item[1].attainment or 0.0)))
            why = _reason("worst_of_children", child=child.code)
            return Assessment(actual, target, worst.attainment, None, worst.status, missing, why, inputs)
        total = sum(child.weight for child, _ in judged)
        if total == 0:
            return Assessment(actual, target, None, None, NO_DATA, missing, _reason("zero_weights"), inputs)
        score = sum(child.weight * min(a.attainment or 0.0, MAX_SCORE) for child, a in judged) / total
        return Assessment(
            actual, target, score, None, self._status(spec, score), missing, _reason("weighted_children"), inputs
        )

    # --- whole series ----------------------------------------------------------------------

    def series(self, node_id: int) -> dict:
        """What the rollup stores for a node (docs/rollup.md, "Stored results").

        The node's assessment for each of its periods, as column arrays, and the same columns
        for each fiscal quarter (``quarter``) and fiscal year (``year``) overlapping its window:
        the windows the dashboards offer, each judged against its target to date. Numbers are
        stored unrounded, so an incremental run that reads siblings from storage combines
        exactly what a full rebuild would.
        """
        spec = self.specs[node_id]
        starts, frequency, end = self.periods(spec), spec.frequency, self._period_end
        try:
            document = self._columns(node_id, [(start, end(start, frequency)) for start in starts])
            document["as_of"] = self.as_of.isoformat()
            for name, window in (("quarter", "quarterly"), ("year", "yearly")):
                bounds = [(s, end(s, window)) for s in self._window_starts(spec, window)]
                document[name] = self._columns(node_id, bounds)
        except Exception as error:  # as in assess(): the node is an error, the tree goes on
            self._failed(node_id, error)
        if node_id in self.errors:
            # No periods (or none trusted): the document says why, for the pages to show.
            document = self._columns(node_id, [])
            document["as_of"] = self.as_of.isoformat()
            document["quarter"] = document["year"] = self._columns(node_id, [])
            document["error"] = self.errors[node_id].as_dict()
        return document

    def _window_starts(self, spec: NodeSpec, frequency: str) -> list[date]:
        if spec.start is None or spec.deadline is None:
            return []
        return self._period_starts(spec.start, spec.deadline, frequency)

    def _columns(self, node_id: int, windows: Sequence[tuple[date, date]]) -> dict[str, list]:
        assessed = [self.assess(node_id, first, last) for first, last in windows]
        targets = [a.target for a in assessed]
        return {
            "period": [first.isoformat() for first, _ in windows],
            "actual": [a.actual for a in assessed],
            "target": [t.value for t in targets],
            "low": [t.low for t in targets],
            "high": [t.high for t in targets],
            "attainment": [a.attainment for a in assessed],
            "gap": [a.gap for a in assessed],
            "status": [a.status for a in assessed],
            "missing": [a.missing for a in assessed],
            "reason": [a.reason.code for a in assessed],
        }


def judged_on_complete_periods(spec: NodeSpec) -> bool:
    """A computed flow whose target is a ceiling (a sum or flow formula of complaints, churned
    customers, costs): a missing input would make it look good, so it is judged only on the
    periods whose inputs are all in (TreeRollup._complete_flow, docs/rollup.md §4)."""
    return (
        spec.direction == "decrease"
        and spec.time_aggregation == "sum"
        and spec.value_source in ("sum", "formula")
        and spec.has_number
    )


def combine(method: str, values: Sequence[float], weights: Sequence[float]) -> tuple[float | None, str | None]:
    """Children's values combined by a computed node's ``value_source`` (``sum``, ``average``,
    ``weighted_average``, ``min``, ``max``): (value, None), or (None, the reason code) when the
    weights add up to zero or the result is beyond a float's range. The one place this
    arithmetic lives: the engine combines actuals with it, goals.rollup.plan targets."""
    if method == "sum":
        value = sum(values)
    elif method == "average":
        value = sum(values) / len(values)
    elif method == "weighted_average":
        total = sum(weights)
        if total == 0:
            return None, "zero_weights"
        value = sum(w * v for w, v in zip(weights, values, strict=True)) / total
    elif method == "min":
        value = min(values)
    else:
        value = max(values)
    if not math.isfinite(value):
        # Children near a float's limit (from formulas) can add up beyond it.
        return None, "overflow"
    return value, None


def formula_value(
    parsed: formulas.ParsedFormula, values: Mapping[str, float | None]
) -> tuple[float | None, str | None]:
    """A formula applied to one window's inputs (every code has a value): (value, None), or
    (None, ``division_by_zero`` / ``overflow``). The same arithmetic as the columnar rebuild
    (goals.rollup.columns): one window is a column of one."""
    result, by_zero, overflow = formulas.evaluate_columns(parsed, {c: [values[c]] for c in parsed.codes})
    if by_zero[0]:
        return None, "division_by_zero"
    if overflow[0]:
        return None, "overflow"
    return float(result[0]), None


def judge(spec: NodeSpec, actual: float | None, target: schedules.Target):
    """(attainment %, gap, status, reason) of a value against its target to date."""
    if actual is None:
        return None, None, NO_DATA, None
    if target.is_range:
        low, high = target.low, target.high
        if low is not None and actual < low:
            gap = actual - low
        elif high is not None and actual > high:
            gap = high - actual
        else:
            # Inside: the gap is the headroom to the nearer bound, positive like any good gap.
            headroom = min(actual - low if low is not None else inf, high - actual if high is not None else inf)
            return 100.0, headroom, ON_TRACK, _reason("in_range")
        width = (high - low) if low is not None and high is not None and high > low else abs(low or high or 1)
        attainment = max(0.0, 100.0 + gap / width * 100.0)
        if not (math.isfinite(attainment) and math.isfinite(gap)):
            return None, None, NO_DATA, _reason("overflow")
        # Outside the range is never on track; the thresholds only say how far off it is.
        status = OFF_TRACK if shown_attainment(attainment) < spec.off_track_below else AT_RISK
        return attainment, gap, status, _reason("out_of_range")
    if target.value is None:
        return None, None, NO_DATA, _reason("no_target")
    if spec.direction == "decrease":
        gap = target.value - actual
        attainment = 100.0 if actual <= 0 else target.value / actual * 100.0
    else:
        gap = actual - target.value
        attainment = (100.0 if actual >= 0 else 0.0) if target.value == 0 else actual / target.value * 100.0
    if target.value < 0:
        # A ratio of two negatives reads backwards (a loss of ¥3M would "attain" 60% of a
        # target loss of ¥5M); measure the gap in units of the target instead: 140%.
        attainment = 100.0 + gap / -target.value * 100.0
    if not (math.isfinite(attainment) and math.isfinite(gap)):
        # A value near a float's limit (from a formula) against an ordinary target: no number
        # can say how far ahead it is, and JSON has no Infinity.
        return None, None, NO_DATA, _reason("overflow")
    status = TreeRollup._status(spec, attainment)
    return (
        attainment,
        gap,
        status,
        _reason("thresholds", at_risk_below=spec.at_risk_below, off_track_below=spec.off_track_below),
    )


def worst_status(statuses: Iterable[str]) -> str:
    return max(statuses, key=_SEVERITY.__getitem__, default=NO_DATA)
