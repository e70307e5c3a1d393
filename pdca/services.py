"""Reviews and actions (issue 11 §1, §2, §5): who may write them and the rules of writing, in one
place. Views and the API call these; the pure rules are in pdca.rules."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from goals import formula as formulas
from goals.access import builds_trees, enters_actuals
from goals.models import Measurement, Membership, Node, ValueSource
from goals.rollup import document, storage
from pdca import rules
from pdca.models import OPEN_ACTION_STATUSES, Action, ActionStatus, Cause, Review, ReviewComment

REVIEW_FIELDS = ("cause", "explanation", "bottleneck", "went_well")
ACTION_FIELDS = ("measure", "title", "owner", "due_date", "status", "result", "review")


# --- who may ---------------------------------------------------------------------------------


def can_read(membership: Membership, node: Node) -> bool:
    return node.organisation_id == membership.organisation_id


def can_write(membership: Membership, node: Node) -> bool:
    """Members write reviews and actions for the nodes they own or report; managers for any node
    of their organisation; executives read and comment only."""
    if node.organisation_id != membership.organisation_id or node.is_archived:
        return False
    if not enters_actuals(membership):
        return False
    if builds_trees(membership):
        return True
    return node.owner_id == membership.user_id or node.reporters.filter(pk=membership.user_id).exists()


def can_comment(membership: Membership, node: Node) -> bool:
    return can_read(membership, node)


def _require_write(membership: Membership, node: Node) -> None:
    if not can_write(membership, node):
        raise PermissionDenied(_("You may not write reviews or actions for this node."))


# --- the stored figures --------------------------------------------------------------------


def window_figures(node: Node, first: date) -> tuple[document.NodeFigures, str | None]:
    """The node's stored figures for the review window that starts on ``first``, and the day
    they were computed."""
    stored = storage.node_document(node)
    if node.frequency in rules.QUARTER_REVIEWED:
        figures = document.window_figures(stored, "quarter", first)
    elif node.frequency == "monthly":
        figures = document.period_figures(stored, first, "monthly")
    else:
        # A daily or weekly KPI: its last stored period of the month.
        last = rules.review_window(first, node.frequency, node.organisation.fiscal_year_start_month)[1]
        found = document.entries(stored, first=first, last=last)
        figures = found[-1] if found else document.EMPTY
    return figures, document.computed_on(stored)


def node_inputs(node: Node) -> list[Node]:
    """The nodes the node is computed from: those its formula names, else its children."""
    below = Node.objects.filter(tree_id=node.tree_id, is_archived=False)
    if node.value_source == ValueSource.FORMULA and node.formula:
        try:
            codes = formulas.parse(node.formula).codes
        except formulas.FormulaError:
            codes = frozenset()
        return list(below.filter(lft__gt=node.lft, rght__lt=node.rght, code__in=codes).order_by("lft"))
    return list(below.filter(parent=node).order_by("lft"))


def proposed_bottleneck(node: Node, first: date) -> Node | None:
    """The input of the node that missed most in the window (pdca.rules.proposed_bottleneck)."""
    inputs = node_inputs(node)
    documents = storage.nodes_documents([n.pk for n in inputs])
    fiscal = node.organisation.fiscal_year_start_month
    attainments = []
    for below in inputs:
        stored = documents.get(below.pk) or {}
        if below.frequency in rules.QUARTER_REVIEWED:
            quarter = rules.review_window(first, below.frequency, fiscal)[0]
            figures = document.window_figures(stored, "quarter", quarter)
        else:
            figures = document.period_figures(stored, first, below.frequency)
        attainments.append((below.pk, figures.attainment))
    chosen = rules.proposed_bottleneck(attainments)
    return next((n for n in inputs if n.pk == chosen), None)


def draft_explanation(node: Node, first: date, last: date) -> str:
    """The member's notes on the window's actuals: the first draft of the explanation."""
    notes = Measurement.objects.filter(node=node, period_start__range=(first, last)).exclude(note="")
    return "\n".join(notes.order_by("period_start").values_list("note", flat=True))


def current_attainment(node: Node, today: date) -> float | None:
    """The node's stored attainment of the current period, else of its latest period with data."""
    stored = storage.node_document(node)
    current = document.period_figures(stored, today, node.frequency)
    if current.attainment is not None:
        return current.attainment
    for figures in reversed(document.entries(stored, last=today)):
        if figures.attainment is not None:
            return figures.attainment
    return None


# --- reviews -------------------------------------------------------------------------------


def review_for(node: Node, day: date) -> Review | None:
    first, _last = rules.review_window(day, node.frequency, node.organisation.fiscal_year_start_month)
    return Review.objects.filter(node=node, period_start=first).first()


