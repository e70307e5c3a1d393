"""The rollup in words: the reason texts, and the answers of the API's progress and explain
(per period of a node: actual, target, attainment, gap, status, missing inputs and the rule that
decided, computed by the engine from live actuals)."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from goals.models import (
    Frequency,
    Node,
)
from goals.periods import (
    MAX_WINDOW_PERIODS,
    period_anchor,
    period_count,
    period_end,
    period_start,
    period_starts,
    periods_back,
    window_errors,
)
from goals.rollup import storage
from goals.rollup.engine import Assessment, shown_attainment
from goals.rollup.storage import node_engine, tree_is_stale


def missing_words(count: int) -> str:
    """ "3 inputs missing" for a stored ``missing`` count ("" for none): the one wording of the
    executive's ranked list, its status map, the monthly report and the node page."""
    if not count:
        return ""
    return ngettext("%(n)s input missing", "%(n)s inputs missing", count) % {"n": count}


REASON_TEXTS = {
    "no_number": _("It has no number of its own."),
    "no_actual": _("No actual has been entered for this period."),
    "actual": _("Its own actuals over the period (%(aggregation)s of %(points)s)."),
    "formula_error": _("The formula cannot be computed: %(error)s"),
    "formula_missing": _("The formula lacks inputs: %(codes)s."),
    "division_by_zero": _("The formula %(formula)s divides by zero for this period."),
    "formula_waiting": _(
        "Waiting for %(codes)s: the formula names nodes that do not exist under it yet, so it shows no data until they do."
    ),
    "formula": _("Computed with the formula %(formula)s from the values of the nodes it names for the period."),
    "no_inputs": _("None of its %(children)s children has a value for the period."),
    "zero_weights": _("Its children's weights add up to zero."),
    "combined": _("The %(method)s of %(used)s children (%(absent)s without a value)."),
    "in_range": _("The value is inside the allowed range."),
    "out_of_range": _("The value is outside the allowed range."),
    "no_target": _("There is no target for the period."),
    "thresholds": _(
        "Attainment of the target to date: at risk below %(at_risk_below)s%%, off track below %(off_track_below)s%%."
    ),
    "no_child_data": _("None of its children has data for the period."),
    "worst_of_children": _(
        "It takes the status and attainment of its worst child, judged on that child's thresholds; "
        "its own thresholds are not used."
    ),
    "weighted_children": _("It takes the weighted score of its children's attainment."),
    "overflow": _("The value is too large to compute (beyond the range of numbers), so it is not judged."),
    "window_unsupported": _(
        "Its window (%(start)s … %(deadline)s) cannot be computed: a date is outside the supported "
        "range or the window holds too many periods. Correct its dates (or its parent's)."
    ),
    "node_error": _("It could not be computed: %(error)s"),
    "input_in_error": _(
        "It is not computed while a node it is computed from is in error (see the SMART check): %(inputs)s"
    ),
    "not_due": _("Not due in this window: the window is shorter than its period (%(frequency)s)."),
    "inputs_missing": _(
        "Not judged: an input is missing, and a total that should go down must not look good "
        "for want of it. It is judged on the periods whose inputs are all in."
    ),
}

# The same reasons with the node they name (the engine's explain and progress answers; a stored
# document keeps only the code).
NAMED_TEXTS = {
    "worst_of_children": _(
        "It takes the status and attainment of its worst child, %(child)s, judged on that child's "
        "thresholds; its own thresholds are not used."
    ),
}

# The engine records methods by their codes; people read these words.
METHOD_WORDS = {
    "sum": _("sum"),
    "average": _("average"),
    "last": _("last value"),
    "weighted_average": _("weighted average"),
    "min": _("minimum"),
    "max": _("maximum"),
}


def reason_text(reason: dict) -> str:
    code = reason.get("code", "")
    template = NAMED_TEXTS.get(code) if "child" in reason else REASON_TEXTS.get(code)
    if template is None:
        return ""
    params = {
        k: str(METHOD_WORDS[v])
        if k in ("aggregation", "method") and v in METHOD_WORDS
        else str(Frequency(v).label)
        if k == "frequency" and v in Frequency.values
        else v
        for k, v in reason.items()
        if k != "code"
    }
    try:
        return str(template) % params if params else str(template).replace("%%", "%")
    except (KeyError, TypeError, ValueError):
        return str(template)


def _assessment_row(start: date, a: Assessment) -> dict:
    return {
        "period_start": start,
        "actual": a.actual,
        "target": a.target.value,
        "target_min": a.target.low,
        "target_max": a.target.high,
        # As the pages show it and the status was judged on it (one decimal, half up): 89.95 is
        # 90.0, never "89.95" beside a status that was decided on 90.0.
        "attainment": None if a.attainment is None else shown_attainment(a.attainment),
        "gap": a.gap,
        "status": a.status,
        "missing_inputs": a.missing,
        "reason": reason_text(a.reason.as_dict()),
    }


