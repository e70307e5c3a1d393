"""SMART checks for KPI-tree nodes: the one place these rules live.

Forms, the API, the admin and the management commands all call :func:`check_node`; errors
block saving, warnings are shown but do not. Every rule is documented with an example in
docs/smart.md (rule ids such as ``M-target`` appear there and in the API output).

Pure functions: the node is any object with the model's field attributes, and everything the
rules need from the rest of the tree comes in a :class:`NodeContext`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from goals import formula as formulas
from goals.periods import (
    EARLIEST_DATE,
    LATEST_DATE,
    MAX_WINDOW_PERIODS,
    inherited_window,
    is_supported_date,
    period_count,
)
from goals.rollup import plan as plans
from goals.targets import has_number, thresholds_apply
from goals.units import format_quantity

LETTERS = ("S", "M", "A", "R", "T")
LETTER_NAMES = {
    "S": gettext_lazy("Specific"),
    "M": gettext_lazy("Measurable"),
    "A": gettext_lazy("Achievable"),
    "R": gettext_lazy("Related"),
    "T": gettext_lazy("Time-bounded"),
}
# Which kind may sit under which; a KGI is always a root.
ALLOWED_PARENT_KINDS: dict[str, tuple[str, ...]] = {
    "kgi": (),
    "ksf": ("kgi",),
    "kpi": ("ksf",),
    "sub_kpi": ("kpi", "sub_kpi"),
}
NUMERIC_KINDS = ("kgi", "kpi", "sub_kpi")
AGGREGATING_SOURCES = ("sum", "average", "weighted_average", "min", "max")
MAX_KPIS_PER_KSF = 3
# Without history: more than doubling (or halving) the baseline is flagged as a stretch.
MAX_GROWTH_WITHOUT_HISTORY = Decimal("1.0")
MAX_REDUCTION_WITHOUT_HISTORY = Decimal("0.5")
# With history: flagged when the target needs more than this many times the trend's change.
MAX_TREND_MULTIPLE = Decimal("2")
MIN_HISTORY_POINTS = 3

_PERIOD_WORDS = re.compile(
    r"\b(day|daily|week|weekly|month|monthly|quarter|quarterly|year|yearly|annual|annually|"
    r"fiscal|fy\d*|per|each|every|by)\b|日|週|月|四半期|年|期",
    re.IGNORECASE,
)
# English phrases match whole words only, so "Entry to 3 new markets" is not "try to"; any
# "… as possible" counts, also with words between ("as many leads as possible").
_VAGUE_PHRASES = re.compile(
    r"\b(as possible|somehow|try to|do our best)\b|できるだけ|なるべく|頑張|がんば|可能な限り|適宜",
    re.IGNORECASE,
)


class Level(StrEnum):
    PASS = "pass"
    WARNING = "warning"
    ERROR = "error"


_RANK = {Level.PASS: 0, Level.WARNING: 1, Level.ERROR: 2}


def worst(levels: Iterable[Level]) -> Level:
    return max(levels, key=_RANK.__getitem__, default=Level.PASS)


@dataclass(frozen=True)
class Finding:
    letter: str
    level: Level
    rule: str
    message: str
    field: str | None = None


@dataclass(frozen=True)
class LetterResult:
    letter: str
    level: Level
    reasons: tuple[str, ...]

    @property
    def name(self) -> str:
        return str(LETTER_NAMES[self.letter])


@dataclass(frozen=True)
class NodeContext:
    """What the rules need to know about the node's surroundings."""

    parent_kind: str | None = None
    parent_value_source: str | None = None
    parent_unit: str = ""
    parent_deadline: date | None = None
    # The codes a formula may name: of the active nodes under it (any depth). ``above_codes``:
    # its own and its ancestors' (a formula naming them depends on itself); ``tree_codes``: every
    # active code in its tree (a code elsewhere in it is outside the formula's reach).
    descendant_codes: frozenset[str] = frozenset()
    above_codes: frozenset[str] = frozenset()
    tree_codes: frozenset[str] = frozenset()
    child_units: tuple[str, ...] = ()
    # For a KSF: its KPIs; for a KPI: the KPIs of its KSF including itself.
    kpis_under_ksf: int = 0
    # Past actual values, oldest first.
    history: tuple[Decimal, ...] = ()
    # The window its nearest dated ancestors give it (start, deadline): a node without dates of
    # its own (a KSF) has that window, at its own frequency.
    inherited_start: date | None = None
    inherited_deadline: date | None = None
    # Descendants that take a date from this node: (code, frequency, start, deadline) of the
    # window each would have with this node as it is being saved.
    dependant_windows: tuple[tuple[str, str, date | None, date | None], ...] = ()
    # A computed node's plan check (goals.rollup.plan.PlanCheck): its drivers' targets rolled up
    # against its own, with the organisation's tolerance. None where it was not computed.
    plan: Any = None


