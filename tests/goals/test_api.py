"""REST API v1 (goals/apis.py): token login, node CRUD, move, SMART, nested tree, schema and docs."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import yaml
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import tokens
from accounts.models import ApiToken
from goals import services
from goals.library import SAAS_REVENUE_TREE
from goals.models import Measurement, Node

NODES = "/api/v1/nodes/"


def url(node: Node, action: str = "") -> str:
    return f"{NODES}{node.pk}/" + (f"{action}/" if action else "")


@pytest.fixture
def nodes(saas_tree) -> dict[str, Node]:
    """The demo tree's nodes by code (appointments, upsell, webinars, …)."""
    return {n.code: n for n in Node.objects.filter(tree_id=saas_tree.tree_id)}


def kpi_payload(under: Node, owner, **overrides) -> dict:
    data = {
        "kind": "kpi",
        "parent": under.pk,
        "name": "20 product demos a month",
        "code": "demos",
        "owner": owner.pk,
        "unit": "demos",
        "direction": "increase",
        "baseline_value": "12",
        "target_value": "20",
        "start_date": "2026-04-01",
        "deadline": "2027-03-31",
        "frequency": "monthly",
        "indicator_type": "leading",
        "rationale": "A customer who sees the feature in a demo upgrades more often.",
    }
    data.update(overrides)
    return data


def counts() -> tuple[int, int]:
    return Node.objects.count(), Node.history.model.objects.count()


# --- authentication ---------------------------------------------------------------------------


TOKEN = "/api/v1/auth/token/"
TOKENS = "/api/v1/auth/tokens/"


def token_login(username: str = "boss", password: str = "pw-boss", **extra) -> dict:
    response = APIClient().post(TOKEN, {"username": username, "password": password, **extra}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_token_login_gives_a_token_usable_as_authorization_header(manager, saas_tree):
    before = timezone.now()
    data = token_login()
    assert set(data) == {"id", "name", "token", "expires_at"}
    # Valid for API_TOKEN_TTL_HOURS (30 days by default).
    expires_at = datetime.fromisoformat(data["expires_at"])
    assert before + timedelta(hours=720) <= expires_at <= timezone.now() + timedelta(hours=720)

    response = with_token(data["token"]).get(NODES)
    assert response.status_code == 200
    assert response.json()["count"] == 15


def test_token_login_refuses_a_wrong_password(manager):
    response = APIClient().post(TOKEN, {"username": "boss", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert "token" not in response.json()
    assert response.json()["non_field_errors"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "boss"}, "password"),
        ({"password": "pw-boss"}, "username"),
        ({"username": "boss", "password": "pw-boss", "name": "x" * 101}, "name"),
    ],
)
def test_token_login_with_bad_input_is_a_400_per_field(manager, body, field):
    response = APIClient().post(TOKEN, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_a_bad_token_is_refused(manager):
    client = with_token("0123456789abcdef0123456789abcdef01234567")
    response = client.get(NODES)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_tokens_are_stored_as_a_hash_only(manager):
    token = token_login(name="reporting script")["token"]
    stored = ApiToken.objects.get(user=manager)
    assert stored.name == "reporting script"
    assert stored.digest == hashlib.sha256(token.encode()).hexdigest()
    row = ApiToken.objects.filter(pk=stored.pk).values().get()
    assert not any(token in str(value) for value in row.values())
    assert token.startswith(stored.prefix)


def test_every_token_login_gives_a_new_token(manager):
    first, second = token_login()["token"], token_login()["token"]
    assert first != second
    assert with_token(first).get(NODES).status_code == 200
    assert with_token(second).get(NODES).status_code == 200


def test_an_expired_token_is_refused(manager):
    now = timezone.now()
    token, secret = tokens.api_token_create(user=manager, now=now - timedelta(hours=721))
    response = with_token(secret).get(NODES)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    assert token.expires_at == now - timedelta(hours=1)


def test_the_token_lifetime_is_a_setting(manager, settings):
    settings.API_TOKEN_TTL_HOURS = 2
    now = timezone.now()
    token, _ = tokens.api_token_create(user=manager, now=now)
    assert token.expires_at == now + timedelta(hours=2)


def test_a_token_records_when_it_was_last_used_at_most_once_a_minute(manager):
    t0 = timezone.now()
    token, secret = tokens.api_token_create(user=manager, now=t0)
    assert token.last_used_at is None
    assert tokens.api_token_authenticate(secret=secret, now=t0 + timedelta(seconds=5)) == token
    token.refresh_from_db()
    assert token.last_used_at == t0 + timedelta(seconds=5)
    tokens.api_token_authenticate(secret=secret, now=t0 + timedelta(seconds=50))
    token.refresh_from_db()
    assert token.last_used_at == t0 + timedelta(seconds=5)
    tokens.api_token_authenticate(secret=secret, now=t0 + timedelta(seconds=66))
    token.refresh_from_db()
    assert token.last_used_at == t0 + timedelta(seconds=66)


def test_delete_revokes_the_token_used(manager):
    keep, drop = token_login()["token"], token_login()["token"]
    assert with_token(drop).delete(TOKEN).status_code == 204
    assert with_token(drop).get(NODES).status_code == 401
    assert with_token(keep).get(NODES).status_code == 200


def test_delete_without_a_token_is_refused(manager_api):
    assert manager_api.delete(TOKEN).status_code in (401, 403)
    assert APIClient().delete(TOKEN).status_code == 401


def test_list_ones_tokens_and_revoke_one(manager, member):
    laptop = token_login(name="laptop")
    script = token_login(name="script")
    token_login("worker", "pw-worker")
    client = with_token(laptop["token"])

    listed = client.get(TOKENS).json()
    assert listed["count"] == 2
    by_name = {t["name"]: t for t in listed["results"]}
    assert set(by_name) == {"laptop", "script"}
    assert set(by_name["laptop"]) == {"id", "name", "prefix", "created_at", "expires_at", "last_used_at", "current"}
    assert by_name["laptop"]["current"] and not by_name["script"]["current"]
    assert laptop["token"] not in json.dumps(listed) and script["token"] not in json.dumps(listed)

    assert client.delete(f"{TOKENS}{script['id']}/").status_code == 204
    assert with_token(script["token"]).get(NODES).status_code == 401
    assert client.get(TOKENS).json()["count"] == 1


def test_tokens_list_works_with_the_session_too(manager_api, manager):
    tokens.api_token_create(user=manager, name="cli")
    data = manager_api.get(TOKENS).json()
    assert [t["name"] for t in data["results"]] == ["cli"]
    assert data["results"][0]["current"] is False


def test_someone_elses_token_cannot_be_revoked(manager, outsider, outsider_api):
    token, secret = tokens.api_token_create(user=manager)
    assert outsider_api.delete(f"{TOKENS}{token.pk}/").status_code == 404
    assert with_token(secret).get(NODES).status_code == 200


def test_a_password_change_anywhere_invalidates_the_tokens(manager):
    # The admin's and manage.py changepassword's path: set_password and save, no view of ours.
    token = token_login()["token"]
    manager.set_password("a-new-password-2026")
    manager.save()
    assert with_token(token).get(NODES).status_code == 401


def test_a_deactivated_user_s_token_is_refused(manager):
    token = token_login()["token"]
    manager.is_active = False
    manager.save()
    assert with_token(token).get(NODES).status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", NODES), ("post", NODES), ("get", "{node}"), ("get", "{node}tree/"), ("post", "{node}archive/")],
)
def test_unauthenticated_requests_are_refused(saas_tree, method, path):
    response = getattr(APIClient(), method)(path.format(node=url(saas_tree)))
    assert response.status_code in (401, 403)


