"""The admin's node form saves through the same checks as the web form and the API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from goals import services
from goals.admin import NodeAdminForm
from goals.models import Measurement, Node


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


@pytest.fixture
def admin_client_logged_in(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "x"))
    return client


def test_the_admin_does_not_move_a_node_its_checks_cannot_see(admin_client_logged_in, saas_tree):
    # A move has its own checks (goals.services.node_move); the admin edits a node where it is.
    node = Node.objects.get(tree_id=saas_tree.tree_id, code="new_contracts")
    url = reverse("admin:goals_node_change", args=[node.pk])

    page = admin_client_logged_in.get(url).content.decode()

    assert 'name="parent"' not in page
    assert 'name="kind"' not in page
    assert 'name="organisation"' not in page


def test_the_admin_checks_an_edit_where_the_node_is(admin_client_logged_in, saas_tree):
    services.node_update(
        node=Node.objects.get(tree_id=saas_tree.tree_id, code="appointments"),
        actor=None,
        data={"unit": "leads", "value_source": "sum"},
    )
    node = Node.objects.get(tree_id=saas_tree.tree_id, code="leads_approached")
    data = admin_data(node, unit="followers")
    for name in ("organisation", "parent", "kind"):
        del data[name]

    response = admin_client_logged_in.post(reverse("admin:goals_node_change", args=[node.pk]), data)

    assert response.status_code == 200
    assert "Its parent adds up its children in leads, so this one must be in leads too." in response.content.decode()
    node.refresh_from_db()
    assert node.unit == "leads"


def test_the_admin_deletes_no_node(admin_client_logged_in, saas_tree):
    # Deleting goes through goals.services.node_delete (only an empty node, not one a formula names).
    node = Node.objects.get(tree_id=saas_tree.tree_id, code="new_contracts")

    response = admin_client_logged_in.post(reverse("admin:goals_node_delete", args=[node.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert Node.objects.filter(pk=node.pk).exists()


def test_the_admin_shows_actuals_read_only(admin_client_logged_in, saas_tree):
    # Actuals go through goals.actuals (locks, window, history, rollup request); the admin skips all.
    node = Node.objects.get(tree_id=saas_tree.tree_id, code="appointments")
    measurement = Measurement.objects.create(node=node, period_start=date(2026, 4, 1), value=Decimal("30"))
    url = reverse("admin:goals_measurement_change", args=[measurement.pk])

    assert admin_client_logged_in.get(url).status_code == 200
    response = admin_client_logged_in.post(url, {"node": node.pk, "period_start": "2026-04-01", "value": "999"})
    assert response.status_code == 403
    assert admin_client_logged_in.get(reverse("admin:goals_measurement_add")).status_code == 403
    delete = admin_client_logged_in.post(
        reverse("admin:goals_measurement_delete", args=[measurement.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    measurement.refresh_from_db()
    assert measurement.value == Decimal("30")


def test_the_admin_changes_no_organisation_setting(admin_client_logged_in, organisation):
    # The fiscal year is changed on the Settings page (goals.services.organisation_update).
    page = admin_client_logged_in.get(reverse("admin:goals_organisation_change", args=[organisation.pk]))

    assert page.status_code == 200
    assert 'name="fiscal_year_start_month"' not in page.content.decode()
    assert 'name="name"' in page.content.decode()
    assert (
        'name="fiscal_year_start_month"'
        in admin_client_logged_in.get(reverse("admin:goals_organisation_add")).content.decode()
    )
