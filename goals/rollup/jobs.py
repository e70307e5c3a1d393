"""Asking for a rollup: mark the tree stale now, enqueue the Celery task after the commit.

The database is the source of truth: an actual is saved even when the broker is down. The tree
then stays marked stale (the UI and API say so) until a run — the next request, or the beat
task that sweeps stale trees — has recomputed it. A burst of saves in one tree coalesces: only
the save that finds the tree fresh (or its last run failed) enqueues; later saves only move
``requested_at`` on, and the run re-enqueues itself when a request arrived after it started.

The run itself (:func:`tree_rollup`, called by goals.tasks.rollup_tree) recomputes the whole tree
or — when only actuals changed — the changed nodes and their ancestors, and upserts the documents.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, time

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from goals.models import (
    Node,
    RollupChange,
    RollupState,
)
from goals.rollup import columns, storage

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


# Above this many changed nodes a run rebuilds the tree: their ancestors are most of it anyway.
INCREMENTAL_MAX_NODES = 50


def tree_rollup(*, root_id: int, as_of: date, full: bool = False) -> bool:
    """Recompute and upsert the rollup series of a tree: of every active node, or — when only
    actuals changed since the last run — of the nodes whose actuals changed and their ancestors.

    Returns True when another request arrived while this ran (the caller runs again).
    """
    root = Node.objects.select_related("organisation").filter(pk=root_id, level=0).first()
    if root is None:
        return False
    # The last request this run covers, read before the data. Comparing requested_at with the
    # run's start time instead would lose a save stamped before the start whose transaction
    # commits only after the data was read: the tree would be marked fresh without its actual.
    state, _ = RollupState.objects.get_or_create(root_id=root_id)
    covered = state.requested_at
    changes = list(RollupChange.objects.filter(root_id=root_id).values_list("pk", "node_id"))
    with storage.cyclic_gc_paused():
        documents = None
        changed = {node_id for _, node_id in changes}
        if not full and changes and None not in changed and len(changed) <= INCREMENTAL_MAX_NODES:
            documents = _documents_around(root, changed, as_of=as_of)
        if documents is None:
            engine, nodes = storage.tree_engine(root, as_of=as_of)
            documents = columns.tree_documents(engine, [n.pk for n in nodes])
        computed_at = timezone.now()
    with transaction.atomic():
        storage.documents_upsert(documents, computed_at)
        # Only the rows read above: a save committed since then keeps its row for the next run.
        RollupChange.objects.filter(pk__in=[pk for pk, _ in changes]).delete()
        RollupState.objects.filter(pk=state.pk).update(computed_at=computed_at, failed_at=None, failure="")
        # Fresh again only if no request came after the one read above (any later request
        # changes requested_at; on PostgreSQL this waits for an uncommitted one and re-checks).
        cleared = RollupState.objects.filter(pk=state.pk, requested_at=covered).update(stale_since=None)
    return not cleared


# Enough of an exception's text to say what went wrong, not a page of it.
FAILURE_MAX_LENGTH = 500


def tree_rollup_failed(*, root_id: int, error: Exception) -> None:
    """Record that a run of the tree's rollup raised: when and why (shown to managers). The tree
    stays stale; the next request enqueues a run again (goals.rollup.jobs.request_rollup)."""
    reason = f"{type(error).__name__}: {error}"[:FAILURE_MAX_LENGTH]
    RollupState.objects.filter(root_id=root_id).update(failed_at=timezone.now(), failure=reason)


def _documents_around(root: Node, node_ids: set[int], *, as_of: date) -> list[tuple[int, str]] | None:
    """The documents of the changed nodes and their ancestors, the other nodes read from storage;
    None when the tree needs a full rebuild (not on one grid, stored results from another day…)."""
    loaded = storage.tree_engine_around(root, sorted(node_ids), as_of=as_of)
    if loaded is None:
        return None
    engine, ids, recompute, stored = loaded
    columnar = columns.ColumnarRollup(engine, ids)
    if not columnar.applies() or not columnar.aligned(stored.values()):
        return None
    return columnar.documents(only=recompute, stored=stored)
