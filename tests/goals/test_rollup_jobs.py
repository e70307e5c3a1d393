"""A failed rollup never leaves a tree stale for good (goals/jobs.py, goals/tasks.py).

A run that raises is recorded on the tree (when and why, for managers); the next save enqueues a
run again instead of taking the failed one for a pending one; the beat sweep re-enqueues it too;
and the first run that completes clears the failure.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from goals import tasks
from goals.actuals import Entry, measurements_upsert_bulk
from goals.models import Node, RollupSeries, RollupState
from goals.rollup import jobs, storage
from kpitree.celery import app

TODAY = date(2026, 5, 20)


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """The trees whose rollup was sent to the broker (nothing runs)."""
    sent: list[int] = []
    monkeypatch.setattr(jobs, "enqueue", lambda root_id: sent.append(root_id) or True)
    return sent


@pytest.fixture
def broken_engine(monkeypatch):
    """Loading the tree raises: a fault outside any one node, so the whole run fails."""

    def tree_engine(root, **kwargs):
        raise RuntimeError("the engine could not load the tree")

    monkeypatch.setattr(storage, "tree_engine", tree_engine)


def save_actual(tree: Node, manager, value: str = "40") -> None:
    node = Node.objects.get(tree_id=tree.tree_id, code="appointments")
    entry = Entry(node=node, period=date(2026, 4, 1), value=Decimal(value), note="logged")
    measurements_upsert_bulk(membership=manager.membership, entries=[entry], today=TODAY)


def state_of(tree: Node) -> RollupState:
    return RollupState.objects.get(root=tree)


def test_a_run_that_raises_is_recorded_on_the_tree_and_leaves_it_stale(saas_tree, broken_engine):
    tasks.rollup_tree(saas_tree.pk)  # does not raise: it would fail the same way on a retry

    state = state_of(saas_tree)
    assert state.failed_at is not None
    assert state.failure == "RuntimeError: the engine could not load the tree"
    assert state.stale_since is not None


def test_after_a_failure_the_next_save_enqueues_again_and_later_saves_coalesce(
    saas_tree, manager, broken_engine, enqueued, django_capture_on_commit_callbacks
):
    tasks.rollup_tree(saas_tree.pk)

    with django_capture_on_commit_callbacks(execute=True):
        save_actual(saas_tree, manager, "40")
    with django_capture_on_commit_callbacks(execute=True):
        save_actual(saas_tree, manager, "41")

    assert enqueued == [saas_tree.pk]  # the first save after the failure; the second waits for it
    tasks.rollup_tree(saas_tree.pk)  # that run fails too
    with django_capture_on_commit_callbacks(execute=True):
        save_actual(saas_tree, manager, "42")
    assert enqueued == [saas_tree.pk, saas_tree.pk]


def test_a_run_that_completes_clears_the_failure(saas_tree, monkeypatch, broken_engine):
    tasks.rollup_tree(saas_tree.pk)
    monkeypatch.undo()

    tasks.rollup_tree(saas_tree.pk)

    state = state_of(saas_tree)
    assert (state.failed_at, state.failure, state.stale_since) == (None, "", None)
    assert RollupSeries.objects.filter(node__tree_id=saas_tree.tree_id).count() == 15


def test_the_sweep_brings_a_failed_tree_back_once_the_cause_is_gone(saas_tree, monkeypatch, broken_engine):
    tasks.rollup_tree(saas_tree.pk)
    monkeypatch.undo()
    # Tasks run in-process (eagerly): the sweep's enqueue runs the rollup.
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    assert tasks.sweep_stale_trees() == 1

    assert state_of(saas_tree).stale_since is None
    assert state_of(saas_tree).failed_at is None


def test_one_bad_node_does_not_fail_the_run(saas_tree, manager):
    # A deadline no date arithmetic can pass (year 10000), written before SMART refused it.
    Node.objects.filter(tree_id=saas_tree.tree_id, code="appointments").update(deadline=date(9999, 12, 31))

    tasks.rollup_tree(saas_tree.pk)

    state = state_of(saas_tree)
    assert (state.failed_at, state.stale_since) == (None, None)
    assert RollupSeries.objects.get(node__code="appointments", node__tree_id=saas_tree.tree_id).series["error"]


def test_a_failure_reason_is_kept_short(saas_tree):
    jobs.tree_rollup_failed(root_id=saas_tree.pk, error=ValueError("x" * 5000))

    assert len(state_of(saas_tree).failure) == jobs.FAILURE_MAX_LENGTH


def test_a_rebuild_rewrites_only_the_documents_that_changed(saas_tree, manager):
    """A re-run on the same day writes no row whose document is unchanged (a rebuild of a large
    tree on PostgreSQL was mostly the write of ~100 MB of identical documents); a changed actual
    rewrites its node and those whose figures move with it."""
    jobs.tree_rollup(root_id=saas_tree.pk, as_of=TODAY, full=True)
    first = dict(RollupSeries.objects.filter(node__tree_id=saas_tree.tree_id).values_list("node_id", "computed_at"))

    jobs.tree_rollup(root_id=saas_tree.pk, as_of=TODAY, full=True)
    again = dict(RollupSeries.objects.filter(node__tree_id=saas_tree.tree_id).values_list("node_id", "computed_at"))
    assert again == first

    save_actual(saas_tree, manager, "55")
    jobs.tree_rollup(root_id=saas_tree.pk, as_of=TODAY, full=True)
    after = dict(RollupSeries.objects.filter(node__tree_id=saas_tree.tree_id).values_list("node_id", "computed_at"))
    appointments = Node.objects.get(tree_id=saas_tree.tree_id, code="appointments")
    rewritten = {pk for pk in after if after[pk] != first[pk]}
    assert appointments.pk in rewritten
    assert rewritten < set(after)  # the documents that did not change were not written
    stored = RollupSeries.objects.get(node=appointments).series
    assert stored["actual"][stored["period"].index("2026-04-01")] == 55
