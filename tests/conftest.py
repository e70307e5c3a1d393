"""Shared fixtures: one organisation with a user per role, plus an outsider from another one."""

from __future__ import annotations

import os
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from goals import services
from goals.library import SAAS_REVENUE_TREE
from goals.models import Membership, Organisation, Role

ON_CI = os.environ.get("CI", "").lower() == "true"
FY_START, FY_END = date(2026, 4, 1), date(2027, 3, 31)


def require(condition: bool, reason: str) -> None:
    """Skip when a dependency (PostgreSQL, Redis, Chromium) is missing — but fail on CI."""
    if condition:
        return
    if ON_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def fast_password_hashing(request, settings):
    """Argon2 costs a fifth of a second per user; tests use MD5 unless marked ``argon2``."""
    if request.node.get_closest_marker("argon2") is None:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def eager_rollups(monkeypatch):
    """Run rollup tasks in-process right after the commit, as the embedded default does — also
    in the CI pass where REDIS_URL is set and no worker is running."""
    from kpitree.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)


def _user(username: str, organisation: Organisation, role: str):
    user = get_user_model().objects.create_user(
        username=username, password="pw-" + username, first_name=username.title()
    )
    Membership.objects.create(user=user, organisation=organisation, role=role)
    return user


@pytest.fixture
def organisation(db) -> Organisation:
    return Organisation.objects.create(name="Acme", fiscal_year_start_month=4)


@pytest.fixture
def other_organisation(db) -> Organisation:
    return Organisation.objects.create(name="Other", fiscal_year_start_month=4)


@pytest.fixture
def manager(organisation):
    return _user("boss", organisation, Role.MANAGER)


@pytest.fixture
def executive(organisation):
    return _user("chief", organisation, Role.EXECUTIVE)


@pytest.fixture
def member(organisation):
    return _user("worker", organisation, Role.MEMBER)


@pytest.fixture
def colleague(organisation):
    """A second team member, to check what one member may see of another's KPIs."""
    return _user("mate", organisation, Role.MEMBER)


@pytest.fixture
def outsider(other_organisation):
    return _user("stranger", other_organisation, Role.MANAGER)


@pytest.fixture
def saas_tree(organisation, manager):
    """The seed articles' SaaS-revenue tree (15 nodes), owned by the manager."""
    return services.tree_create_from_template(
        organisation=organisation,
        actor=manager,
        template=SAAS_REVENUE_TREE,
        start_date=FY_START,
        deadline=FY_END,
    )


@pytest.fixture
def other_tree(other_organisation, outsider):
    return services.tree_create_from_template(
        organisation=other_organisation,
        actor=outsider,
        template=SAAS_REVENUE_TREE,
        start_date=FY_START,
        deadline=FY_END,
    )


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def manager_api(manager) -> APIClient:
    return _api(manager)


@pytest.fixture
def member_api(member) -> APIClient:
    return _api(member)


@pytest.fixture
def executive_api(executive) -> APIClient:
    return _api(executive)


@pytest.fixture
def outsider_api(outsider) -> APIClient:
    return _api(outsider)


def signed_in(user) -> Client:
    """A test client with ``user`` logged in (no login form: tests/test_accounts.py goes through it)."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def manager_client(manager) -> Client:
    return signed_in(manager)
