"""Asking for a rollup: mark the tree stale now, enqueue the Celery task after the commit.

The database is the source of truth: an actual is saved even when the broker is down. The tree
then stays marked stale (the UI and API say so) until a run — the next request, or the beat
task that sweeps stale trees — has recomputed it. A burst of saves in one tree coalesces: only
the save that finds the tree fresh (or its last run failed) enqueues; later saves only move
``requested_at`` on, and the run re-enqueues itself when a request arrived after it started.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, time

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from goals.models import Node, RollupChange, RollupState

logger = logging.getLogger(__name__)


def request_rollup(*, tree_id: int, node_ids: Sequence[int] = ()) -> None:
    """Mark the tree stale and, if no run is pending, enqueue one when the transaction commits.

    ``node_ids``: the nodes whose actuals changed — the run then recomputes only them and their
    ancestors. Without them (a definition, target or structure change) the run rebuilds the tree.
    """
    root_id = Node.objects.filter(tree_id=tree_id, level=0).values_list("pk", flat=True).first()
    if root_id is None:
        return
    RollupChange.objects.bulk_create(
        [RollupChange(root_id=root_id, node_id=node_id) for node_id in sorted(set(node_ids))]
        or [RollupChange(root_id=root_id)]
    )
    now = timezone.now()
    state, _ = RollupState.objects.get_or_create(root_id=root_id)
    became_stale = RollupState.objects.filter(pk=state.pk, stale_since__isnull=True).update(
        stale_since=now, requested_at=now
    )
    # A failed run is not a pending one: the first request since the failure enqueues again
    # (requests during that retry's run coalesce as usual). Conditional updates, so of two
    # concurrent requests only one enqueues.
    after_failure = not became_stale and RollupState.objects.filter(pk=state.pk, failed_at__isnull=False).filter(
        Q(requested_at__isnull=True) | Q(requested_at__lte=F("failed_at"))
    ).update(requested_at=now)
    if not (became_stale or after_failure):
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


def request_outdated(*, today: date) -> int:
    """Ask for a rollup of every tree last computed before ``today``: figures "to date" (the
    target to date, the periods that should have an actual by now) move with the calendar even
    when nobody enters anything. Returns how many trees were asked for."""
    midnight = timezone.make_aware(datetime.combine(today, time.min))
    tree_ids = list(
        RollupState.objects.filter(computed_at__lt=midnight, stale_since__isnull=True).values_list(
            "root__tree_id", flat=True
        )
    )
    for tree_id in tree_ids:
        request_rollup(tree_id=tree_id)
    return len(tree_ids)
