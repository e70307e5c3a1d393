"""Pages of a tree whose nodes have no owner (a generated tree) render."""

from __future__ import annotations

from datetime import date

from goals.dev.trees import tree_generate
from goals.models import Node


def test_pages_of_nodes_without_an_owner_render(organisation, manager, client):
    tree = tree_generate(organisation=organisation, nodes=30, periods=6, today=date(2026, 11, 20))
    client.force_login(manager)
    nodes = list(Node.objects.filter(tree_id=tree.root.tree_id).order_by("lft")[:6])
    assert all(n.owner_id is None for n in nodes)
    urls = ["/trees/", f"/trees/{tree.root.pk}/"] + [f"/nodes/{n.pk}/" for n in nodes]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
