"""Schemathesis runs every operation of /api/v1/schema/ against the app: no input the schema
allows (or, in its negative phase, breaks) may answer a server error, and every answer must have a
status, a content type and a body the schema documents.

It runs in-process through Django's WSGI handler, in the test's database transaction, as a
manager of a seeded organisation (the shared fixtures plus the SaaS tree and a few actuals). The
budget is small and derandomized so the run is repeatable and takes about half a minute; raise
``MAX_EXAMPLES`` locally to search harder (``-m "not schemathesis"`` leaves it out).
"""

from __future__ import annotations

import json
import secrets
from datetime import date
from decimal import Decimal

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from goals import actuals, services
from goals.models import Membership, Node

pytestmark = pytest.mark.schemathesis

# Per operation and generation mode, in the fuzzing phase; the coverage phase adds its fixed set of
# boundary and negative cases (about 2,100 over the 16 operations).
MAX_EXAMPLES = 15
# The token endpoint belongs to the authentication work (expiring tokens) and takes passwords:
# fuzzing it would lock the test user out through django-axes.
EXCLUDED_PATHS = ("/api/v1/auth/",)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def wsgi_app(manager):
    """Django's WSGI handler, signed in as the manager and kept inside the test's transaction.

    Werkzeug's client (schemathesis' WSGI transport) replaces a Cookie header with its own jar, so
    the session cookie and a CSRF token are put into each request's environ here. Like
    django.test.Client, the handler must not close the connection after each request.
    """
    client = Client()
    client.force_login(manager)
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    csrf = secrets.token_hex(16)  # an unmasked 32-character secret: the cookie and the header agree
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={session}; {django_settings.CSRF_COOKIE_NAME}={csrf}"
    handler = WSGIHandler()

    def signed_in(environ, start_response):
        environ["HTTP_COOKIE"] = cookie
        environ["HTTP_X_CSRFTOKEN"] = csrf
        return handler(environ, start_response)

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield signed_in
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded_tree(manager, saas_tree) -> None:
    """The SaaS tree with a quarter of actuals on its monthly hand-entered KPIs, and an archived
    branch (its figures are a 409, its restore a 200)."""
    nodes = list(Node.objects.filter(tree_id=saas_tree.tree_id).order_by("lft"))
    entries = [
        actuals.Entry(node, date(2026, month, 1), Decimal("10"), "Seeded.")
        for node in nodes
        if node.value_source == "manual" and node.frequency == "monthly" and not actuals.node_errors(node)
        for month in (4, 5, 6)
    ]
    actuals.measurements_upsert_bulk(membership=manager.membership, entries=entries, today=date(2026, 11, 22))
    services.node_archive(node=next(n for n in nodes if n.code == "upsell"), actor=manager)


def _generated_schema() -> dict:
    """The schema /api/v1/schema/ serves, built by the same generator without a request: test
    collection has no database or session to fetch it with (test_served_schema_is_the_one_tested
    checks that the two agree)."""
    return SchemaGenerator().get_schema(request=None, public=True)


schema = schemathesis.openapi.from_dict(_generated_schema()).exclude(path_regex="^(" + "|".join(EXCLUDED_PATHS) + ")")


def _real(value, ids: list[int]):
    number = int(value) if isinstance(value, str) and value.isdigit() else value
    if type(number) is int and number >= 0 and ids and number not in ids:
        return ids[number % len(ids)]
    return value


def _on_seeded_data(case) -> None:
    """Point the generated ids (path, parent, node, owner) at the seeded nodes and users: most
    random ids would only test the 404 (tests/goals/test_api.py does), on a real node the
    operations run their rules. Done on the case, so every phase (coverage, fuzzing) gets it."""
    nodes = list(Node.objects.order_by("pk").values_list("pk", flat=True))
    users = list(Membership.objects.order_by("user_id").values_list("user_id", flat=True))
    if case.path_parameters and "id" in case.path_parameters:
        case.path_parameters["id"] = _real(case.path_parameters["id"], nodes)
    rows = case.body.get("rows") if isinstance(case.body, dict) else None
    for item in [case.body, *rows] if isinstance(rows, list) else [case.body]:
        if isinstance(item, dict):
            for field, ids in (("parent", nodes), ("node", nodes), ("owner", users)):
                if field in item:
                    item[field] = _real(item[field], ids)


def test_served_schema_is_the_one_tested(client, manager):
    client.force_login(manager)
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    assert json.loads(response.content) == json.loads(json.dumps(_generated_schema()))


@pytest.fixture
def api_settings(settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]  # schemathesis' WSGI client
    settings.SECURE_SSL_REDIRECT = False


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_operation(case, api_settings, wsgi_app, seeded_tree):
    _on_seeded_data(case)
    case.call_and_validate(app=wsgi_app, checks=CHECKS)
