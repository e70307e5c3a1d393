"""goals.rollup.jobs.tree_rollup: the engine over a stored tree, written to RollupSeries.

The arithmetic is tested without a database in test_rollup.py; here: the right nodes and
actuals are read, the series are upserted (running twice changes nothing), and the tree's stale
flag is cleared only when no request came after the one the run covered.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from goals import services
from goals.actuals import Entry, measurements_upsert_bulk
from goals.models import Node, RollupSeries, RollupState
from goals.rollup import jobs, storage

TODAY = date(2026, 5, 20)
APR, MAY = date(2026, 4, 1), date(2026, 5, 1)


@pytest.fixture
def nodes(saas_tree) -> dict[str, Node]:
    return {node.code: node for node in Node.objects.filter(tree_id=saas_tree.tree_id)}


@pytest.fixture
def actuals(nodes, manager):
    """April and May of a few KPIs, logged by the manager on 20 May 2026."""
    rows = [
        ("revenue", APR, "101000000"),
        ("revenue", MAY, "101500000"),
        ("appointments", APR, "40"),
        ("appointments", MAY, "52"),
        ("new_contracts", APR, "4"),
        ("new_contracts", MAY, "7"),
        ("close_rate", APR, "10"),
    ]
    entries = [
        Entry(node=nodes[code], period=period, value=Decimal(value), note="logged") for code, period, value in rows
    ]
    return measurements_upsert_bulk(membership=manager.membership, entries=entries, today=TODAY)


def series_of(node: Node) -> dict:
    return RollupSeries.objects.get(node=node).series


def state_of(tree: Node) -> RollupState:
    return RollupState.objects.get(root=tree)


def test_tree_rollup_writes_a_series_for_every_active_node(saas_tree, nodes, actuals):
    assert jobs.tree_rollup(root_id=saas_tree.pk, as_of=TODAY) is False

    assert RollupSeries.objects.filter(node__tree_id=saas_tree.tree_id).count() == len(nodes) == 15
    appointments = series_of(nodes["appointments"])
    assert appointments["period"][:3] == ["2026-04-01", "2026-05-01", "2026-06-01"]
    assert len(appointments["period"]) == 12
    # 35 → 50 a month over the fiscal year: 36.25 in April, 37.5 in May.
    assert appointments["actual"][:3] == [40, 52, None]
    assert appointments["target"][:2] == [36.25, 37.5]
    assert appointments["status"][:3] == ["on_track", "on_track", "no_data"]
    assert appointments["missing"][:3] == [0, 0, 0]  # June has not started on 20 May
    contracts = series_of(nodes["new_contracts"])
    assert contracts["status"][:2] == ["off_track", "on_track"]  # 4 of 5.42, 7 of 5.83
    # The KSF has no number: the weighted score of its KPIs (weights 2, 2, 1). April:
    # appointments 110.3%, close rate 10 of 15.42 = 64.9%, contracts 73.8% → 84.8, off track.
    # May: the close rate has no value yet, so (2 × 138.7 + 1 × 120) / 3 = 132.4, on track; it is
    # not missing while May is still open (20 May).
    ksf = series_of(nodes["new_business"])
    assert ksf["actual"][:2] == [None, None]
    assert ksf["attainment"][:2] == [pytest.approx(84.85, abs=0.01), pytest.approx(132.44, abs=0.01)]
    assert ksf["status"][:2] == ["off_track", "on_track"]
    assert ksf["missing"][:2] == [0, 0]
    # The KSFs without any data in April are no data, with every missing input counted.
    upsell = series_of(nodes["upsell"])
    assert (upsell["status"][0], upsell["missing"][0]) == ("no_data", 2)
    revenue = series_of(nodes["revenue"])
    assert revenue["actual"][:2] == [101000000, 101500000]


def test_running_twice_gives_identical_series(saas_tree, nodes, actuals):
    jobs.tree_rollup(root_id=saas_tree.pk, as_of=TODAY)
    first = {row.node_id: row.series for row in RollupSeries.objects.all()}

    jobs.tree_rollup(root_id=saas_tree.pk, as_of=TODAY)
    second = {row.node_id: row.series for row in RollupSeries.objects.all()}

    assert second == first
    assert RollupSeries.objects.count() == 15


def test_archived_nodes_get_no_series(saas_tree, nodes, manager, actuals):
    services.node_archive(node=nodes["reactivation_emails"], actor=manager)

    jobs.tree_rollup(root_id=saas_tree.pk, as_of=TODAY)

    assert not RollupSeries.objects.filter(node=nodes["reactivation_emails"]).exists()
    assert RollupSeries.objects.count() == 14


def test_a_run_clears_the_stale_flag_set_by_saving_actuals(saas_tree, actuals):
    assert state_of(saas_tree).stale_since is not None

    assert jobs.tree_rollup(root_id=saas_tree.pk, as_of=TODAY) is False

    state = state_of(saas_tree)
    assert state.stale_since is None
    assert state.computed_at is not None


def _during_the_run(monkeypatch, action):
    """Run ``action`` after the run has read its state, while it computes."""
    real = storage.tree_engine

    def tree_engine(root, **kwargs):
        result = real(root, **kwargs)
        action(root)
        return result

    monkeypatch.setattr(storage, "tree_engine", tree_engine)


def test_a_request_during_the_run_keeps_the_tree_stale(monkeypatch, saas_tree, actuals):
    _during_the_run(monkeypatch, lambda root: jobs.request_rollup(tree_id=root.tree_id))

    assert jobs.tree_rollup(root_id=saas_tree.pk, as_of=TODAY) is True  # run again
    assert state_of(saas_tree).stale_since is not None

    monkeypatch.undo()
    assert jobs.tree_rollup(root_id=saas_tree.pk, as_of=TODAY) is False
    assert state_of(saas_tree).stale_since is None


def test_a_request_stamped_before_the_run_but_seen_only_during_it_keeps_the_tree_stale(monkeypatch, saas_tree, actuals):
    """A save whose transaction began before the run and committed while it computed: its
    requested_at is older than the run's start, yet the run did not read its actual."""
    earlier = state_of(saas_tree).requested_at - timedelta(seconds=1)

    def late_commit(root):
        RollupState.objects.filter(root=root).update(requested_at=earlier)

    _during_the_run(monkeypatch, late_commit)

    assert jobs.tree_rollup(root_id=saas_tree.pk, as_of=TODAY) is True
    assert state_of(saas_tree).stale_since is not None


def test_a_tree_without_a_state_gets_one(saas_tree):
    RollupState.objects.filter(root=saas_tree).delete()

    assert jobs.tree_rollup(root_id=saas_tree.pk, as_of=TODAY) is False

    assert state_of(saas_tree).stale_since is None
    assert RollupSeries.objects.count() == 15


def test_an_unknown_or_non_root_node_is_ignored(saas_tree, nodes):
    assert jobs.tree_rollup(root_id=nodes["appointments"].pk, as_of=TODAY) is False
    assert jobs.tree_rollup(root_id=10**9, as_of=TODAY) is False
    assert not RollupSeries.objects.exists()
