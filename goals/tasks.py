"""Celery tasks: thin — they take ids and call one service (goals.services.tree_rollup)."""

from __future__ import annotations

import logging
import os
import time

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from goals import rollup_jobs, services
from goals.models import RollupState

logger = logging.getLogger(__name__)


def _test_delay() -> None:
    """Tests only: KPITREE_TEST_ROLLUP_DELAY=<seconds> makes a rollup task wait that long before
    computing, so tests/test_celery_worker.py can kill a worker mid-task. Unset (always outside
    that test): no delay."""
    delay = float(os.environ.get("KPITREE_TEST_ROLLUP_DELAY") or 0)
    if delay > 0:
        logger.warning("KPITREE_TEST_ROLLUP_DELAY: waiting %s s before the rollup", delay)
        time.sleep(delay)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
)
def rollup_tree(root_id: int) -> None:
    """Recompute a tree's rollup. Idempotent: results are upserted, never incremented."""
    _test_delay()
    if services.tree_rollup(root_id=root_id):
        # Requests arrived while this run was computing: run once more to cover them.
        rollup_jobs.enqueue(root_id)


@shared_task
def sweep_stale_trees() -> int:
    """Beat: re-enqueue every tree still marked stale (e.g. after the broker was down)."""
    stale = list(RollupState.objects.filter(stale_since__isnull=False).values_list("root_id", flat=True))
    for root_id in stale:
        rollup_jobs.enqueue(root_id)
    return len(stale)


@shared_task
def refresh_outdated_trees() -> int:
    """Beat: recompute trees whose stored figures are of an earlier day."""
    return rollup_jobs.request_outdated(today=timezone.localdate())