@dataclass
class SmartReport:
    findings: list[Finding] = field(default_factory=list)

    @property
    def letters(self) -> list[LetterResult]:
        return [self.letter(letter) for letter in LETTERS]

    def letter(self, letter: str) -> LetterResult:
        mine = [f for f in self.findings if f.letter == letter]
        level = worst(f.level for f in mine)
        shown = [f.message for f in mine if f.level == level]
        return LetterResult(letter, level, tuple(shown))

    @property
    def level(self) -> Level:
        return worst(f.level for f in self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == Level.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == Level.WARNING]

    def errors_by_field(self) -> dict[str | None, list[str]]:
        out: dict[str | None, list[str]] = {}
        for finding in self.errors:
            out.setdefault(finding.field, []).append(finding.message)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level.value,
            "letters": {
                r.letter: {"name": r.name, "status": r.level.value, "reasons": list(r.reasons)} for r in self.letters
            },
            "findings": [
                {
                    "letter": f.letter,
                    "level": f.level.value,
                    "rule": f.rule,
                    "message": f.message,
                    "field": f.field,
                }
                for f in self.findings
            ],
        }


def check_node(node: Any, context: NodeContext) -> SmartReport:
    findings: list[Finding] = []
    for rule_set in (_specific, _measurable, _achievable, _related, _time_bounded, _plan):
        findings.extend(rule_set(node, context))
    for letter, message in _pass_reasons(node).items():
        if not any(f.letter == letter for f in findings):
            findings.append(Finding(letter, Level.PASS, f"{letter}-ok", message))
    return SmartReport(findings)


def _pass_reasons(node: Any) -> dict[str, str]:
    if node.kind == "ksf":
        return {
            "S": _("The success factor is named and owned."),
            "M": _("A KSF needs no number of its own; its KPIs measure it."),
            "A": _("Achievability is judged on the KPIs under it."),
            "R": _("It sits under its KGI and states how it closes the gap."),
            "T": _("It follows the KGI's deadline."),
        }
    return {
        "S": _("Clear wording with a number and a period, and an owner."),
        "M": _("A unit, a numeric target and a baseline."),
        "A": _achievable_pass_reason(node),
        "R": _("Linked to the right kind of parent, with the link stated."),
        "T": _("A start, a deadline and a measurement frequency."),
    }


def _achievable_pass_reason(node: Any) -> str:
    # Say only what was judged: no target (or no baseline) means nothing could be.
    if node.direction == "maintain":
        return _("A range to stay within: there is no growth to judge.")
    if node.target_value is None:
        return _("Not judged yet: it has no target.")
    if node.baseline_value is None:
        return _("Not judged yet: it has no baseline to compare the target with.")
    if node.direction == "decrease":
        return _("The target needs a reduction the baseline and history support.")
    return _("The target needs growth the baseline and history support.")


def _is_numeric(node: Any) -> bool:
    return node.kind in NUMERIC_KINDS


