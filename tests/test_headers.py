"""Every response carries a strict Content-Security-Policy (django-csp, kpitree/settings.py) and a
Permissions-Policy (kpitree/headers.py): every URL of the app, for each role and signed out."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from goals.models import Node

REQUIRED = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "object-src": {"'none'"},
    "base-uri": {"'self'"},
    "form-action": {"'self'"},
    "frame-ancestors": {"'none'"},
}
PERMISSIONS_OFF = ("camera", "microphone", "geolocation", "payment", "usb")


def policy(header: str) -> dict[str, set[str]]:
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = set(sources)
    return directives


def url_names(resolver: URLResolver | None = None, namespace: str = "") -> list[tuple[str, list[str]]]:
    """(name, its arguments' names) of every named URL of the project."""
    out = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            out += url_names(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            out.append((namespace + entry.name, list(entry.pattern.converters)))
    return out


def urls(tree: dict[str, Node]) -> list[str]:
    kpi = tree["appointments"]
    found = []
    for name, arguments in url_names():
        if name.startswith("admin:") and name != "admin:index":
            continue  # one admin page is enough: they share one middleware stack
        if arguments == ["pk"]:
            pk = tree["revenue"].pk if name in ("goals:tree", "dashboards:monthly_report") else kpi.pk
            found.append(reverse(name, kwargs={"pk": pk}))
        elif not arguments:
            found.append(reverse(name))
    return found


@pytest.fixture
def tree(saas_tree):
    return {n.code: n for n in Node.objects.filter(tree_id=saas_tree.tree_id)}


def test_every_url_of_the_app_is_visited(tree):
    visited = urls(tree)
    for path in ("/executive/", "/manager/", "/member/", f"/trees/{tree['revenue'].pk}/report/", "/api/v1/docs/"):
        assert path in visited
    assert len(visited) >= 35


@pytest.mark.parametrize("role", ["executive", "manager", "member", "outsider", None])
def test_every_page_has_a_strict_csp_and_a_permissions_policy(request, tree, role):
    client = Client()
    if role:
        client.force_login(request.getfixturevalue(role))
    for path in urls(tree):
        response = client.get(path)
        assert response.status_code < 500, path
        csp = policy(response.headers.get("Content-Security-Policy", ""))
        for directive, sources in REQUIRED.items():
            assert csp.get(directive) == sources, (path, directive, csp.get(directive))
        # Never a way to run inline or evaluated script, in any directive.
        assert not any({"'unsafe-inline'", "'unsafe-eval'"} & csp.get(d, set()) for d in ("script-src", "default-src"))
        assert all("'unsafe-eval'" not in sources for sources in csp.values()), path
        permissions = response.headers.get("Permissions-Policy", "")
        for feature in PERMISSIONS_OFF:
            assert f"{feature}=()" in permissions, (path, feature)


def test_a_missing_page_has_the_headers_too(manager):
    client = Client()
    client.force_login(manager)
    response = client.get("/nodes/987654/")
    assert response.status_code == 404
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "camera=()" in response.headers["Permissions-Policy"]
