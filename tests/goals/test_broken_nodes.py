"""One bad value must never break a tree (issue 8 §1): a node whose window or formula the app
cannot compute — written before SMART refused it, simulated here with a queryset update — is
reported as an error by the rollup, the rest of the tree is computed, and every page and API
answer of every role still renders."""

from __future__ import annotations

from datetime import date

import orjson
import pytest
from django.test import Client
from django.urls import reverse

from goals import tasks
from goals.models import Node, RollupSeries, RollupState
from tests.dashboards.with_actuals import enter_actuals, freeze_today

FORMULA = {"value_source": "formula", "target_value": 1, "unit": "appointments"}
BAD = {
    "deadline 9999-12-31": ("appointments", {"deadline": date(9999, 12, 31)}),
    "start 0001-01-01": ("appointments", {"start_date": date(1, 1, 1)}),
    "daily over five years": ("appointments", {"frequency": "daily", "start_date": date(2021, 4, 1)}),
    "KGI deadline 9999-12-31": ("revenue", {"deadline": date(9999, 12, 31)}),
    "KGI start 0001-01-01": ("revenue", {"start_date": date(1, 1, 1)}),
    "formula overflows": ("new_business", {**FORMULA, "formula": "appointments * 1e308 * 10"}),
    "formula of 400 digits": ("new_business", {**FORMULA, "formula": "appointments * 1" + "0" * 400}),
}


@pytest.fixture(autouse=True)
def today(monkeypatch):
    freeze_today(monkeypatch)


@pytest.fixture
def nodes(eager_rollups, saas_tree, manager, member, django_capture_on_commit_callbacks) -> dict[str, Node]:
    tree = enter_actuals(saas_tree, manager.membership, django_capture_on_commit_callbacks)
    # The member enters appointments: their actuals page and dashboard show the node.
    Node.objects.filter(pk=tree["appointments"].pk).update(owner=member)
    return tree


def break_node(nodes: dict[str, Node], case: str) -> Node:
    code, change = BAD[case]
    Node.objects.filter(pk=nodes[code].pk).update(**change)
    return nodes[code]


def pages(nodes: dict[str, Node], broken: Node) -> list[str]:
    root = nodes["revenue"]
    return [
        reverse("goals:tree", args=[root.pk]),
        reverse("goals:node", args=[broken.pk]),
        reverse("goals:node", args=[root.pk]),
        reverse("goals:node", args=[nodes["new_business"].pk]),
        reverse("goals:node_targets", args=[broken.pk]),
        reverse("goals:my_actuals"),
        reverse("goals:actuals_grid"),
        reverse("dashboards:home"),
        reverse("dashboards:executive"),
        reverse("dashboards:manager"),
        reverse("dashboards:member"),
        reverse("dashboards:monthly_report", args=[root.pk]),
        reverse("api-node-progress", args=[broken.pk]),
        reverse("api-node-explain", args=[broken.pk]),
        reverse("api-node-progress", args=[root.pk]),
        reverse("api-node-explain", args=[root.pk]),
        reverse("api-node-tree", args=[root.pk]),
        reverse("api-nodes"),
    ]


@pytest.mark.parametrize("case", list(BAD))
def test_the_rollup_reports_the_bad_node_and_computes_the_others(nodes, case):
    broken = break_node(nodes, case)

    tasks.rollup_tree(nodes["revenue"].pk)

    state = RollupState.objects.get(root=nodes["revenue"])
    assert state.stale_since is None and state.failed_at is None
    stored = dict(RollupSeries.objects.values_list("node_id", "series"))
    mine = stored[broken.pk]
    if "formula" in case:
        assert mine["status"][0] == "no_data"
        assert mine["reason"][0] in ("overflow", "formula_error")
    else:
        assert mine["error"]["code"] == "window_unsupported"
    # A sibling of the broken node has its figures.
    assert stored[nodes["new_contracts"].pk]["period"]
    assert "error" not in stored[nodes["new_contracts"].pk]


@pytest.mark.parametrize("case", list(BAD))
@pytest.mark.parametrize("role", ["manager", "executive", "member"])
def test_every_page_renders_for_every_role(request, nodes, case, role):
    broken = break_node(nodes, case)
    tasks.rollup_tree(nodes["revenue"].pk)
    client = Client()
    client.force_login(request.getfixturevalue(role))

    for url in pages(nodes, broken):
        response = client.get(url)
        assert response.status_code < 500, url
        if url.startswith("/api/") and response.status_code == 200:
            body = response.content.decode()
            assert "Infinity" not in body and "NaN" not in body, url
            orjson.loads(response.content)


@pytest.mark.parametrize("case", ["start 0001-01-01", "KGI start 0001-01-01", "deadline 9999-12-31"])
def test_a_bad_window_does_not_blow_up_a_page(manager_api, manager, nodes, case):
    broken = break_node(nodes, case)

    progress = manager_api.get(reverse("api-node-progress", args=[broken.pk]))
    actuals = Client()
    actuals.force_login(manager)

    # It was 8 MB (one row per month since the year 1); now the fiscal year to date.
    assert progress.status_code == 200
    assert len(progress.content) < 50_000
    assert len(actuals.get(reverse("goals:my_actuals")).content) < 200_000
