"""Beat jobs of reminders and alerts: thin; the rules are alerts.services'."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from alerts import services


@shared_task
def run_rules() -> int:
    """Beat: write today's reminders and alerts, then e-mail those wanted at once."""
    created = services.run_rules(today=timezone.localdate())
    services.send_immediate(now=timezone.now())
    return created


@shared_task
def send_digests() -> int:
    """Beat, once a day: the daily digests, and the weekly ones on Mondays."""
    return services.send_digests(today=timezone.localdate(), now=timezone.now())