def progress_range(node: Node, *, first: date | None, last: date | None, today: date) -> tuple[date, date]:
    """The range a progress request covers, or ValidationError with messages by parameter
    (``from``, ``to``).

    By default the node's window start (a KSF's is its KGI's; without one, the fiscal year's)
    until today or its deadline, whichever is earlier; a default range with more periods than
    one request may hold keeps its latest ones. A range asked for must overlap the window and
    hold at most ``MAX_WINDOW_PERIODS`` of the node's periods: the work grows with the number of
    periods (a daily KPI from 0001-01-01 kept a worker busy past 30 s).
    """
    start, deadline = storage.node_window(node)
    frequency, fiscal = node.frequency, node.organisation.fiscal_year_start_month
    errors: dict[str, list[str]] = {}
    if last is not None and start and period_end(period_start(last, frequency, fiscal), frequency) < start:
        errors["to"] = [_("The range ends before the KPI starts (%(date)s).") % {"date": start}]
    if first is not None and deadline and period_start(first, frequency, fiscal) > deadline:
        errors["from"] = [_("The range starts after the KPI's deadline (%(date)s).") % {"date": deadline}]
    if errors:
        raise ValidationError(errors)
    chosen_first = first is not None
    if last is None:
        last = min(today, deadline) if deadline else today
    if first is None:
        # A node that has not started yet shows the range's last period rather than refuse.
        first = min(start or period_start(today, "yearly", fiscal), last)
    if first > last:
        raise ValidationError({"to": [_("The end of the range is before its start.")]})
    most = MAX_WINDOW_PERIODS[frequency]
    count = period_count(period_start(first, frequency, fiscal), last, frequency)
    if count > most:
        if chosen_first:
            message = _("A range may hold at most %(most)s periods (%(frequency)s); this one holds %(count)s.")
            raise ValidationError(
                {"from": [message % {"most": most, "frequency": node.get_frequency_display(), "count": count}]}
            )
        first = periods_back(last, frequency, most, fiscal)
    return first, last


def explain_period_errors(node: Node, *, period: date) -> list[str]:
    """Why the node's period containing ``period`` cannot be explained: outside its window."""
    start, deadline = storage.node_window(node)
    first = period_start(period, node.frequency, node.organisation.fiscal_year_start_month)
    return window_errors(period=first, frequency=node.frequency, start=start, deadline=deadline)


def node_progress(node: Node, *, first: date, last: date, as_of: date) -> dict:
    """Per period of the node (and over the whole range) its actual, target, attainment, gap,
    status and missing inputs; ``stale`` while a rollup is pending."""
    engine, _nodes = node_engine(node, as_of=as_of)
    spec = engine.specs[node.pk]
    fiscal = node.organisation.fiscal_year_start_month
    # The rows are the periods the range holds by the pages' rule (a week by its Thursday,
    # goals.periods.period_anchor), so "to date" is their sum and two adjacent ranges never
    # count a week twice.
    periods = [
        _assessment_row(start, engine.assess(node.pk, start, period_end(start, spec.frequency)))
        for start in period_starts(first, last, spec.frequency, fiscal)
        if first <= period_anchor(start, spec.frequency) <= last
    ]
    whole = _assessment_row(first, engine.assess(node.pk, first, last))
    whole.pop("period_start")
    return {
        "node": node.pk,
        "from": first,
        "to": last,
        "periods": periods,
        "to_date": whole,
        "stale": tree_is_stale(node),
    }


def node_explain(node: Node, *, period: date, as_of: date) -> dict:
    """Why the node has its status in the period that contains ``period``: inputs and rule."""
    engine, nodes = node_engine(node, as_of=as_of)
    by_id = {n.pk: n for n in nodes}
    spec = engine.specs[node.pk]
    start = period_start(period, spec.frequency, node.organisation.fiscal_year_start_month)
    assessment = engine.assess(node.pk, start, period_end(start, spec.frequency))
    row = _assessment_row(start, assessment)
    inputs = []
    for input_id, value, status in assessment.inputs:
        if input_id == node.pk:
            continue
        child = by_id[input_id]
        inputs.append(
            {
                "node": child.pk,
                "code": child.code,
                "name": child.name,
                "unit": child.unit,
                "value": value,
                "status": status,
            }
        )
    row["inputs"] = inputs
    row["rule"] = row.pop("reason")
    row["value_source"] = node.value_source
    row["stale"] = tree_is_stale(node)
    return row
