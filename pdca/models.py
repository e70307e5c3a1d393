"""The Check and Act of PDCA (issue 11): a review of a node for a period, with the cause of a
miss, and the actions that follow, each with an owner and a due date whose slippage is kept.

Rules live in pdca.services (who may write, what a review freezes, how a due date moves); these
models hold the data only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from goals.models import Node, Organisation


class Cause(models.TextChoices):
    """Why a node missed its target in a period (the seed articles' two main questions, and two
    that are neither): was the target unrealistic, or did execution fall short?"""

    TARGET_UNREALISTIC = "target_unrealistic", _("The target was unrealistic")
    EXECUTION_SHORTFALL = "execution_shortfall", _("Execution fell short")
    EXTERNAL_FACTOR = "external_factor", _("An external factor")
    DATA_PROBLEM = "data_problem", _("A data problem")


class Review(models.Model):
    """A node's review for one period (usually a month; a quarter for yearly KPIs)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="reviews")
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="reviews")
    # The reviewed window: its first and last day (a month, a quarter, or the node's own period).
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    # The figures as they were when the review was written (actual, target, low, high, attainment,
    # gap, status, missing, reason, as_of): later corrections do not rewrite the minutes.
    figures = models.JSONField(_("figures when reviewed"), default=dict)
    status = models.CharField(_("status when reviewed"), max_length=12, default="no_data")
    cause = models.CharField(_("cause"), max_length=24, choices=Cause.choices, blank=True)
    explanation = models.TextField(_("explanation"), max_length=4000, blank=True)
    # For an execution shortfall: the input that missed most (proposed from the rollup, editable).
    bottleneck = models.ForeignKey(
        Node, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("bottleneck")
    )
    went_well = models.TextField(_("what went well"), max_length=4000, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("author")
    )
    created_at = models.DateTimeField(_("written"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-period_start", "node__tree_id", "node__lft"]
        constraints = [models.UniqueConstraint(fields=["node", "period_start"], name="review_one_per_node_period")]

    def __str__(self) -> str:
        return f"{self.node_id} {self.period_start:%Y-%m}"


class ActionStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    DOING = "doing", _("Doing")
    DONE = "done", _("Done")
    DROPPED = "dropped", _("Dropped")


OPEN_ACTION_STATUSES = (ActionStatus.PLANNED, ActionStatus.DOING)


class Action(models.Model):
    """A concrete action under a node (and optionally the review it came from): the measure it
    belongs to (施策, "more leads, more meetings") and the action itself ("approach 10 new leads
    a day"), with an owner, a due date and a result."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="actions")
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="actions")
    review = models.ForeignKey(
        Review, on_delete=models.SET_NULL, null=True, blank=True, related_name="actions", verbose_name=_("review")
    )
    measure = models.CharField(_("measure"), max_length=200, blank=True)
    title = models.CharField(_("action"), max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="kpi_actions",
        verbose_name=_("owner"),
    )
    due_date = models.DateField(_("due"))
    # The first due date, kept when the due date moves: the slippage in days is their difference.
    original_due_date = models.DateField(_("first due date"))
    status = models.CharField(_("status"), max_length=8, choices=ActionStatus.choices, default=ActionStatus.PLANNED)
    result = models.TextField(_("result"), max_length=2000, blank=True)
    # The node's attainment when the action started (its period's, from the stored rollup), to
    # show at the next review whether the action moved the KPI.
    started_on = models.DateField(_("started on"), null=True, blank=True)
    attainment_at_start = models.FloatField(_("attainment when started"), null=True, blank=True)
    finished_on = models.DateField(_("finished on"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        ordering = ["due_date", "pk"]
        indexes = [models.Index(fields=["organisation", "status", "due_date"])]

    def __str__(self) -> str:
        return self.title


class ReviewComment(models.Model):
    """A comment on a review: executives read every review and may comment (issue 11 §5)."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="comments", verbose_name=_("review"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("author")
    )
    text = models.TextField(_("comment"), max_length=2000)
    created_at = models.DateTimeField(_("written"), auto_now_add=True)

    class Meta:
        verbose_name = _("review comment")
        verbose_name_plural = _("review comments")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.review_id}: {self.text[:40]}"
