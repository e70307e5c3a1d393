"""The plan check: do the drivers' targets add up to their parent's? (docs/rollup.md, "Plan check")

For a computed node (``value_source`` sum, average, weighted_average, min, max or formula) the
targets of its inputs are rolled up exactly as the engine rolls up their actuals — the same
combination (goals.rollup.engine.combine, formula_value), the same time rule (a child's periods
count in the window that holds their anchor, a week's Thursday; each input's targets aggregated
by its own ``time_aggregation``), the same flow-formula rule over a wider window — as if every
input met its target. The result, the *implied target*, is compared with the node's own target
per period and per fiscal year.

Pure: the tree comes in as :class:`~goals.rollup.engine.NodeSpec` values with its overrides, as
the engine takes it; no ORM, no clock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext as _

from goals import formula as formulas
from goals.periods import period_anchor, period_end, period_label, period_starts, window_is_shorter
from goals.rollup.engine import NodeSpec, TreeRollup, combine, formula_value
from goals.units import format_quantity

logger = logging.getLogger(__name__)

COMPUTED_SOURCES = ("sum", "average", "weighted_average", "min", "max", "formula")
DEFAULT_TOLERANCE = 5.0  # percent; Organisation.plan_tolerance_percent
MEETS, OVER, SHORT = "meets", "over", "short"
# A plan is read in full, never "to date": every period has started and none is open.
_PLAN_AS_OF = date.max


@dataclass(frozen=True)
class PlanRow:
    """One window (a period of the node, or a fiscal year): what the drivers' targets imply
    against the node's own target."""

    first: date
    last: date
    frequency: str  # how the window is named: the node's frequency, or "yearly"
    implied: float | None
    own: float | None
    reason: str = ""  # why there is no implied target in this window (a code), else ""

    @property
    def difference(self) -> float | None:
        if self.implied is None or self.own is None:
            return None
        return self.implied - self.own

    @property
    def ratio(self) -> float | None:
        if self.implied is None or not self.own:
            return None
        return self.implied / self.own

    @property
    def label(self) -> str:
        return period_label(self.first, self.frequency)


@dataclass(frozen=True)
class PlanCheck:
    """A node's plan check. ``reason`` says why there is none ("" when there is one)."""

    node_id: int
    tolerance: float
    reason: str = ""
    params: Mapping[str, str] = field(default_factory=dict)
    periods: tuple[PlanRow, ...] = ()
    years: tuple[PlanRow, ...] = ()

    @property
    def checked(self) -> bool:
        return not self.reason

    def verdict(self, row: PlanRow) -> str:
        """``meets`` (within the tolerance), ``over`` or ``short``; "" without both numbers."""
        return row_verdict(row.implied, row.own, self.tolerance)

    @property
    def rows(self) -> list[tuple[PlanRow, str]]:
        return [(row, self.verdict(row)) for row in self.periods]

    @property
    def year_rows(self) -> list[tuple[PlanRow, str]]:
        return [(row, self.verdict(row)) for row in self.years]

    @property
    def missed_year(self) -> tuple[PlanRow, str] | None:
        """The first fiscal year whose drivers miss the node's target by more than the tolerance:
        what SMART reports (single periods may miss — a five-week month — while the year adds up)."""
        return next(((row, verdict) for row, verdict in self.year_rows if verdict in (OVER, SHORT)), None)

    @property
    def headline(self) -> tuple[PlanRow, str] | None:
        """The row a one-line summary shows: the first fiscal year that misses, or else the first
        one with a verdict."""
        return self.missed_year or next(((row, v) for row, v in self.year_rows if v), None)


def row_verdict(implied: float | None, own: float | None, tolerance: float) -> str:
    """Within ``tolerance`` percent of the node's own target: ``meets``; above it ``over``,
    below it ``short``. A target of zero is met only by zero."""
    if implied is None or own is None:
        return ""
    if abs(implied - own) <= abs(own) * tolerance / 100.0:
        return MEETS
    return OVER if implied > own else SHORT


def plan_checks(
    specs: Iterable[NodeSpec],
    node_ids: Iterable[int],
    *,
    fiscal_start_month: int,
    tolerance: float = DEFAULT_TOLERANCE,
    overrides: Mapping[int, Mapping[date, float]] | None = None,
    withheld: Mapping[int, Sequence[str]] | None = None,
) -> dict[int, PlanCheck]:
    """The plan check of each of ``node_ids``. ``specs`` hold each node's subtree (its inputs)
    and its ancestors (a node without dates follows theirs), as the engine takes a tree."""
    engine = TreeRollup(
        specs,
        {},
        as_of=_PLAN_AS_OF,
        fiscal_start_month=fiscal_start_month,
        overrides=overrides,
        withheld=withheld,
    )
    planner = _Planner(engine)
    return {node_id: planner.check(node_id, tolerance) for node_id in node_ids if node_id in engine.specs}


