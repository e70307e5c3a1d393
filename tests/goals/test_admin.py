"""The admin's node form saves through the same checks as the web form and the API."""

from __future__ import annotations

import pytest

from goals.admin import NodeAdminForm
from goals.models import Node


def admin_data(node: Node, **changes) -> dict[str, str]:
    data = {"organisation": str(node.organisation_id), "parent": str(node.parent_id or ""), "kind": node.kind}
    for name in NodeAdminForm.Meta.fields[3:]:
        value = getattr(node, "owner_id" if name == "owner" else name)
        data[name] = "" if value is None else str(value)
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"deadline": "9999-12-31"}, "deadline"),
        ({"start_date": "0001-01-01"}, "start_date"),
        ({"code": "class"}, "code"),
        ({"value_source": "formula", "formula": "1/0"}, "formula"),
    ],
)
def test_the_admin_refuses_what_the_app_cannot_compute(saas_tree, changes, field):
    node = Node.objects.get(tree_id=saas_tree.tree_id, code="appointments")

    form = NodeAdminForm(data=admin_data(node, **changes), instance=node)

    assert not form.is_valid()
    assert field in form.errors, form.errors


def test_the_admin_form_accepts_the_node_unchanged(saas_tree):
    node = Node.objects.get(tree_id=saas_tree.tree_id, code="appointments")

    assert NodeAdminForm(data=admin_data(node), instance=node).is_valid()