def _specific(node: Any, ctx: NodeContext) -> Iterable[Finding]:
    name = (node.name or "").strip()
    if not name:
        yield Finding("S", Level.ERROR, "S-name", _("Give it a name."), "name")
        return
    if not node.owner_id:
        yield Finding(
            "S",
            Level.WARNING,
            "S-owner",
            _("Nobody owns it: name the person who answers for this number."),
            "owner",
        )
    text = f"{name} {node.description or ''}"
    if _VAGUE_PHRASES.search(text):
        yield Finding(
            "S",
            Level.WARNING,
            "S-vague-phrase",
            _("Vague wording (“as much as possible”, “try to”): say exactly what and how much."),
            "name",
        )
    if _is_numeric(node):
        if not re.search(r"\d", text):
            yield Finding(
                "S",
                Level.WARNING,
                "S-number",
                _("The name or description has no number, e.g. “50 appointments a month”."),
                "name",
            )
        if not _PERIOD_WORDS.search(text):
            yield Finding(
                "S",
                Level.WARNING,
                "S-period",
                _("The name or description has no period, e.g. “a month”, “by March 2027”."),
                "name",
            )


def _measurable(node: Any, ctx: NodeContext) -> Iterable[Finding]:
    has_number = _is_numeric(node) or node.target_value is not None
    if has_number:
        if node.direction == "maintain":
            if node.target_min is None or node.target_max is None:
                yield Finding(
                    "M",
                    Level.ERROR,
                    "M-range",
                    _("“Stay within range” needs both a lowest and a highest acceptable value."),
                    "target_min" if node.target_min is None else "target_max",
                )
            elif node.target_min > node.target_max:
                yield Finding(
                    "M",
                    Level.ERROR,
                    "M-range-order",
                    _("The lowest acceptable value is above the highest."),
                    "target_min",
                )
        elif node.target_value is None:
            yield Finding("M", Level.ERROR, "M-target", _("Set a numeric target."), "target_value")
        if not (node.unit or "").strip():
            yield Finding(
                "M",
                Level.ERROR,
                "M-unit",
                _("Give the unit the number is counted in (JPY, %, appointments…)."),
                "unit",
            )
        if node.baseline_value is None and node.value_source == "manual":
            yield Finding(
                "M",
                Level.WARNING,
                "M-baseline",
                _("Record the current value (baseline) so the gap is explicit."),
                "baseline_value",
            )
    yield from _value_source_findings(node, ctx)


def _code_list(codes: Iterable[str], limit: int = 8) -> str:
    """Codes for a message: sorted, at most ``limit`` of them (a KGI may have thousands below)."""
    ordered = sorted(codes)
    shown = ", ".join(ordered[:limit])
    return shown + (" …" if len(ordered) > limit else "")


def _formula_code_findings(codes: frozenset[str], ctx: NodeContext) -> Iterable[Finding]:
    """A formula may name any node under it (docs/rollup.md §1): a code of the node itself or
    above it is a cycle, one elsewhere in the tree is out of its reach (errors); one that no node
    has yet is a top-down build waiting for it (a warning: no data until it exists)."""
    above = codes & ctx.above_codes
    if above:
        yield Finding(
            "M",
            Level.ERROR,
            "M-formula-cycle",
            ngettext(
                "The formula names %(codes)s, which is this node or above it: its value would depend on itself.",
                "The formula names %(codes)s, which are this node or above it: its value would depend on itself.",
                len(above),
            )
            % {"codes": _code_list(above)},
            "formula",
        )
    outside = (codes & ctx.tree_codes) - ctx.descendant_codes - above
    if outside:
        yield Finding(
            "M",
            Level.ERROR,
            "M-formula-codes",
            ngettext(
                "The formula names %(codes)s, which is not under this node; a formula may use only "
                "the nodes under it (%(known)s).",
                "The formula names %(codes)s, which are not under this node; a formula may use only "
                "the nodes under it (%(known)s).",
                len(outside),
            )
            % {"codes": _code_list(outside), "known": _code_list(ctx.descendant_codes) or _("none yet")},
            "formula",
        )
    waiting = codes - ctx.tree_codes - ctx.descendant_codes - above
    if waiting:
        yield Finding(
            "M",
            Level.WARNING,
            "M-formula-waiting",
            _("Waiting for: %(codes)s. No node under it has that code yet; it shows no data until they exist.")
            % {"codes": _code_list(waiting)},
            "formula",
        )


