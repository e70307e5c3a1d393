"""Role home pages (dashboards/views.py): each role lands on its own page after logging in."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from goals import services
from goals.library import SAAS_REVENUE_TREE
from goals.models import Node
from tests.conftest import signed_in

HOMES = {"executive": "/executive/", "manager": "/manager/", "member": "/member/"}


@pytest.fixture
def shared_tree(organisation, manager, executive, member) -> Node:
    """The demo tree with each node owned by the role the template names."""
    return services.tree_create_from_template(
        organisation=organisation,
        actor=manager,
        template=SAAS_REVENUE_TREE,
        start_date=date(2026, 4, 1),
        deadline=date(2027, 3, 31),
        owners={"executive": executive, "manager": manager, "member": member},
    )


@pytest.mark.parametrize("role", ["executive", "manager", "member"])
def test_home_redirects_each_role_to_its_page(request, role):
    user = request.getfixturevalue(role)
    response = signed_in(user).get("/")
    assert response.status_code == 302
    assert response["Location"] == HOMES[role]


@pytest.mark.parametrize("role", ["executive", "manager", "member"])
def test_logging_in_lands_on_the_role_home(request, role, shared_tree):
    user = request.getfixturevalue(role)
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": f"pw-{user.username}"}, follow=True
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == HOMES[role]
    assert response.wsgi_request.user == user


def test_logging_in_honours_next(manager, shared_tree):
    response = Client().post(
        "/accounts/login/", {"username": "boss", "password": "pw-boss", "next": f"/trees/{shared_tree.pk}/"}
    )
    assert response["Location"] == f"/trees/{shared_tree.pk}/"


def test_a_wrong_password_stays_on_the_login_page(manager):
    client = Client()
    response = client.post("/accounts/login/", {"username": "boss", "password": "wrong"})
    assert response.status_code == 200
    assert "form-errors" in response.content.decode()
    assert client.get("/").status_code == 302
    assert client.get("/")["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("path", ["/", *HOMES.values()])
def test_anonymous_visitors_are_sent_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_a_user_without_organisation_is_told_so(django_user_model):
    client = signed_in(django_user_model.objects.create_user("drifter", password="pw-drifter"))
    for path in ("/", *HOMES.values()):
        assert client.get(path).status_code == 403


def test_executive_home_shows_each_kgi_with_its_gap(executive, shared_tree):
    response = signed_in(executive).get("/executive/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/trees/{shared_tree.pk}/"' in html
    assert shared_tree.name in html
    assert "Gap to close" in html
    assert "15 nodes in the tree" in html


def test_manager_home_lists_trees_and_open_findings(manager, shared_tree):
    response = signed_in(manager).get("/manager/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/trees/{shared_tree.pk}/"' in html
    open_count = response.context["open_count"]
    assert open_count > 0  # the template leaves e.g. stretch targets for the manager to review
    assert f"{open_count} open SMART finding" in html
    for _root, node, _finding in response.context["open_findings"]:
        assert f'href="/nodes/{node.pk}/"' in html


def test_manager_home_puts_errors_first(manager, shared_tree):
    Node.objects.filter(tree_id=shared_tree.tree_id, code="webinars").update(unit="")  # an M error
    response = signed_in(manager).get("/manager/")
    first_root, first_node, first_finding = response.context["open_findings"][0]
    assert (first_node.code, first_finding.rule) == ("webinars", "M-unit")


def test_member_home_lists_the_kpis_they_own(member, shared_tree):
    response = signed_in(member).get("/member/")
    assert response.status_code == 200
    mine = {card.node.code for card in response.context["board"].cards}
    assert mine == {
        "appointments",
        "leads_approached",
        "role_plays",
        "feature_adoption",
        "webinars",
        "reactivation_calls",
        "reactivation_emails",
    }
    html = response.content.decode()
    assert "50 appointments a month" in html
    assert "Upsell revenue" not in html  # owned by the manager


def test_member_with_nothing_owned_is_told_so(member, saas_tree):
    response = signed_in(member).get("/member/")
    assert response.status_code == 200
    assert "You do not own any KPI yet." in response.content.decode()


def test_member_home_leaves_out_archived_nodes(manager, member, shared_tree):
    feature = Node.objects.get(tree_id=shared_tree.tree_id, code="feature_adoption")
    services.node_archive(node=feature, actor=manager)
    mine = {card.node.code for card in signed_in(member).get("/member/").context["board"].cards}
    assert "feature_adoption" not in mine and "webinars" not in mine
    assert "appointments" in mine


@pytest.mark.parametrize("path", HOMES.values())
def test_home_pages_show_only_the_organisation_trees(outsider, shared_tree, other_tree, path):
    html = signed_in(outsider).get(path).content.decode()
    assert f'href="/trees/{shared_tree.pk}/"' not in html
    assert f"/nodes/{shared_tree.pk}/" not in html


# The manager's and the member's pages: tests/dashboards/test_manager.py and test_member.py.
@pytest.mark.parametrize("role", ["executive"])
def test_home_pages_need_few_queries_whatever_the_number_of_trees(
    request, role, organisation, manager, shared_tree, django_assert_max_num_queries
):
    client = signed_in(request.getfixturevalue(role))
    client.get(HOMES[role])  # warm up: session and translations
    for _ in range(2):
        services.tree_create_from_template(
            organisation=organisation,
            actor=manager,
            template=SAAS_REVENUE_TREE,
            start_date=date(2026, 4, 1),
            deadline=date(2027, 3, 31),
        )
    # session, user, membership, the KGIs, then for all their trees at once: the nodes, their
    # stored figures, the KGIs' series, the rollup states, the last actuals and the missing ones;
    # the header's unread notices.
    with django_assert_max_num_queries(11):
        assert client.get(HOMES[role]).status_code == 200