class _NoPlan(Exception):
    """No plan check for the node at all (not only in one window)."""

    def __init__(self, reason: str, **params: str) -> None:
        super().__init__(reason)
        self.code, self.params = reason, params


class _Planner:
    def __init__(self, engine: TreeRollup) -> None:
        self.engine = engine
        self._descendants: dict[int, dict[str, NodeSpec]] = {}
        self._memo: dict[tuple[int, date, date], tuple[float | None, str]] = {}

    def check(self, node_id: int, tolerance: float) -> PlanCheck:
        spec = self.engine.specs[node_id]
        if spec.value_source not in COMPUTED_SOURCES:
            return PlanCheck(node_id, tolerance, "not_computed")
        if spec.direction == "maintain":
            return PlanCheck(node_id, tolerance, "range")
        if spec.target is None:
            return PlanCheck(node_id, tolerance, "no_target")
        if node_id in self.engine.errors:
            return PlanCheck(node_id, tolerance, "node_error")
        starts = self.engine.periods(spec)
        if not starts:
            return PlanCheck(node_id, tolerance, "no_window")
        try:
            self._inputs_have_targets(spec)
            periods = tuple(self._row(spec, s, period_end(s, spec.frequency), spec.frequency) for s in starts)
            # The fiscal years of the node's window, as its stored document has them (the
            # engine's series()), cut to its periods: a child running on after the node's
            # deadline adds nothing to the node's year.
            first, last = starts[0], period_end(starts[-1], spec.frequency)
            years = tuple(
                self._row(spec, max(y, first), min(period_end(y, "yearly"), last), "yearly", named=y)
                for y in period_starts(spec.start, spec.deadline, "yearly", self.engine.fiscal_start_month)
            )
        except _NoPlan as missing:
            return PlanCheck(node_id, tolerance, missing.code, missing.params)
        except Exception:  # as in the engine: one node's fault must not fail a page
            logger.exception("The plan check of node %s failed.", node_id)
            return PlanCheck(node_id, tolerance, "node_error")
        return PlanCheck(node_id, tolerance, "", {}, periods, years)

    def _row(self, spec: NodeSpec, first: date, last: date, frequency: str, named: date | None = None) -> PlanRow:
        implied, reason = self._implied(spec, first, last)
        own = self.engine.target_for(spec, first, last).value
        return PlanRow(named or first, last, frequency, implied, own, reason)

    # --- inputs ------------------------------------------------------------------------------

    def _inputs(self, spec: NodeSpec) -> list[NodeSpec]:
        """The nodes whose targets the node's value is computed from: its children, or the
        descendants its formula names by code (a formula may name any descendant)."""
        if spec.value_source != "formula":
            return list(self.engine.children.get(spec.id, []))
        parsed = self._formula(spec)
        below = self._descendants_by_code(spec.id)
        unknown = sorted(code for code in parsed.codes if code not in below)
        if unknown:
            raise _NoPlan("unknown_codes", codes=", ".join(unknown))
        return [below[code] for code in sorted(parsed.codes)]

    def _formula(self, spec: NodeSpec) -> formulas.ParsedFormula:
        try:
            return formulas.parse(spec.formula)
        except formulas.FormulaError as error:
            raise _NoPlan("formula_error", error=str(error)) from None

    def _descendants_by_code(self, node_id: int) -> dict[str, NodeSpec]:
        found = self._descendants.get(node_id)
        if found is None:
            found, stack = {}, list(self.engine.children.get(node_id, []))
            while stack:
                child = stack.pop()
                found.setdefault(child.code, child)
                stack.extend(self.engine.children.get(child.id, []))
            self._descendants[node_id] = found
        return found

    def _inputs_have_targets(self, spec: NodeSpec) -> None:
        """Every input has a target of its own, or is computed and has an implied one: a driver
        without a target leaves nothing to add up ("no plan check", naming it)."""
        for child in self._inputs(spec):
            if child.id in self.engine.errors:
                raise _NoPlan("input_error", code=child.code)
            if child.direction == "maintain":
                raise _NoPlan("input_range", code=child.code)
            if child.target is not None:
                continue
            if child.value_source in COMPUTED_SOURCES:
                self._inputs_have_targets(child)
            elif child.kind == "ksf" and spec.value_source != "formula":
                continue  # a KSF without a number takes no value; its parent leaves it out
            else:
                raise _NoPlan("input_without_target", code=child.code)

    # --- targets over a window ----------------------------------------------------------------

    def _input_target(self, child: NodeSpec, first: date, last: date) -> tuple[float | None, str]:
        """What the input is planned to reach in the window, aggregated over its own periods in
        the window as its actuals would be: its target, or (without one) its implied target."""
        if window_is_shorter(first, last, child.frequency):
            return None, "not_due"  # a quarterly driver in a month: not an input of that month
        if child.target is not None:
            value = self.engine.target_for(child, first, last).value
            return value, "" if value is not None else "outside_window"
        if child.value_source in COMPUTED_SOURCES:
            return self._implied(child, first, last)
        return None, "no_number"

    def _implied(self, spec: NodeSpec, first: date, last: date) -> tuple[float | None, str]:
        key = (spec.id, first, last)
        if key not in self._memo:
            self._memo[key] = self._compute(spec, first, last)
        return self._memo[key]

    def _compute(self, spec: NodeSpec, first: date, last: date) -> tuple[float | None, str]:
        if spec.value_source == "formula" and spec.time_aggregation == "sum":
            # A flow formula over a wider window is the sum of its periods (the engine's rule).
            own = [s for s in self.engine.periods(spec) if first <= period_anchor(s, spec.frequency) <= last]
            if own and (first, last) != (own[0], period_end(own[0], spec.frequency)):
                values = [self._implied(spec, s, period_end(s, spec.frequency)) for s in own]
                missing = next((reason for value, reason in values if value is None), None)
                if missing is not None:
                    return None, missing
                return sum(value for value, _ in values), ""
        inputs = self._inputs(spec)
        planned = [(child, *self._input_target(child, first, last)) for child in inputs]
        if spec.value_source == "formula":
            absent = next((reason for _, value, reason in planned if value is None), None)
            if absent is not None:
                return None, absent
            value, problem = formula_value(self._formula(spec), {child.code: v for child, v, _ in planned})
            return value, problem or ""
        present = [(child, value) for child, value, _ in planned if value is not None]
        if not present:
            return None, "no_inputs"
        value, problem = combine(spec.value_source, [v for _, v in present], [c.weight for c, _ in present])
        return value, problem or ""