# --- list ---------------------------------------------------------------------------------------


def test_list_shows_the_organisation_nodes_only(manager_api, saas_tree, other_tree):
    data = manager_api.get(NODES).json()
    assert data["count"] == 15
    ids = {item["id"] for item in data["results"]}
    assert ids == set(Node.objects.filter(tree_id=saas_tree.tree_id).values_list("pk", flat=True))


@pytest.mark.parametrize(("kind", "expected"), [("kgi", 1), ("ksf", 3), ("kpi", 7), ("sub_kpi", 4)])
def test_list_filters_by_kind(manager_api, saas_tree, kind, expected):
    data = manager_api.get(NODES, {"kind": kind}).json()
    assert data["count"] == expected
    assert {item["kind"] for item in data["results"]} == {kind}


def test_list_filters_by_tree(manager_api, organisation, manager, saas_tree):
    second = services.node_create(
        organisation=organisation,
        actor=manager,
        kind="kgi",
        parent=None,
        data={
            "name": "Operating margin 15% by March 2027",
            "code": "margin",
            "unit": "%",
            "baseline_value": Decimal("10"),
            "target_value": Decimal("15"),
            "start_date": date(2026, 4, 1),
            "deadline": date(2027, 3, 31),
        },
    )
    assert manager_api.get(NODES).json()["count"] == 16
    data = manager_api.get(NODES, {"tree": second.pk}).json()
    assert [item["id"] for item in data["results"]] == [second.pk]
    # Any node of a tree names the tree.
    leaf = Node.objects.get(tree_id=saas_tree.tree_id, code="webinars")
    assert manager_api.get(NODES, {"tree": leaf.pk}).json()["count"] == 15


def test_list_tree_filter_of_another_organisation_is_404(manager_api, saas_tree, other_tree):
    assert manager_api.get(NODES, {"tree": other_tree.pk}).status_code == 404


def test_list_is_paginated(manager_api, saas_tree):
    data = manager_api.get(NODES, {"limit": 5, "offset": 5}).json()
    assert data["count"] == 15
    assert len(data["results"]) == 5
    assert data["next"] and data["previous"]


def test_list_hides_archived_nodes_unless_asked(manager_api, manager, nodes):
    services.node_archive(node=nodes["upsell"], actor=manager)  # the KSF and its 3 descendants
    assert manager_api.get(NODES).json()["count"] == 11
    data = manager_api.get(NODES, {"archived": "true"}).json()
    assert data["count"] == 15
    archived = {item["code"] for item in data["results"] if item["is_archived"]}
    assert archived == {"upsell", "upsell_revenue", "feature_adoption", "webinars"}


