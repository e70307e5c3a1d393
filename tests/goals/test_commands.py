"""The rollup and generate_tree management commands."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from goals.models import Node, Organisation, RollupSeries, RollupState


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_generate_tree_creates_the_organisation_and_a_stale_tree():
    output = run("generate_tree", "--org", "Load test", "--nodes", "60", "--periods", "4")

    organisation = Organisation.objects.get(name="Load test")
    root = Node.objects.get(organisation=organisation, level=0)
    assert Node.objects.filter(tree_id=root.tree_id).count() == 60
    assert "Created organisation 'Load test'" in output and f"tree {root.pk}" in output and " s." in output
    assert RollupState.objects.get(root=root).stale_since is not None

    again = run("generate_tree", "--org", "Load test", "--nodes", "30", "--periods", "2")
    assert "Used organisation 'Load test'" in again
    assert Node.objects.filter(organisation=organisation, level=0).count() == 2


@pytest.mark.django_db
def test_generate_tree_refuses_nonsense():
    with pytest.raises(CommandError, match="at least 1"):
        run("generate_tree", "--org", "X", "--nodes", "0", "--periods", "3")


@pytest.mark.django_db
def test_rollup_one_tree_clears_its_stale_mark():
    run("generate_tree", "--org", "Load test", "--nodes", "40", "--periods", "3")
    root = Node.objects.get(level=0)

    output = run("rollup", "--tree", str(root.pk))

    assert f"Rolled up tree {root.pk} (kgi, 40 nodes)" in output
    assert RollupSeries.objects.filter(node__tree_id=root.tree_id).count() == 40
    assert RollupState.objects.get(root=root).stale_since is None


@pytest.mark.django_db
def test_rollup_all_trees(saas_tree, other_tree):
    output = run("rollup", "--all", "--full")

    assert f"Rolled up tree {saas_tree.pk}" in output and f"Rolled up tree {other_tree.pk}" in output


@pytest.mark.django_db
def test_rollup_unknown_tree_or_a_node_that_is_not_a_kgi_fails_clearly(saas_tree):
    with pytest.raises(CommandError, match="There is no tree with the id 999999"):
        run("rollup", "--tree", "999999")
    child = Node.objects.filter(parent=saas_tree).first()
    with pytest.raises(CommandError, match=f"is not a KGI; its tree's KGI is {saas_tree.pk}"):
        run("rollup", "--tree", str(child.pk))


def test_rollup_needs_a_tree_or_all():
    with pytest.raises(CommandError):
        run("rollup")


@pytest.mark.django_db
@pytest.mark.parametrize("periods", ["601", "1000", "30000"])
def test_generate_tree_refuses_a_window_the_app_cannot_compute(periods):
    # Bulk inserts skip goals.services, so the command checks the window SMART would refuse.
    with pytest.raises(CommandError, match="do not fit the supported window"):
        run("generate_tree", "--org", "Load test", "--nodes", "10", "--periods", periods)

    assert not Node.objects.exists()
