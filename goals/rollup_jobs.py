"""Asking for a rollup: mark the tree stale now, enqueue the Celery task after the commit.

The database is the source of truth: an actual is saved even when the broker is down. The tree
then stays marked stale (the UI and API say so) until a run — the next request, or the beat
task that sweeps stale trees — has recomputed it. A burst of saves in one tree coalesces: only
the save that finds the tree fresh enqueues; later saves only move ``requested_at`` on, and the
run re-enqueues itself when a request arrived after it started.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from goals.models import Node, RollupState

logger = logging.getLogger(__name__)


def request_rollup(*, tree_id: int) -> None:
    """Mark the tree stale and, if no run is pending, enqueue one when the transaction commits."""
    root_id = Node.objects.filter(tree_id=tree_id, level=0).values_list("pk", flat=True).first()
    if root_id is None:
        return
    now = timezone.now()
    state, _ = RollupState.objects.get_or_create(root_id=root_id)
    became_stale = RollupState.objects.filter(pk=state.pk, stale_since__isnull=True).update(
        stale_since=now, requested_at=now
    )
    if not became_stale:
        # A run is already pending: it will see this request by requested_at.
        RollupState.objects.filter(pk=state.pk).update(requested_at=now)
        return
    transaction.on_commit(lambda: enqueue(root_id))


def enqueue(root_id: int) -> bool:
    """Send the task; on a broker failure leave the tree stale for the sweep (never raise)."""
    from goals.tasks import rollup_tree

    try:
        rollup_tree.delay(root_id)
    except Exception:  # the broker is down or unreachable: the beat sweep recovers
        logger.warning(
            "Could not enqueue the rollup of tree %s; it stays stale until the sweep.", root_id, exc_info=True
        )
        return False
    return True
