"""Synthetic trees for benchmarks: planned in memory, written in bulk with their nested sets."""

from __future__ import annotations

from datetime import date

import pytest

from goals.dev.trees import fanouts, plan_tree, tree_generate
from goals.models import Measurement, Node, RollupSeries, RollupState
from goals.rollup import jobs

TODAY = date(2026, 11, 20)


@pytest.mark.parametrize(("nodes", "depth"), [(1, 6), (10, 6), (100, 6), (300, 6), (2000, 6), (500, 4)])
def test_plan_has_the_size_and_depth_asked_and_a_consistent_nested_set(nodes, depth):
    planned = plan_tree(nodes=nodes, depth=depth)

    assert len(planned) == nodes
    if nodes >= 100:
        assert max(n.level for n in planned) == depth
    assert len({n.code for n in planned}) == nodes
    assert sorted(n.lft for n in planned) == [n.lft for n in planned]  # depth-first order
    for node in planned:
        size = 1 + sum(1 for other in planned if node.lft < other.lft < node.rght)
        assert node.rght - node.lft + 1 == 2 * size
        if node.parent is not None:
            assert node.parent.lft < node.lft < node.rght < node.parent.rght
            assert node.level == node.parent.level + 1


def test_sub_kpi_levels_widen_until_the_tree_is_big_enough():
    assert fanouts(10_000, 6) == [5, 3, 5, 5, 5, 5]
    assert fanouts(81, 6) == [5, 3, 1, 1, 1, 1]


def test_plan_mixes_value_sources_and_keeps_units_consistent():
    planned = plan_tree(nodes=2000, depth=6)
    sources = {n.value_source for n in planned}
    assert {"manual", "sum", "average", "weighted_average", "formula"} <= sources
    for node in planned:
        if node.value_source in ("sum", "average", "weighted_average", "min", "max"):
            assert {child.measure for child in node.children} == {node.measure}
        if node.value_source == "formula":
            assert node.children[0].code in node.formula and node.children[1].code in node.formula


def test_generated_tree_is_a_valid_tree_with_actuals_for_its_leaves(organisation):
    tree = tree_generate(organisation=organisation, nodes=120, periods=6, today=TODAY)

    nodes = {n.pk: n for n in Node.objects.filter(tree_id=tree.root.tree_id)}
    assert len(nodes) == tree.nodes == 120
    assert tree.root.level == 0 and tree.root.kind == "kgi" and tree.root.parent_id is None
    assert tree.root.get_descendant_count() == 119
    for node in nodes.values():
        if node.parent_id is not None:
            parent = nodes[node.parent_id]
            assert parent.lft < node.lft < node.rght < parent.rght and node.level == parent.level + 1
    # django-mptt agrees with the nested set written in bulk.
    leaf = max(nodes.values(), key=lambda n: n.level)
    assert [a.pk for a in leaf.get_ancestors()][0] == tree.root.pk
    actuals = Measurement.objects.filter(node__tree_id=tree.root.tree_id)
    assert actuals.count() == tree.actuals > 0
    assert set(actuals.values_list("node__value_source", flat=True)) == {"manual"}
    assert {p for p in actuals.values_list("period_start", flat=True)} <= {
        date(2026, month, 1) for month in range(6, 12)
    }
    assert RollupState.objects.get(root=tree.root).stale_since is not None  # not rolled up yet


def test_generated_tree_rolls_up(organisation):
    tree = tree_generate(organisation=organisation, nodes=200, periods=3, today=TODAY)

    jobs.tree_rollup(root_id=tree.root.pk, as_of=TODAY)

    assert RollupSeries.objects.filter(node__tree_id=tree.root.tree_id).count() == 200
    kgi = RollupSeries.objects.get(node=tree.root).series
    assert kgi["period"] == ["2026-09-01", "2026-10-01", "2026-11-01"]
    assert all(value is not None for value in kgi["actual"])
    assert RollupState.objects.get(root=tree.root).stale_since is None