# --- what the API accepts: parameters, bodies, characters --------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "100000"}, "limit"),  # answered 4 MB
        ({"limit": "9223372036854775808"}, "limit"),  # a 500: the database driver overflowed
        ({"limit": "0"}, "limit"),
        ({"limit": "ten"}, "limit"),  # DRF silently gave 100
        ({"offset": "9223372036854775808"}, "offset"),
        ({"offset": "-1"}, "offset"),
        ({"kind": "\x00"}, "kind"),  # a 500 on PostgreSQL
        ({"kind": "goal"}, "kind"),
        ({"tree": "first"}, "tree"),  # was a 404, as if the node did not exist
        ({"archived": "maybe"}, "archived"),
    ],
)
def test_list_bad_parameters_are_400_with_a_message(manager_api, saas_tree, params, field):
    response = manager_api.get(NODES, params)
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field]
    assert errors[field] and all(isinstance(message, str) for message in errors[field])


def test_a_page_holds_at_most_500_nodes(manager_api, saas_tree):
    assert manager_api.get(NODES, {"limit": 500}).json()["count"] == 15
    response = manager_api.get(NODES, {"limit": 501})
    assert response.status_code == 400
    assert response.json() == {"limit": ["Ensure this value is less than or equal to 500."]}


def test_a_null_character_in_any_query_parameter_is_400(manager_api, saas_tree):
    for path in (NODES, url(saas_tree, "tree"), url(saas_tree, "smart"), "/api/v1/measurements/"):
        response = manager_api.get(path, {"unused": "a\x00b"})  # even one the operation ignores
        assert response.status_code == 400, path
        assert response.json() == {"unused": ["Null characters are not allowed."]}


def test_a_null_character_in_a_body_string_is_400(manager_api, manager, nodes):
    response = manager_api.post(NODES, kpi_payload(nodes["upsell"], manager, name="Demos\x00"), format="json")
    assert response.status_code == 400
    assert response.json() == {"name": ["Null characters are not allowed."]}