# --- words ------------------------------------------------------------------------------------


def reason_text(check: PlanCheck) -> str:
    """Why a node has no plan check, in words."""
    params = dict(check.params)
    texts = {
        "not_computed": _("Its value is entered, not computed from its drivers."),
        "range": _("It stays within a range; a range is not added up."),
        "no_target": _("It has no target of its own to compare with."),
        "node_error": _("Its figures cannot be computed."),
        "no_window": _("It has no start date and deadline."),
        "unknown_codes": _("Its formula names %(codes)s, which is not below it."),
        "formula_error": _("Its formula cannot be read."),
        "input_error": _("%(code)s is in error."),
        "input_range": _("%(code)s stays within a range; a range is not added up."),
        "input_without_target": _("%(code)s has no target."),
    }
    text = texts.get(check.reason, check.reason)
    return text % params if "%(" in text else text


def row_reason_text(reason: str) -> str:
    """Why one window has no implied target."""
    return {
        "division_by_zero": _("a driver's target is zero and the formula divides by it"),
        "overflow": _("too large to compute"),
        "zero_weights": _("the drivers' weights add up to zero"),
        "no_inputs": _("no driver has a target in this period"),
        "outside_window": _("a driver has no period here"),
        "not_due": _("a driver is not due in this period"),
    }.get(reason, "")


def verdict_words(row: PlanRow, verdict: str, unit: str, language: str, *, compact: bool = True) -> str:
    """ "adds up", "4.8× over", "1,200 leads over", "¥2.1M short" (``compact``: as the tree's boxes
    show numbers; otherwise as tables do)."""
    difference, ratio = row.difference, row.ratio
    if verdict == MEETS:
        return _("adds up")
    if verdict == OVER:
        if ratio is not None and ratio >= 2:
            return _("%(ratio)s× over") % {"ratio": f"{ratio:.1f}"}
        return _("%(difference)s over") % {"difference": format_quantity(difference, unit, language, compact=compact)}
    if verdict == SHORT:
        return _("%(difference)s short") % {
            "difference": format_quantity(
                -difference if difference is not None else None, unit, language, compact=compact
            )
        }
    return ""


def summary_text(check: PlanCheck, unit: str, language: str, *, compact: bool = True) -> str:
    """One line for the tree and the node page: "FY from April 2026: the drivers' targets add up to
    ¥40.2M; the target is ¥8.3M — 4.8× over"."""
    headline = check.headline
    if headline is None:
        return ""
    row, verdict = headline
    return _("%(year)s: the drivers' targets add up to %(implied)s; the target is %(own)s — %(verdict)s") % {
        "year": row.label,
        "implied": format_quantity(row.implied, unit, language, compact=compact),
        "own": format_quantity(row.own, unit, language, compact=compact),
        "verdict": verdict_words(row, verdict, unit, language, compact=compact),
    }