def _value_source_findings(node: Any, ctx: NodeContext) -> Iterable[Finding]:
    source = node.value_source
    if source == "formula":
        try:
            parsed = formulas.parse(node.formula or "")
        except formulas.FormulaError as error:
            yield Finding("M", Level.ERROR, "M-formula", str(error), "formula")
            return
        if not parsed.codes:
            # "1/0" or "42": the same (or no) number in every period, whatever the children do.
            yield Finding(
                "M",
                Level.ERROR,
                "M-formula-constant",
                _("The formula names no node's code, so it gives the same number in every period."),
                "formula",
            )
            return
        yield from _formula_code_findings(parsed.codes, ctx)
    elif source in AGGREGATING_SOURCES:
        if not ctx.child_units:
            yield Finding(
                "M",
                Level.WARNING,
                "M-no-inputs",
                _("It is computed from its children but has none yet."),
                "value_source",
            )
        mismatched = sorted({u for u in ctx.child_units if u != (node.unit or "")})
        if mismatched:
            yield Finding(
                "M",
                Level.ERROR,
                "M-unit-mismatch",
                _("Children in %(units)s cannot be combined into %(unit)s; use a formula instead.")
                % {"units": ", ".join(mismatched), "unit": node.unit or "—"},
                "value_source",
            )
    at_risk, off_track = getattr(node, "at_risk_below", None), getattr(node, "off_track_below", None)
    # Thresholds that judge nothing (a KSF showing its worst child's status) are not checked.
    in_force = thresholds_apply(
        has_number=has_number(
            direction=node.direction, target=node.target_value, low=node.target_min, high=node.target_max
        ),
        status_rule=getattr(node, "status_rule", "weighted"),
    )
    if in_force and at_risk is not None and off_track is not None and off_track > at_risk:
        yield Finding(
            "M",
            Level.ERROR,
            "M-thresholds",
            _("“Off track below” must not be above “at risk below”: a KPI is at risk before it is off track."),
            "off_track_below",
        )
    if node.time_aggregation == "sum" and ((node.unit or "").strip() in ("%", "％") or _is_ratio_formula(node)):
        # A rate summed over months reads as 60% for three months of 20%. A product formula
        # (revenue = sessions × cvr × aov) is a flow: summing it per period is right.
        yield Finding(
            "M",
            Level.WARNING,
            "M-rate-summed",
            _("A rate or ratio is not added up over time: choose “average” or “last value”."),
            "time_aggregation",
        )
    if ctx.parent_value_source in AGGREGATING_SOURCES and (node.unit or "") != ctx.parent_unit:
        yield Finding(
            "M",
            Level.ERROR,
            "M-unit-parent",
            _("Its parent adds up its children in %(unit)s, so this one must be in %(unit)s too.")
            % {"unit": ctx.parent_unit or "—"},
            "unit",
        )


def _is_ratio_formula(node: Any) -> bool:
    if node.value_source != "formula":
        return False
    try:
        return formulas.is_ratio(formulas.parse(node.formula or ""))
    except formulas.FormulaError:
        return False  # M-formula says what is wrong with it


def required_change(baseline: Decimal, target: Decimal) -> Decimal | None:
    """Relative change from baseline to target (0.2 = +20%); None when the baseline is 0."""
    if baseline == 0:
        return None
    return (target - baseline) / abs(baseline)


def trend_change(history: Sequence[Decimal], periods: int) -> Decimal | None:
    """Relative change the history's average per-period change would give over ``periods``."""
    if len(history) < MIN_HISTORY_POINTS or history[0] == 0:
        return None
    per_period = (history[-1] - history[0]) / (len(history) - 1)
    return per_period * periods / abs(history[0])


