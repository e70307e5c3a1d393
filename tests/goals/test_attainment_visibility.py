"""Who sees whose attainment (goals/access.py attainment_visible): a team member sees their own
KPIs and the shared goals, but another member's personal KPIs only when the organisation shares
them — on the node page, in the progress and explain API and in the list of actuals."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from goals import access
from goals.models import Node, Organisation
from tests.conftest import signed_in
from tests.dashboards.small_tree import ACTUALS, MAY, freeze_today, saas_tree, store_actuals


@pytest.fixture(autouse=True)
def today(monkeypatch):
    freeze_today(monkeypatch)


@pytest.fixture
def tree(organisation, manager, executive, member, colleague):
    """The feature adoption KPI now belongs to a colleague, another team member."""
    nodes = saas_tree(organisation, manager, executive, member)
    Node.objects.filter(pk=nodes["feature_adoption"].pk).update(owner=colleague)
    nodes["feature_adoption"].refresh_from_db()
    store_actuals(nodes, {**ACTUALS, "feature_adoption": [(MAY, "35", "")]})
    return nodes


def share(organisation) -> None:
    Organisation.objects.filter(pk=organisation.pk).update(members_see_team_attainment=True)


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- the rule ------------------------------------------------------------------------------------


def test_hidden_owners_are_the_other_team_members(member, colleague, manager, tree):
    assert access.attainment_hidden_owners(member.membership) == {colleague.pk}
    assert access.attainment_hidden_owners(manager.membership) == frozenset()


def test_nothing_is_hidden_once_the_organisation_shares_it(organisation, member, tree):
    share(organisation)
    member.membership.refresh_from_db()
    assert access.attainment_hidden_owners(member.membership) == frozenset()


@pytest.mark.parametrize(
    ("code", "visible"),
    [("appointments", True), ("close_rate", True), ("revenue", True), ("upsell", True), ("feature_adoption", False)],
)
def test_a_member_sees_their_own_and_shared_goals_not_a_colleagues(member, tree, code, visible):
    assert access.node_attainment_visible(member.membership, tree[code]) is visible


def test_a_reporter_sees_the_kpi_they_enter(member, tree):
    tree["feature_adoption"].reporters.add(member)
    assert access.node_attainment_visible(member.membership, tree["feature_adoption"]) is True


@pytest.mark.parametrize("role", ["manager", "executive"])
def test_managers_and_executives_see_everything(request, role, tree):
    membership = request.getfixturevalue(role).membership
    assert access.node_attainment_visible(membership, tree["feature_adoption"]) is True


# --- the node page -------------------------------------------------------------------------------


def test_the_node_page_hides_a_colleagues_figures(member, tree):
    response = signed_in(member).get(f"/nodes/{tree['feature_adoption'].pk}/")
    assert response.status_code == 200
    assert response.context["progress_rows"] == []
    assert response.context["explanation"] is None
    assert "another team member's personal KPI" in response.content.decode()


def test_the_node_page_shows_the_members_own_figures(member, tree):
    response = signed_in(member).get(f"/nodes/{tree['appointments'].pk}/")
    assert response.context["progress_rows"]
    assert "another team member's personal KPI" not in response.content.decode()


def test_the_node_page_of_a_shared_goal_hides_a_colleagues_input(member, tree):
    response = signed_in(member).get(f"/nodes/{tree['upsell'].pk}/")
    assert response.context["progress_rows"]
    inputs = {item["code"]: item for item in response.context["explanation"]["inputs"]}
    assert inputs["feature_adoption"]["hidden"] is True
    assert "personal KPI of a team member" in response.content.decode()


def test_the_node_page_shows_a_colleagues_figures_when_shared(organisation, member, tree):
    share(organisation)
    response = signed_in(member).get(f"/nodes/{tree['feature_adoption'].pk}/")
    assert response.context["progress_rows"]


def test_the_manager_sees_every_node_page_in_full(manager, tree):
    response = signed_in(manager).get(f"/nodes/{tree['feature_adoption'].pk}/")
    assert response.context["progress_rows"]


# --- the API -------------------------------------------------------------------------------------


def test_progress_and_explain_of_a_colleagues_kpi_are_403(member, tree):
    base = f"/api/v1/nodes/{tree['feature_adoption'].pk}"
    assert api(member).get(f"{base}/progress/").status_code == 403
    assert api(member).get(f"{base}/explain/", {"period": MAY.isoformat()}).status_code == 403
    own = f"/api/v1/nodes/{tree['appointments'].pk}"
    assert api(member).get(f"{own}/progress/").status_code == 200


def test_progress_of_a_colleagues_kpi_when_shared(organisation, member, tree):
    share(organisation)
    assert api(member).get(f"/api/v1/nodes/{tree['feature_adoption'].pk}/progress/").status_code == 200


def test_explain_leaves_out_a_colleagues_input(member, manager, tree):
    path = f"/api/v1/nodes/{tree['upsell'].pk}/explain/"
    hidden = {item["code"] for item in api(member).get(path, {"period": MAY.isoformat()}).json()["inputs"]}
    full = {item["code"] for item in api(manager).get(path, {"period": MAY.isoformat()}).json()["inputs"]}
    assert "feature_adoption" in full
    assert "feature_adoption" not in hidden


def test_the_list_of_actuals_leaves_out_a_colleagues(organisation, member, manager, tree):
    def nodes(user):
        data = api(user).get("/api/v1/measurements/", {"limit": 100}).json()
        return {row["node"] for row in data["results"]}

    assert tree["feature_adoption"].pk not in nodes(member)
    assert tree["appointments"].pk in nodes(member) and tree["close_rate"].pk in nodes(member)
    assert tree["feature_adoption"].pk in nodes(manager)
    share(organisation)
    assert tree["feature_adoption"].pk in nodes(member)
