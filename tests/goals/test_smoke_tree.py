from __future__ import annotations

from goals.models import Node


def test_saas_template_builds_fifteen_nodes(saas_tree):
    assert Node.objects.filter(tree_id=saas_tree.tree_id).count() == 15
    assert saas_tree.kind == "kgi"
    assert saas_tree.target_value - saas_tree.baseline_value == 20_000_000