def _achievable(node: Any, ctx: NodeContext) -> Iterable[Finding]:
    if not _is_numeric(node) or node.direction == "maintain":
        return
    baseline, target = node.baseline_value, node.target_value
    if baseline is None or target is None:
        return
    if node.direction == "increase" and target <= baseline:
        yield Finding(
            "A",
            Level.WARNING,
            "A-direction",
            _("The target is not above the baseline, so there is nothing to increase."),
            "target_value",
        )
        return
    if node.direction == "decrease" and target >= baseline:
        yield Finding(
            "A",
            Level.WARNING,
            "A-direction",
            _("The target is not below the baseline, so there is nothing to decrease."),
            "target_value",
        )
        return
    change = required_change(baseline, target)
    if change is None:
        return
    periods = period_count(node.start_date, node.deadline, node.frequency) if node.start_date and node.deadline else 0
    trend = trend_change(ctx.history, periods) if periods else None
    if trend is not None and trend > 0 and node.direction == "increase":
        if change > trend * MAX_TREND_MULTIPLE:
            yield Finding(
                "A",
                Level.WARNING,
                "A-history",
                _(
                    "The target needs %(need)s%% growth; the recent trend gives about "
                    "%(trend)s%% by the deadline. Is it realistic?"
                )
                % {"need": _percent(change), "trend": _percent(trend)},
                "target_value",
            )
        return
    if node.direction == "increase" and change > MAX_GROWTH_WITHOUT_HISTORY:
        yield Finding(
            "A",
            Level.WARNING,
            "A-stretch",
            _("The target needs %(need)s%% growth over the baseline; more than doubling is rarely realistic.")
            % {"need": _percent(change)},
            "target_value",
        )
    if node.direction == "decrease" and -change > MAX_REDUCTION_WITHOUT_HISTORY:
        yield Finding(
            "A",
            Level.WARNING,
            "A-stretch",
            _("The target needs a %(need)s%% reduction from the baseline; more than halving is rarely realistic.")
            % {"need": _percent(-change)},
            "target_value",
        )


def _plan(node: Any, ctx: NodeContext) -> Iterable[Finding]:
    """The drivers' targets against the node's own, for a fiscal year (docs/rollup.md, "Plan
    check"). Judged on the year, not on single periods: a five-week month of weekly drivers
    misses a monthly target that the year meets. Falling short (for a "decrease" target: coming
    out above it) means the target cannot be reached through its drivers: A. Overshooting means
    the targets were set apart from each other (the drivers add up to 4.8× the KGI): R."""
    check = ctx.plan
    if check is None or not check.checked or (missed := check.missed_year) is None:
        return
    row, verdict = missed
    language = get_language() or "en"
    numbers = {
        "implied": format_quantity(row.implied, node.unit, language),
        "own": format_quantity(row.own, node.unit, language),
        "year": row.label,
        "verdict": plans.verdict_words(row, verdict, node.unit, language, compact=False),
        "tolerance": f"{check.tolerance:g}",
    }
    if (verdict == plans.SHORT) != (node.direction == "decrease"):
        yield Finding(
            "A",
            Level.WARNING,
            "A-plan",
            _(
                "%(year)s: if every driver meets its target, this comes to %(implied)s, not its target of "
                "%(own)s (%(verdict)s; the organisation allows %(tolerance)s%%). The target cannot be reached "
                "through its drivers: raise theirs or restate this one."
            )
            % numbers,
            "target_value",
        )
    else:
        yield Finding(
            "R",
            Level.WARNING,
            "R-plan",
            _(
                "%(year)s: the drivers' targets add up to %(implied)s against this target of %(own)s "
                "(%(verdict)s; the organisation allows %(tolerance)s%%). The targets are not tied together: "
                "restate this one or the drivers'."
            )
            % numbers,
            "target_value",
        )


def _percent(ratio: Decimal) -> str:
    return f"{ratio * 100:.0f}"


def _related(node: Any, ctx: NodeContext) -> Iterable[Finding]:
    allowed = ALLOWED_PARENT_KINDS[node.kind]
    if not allowed and ctx.parent_kind is not None:
        yield Finding("R", Level.ERROR, "R-parent", _("A KGI is the root of its tree; it has no parent."), "parent")
    elif allowed and ctx.parent_kind not in allowed:
        yield Finding(
            "R",
            Level.ERROR,
            "R-parent",
            {
                "ksf": _("A KSF must sit under a KGI."),
                "kpi": _("A KPI must sit under a KSF."),
                "sub_kpi": _("A sub-KPI must sit under a KPI or another sub-KPI."),
            }[node.kind],
            "parent",
        )
    if ctx.kpis_under_ksf > MAX_KPIS_PER_KSF and node.kind in ("ksf", "kpi"):
        yield Finding(
            "R",
            Level.WARNING,
            "R-too-many-kpis",
            _("The KSF has %(n)d KPIs; keep it to at most three so focus is not diluted.") % {"n": ctx.kpis_under_ksf},
            None,
        )
    if node.kind != "kgi" and not (node.rationale or "").strip():
        yield Finding(
            "R",
            Level.WARNING,
            "R-link",
            _("State how this drives its parent, so everyone sees the link to the goal."),
            "rationale",
        )


