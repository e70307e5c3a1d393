"""A run after new actuals recomputes only their nodes and ancestors, and stores exactly what a
full rebuild would (goals.rollup.jobs.tree_rollup with RollupChange rows)."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from goals.dev.trees import tree_generate
from goals.models import Measurement, Node, RollupChange, RollupSeries, RollupState
from goals.rollup import jobs, storage

TODAY = date(2026, 11, 20)


def _stored(tree_id: int) -> dict[int, dict]:
    return {r.node_id: r.series for r in RollupSeries.objects.filter(node__tree_id=tree_id)}


def _full(root: Node) -> dict[int, dict]:
    engine, nodes = storage.tree_engine(root, as_of=TODAY)
    return {n.pk: json.loads(json.dumps(engine.series(n.pk))) for n in nodes}


def _change(leaves: list[Node], rng: random.Random, count: int) -> list[Node]:
    chosen = rng.sample(leaves, count)
    for leaf in chosen:
        month = date(2026, rng.randint(4, 11), 1)
        Measurement.objects.update_or_create(
            node=leaf, period_start=month, defaults={"value": Decimal(rng.randint(0, 5000)) / 4}
        )
        RollupChange.objects.create(root_id=leaf.get_root().pk, node=leaf)
    return chosen


def test_new_actuals_recompute_only_their_ancestors_and_match_a_full_rebuild(organisation):
    tree = tree_generate(organisation=organisation, nodes=200, periods=12, today=TODAY, seed=5)
    root = Node.objects.get(pk=tree.root.pk)
    jobs.tree_rollup(root_id=root.pk, as_of=TODAY)
    leaves = list(Node.objects.filter(tree_id=root.tree_id, value_source="manual", rght=models_lft_plus_one()))
    rng = random.Random(7)
    for round_ in range(4):
        before = {r.node_id: r.computed_at for r in RollupSeries.objects.filter(node__tree_id=root.tree_id)}
        chosen = _change(leaves, rng, 1 + round_)

        jobs.tree_rollup(root_id=root.pk, as_of=TODAY)

        assert _stored(root.tree_id) == _full(root)
        path = {a.pk for leaf in chosen for a in leaf.get_ancestors(include_self=True)}
        rewritten = {
            r.node_id
            for r in RollupSeries.objects.filter(node__tree_id=root.tree_id)
            if r.computed_at != before[r.node_id]
        }
        assert rewritten == path
        assert not RollupChange.objects.exists()


def models_lft_plus_one():
    from django.db.models import F

    return F("lft") + 1


def test_a_definition_change_or_another_day_rebuilds_the_whole_tree(organisation):
    tree = tree_generate(organisation=organisation, nodes=60, periods=6, today=TODAY, seed=3)
    root = Node.objects.get(pk=tree.root.pk)
    jobs.tree_rollup(root_id=root.pk, as_of=TODAY)
    leaf = Node.objects.filter(tree_id=root.tree_id, value_source="manual", rght=models_lft_plus_one()).first()

    RollupChange.objects.create(root=root)  # no node: a definition changed
    RollupChange.objects.create(root=root, node=leaf)
    jobs.tree_rollup(root_id=root.pk, as_of=TODAY)
    assert RollupSeries.objects.filter(node__tree_id=root.tree_id).values("computed_at").distinct().count() == 1

    # Stored results of yesterday: every "to date" figure moves, so the run rebuilds.
    RollupChange.objects.create(root=root, node=leaf)
    jobs.tree_rollup(root_id=root.pk, as_of=TODAY + timedelta(days=1))
    stored = _stored(root.tree_id)
    assert {doc["as_of"] for doc in stored.values()} == {"2026-11-21"}


def test_an_incremental_run_takes_the_same_statements_whatever_the_tree_size(organisation):
    counts = []
    for nodes, seed in ((40, 1), (400, 2)):
        tree = tree_generate(organisation=organisation, nodes=nodes, periods=6, today=TODAY, seed=seed)
        root = Node.objects.get(pk=tree.root.pk)
        jobs.tree_rollup(root_id=root.pk, as_of=TODAY)
        leaf = (
            Node.objects.filter(tree_id=root.tree_id, value_source="manual", rght=models_lft_plus_one())
            .order_by("-level")
            .first()
        )
        RollupChange.objects.create(root=root, node=leaf)
        RollupState.objects.filter(root=root).update(stale_since=timezone.now(), requested_at=timezone.now())
        with CaptureQueriesContext(connection) as captured:
            jobs.tree_rollup(root_id=root.pk, as_of=TODAY)
        counts.append(len(captured.captured_queries))
        assert _stored(root.tree_id) == _full(root)
    assert counts[0] == counts[1]


def test_trees_computed_on_an_earlier_day_are_asked_for_again(organisation, saas_tree, other_tree):
    from goals.rollup import jobs

    jobs.tree_rollup(root_id=saas_tree.pk, as_of=timezone.localdate())
    jobs.tree_rollup(root_id=other_tree.pk, as_of=timezone.localdate())
    RollupChange.objects.all().delete()
    yesterday = timezone.now() - timedelta(days=1)
    RollupState.objects.filter(root=saas_tree).update(computed_at=yesterday)

    assert jobs.request_outdated(today=timezone.localdate()) == 1
    assert RollupState.objects.get(root=saas_tree).stale_since is not None
    assert RollupState.objects.get(root=other_tree).stale_since is None
    assert list(RollupChange.objects.values_list("root_id", "node_id")) == [(saas_tree.pk, None)]
