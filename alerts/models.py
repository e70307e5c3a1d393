"""Reminders and alerts (issue 11 §4): an in-app inbox, e-mail, and what each user wants.

A notice is written once per user, node, period and kind (the unique constraint), so a beat job
that runs twice, or a run that is retried, sends nothing twice. Rules live in alerts.services
(what is due, to whom) and alerts.tasks (the beat jobs); these models hold the data only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from goals.models import Node, Organisation


class Kind(models.TextChoices):
    REMINDER = "reminder", _("Reminder to enter a value")
    STATUS_CHANGE = "status_change", _("Status changed")
    ESCALATION = "escalation", _("Off track with no action")
    OVERDUE_ACTION = "overdue_action", _("Overdue action")


class Notice(models.Model):
    """One alert for one user: shown in their inbox and, if they want it, sent by e-mail (at once
    or in their digest). ``params`` hold what the message needs, translated when shown."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="notices")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    node = models.ForeignKey(Node, on_delete=models.CASCADE, null=True, blank=True, related_name="notices")
    # The period the notice is about (its first day), or for an action its due date: with the
    # user, node and kind it makes a notice unique.
    period = models.DateField(_("period"))
    # An action's id for an overdue action (0 otherwise): two overdue actions of one node and day
    # are two notices.
    subject_id = models.PositiveBigIntegerField(default=0)
    params = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "node", "period", "subject_id"], name="notice_once_per_subject"
            )
        ]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id} ({self.period})"


class Digest(models.TextChoices):
    IMMEDIATE = "immediate", _("One e-mail per alert")
    DAILY = "daily", _("A daily digest")
    WEEKLY = "weekly", _("A weekly digest")
    NONE = "none", _("No e-mail (inbox only)")


class AlertPreference(models.Model):
    """Which kinds of alert a user wants, and how e-mail reaches them. Without a row: every kind,
    in the inbox and in a daily digest."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_preference")
    # The kinds (Kind values) the user does not want at all.
    muted_kinds = models.JSONField(default=list, blank=True)
    digest = models.CharField(_("e-mail"), max_length=10, choices=Digest.choices, default=Digest.DAILY)
    last_digest_at = models.DateTimeField(null=True, blank=True)
    # The language e-mail is written in (blank: the site's default).
    language = models.CharField(_("language of e-mail"), max_length=8, choices=settings.LANGUAGES, blank=True)

    class Meta:
        verbose_name = _("alert preference")
        verbose_name_plural = _("alert preferences")

    def __str__(self) -> str:
        return f"alert preference of {self.user_id}"
