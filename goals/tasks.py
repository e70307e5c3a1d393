"""Celery tasks: thin — they take ids and call one service (goals.rollup.jobs.tree_rollup)."""

from __future__ import annotations

import logging
import os
import time

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from goals.models import RollupState
from goals.rollup import jobs

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
    """Recompute a tree's rollup. Idempotent: results are upserted, never incremented.

    A run that raises is recorded on the tree (managers see why, and the next save enqueues a
    run again). A database error is retried with backoff; anything else would fail the same way
    again, so it is logged and left to the next save or the beat sweep.
    """
    _test_delay()
    try:
        again = jobs.tree_rollup(root_id=root_id, as_of=timezone.localdate())
    except DatabaseError as error:
        _record_failure(root_id, error)
        raise
    except Exception as error:
        logger.exception("The rollup of tree %s failed.", root_id)
        _record_failure(root_id, error)
        return
    if again:
        # Requests arrived while this run was computing: run once more to cover them.
        jobs.enqueue(root_id)


def _record_failure(root_id: int, error: Exception) -> None:
    try:
        jobs.tree_rollup_failed(root_id=root_id, error=error)
    except DatabaseError:  # the database itself is down: the retry or the sweep comes later
        logger.warning("Could not record the failed rollup of tree %s.", root_id, exc_info=True)


@shared_task
def sweep_stale_trees() -> int:
    """Beat: re-enqueue every tree still marked stale (e.g. after the broker was down)."""
    stale = list(RollupState.objects.filter(stale_since__isnull=False).values_list("root_id", flat=True))
    for root_id in stale:
        jobs.enqueue(root_id)
    return len(stale)


@shared_task
def refresh_outdated_trees() -> int:
    """Beat: recompute trees whose stored figures are of an earlier day."""
    return jobs.request_outdated(today=timezone.localdate())