@transaction.atomic
def review_write(
    *, membership: Membership, node: Node, period_start: date, data: Mapping[str, Any], today: date
) -> Review:
    """Create or update the node's review of the window containing ``period_start``. The figures
    are frozen when the review is first written; a later actual does not rewrite them."""
    _require_write(membership, node)
    first, last = rules.review_window(period_start, node.frequency, node.organisation.fiscal_year_start_month)
    errors: dict[str, list[str]] = {}
    if first > today:
        errors["period"] = [_("A period that has not started cannot be reviewed.")]
    review = Review.objects.select_for_update().filter(node=node, period_start=first).first()
    if review is None:
        figures, as_of = window_figures(node, first)
        review = Review(
            organisation_id=node.organisation_id,
            node=node,
            period_start=first,
            period_end=last,
            figures=rules.frozen_figures(figures, as_of),
            status=figures.status,
            author_id=membership.user_id,
        )
    cause = data.get("cause", review.cause) or ""
    if cause and cause not in Cause.values:
        errors["cause"] = [_("Choose a cause from the list.")]
    else:
        if found := rules.cause_errors(status=review.status, cause=cause):
            errors["cause"] = found
    if "bottleneck" in data:
        bottleneck = data["bottleneck"]
        bottleneck_id = bottleneck.pk if isinstance(bottleneck, Node) else bottleneck
    else:
        # A cause changed away from an execution shortfall drops the bottleneck it had named.
        bottleneck_id = review.bottleneck_id if cause == Cause.EXECUTION_SHORTFALL else None
    if found := rules.bottleneck_errors(
        cause=cause, bottleneck_id=bottleneck_id, input_ids=[n.pk for n in node_inputs(node)]
    ):
        errors["bottleneck"] = found
    if errors:
        raise ValidationError(errors)
    review.cause = cause
    review.bottleneck_id = bottleneck_id
    review.explanation = data.get("explanation", review.explanation) or ""
    review.went_well = data.get("went_well", review.went_well) or ""
    review.full_clean(exclude=["organisation", "node", "author", "bottleneck"], validate_unique=False)
    review.save()
    return review


# --- actions -------------------------------------------------------------------------------


def slippage_days(action: Action, today: date) -> int:
    return rules.slippage_days(
        due_date=action.due_date,
        original_due_date=action.original_due_date,
        finished_on=action.finished_on,
        today=today,
    )


def _action_errors(action: Action, membership: Membership) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not (action.title or "").strip():
        errors["title"] = [_("Say what will be done.")]
    if (
        action.owner_id
        and not Membership.objects.filter(organisation_id=action.organisation_id, user_id=action.owner_id).exists()
    ):
        errors["owner"] = [_("The owner must be a member of the organisation.")]
    if action.status not in ActionStatus.values:
        errors["status"] = [_("Choose a status from the list.")]
    if action.review_id and action.review.node_id != action.node_id:
        errors["review"] = [_("The review must be of the same node.")]
    if action.due_date is None:
        errors["due_date"] = [_("Give a due date.")]
    return errors


def _apply_status(action: Action, previous: str | None, today: date) -> None:
    if action.status == previous:
        return
    if action.status == ActionStatus.DOING and action.started_on is None:
        action.started_on = today
        action.attainment_at_start = current_attainment(action.node, today)
    if action.status in (ActionStatus.DONE, ActionStatus.DROPPED):
        action.finished_on = today
    elif action.status in OPEN_ACTION_STATUSES:
        action.finished_on = None


def _apply_fields(action: Action, data: Mapping[str, Any]) -> None:
    for field in ACTION_FIELDS:
        if field not in data:
            continue
        value = data[field]
        if field in ("owner", "review"):
            setattr(action, f"{field}_id", value.pk if hasattr(value, "pk") else value)
        else:
            setattr(action, field, value if value is not None or field == "due_date" else "")


@transaction.atomic
def action_create(*, membership: Membership, node: Node, data: Mapping[str, Any], today: date) -> Action:
    _require_write(membership, node)
    action = Action(organisation_id=node.organisation_id, node=node, created_by_id=membership.user_id)
    _apply_fields(action, data)
    action.status = action.status or ActionStatus.PLANNED
    if errors := _action_errors(action, membership):
        raise ValidationError(errors)
    action.original_due_date = action.due_date
    _apply_status(action, None, today)
    action.save()
    return action


@transaction.atomic
def action_update(*, membership: Membership, action: Action, data: Mapping[str, Any], today: date) -> Action:
    """Change an action; moving its due date keeps the first one (the slippage)."""
    _require_write(membership, action.node)
    previous = action.status
    _apply_fields(action, data)
    if errors := _action_errors(action, membership):
        raise ValidationError(errors)
    _apply_status(action, previous, today)
    action.save()
    return action


def actions_progress(node: Node, today: date) -> list[dict]:
    """ "Did it move the KPI?": the node's open and recently finished actions with the
    attainment when each started and now, open and overdue ones first."""
    now = current_attainment(node, today)
    recent = Action.objects.filter(node=node).select_related("owner")
    rows = []
    for action in recent:
        if action.status not in OPEN_ACTION_STATUSES and (
            action.finished_on is None or (today - action.finished_on).days > 92
        ):
            continue
        rows.append(
            {
                "action": action,
                "open": action.status in OPEN_ACTION_STATUSES,
                "overdue": action.status in OPEN_ACTION_STATUSES and action.due_date < today,
                "slippage": slippage_days(action, today),
                "attainment_at_start": action.attainment_at_start,
                "attainment_now": now,
            }
        )
    rows.sort(key=lambda row: (not row["overdue"], not row["open"], row["action"].due_date))
    return rows


def node_section(membership: Membership, node: Node, today: date) -> dict:
    """The node page's "Reviews and actions": its latest reviews and its actions with slippage."""
    reviews = list(node.reviews.select_related("author")[:6])
    actions = list(Action.objects.filter(node=node).select_related("owner").order_by("status", "due_date")[:20])
    return {
        "reviews": reviews,
        "actions": [{"action": a, "slippage": slippage_days(a, today)} for a in actions],
        "can_write": can_write(membership, node),
    }


def comment_add(*, membership: Membership, review: Review, text: str) -> ReviewComment:
    """Anyone of the organisation — executives included — may comment on a review."""
    if not can_comment(membership, review.node):
        raise PermissionDenied(_("You may not comment on this review."))
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": [_("Write a comment.")]})
    if len(text) > 2000:
        raise ValidationError({"text": [_("A comment is at most 2,000 characters.")]})
    return ReviewComment.objects.create(review=review, author_id=membership.user_id, text=text)