@pytest.mark.parametrize("method", ["post", "patch"])
def test_deeply_nested_json_is_400(manager_api, nodes, method):
    """The JSON decoder's RecursionError was a 500."""
    body = "[" * 100_000 + "]" * 100_000
    path = NODES if method == "post" else url(nodes["upsell"])
    response = getattr(manager_api, method)(path, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - the data is nested too deeply."}
    response = manager_api.post("/api/v1/measurements/bulk/", data=body, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_body_over_the_size_limit_is_a_json_413(manager_api, nodes, settings, content_type):
    """It was Django's HTML "Bad Request (400)" page."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    if content_type == "application/json":
        body = json.dumps({"description": "x" * 10_000})
    else:
        body = "description=" + "x" * 10_000
    response = manager_api.patch(url(nodes["upsell"]), data=body, content_type=content_type)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "The request body is larger than 10000 bytes."}


@pytest.mark.parametrize("path", ["/api/v1/nodes/abc/", "/api/v1/nodes/-1/archive/", "/api/v1/nope/"])
def test_a_path_that_names_no_operation_is_a_json_404(manager_api, path):
    """It was Django's HTML 404 page, and an HTML CSRF page for a POST from a browser session."""
    manager_api.handler.enforce_csrf_checks = True
    for method in ("get", "post"):
        response = getattr(manager_api, method)(path)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


def test_the_api_takes_every_field_the_services_let_a_caller_edit():
    """Checked against goals.services.EDITABLE_FIELDS, not a copy of the list kept here: a field
    added to the services and forgotten in the API's input fails this test."""
    from goals.apis import NodeCreateSerializer, NodeInputSerializer

    assert set(NodeInputSerializer().fields) == set(services.EDITABLE_FIELDS)
    assert set(NodeCreateSerializer().fields) == set(services.EDITABLE_FIELDS) | {"kind", "parent"}


def test_text_limits_are_the_same_in_the_api_and_the_forms(organisation, saas_tree):
    """The API took descriptions and notes of any length; the forms and the models agree now."""
    from goals.apis import MeasurementInputSerializer, NodeCreateSerializer
    from goals.forms import ActualForm, NodeForm

    form, serializer = NodeForm(organisation=organisation, kind="kpi"), NodeCreateSerializer()
    for name in ("name", "description", "code", "unit", "formula", "rationale"):
        assert serializer.fields[name].max_length == form.fields[name].max_length, name
        assert serializer.fields[name].max_length == Node._meta.get_field(name).max_length is not None, name
    note = ActualForm(node=saas_tree, periods=[]).fields["note"].max_length
    assert MeasurementInputSerializer().fields["note"].max_length == note == 2000


@pytest.mark.parametrize("field", ["description", "rationale"])
def test_descriptions_and_rationales_are_at_most_2000_characters(manager_api, manager, nodes, field):
    before = counts()
    response = manager_api.post(NODES, kpi_payload(nodes["upsell"], manager, **{field: "x" * 2001}), format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert counts() == before
    # The service refuses it too (the form, the admin and imports save through it).
    with pytest.raises(DjangoValidationError) as caught:
        services.node_update(node=nodes["upsell"], actor=manager, data={field: "x" * 2001})
    assert field in caught.value.message_dict

    response = manager_api.post(NODES, kpi_payload(nodes["upsell"], manager, **{field: "x" * 2000}), format="json")
    assert response.status_code == 201, response.content


# --- create -------------------------------------------------------------------------------------


def test_manager_creates_a_kpi(manager_api, manager, nodes):
    before = counts()
    response = manager_api.post(NODES, kpi_payload(nodes["upsell"], manager), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["kind"] == "kpi"
    assert data["parent"] == nodes["upsell"].pk
    assert Decimal(data["target_value"]) == 20
    assert data["deadline"] == "2027-03-31"
    assert data["smart"]["letters"]["S"]["status"] == "pass"
    assert set(data["smart"]["letters"]) == {"S", "M", "A", "R", "T"}

    node = Node.objects.get(pk=data["id"])
    assert (node.organisation_id, node.parent_id, node.code) == (
        nodes["upsell"].organisation_id,
        nodes["upsell"].pk,
        "demos",
    )
    assert counts() == (before[0] + 1, before[1] + 1)
    assert node.history.get().history_user == manager


def test_manager_creates_a_new_tree_root(manager_api, manager):
    payload = {
        "kind": "kgi",
        "name": "Net revenue ¥50M by fiscal year end",
        "code": "net_revenue",
        "unit": "JPY",
        "baseline_value": "40000000",
        "target_value": "50000000",
        "start_date": "2026-04-01",
        "deadline": "2027-03-31",
    }
    response = manager_api.post(NODES, payload, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["parent"] is None
    assert Node.objects.get(pk=response.json()["id"]).is_root_node()


def test_output_has_every_model_field(manager_api, nodes):
    data = manager_api.get(url(nodes["appointments"])).json()
    # Every field the services let a manager edit, read back as the API stores it.
    assert set(services.EDITABLE_FIELDS) | {"id", "kind", "parent", "smart"} <= set(data)
    assert data["code"] == "appointments"
    assert data["parent"] == nodes["new_business"].pk
    assert data["smart"]["letters"]["M"]["status"] in ("pass", "warning", "error")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"target_value": None}, "target_value"),
        ({"unit": ""}, "unit"),
        ({"deadline": "2027-13-45"}, "deadline"),
        ({"deadline": "2026-01-01"}, "deadline"),  # before the start date
        ({"value_source": "formula", "formula": "contracts / close_rate * 100"}, "formula"),  # not under it
        ({"value_source": "formula", "formula": "import os"}, "formula"),
        ({"code": "appointments"}, "code"),  # already used in the tree
        ({"code": "no spaces"}, "code"),
        ({"direction": "sideways"}, "direction"),
        ({"weight": "-1"}, "weight"),
        # Dates the app can compute with (docs/smart.md T-date-range, T-window-length).
        ({"deadline": "9999-12-31"}, "deadline"),
        ({"start_date": "0001-01-01"}, "start_date"),
        ({"start_date": "1989-12-31"}, "start_date"),
        ({"deadline": "2101-01-01"}, "deadline"),
        ({"frequency": "daily", "deadline": "2031-03-31"}, "deadline"),
        # Formulas and codes a formula could never use.
        ({"value_source": "formula", "formula": "1/0"}, "formula"),
        ({"value_source": "formula", "formula": "demos * 1" + "0" * 400}, "formula"),
        ({"code": "class"}, "code"),
        ({"code": "__init__"}, "code"),
        # Ids are integers: 3.5 is not node 3, true is not node 1.
        ({"parent": "float"}, "parent"),
        ({"parent": True}, "parent"),
        ({"owner": "float"}, "owner"),
    ],
)
def test_bad_input_gives_400_per_field_and_saves_nothing(manager_api, manager, nodes, overrides, field):
    before = counts()
    base = kpi_payload(nodes["upsell"], manager)
    payload = {**base, **{k: base[k] + 0.5 if v == "float" else v for k, v in overrides.items()}}
    response = manager_api.post(NODES, payload, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert counts() == before


def test_kpi_without_target_key_reports_target_value(manager_api, manager, nodes):
    payload = kpi_payload(nodes["upsell"], manager)
    del payload["target_value"]
    response = manager_api.post(NODES, payload, format="json")
    assert response.status_code == 400
    assert "target_value" in response.json()


@pytest.mark.parametrize(("parent_code", "kind"), [("revenue", "kpi"), ("appointments", "ksf"), ("upsell", "sub_kpi")])
def test_wrong_parent_kind_is_a_parent_error(manager_api, manager, nodes, parent_code, kind):
    before = counts()
    response = manager_api.post(NODES, kpi_payload(nodes[parent_code], manager, kind=kind), format="json")
    assert response.status_code == 400
    assert "parent" in response.json()
    assert counts() == before


def test_a_kgi_cannot_have_a_parent(manager_api, manager, nodes):
    response = manager_api.post(NODES, kpi_payload(nodes["revenue"], manager, kind="kgi"), format="json")
    assert response.status_code == 400
    assert "parent" in response.json()


def test_owner_from_another_organisation_is_refused(manager_api, manager, outsider, nodes):
    before = counts()
    response = manager_api.post(NODES, kpi_payload(nodes["upsell"], outsider), format="json")
    assert response.status_code == 400
    assert "owner" in response.json()
    assert counts() == before


def test_creating_under_another_organisations_parent_is_400_without_leaking_it(outsider_api, outsider, nodes):
    before = counts()
    foreign = outsider_api.post(NODES, kpi_payload(nodes["upsell"], outsider), format="json")
    missing = outsider_api.post(NODES, kpi_payload(nodes["upsell"], outsider, parent=999_999), format="json")
    assert foreign.status_code == missing.status_code == 400
    assert "parent" in foreign.json()
    # Same answer as for an id that does not exist: nothing tells the node is there.
    assert foreign.json()["parent"] == [m.replace("999999", str(nodes["upsell"].pk)) for m in missing.json()["parent"]]
    assert nodes["upsell"].name not in foreign.content.decode()
    assert counts() == before


# --- update -------------------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(manager_api, manager, nodes):
    node = nodes["appointments"]
    response = manager_api.patch(url(node), {"target_value": "55", "unit": "meetings"}, format="json")
    assert response.status_code == 200, response.content
    node.refresh_from_db()
    assert (node.target_value, node.unit, node.code) == (Decimal("55"), "meetings", "appointments")
    record = node.history.latest()
    assert record.history_user == manager
    assert record.history_change_reason == "edited"


def test_put_replaces_the_definition(manager_api, manager, nodes):
    node = nodes["new_contracts"]
    payload = {
        "name": "12 new contracts a month",
        "description": "Signed order forms.",
        "code": "new_contracts",
        "owner": manager.pk,
        "unit": "contracts",
        "direction": "increase",
        "baseline_value": "5",
        "target_value": "12",
        "target_min": None,
        "target_max": None,
        "start_date": "2026-04-01",
        "deadline": "2027-03-31",
        "frequency": "monthly",
        "indicator_type": "lagging",
        "weight": "1.5",
        "value_source": "manual",
        "formula": "",
        "time_aggregation": "sum",
        "rationale": "Each contract adds about ¥170k a year.",
    }
    response = manager_api.put(url(node), payload, format="json")
    assert response.status_code == 200, response.content
    node.refresh_from_db()
    assert node.name == "12 new contracts a month"
    assert node.weight == Decimal("1.5")
    assert response.json()["description"] == "Signed order forms."


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"target_value": None}, "target_value"),
        ({"deadline": "31/03/2027"}, "deadline"),
        ({"code": "close_rate"}, "code"),
        ({"value_source": "formula", "formula": "leads_approached + close_rate"}, "formula"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_update_is_400_and_changes_nothing(manager_api, nodes, payload, field):
    node = nodes["appointments"]
    before = counts()
    response = manager_api.patch(url(node), payload, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert counts() == before
    fresh = Node.objects.get(pk=node.pk)
    assert (fresh.target_value, fresh.code, fresh.formula, fresh.deadline) == (
        node.target_value,
        node.code,
        node.formula,
        node.deadline,
    )


def test_a_formula_over_its_children_codes_is_accepted(manager_api, nodes):
    response = manager_api.patch(
        url(nodes["appointments"]), {"value_source": "formula", "formula": "leads_approached * 5"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["formula"] == "leads_approached * 5"


def test_renaming_a_code_the_parent_formula_uses_is_refused(manager_api, nodes):
    patch = {"value_source": "formula", "formula": "leads_approached * 5"}
    assert manager_api.patch(url(nodes["appointments"]), patch, format="json").status_code == 200
    response = manager_api.patch(url(nodes["leads_approached"]), {"code": "leads"}, format="json")
    assert response.status_code == 400
    assert "code" in response.json()


# --- archive, restore, delete -------------------------------------------------------------------


def test_archive_and_restore_a_subtree(manager_api, nodes):
    ksf = nodes["upsell"]
    response = manager_api.post(url(ksf, "archive"))
    assert response.status_code == 200
    assert response.json()["is_archived"] is True
    assert Node.objects.filter(tree_id=ksf.tree_id, is_archived=True).count() == 4

    # An archived node is still readable.
    assert manager_api.get(url(nodes["webinars"])).status_code == 200

    response = manager_api.post(url(ksf, "restore"))
    assert response.status_code == 200
    assert response.json()["is_archived"] is False
    assert not Node.objects.filter(tree_id=ksf.tree_id, is_archived=True).exists()


def test_restore_under_an_archived_parent_is_400(manager_api, nodes):
    manager_api.post(url(nodes["upsell"], "archive"))
    response = manager_api.post(url(nodes["webinars"], "restore"))
    assert response.status_code == 400
    assert Node.objects.get(pk=nodes["webinars"].pk).is_archived


def test_restore_that_would_put_the_parent_in_error_is_400_with_the_reason(manager_api, nodes):
    # leads_approached (in leads) archived; its KPI then adds up its children in appointments.
    manager_api.post(url(nodes["leads_approached"], "archive"))
    assert manager_api.patch(url(nodes["appointments"]), {"value_source": "sum"}, format="json").status_code == 200

    response = manager_api.post(url(nodes["leads_approached"], "restore"))

    assert response.status_code == 400
    assert "Its parent adds up its children in appointments" in str(response.json())
    assert Node.objects.get(pk=nodes["leads_approached"].pk).is_archived


def test_delete_an_empty_node(manager_api, nodes):
    leaf = nodes["webinars"]
    response = manager_api.delete(url(leaf))
    assert response.status_code == 204
    assert not Node.objects.filter(pk=leaf.pk).exists()
    # The deletion is in the history, too.
    assert Node.history.model.objects.filter(id=leaf.pk, history_type="-").exists()


def test_delete_a_node_with_children_is_409(manager_api, nodes):
    before = counts()
    response = manager_api.delete(url(nodes["feature_adoption"]))
    assert response.status_code == 409
    assert response.json()["detail"]
    assert counts() == before


def test_delete_a_node_with_actuals_is_409(manager_api, manager, nodes):
    leaf = nodes["webinars"]
    Measurement.objects.create(node=leaf, period_start=date(2026, 4, 1), value=Decimal("2"), entered_by=manager)
    response = manager_api.delete(url(leaf))
    assert response.status_code == 409
    assert Node.objects.filter(pk=leaf.pk).exists()


# --- move ---------------------------------------------------------------------------------------


def test_move_a_kpi_to_another_ksf_at_a_position(manager_api, manager, nodes):
    kpi, target = nodes["upsell_revenue"], nodes["new_business"]
    response = manager_api.post(url(kpi, "move"), {"parent": target.pk, "position": 0}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["parent"] == target.pk
    order = [n.code for n in Node.objects.get(pk=target.pk).get_children()]
    assert order == ["upsell_revenue", "appointments", "close_rate", "new_contracts"]
    record = Node.objects.get(pk=kpi.pk).history.latest()
    assert (record.history_change_reason, record.history_user) == ("moved", manager)


def test_move_without_position_puts_it_last(manager_api, nodes):
    response = manager_api.post(url(nodes["repeat_rate"], "move"), {"parent": nodes["upsell"].pk}, format="json")
    assert response.status_code == 200, response.content
    order = [n.code for n in Node.objects.get(pk=nodes["upsell"].pk).get_children()]
    assert order == ["upsell_revenue", "feature_adoption", "repeat_rate"]


def assert_valid_tree(tree_id: int) -> None:
    """The nested-set columns agree with the parent links (what django-mptt must keep true)."""
    nodes = {n.pk: n for n in Node.objects.filter(tree_id=tree_id)}
    for node in nodes.values():
        if node.parent_id is not None:
            parent = nodes[node.parent_id]
            assert parent.lft < node.lft < node.rght < parent.rght
            assert node.level == parent.level + 1
    bounds = sorted(b for n in nodes.values() for b in (n.lft, n.rght))
    assert bounds == list(range(1, 2 * len(nodes) + 1))


def test_move_carries_the_subtree(manager_api, nodes):
    response = manager_api.post(
        url(nodes["feature_adoption"], "move"), {"parent": nodes["reactivation"].pk}, format="json"
    )
    assert response.status_code == 200, response.content
    webinars = Node.objects.get(pk=nodes["webinars"].pk)
    assert webinars.parent_id == nodes["feature_adoption"].pk
    assert webinars.get_ancestors().filter(pk=nodes["reactivation"].pk).exists()
    assert_valid_tree(webinars.tree_id)


def test_move_to_another_tree_of_the_organisation(manager_api, organisation, manager, nodes):
    other = services.node_create(
        organisation=organisation,
        actor=manager,
        kind="kgi",
        parent=None,
        data={
            "name": "Margin 15% by March 2027",
            "code": "margin",
            "unit": "%",
            "target_value": Decimal("15"),
            "deadline": date(2027, 3, 31),
        },
    )
    ksf = services.node_create(
        organisation=organisation, actor=manager, kind="ksf", parent=other, data={"name": "Cut costs", "code": "costs"}
    )
    response = manager_api.post(url(nodes["feature_adoption"], "move"), {"parent": ksf.pk}, format="json")
    assert response.status_code == 200, response.content
    moved = Node.objects.filter(pk__in=[nodes["feature_adoption"].pk, nodes["webinars"].pk])
    assert {n.tree_id for n in moved} == {other.tree_id}
    assert_valid_tree(other.tree_id)
    assert_valid_tree(nodes["revenue"].tree_id)
    assert Node.objects.filter(tree_id=nodes["revenue"].tree_id).count() == 13


@pytest.mark.parametrize(
    ("code", "target", "reason"),
    [
        ("appointments", "revenue", "a KPI under a KGI"),
        ("appointments", "leads_approached", "under its own descendant"),
        ("revenue", "upsell", "a KGI is always a root"),
        ("upsell", "appointments", "a KSF under a KPI"),
    ],
)
def test_bad_move_is_a_parent_error_and_moves_nothing(manager_api, nodes, code, target, reason):
    node = nodes[code]
    before = list(Node.objects.order_by("pk").values_list("pk", "parent_id", "lft", "rght", "tree_id"))
    response = manager_api.post(url(node, "move"), {"parent": nodes[target].pk}, format="json")
    assert response.status_code == 400, reason
    assert "parent" in response.json()
    assert list(Node.objects.order_by("pk").values_list("pk", "parent_id", "lft", "rght", "tree_id")) == before
    assert_valid_tree(node.tree_id)


def test_move_reorders_within_the_same_parent(manager_api, nodes):
    response = manager_api.post(
        url(nodes["new_contracts"], "move"), {"parent": nodes["new_business"].pk, "position": 0}, format="json"
    )
    assert response.status_code == 200, response.content
    order = [n.code for n in Node.objects.get(pk=nodes["new_business"].pk).get_children()]
    assert order == ["new_contracts", "appointments", "close_rate"]


def test_move_needs_a_parent(manager_api, nodes):
    response = manager_api.post(url(nodes["appointments"], "move"), {}, format="json")
    assert response.status_code == 400
    assert "parent" in response.json()


def test_move_under_another_organisations_node_is_400(manager_api, nodes, other_tree):
    foreign_ksf = Node.objects.get(tree_id=other_tree.tree_id, code="upsell")
    response = manager_api.post(url(nodes["appointments"], "move"), {"parent": foreign_ksf.pk}, format="json")
    assert response.status_code == 400
    assert "parent" in response.json()
    assert Node.objects.get(pk=nodes["appointments"].pk).parent_id == nodes["new_business"].pk


# --- SMART and the nested tree ------------------------------------------------------------------


def test_smart_report_per_letter(manager_api, manager, nodes):
    response = manager_api.get(url(nodes["appointments"], "smart"))
    assert response.status_code == 200
    data = response.json()
    assert set(data["letters"]) == {"S", "M", "A", "R", "T"}
    for letter in data["letters"].values():
        assert letter["status"] in ("pass", "warning", "error")
        assert letter["reasons"]
    assert data["level"] in ("pass", "warning", "error")


def test_smart_report_names_the_rule_and_field(manager_api, nodes):
    Node.objects.filter(pk=nodes["appointments"].pk).update(owner=None)
    data = manager_api.get(url(nodes["appointments"], "smart")).json()
    assert data["letters"]["S"]["status"] == "warning"
    assert {"letter": "S", "level": "warning", "rule": "S-owner", "field": "owner"}.items() <= next(
        f for f in data["findings"] if f["rule"] == "S-owner"
    ).items()


def _shape(tree: dict) -> dict:
    return {child["code"]: _shape(child) for child in tree["children"]}


def test_tree_is_nested(manager_api, saas_tree, nodes):
    response = manager_api.get(url(nodes["new_business"], "tree"))
    assert response.status_code == 200
    data = response.json()
    assert data["code"] == "new_business"
    assert _shape(data) == {
        "appointments": {"leads_approached": {}},
        "close_rate": {"role_plays": {}},
        "new_contracts": {},
    }
    assert data["smart"]["letters"]["R"]["status"] in ("pass", "warning")
    whole = manager_api.get(url(saas_tree, "tree")).json()
    assert len(json.dumps(whole)) > len(json.dumps(data))
    assert [child["code"] for child in whole["children"]] == ["new_business", "upsell", "reactivation"]


def test_tree_leaves_archived_nodes_out_unless_asked(manager_api, manager, saas_tree, nodes):
    services.node_archive(node=nodes["upsell"], actor=manager)
    data = manager_api.get(url(saas_tree, "tree")).json()
    assert [child["code"] for child in data["children"]] == ["new_business", "reactivation"]
    data = manager_api.get(url(saas_tree, "tree"), {"archived": "true"}).json()
    assert [child["code"] for child in data["children"]] == ["new_business", "upsell", "reactivation"]


def _grow(organisation, manager, root: Node, extra_ksfs: int) -> None:
    """Add KSFs, each with three KPIs and a sub-KPI under each: 7 nodes per KSF."""
    for i in range(extra_ksfs):
        ksf = services.node_create(
            organisation=organisation,
            actor=manager,
            kind="ksf",
            parent=root,
            data={"name": f"Factor {i}", "code": f"ksf_{i}", "owner": manager, "rationale": "It helps."},
        )
        for j in range(3):
            common = {
                "owner": manager,
                "unit": "calls",
                "baseline_value": Decimal("10"),
                "target_value": Decimal("12"),
                "start_date": date(2026, 4, 1),
                "deadline": date(2027, 3, 31),
                "rationale": "It helps.",
            }
            kpi = services.node_create(
                organisation=organisation,
                actor=manager,
                kind="kpi",
                parent=ksf,
                data={"name": f"12 calls a month {i}{j}", "code": f"kpi_{i}_{j}", **common},
            )
            services.node_create(
                organisation=organisation,
                actor=manager,
                kind="sub_kpi",
                parent=kpi,
                data={"name": f"12 calls a month {i}{j}x", "code": f"sub_{i}_{j}", **common},
            )


# membership, the node, its subtree, the SMART context (neighbours, sibling KPIs, the windows
# its ancestors give it) and the actuals history — whatever the size of the tree.
TREE_QUERY_BOUND = 6


def test_tree_queries_do_not_grow_with_its_size(
    manager_api, organisation, manager, saas_tree, nodes, django_assert_max_num_queries
):
    with django_assert_max_num_queries(TREE_QUERY_BOUND):
        small = manager_api.get(url(nodes["webinars"], "tree"))
    assert small.status_code == 200
    assert small.json()["children"] == []

    with django_assert_max_num_queries(TREE_QUERY_BOUND):
        medium = manager_api.get(url(saas_tree, "tree"))
    assert medium.status_code == 200

    _grow(organisation, manager, saas_tree, extra_ksfs=5)
    Measurement.objects.create(node=nodes["appointments"], period_start=date(2026, 4, 1), value=Decimal("30"))
    with django_assert_max_num_queries(TREE_QUERY_BOUND):
        big = manager_api.get(url(saas_tree, "tree"))
    assert big.status_code == 200
    assert len(big.json()["children"]) == 8
    assert Node.objects.filter(tree_id=saas_tree.tree_id).count() == 15 + 5 * 7


def test_list_queries_do_not_grow_with_the_page(
    manager_api, organisation, manager, saas_tree, django_assert_max_num_queries
):
    with django_assert_max_num_queries(TREE_QUERY_BOUND):
        assert manager_api.get(NODES).json()["count"] == 15
    _grow(organisation, manager, saas_tree, extra_ksfs=3)
    services.tree_create_from_template(
        organisation=organisation,
        actor=manager,
        template=SAAS_REVENUE_TREE,
        start_date=date(2026, 4, 1),
        deadline=date(2027, 3, 31),
    )
    with django_assert_max_num_queries(TREE_QUERY_BOUND):
        assert manager_api.get(NODES).json()["count"] == 15 + 21 + 15


# --- roles and organisations --------------------------------------------------------------------


@pytest.fixture(params=["member_api", "executive_api"])
def reader_api(request) -> APIClient:
    return request.getfixturevalue(request.param)


def test_readers_may_read(reader_api, saas_tree, nodes):
    assert reader_api.get(NODES).status_code == 200
    assert reader_api.get(url(nodes["appointments"])).status_code == 200
    assert reader_api.get(url(nodes["appointments"], "smart")).status_code == 200
    assert reader_api.get(url(saas_tree, "tree")).status_code == 200


def test_readers_may_not_write(reader_api, manager, nodes):
    before = counts()
    node = nodes["webinars"]
    attempts = [
        reader_api.post(NODES, kpi_payload(nodes["upsell"], manager), format="json"),
        reader_api.patch(url(node), {"name": "Hijacked"}, format="json"),
        reader_api.put(url(node), {"name": "Hijacked"}, format="json"),
        reader_api.post(url(node, "move"), {"parent": nodes["reactivation_calls"].pk}, format="json"),
        reader_api.post(url(node, "archive")),
        reader_api.post(url(node, "restore")),
        reader_api.delete(url(node)),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    assert counts() == before
    fresh = Node.objects.get(pk=node.pk)
    assert (fresh.name, fresh.parent_id, fresh.is_archived) == (node.name, node.parent_id, False)


def test_another_organisations_node_is_404(outsider_api, nodes):
    node = nodes["appointments"]
    before = counts()
    attempts = [
        outsider_api.get(url(node)),
        outsider_api.patch(url(node), {"name": "Hijacked"}, format="json"),
        outsider_api.put(url(node), {"name": "Hijacked"}, format="json"),
        outsider_api.post(url(node, "move"), {"parent": nodes["upsell"].pk}, format="json"),
        outsider_api.post(url(node, "archive")),
        outsider_api.post(url(node, "restore")),
        outsider_api.delete(url(node)),
        outsider_api.get(url(node, "tree")),
        outsider_api.get(url(node, "smart")),
    ]
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    assert counts() == before
    assert outsider_api.get(NODES).json()["count"] == 0


def test_a_user_without_organisation_is_403(django_user_model, saas_tree):
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user("drifter", password="pw-drifter"))
    assert client.get(NODES).status_code == 403


# --- schema and docs ----------------------------------------------------------------------------


def test_openapi_schema_lists_the_node_paths(manager_api):
    response = manager_api.get("/api/v1/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    for path in (
        "/api/v1/nodes/",
        "/api/v1/nodes/{id}/",
        "/api/v1/nodes/{id}/move/",
        "/api/v1/nodes/{id}/archive/",
        "/api/v1/nodes/{id}/restore/",
        "/api/v1/nodes/{id}/smart/",
        "/api/v1/nodes/{id}/tree/",
        "/api/v1/auth/token/",
        "/api/v1/auth/tokens/",
        "/api/v1/auth/tokens/{id}/",
    ):
        assert path in schema["paths"], path
    assert {"get", "put", "patch", "delete"} <= set(schema["paths"]["/api/v1/nodes/{id}/"])


def test_openapi_schema_describes_the_api_as_it_is(manager_api):
    info = yaml.safe_load(manager_api.get("/api/v1/schema/").content)["info"]

    assert "(later)" not in info["description"]
    assert "actuals" in info["description"] and "progress" in info["description"]


def test_openapi_schema_describes_the_responses_as_sent(manager_api):
    schema = yaml.safe_load(manager_api.get("/api/v1/schema/").content)
    ok = "200"

    def response_schema(path: str) -> dict:
        ref = schema["paths"][path]["get"]["responses"][ok]["content"]["application/json"]["schema"]["$ref"]
        return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]

    # The list is paginated: {count, next, previous, results}.
    assert {"count", "results"} <= set(response_schema("/api/v1/nodes/")["properties"])
    # The tree is the node's own fields plus its children (not {"node": …, "children": …}).
    assert {"code", "kind", "smart", "children"} <= set(response_schema("/api/v1/nodes/{id}/tree/")["properties"])


def test_openapi_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/v1/nodes/{id}/tree/" in (tmp_path / "schema.yaml").read_text()


def test_openapi_schema_as_json(manager_api):
    response = manager_api.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    assert "/api/v1/nodes/{id}/tree/" in json.loads(response.content)["paths"]


def test_api_docs_load_nothing_from_outside(client, manager):
    client.force_login(manager)
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert not [a for a in assets if a.startswith(("http://", "https://", "//"))]
    assert "cdn" not in html.lower()
    # Every script is a file of this site (none inline), so a strict Content-Security-Policy works.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert scripts
    assert all('src="/' in attributes and not body.strip() for attributes, body in scripts)


def test_api_docs_start_up_script_points_at_the_local_schema(client, manager):
    client.force_login(manager)
    html = client.get("/api/v1/docs/").content.decode()
    script_url = re.search(r'<script src="(/api/v1/docs/\?[^"]*script[^"]*)"', html).group(1)
    response = client.get(script_url.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    body = response.content.decode()
    assert "/api/v1/schema/" in body
    assert "http://" not in body and "https://" not in body
