"""Celery tasks: thin — they take ids and call one service (goals.services.tree_rollup)."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from goals import rollup_jobs, services
from goals.models import RollupState


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