def _time_bounded(node: Any, ctx: NodeContext) -> Iterable[Finding]:
    if node.start_date and node.deadline and node.deadline < node.start_date:
        yield Finding("T", Level.ERROR, "T-order", _("The deadline is before the start date."), "deadline")
        return
    if _is_numeric(node):
        if not node.deadline:
            yield Finding("T", Level.ERROR, "T-deadline", _("Set a deadline."), "deadline")
        if not node.start_date:
            yield Finding(
                "T",
                Level.WARNING,
                "T-start",
                _("Set a start date so progress can be phased over time."),
                "start_date",
            )
    yield from _window_findings(node, ctx)
    if node.deadline and ctx.parent_deadline and node.deadline > ctx.parent_deadline:
        yield Finding(
            "T",
            Level.WARNING,
            "T-after-parent",
            _("The deadline is after its parent's (%(date)s), so it cannot help the parent in time.")
            % {"date": ctx.parent_deadline.isoformat()},
            "deadline",
        )


def _window_findings(node: Any, ctx: NodeContext) -> Iterable[Finding]:
    """Dates kpitree can compute with: 9999-12-31 ("open-ended") has no next month, and a window
    of thousands of periods makes every page of the node slow (docs/smart.md, T-date-range)."""
    bad_date = False
    for name, day in (("start_date", node.start_date), ("deadline", node.deadline)):
        if day and not is_supported_date(day):
            bad_date = True
            yield Finding(
                "T",
                Level.ERROR,
                "T-date-range",
                _("Choose a date from %(earliest)s to %(latest)s.")
                % {"earliest": EARLIEST_DATE.isoformat(), "latest": LATEST_DATE.isoformat()},
                name,
            )
    if bad_date:
        return
    start, deadline = inherited_window(node.start_date, node.deadline, (ctx.inherited_start, ctx.inherited_deadline))
    most = MAX_WINDOW_PERIODS.get(node.frequency)
    if start and deadline and most and period_count(start, deadline, node.frequency) > most:
        yield Finding(
            "T",
            Level.ERROR,
            "T-window-length",
            _(
                "From %(start)s to %(deadline)s there are %(count)s periods at this frequency; a node may have at "
                "most %(most)s. Shorten the window or measure less often."
            )
            % {
                "start": start.isoformat(),
                "deadline": deadline.isoformat(),
                "count": period_count(start, deadline, node.frequency),
                "most": most,
            },
            # The field to change: its own dates, or — when both are inherited — its frequency.
            "deadline" if node.deadline else "start_date" if node.start_date else "frequency",
        )
    for code, frequency, start, deadline in ctx.dependant_windows:
        most = MAX_WINDOW_PERIODS.get(frequency)
        if not (start and deadline and most) or not (is_supported_date(start) and is_supported_date(deadline)):
            continue
        count = period_count(start, deadline, frequency)
        if count > most:
            yield Finding(
                "T",
                Level.ERROR,
                "T-window-length",
                _(
                    "%(code)s takes its window from this node and would have %(count)s periods at its frequency; "
                    "a node may have at most %(most)s."
                )
                % {"code": code, "count": count, "most": most},
                "deadline" if node.deadline else "start_date",
            )
            return


# The errors that make a node's number unfit to feed its parent: a unit its parent cannot add
# up, or a formula that cannot give a number. Others (no target, thresholds, dates) leave the
# number itself sound: a KPI without a target is still an input a formula above needs. A formula
# naming codes out of its reach (M-formula-codes, -cycle) gives no number at all: the rollup
# finds no such node under it and reports it as no data, so its parent sees no value.
UNFIT_INPUT_RULES = frozenset({"M-unit-parent", "M-unit-mismatch", "M-formula", "M-formula-constant"})


