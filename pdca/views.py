"""The review and action pages (thin: pdca.services holds the rules)."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from goals import selectors
from goals.access import membership_required
from goals.periods import period_label
from pdca import rules, services
from pdca.forms import ActionForm, ReviewForm
from pdca.models import Action, Cause


def _add_errors(form, error: ValidationError) -> None:
    for field, problems in error.message_dict.items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)


def _day(text: str | None, default: date) -> date:
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


@membership_required
def review(request: HttpRequest, pk: int) -> HttpResponse:
    node = selectors.node_get(request.membership, pk)
    today = timezone.localdate()
    day = _day(request.GET.get("period"), rules.last_complete_month(today))
    first, last = rules.review_window(day, node.frequency, node.organisation.fiscal_year_start_month)
    label = period_label(first, "quarterly" if node.frequency in rules.QUARTER_REVIEWED else "monthly")
    existing = services.review_for(node, first)
    can_write = services.can_write(request.membership, node)
    inputs = services.node_inputs(node)
    proposed = services.proposed_bottleneck(node, first)
    if existing is not None:
        figures, status = existing.figures, existing.status
    else:
        current, as_of = services.window_figures(node, first)
        figures, status = rules.frozen_figures(current, as_of), current.status
    initial = {
        "cause": existing.cause if existing else "",
        "explanation": existing.explanation if existing else services.draft_explanation(node, first, last),
        "bottleneck": (existing.bottleneck_id if existing and existing.bottleneck_id else proposed),
        "went_well": existing.went_well if existing else "",
    }
    form = ReviewForm(initial=initial, inputs=inputs)
    comment_errors = []
    if request.method == "POST" and "comment" in request.POST:
        if existing is None:
            raise Http404
        try:
            services.comment_add(membership=request.membership, review=existing, text=request.POST["comment"])
        except ValidationError as error:
            comment_errors = error.messages
        else:
            messages.success(request, _("Comment added."))
            return redirect(f"{reverse('pdca:review', args=[node.pk])}?{urlencode({'period': first})}")
    elif request.method == "POST":
        if not can_write:
            raise PermissionDenied
        form = ReviewForm(request.POST, inputs=inputs)
        if form.is_valid():
            data = dict(form.cleaned_data)
            if data["cause"] != Cause.EXECUTION_SHORTFALL:
                # The proposed bottleneck is preselected; it is kept only for an execution shortfall.
                data["bottleneck"] = None
            try:
                saved = services.review_write(
                    membership=request.membership, node=node, period_start=first, data=data, today=today
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("Review saved."))
                return redirect(f"{reverse('pdca:review', args=[node.pk])}?{urlencode({'period': saved.period_start})}")
    restate_url = None
    if existing is not None and existing.cause == Cause.TARGET_UNREALISTIC:
        reason = _("Target found unrealistic in the review of %(period)s (review %(id)s).") % {
            "period": label,
            "id": existing.pk,
        }
        restate_url = f"{reverse('goals:node_targets', args=[node.pk])}?{urlencode({'reason': reason})}#restate"
    return render(
        request,
        "pdca/review_form.html",
        {
            "node": node,
            "form": form,
            "review": existing,
            "first": first,
            "label": label,
            "last": last,
            "figures": figures,
            "status": status,
            "frozen": existing is not None,
            "proposed": proposed,
            "can_write": can_write,
            "actions": services.actions_progress(node, today),
            "restate_url": restate_url,
            "comments": list(existing.comments.select_related("author")) if existing else [],
            "comment_errors": comment_errors,
            "comment_text": request.POST.get("comment", "") if comment_errors else "",
            "previous": rules.review_window(
                date.fromordinal(first.toordinal() - 1), node.frequency, node.organisation.fiscal_year_start_month
            )[0],
        },
    )


def _action_page(request, *, node, action, review_id) -> HttpResponse:
    if not services.can_write(request.membership, node):
        raise PermissionDenied
    today = timezone.localdate()
    organisation = request.membership.organisation
    if request.method == "POST":
        form = ActionForm(request.POST, instance=action, organisation=organisation)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                if action is None:
                    if review_id:
                        data["review"] = review_id
                    services.action_create(membership=request.membership, node=node, data=data, today=today)
                else:
                    services.action_update(membership=request.membership, action=action, data=data, today=today)
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("Action saved."))
                return redirect("goals:node", node.pk)
    else:
        form = ActionForm(instance=action, organisation=organisation)
    return render(
        request,
        "pdca/action_form.html",
        {
            "node": node,
            "form": form,
            "action": action,
            "slippage": services.slippage_days(action, today) if action else 0,
        },
    )


@membership_required
def action_add(request: HttpRequest, pk: int) -> HttpResponse:
    node = selectors.node_get(request.membership, pk)
    review_id = request.GET.get("review") or request.POST.get("review")
    review_id = int(review_id) if review_id and review_id.isdigit() else None
    if review_id and not node.reviews.filter(pk=review_id).exists():
        raise Http404
    return _action_page(request, node=node, action=None, review_id=review_id)


@membership_required
def action_edit(request: HttpRequest, pk: int) -> HttpResponse:
    action = get_object_or_404(
        Action.objects.select_related("node"), pk=pk, organisation_id=request.membership.organisation_id
    )
    return _action_page(request, node=action.node, action=action, review_id=None)