def input_reports(nodes: Sequence[Any]) -> dict[int, SmartReport]:
    """The UNFIT_INPUT_RULES findings of a list of nodes that forms whole subtrees (``pk``,
    ``parent_id``, ``unit``, ``code``, ``value_source``, ``formula`` …), in one pass and with no
    query: the rollup asks on every run for :func:`inputs_in_error`. The rules are the ones
    :func:`check_node` applies (``_value_source_findings``) on the context they need.
    """
    by_id = {node.pk: node for node in nodes}
    children: dict[Any, list[Any]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    reports = {}
    for node in nodes:
        parent, below = by_id.get(node.parent_id), children.get(node.pk, [])
        # Most nodes are leaves entered by hand in their parent's unit: none of the rules can
        # fire, and skipping them keeps this pass a small part of a rollup run.
        if node.value_source == "manual" and not (
            parent is not None and parent.value_source in AGGREGATING_SOURCES and node.unit != parent.unit
        ):
            reports[node.pk] = SmartReport()
            continue
        context = NodeContext(
            parent_value_source=parent.value_source if parent else None,
            parent_unit=parent.unit if parent else "",
            child_units=tuple(c.unit for c in below),
        )
        reports[node.pk] = SmartReport(
            [f for f in _value_source_findings(node, context) if f.rule in UNFIT_INPUT_RULES]
        )
    return reports


def inputs_in_error(nodes: Sequence[Any], reports: Mapping[int, SmartReport]) -> dict[int, tuple[str, ...]]:
    """For each node with a child in error, why it has no data: "8,000 followers a month is in
    error: Its parent adds up its children in sessions, …".

    A child in error must not feed its parent: a KSF that sums a KPI in followers into sessions,
    or a formula over a child whose own formula is broken, gives a number nobody can trust, and a
    wrong number moves every status above it. So the parent reports no data with this reason
    (and, having no data, feeds its own parent none). ``nodes`` have ``pk``, ``parent_id`` and
    ``name``; ``reports`` are their SMART reports by pk. Pure, so every engine can ask it.
    """
    reasons: dict[int, list[str]] = {}
    for node in nodes:
        report = reports.get(node.pk)
        if node.parent_id is None or report is None:
            continue
        for finding in report.errors:
            if finding.rule not in UNFIT_INPUT_RULES:
                continue
            reasons.setdefault(node.parent_id, []).append(
                _("%(name)s is in error: %(message)s") % {"name": node.name, "message": finding.message}
            )
    return {pk: tuple(messages) for pk, messages in reasons.items()}


@dataclass(frozen=True)
class TreeSummary:
    nodes: int
    passing: int
    warnings: int
    errors: int
    findings: tuple[Finding, ...]

    @property
    def level(self) -> Level:
        if self.errors:
            return Level.ERROR
        if self.warnings or self.findings:
            return Level.WARNING
        return Level.PASS


def tree_findings(nodes: Sequence[Any]) -> list[Finding]:
    """Rules about a whole tree rather than one node."""
    types = {n.indicator_type for n in nodes if n.kind in ("kpi", "sub_kpi")}
    if types == {"lagging"}:
        return [
            Finding(
                "R",
                Level.WARNING,
                "R-balance",
                _("Every KPI is a lagging indicator; add leading ones (calls, leads, visits) that predict the result."),
            )
        ]
    if types == {"leading"}:
        return [
            Finding(
                "R",
                Level.WARNING,
                "R-balance",
                _("Every KPI is a leading indicator; add lagging ones (revenue, contracts) that record the result."),
            )
        ]
    return []


def summarise_tree(nodes: Sequence[Any], reports: Sequence[SmartReport]) -> TreeSummary:
    levels = [r.level for r in reports]
    return TreeSummary(
        nodes=len(reports),
        passing=levels.count(Level.PASS),
        warnings=levels.count(Level.WARNING),
        errors=levels.count(Level.ERROR),
        findings=tuple(tree_findings(nodes)),
    )
