"""The executive dashboard (dashboards/views.py executive_home, dashboards/pages/executive.py): per KGI
the gap, the projection, the status map and the KPIs most behind, read from the stored rollup of
the demo tree (seed_demo as of a fixed day); who may see it; a fixed number of queries."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from dashboards.selectors import needs_actuals
from dashboards.windows import window_from_params
from goals.dev.trees import tree_generate
from goals.models import Measurement, Membership, Node, Organisation, Role, RollupSeries
from goals.rollup import jobs, storage

TODAY = date(2026, 11, 22)
FYTD = {"period": "fytd", "month": "2026-11"}
RANKED_KINDS = ("kpi", "sub_kpi")


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)
    cache.clear()  # the stored figures are cached per rollup run; tree ids repeat across tests


@pytest.fixture
def demo(db) -> Node:
    """Demo Co.'s SaaS tree with twelve months of actuals, rolled up as of TODAY."""
    call_command("seed_demo", today=TODAY, stdout=open("/dev/null", "w"))  # noqa: SIM115
    root = Node.objects.get(organisation__name="Demo Co.", level=0)
    jobs.tree_rollup(root_id=root.pk, as_of=TODAY)
    return root


def demo_user(username: str) -> Client:
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def stored_year(node: Node) -> dict:
    """The node's stored fiscal-year-to-date entry (FY2026), read straight from the table."""
    series = RollupSeries.objects.get(node=node).series["year"]
    index = series["period"].index("2026-04-01")
    return {column: values[index] for column, values in series.items()}


def page(client: Client, **params):
    response = client.get("/executive/", params or FYTD)
    assert response.status_code == 200
    return response


# --- the KGI ---------------------------------------------------------------------------------


def test_the_kgi_gap_and_where_it_stands(demo):
    response = page(demo_user("executive"))
    (panel,) = response.context["panels"]
    # The KGI is a stock (annual revenue run-rate): phased from ¥100M to ¥120M over its sixteen
    # months (Dec 2025 … Mar 2027), November is month 12 → ¥115M; seed_demo entered
    # 115M × pace 0.985 × wobble 1.03 for it.
    target = 100_000_000 + 20_000_000 * 12 / 16
    actual = round(target * 0.985 * 1.03)
    assert panel.figures.target == pytest.approx(target)
    assert panel.figures.actual == pytest.approx(actual)
    assert panel.figures.gap == pytest.approx(actual - target)
    assert panel.gap_text == "¥1.7M ahead"
    assert panel.goal == 120_000_000
    assert panel.share == pytest.approx((actual - 100_000_000) / 20_000_000)
    assert panel.share_text == "83%"
    assert panel.to_go_text == "¥3.3M short"
    html = response.content.decode()
    assert "¥1.7M ahead" in html
    assert "Gap to close" in html and "¥20M" in html  # the gap the KGI was set to close
    assert "83% of the way" in html


def test_the_projection_reaches_the_deadline(demo):
    (panel,) = page(demo_user("executive")).context["panels"]
    progress = panel.progress
    names = [trace.get("name") for trace in progress["data"]]
    assert names == ["Target", "Actual", "Projection", "Expected at the deadline"]
    periods = progress["data"][0]["x"]
    assert periods[0] == "2025-12-01" and periods[-1] == "2027-03-01"
    expected = progress["data"][3]
    assert expected["x"] == ["2027-03-01"] and expected["y"][0] == pytest.approx(panel.expected, abs=1)
    # A straight line through twelve months rising from about ¥100M lands between the last actual
    # and twice the rise.
    assert 110_000_000 < panel.expected < 125_000_000
    assert panel.expected_text.startswith("Expected at the deadline: ¥")
    assert progress["layout"]["title"]["text"]
    assert progress["layout"]["yaxis"]["tickprefix"] == "¥"


def test_the_default_period_is_the_fiscal_year_to_date(demo):
    response = demo_user("executive").get("/executive/")
    window = response.context["window"]
    assert (window.kind, window.first, window.last) == ("fytd", date(2026, 4, 1), date(2026, 11, 30))
    assert 'value="fytd" selected' in response.content.decode()


# --- the status map and the counts ------------------------------------------------------------


def test_status_counts_are_those_stored(demo):
    (panel,) = page(demo_user("executive")).context["panels"]
    nodes = Node.objects.filter(tree_id=demo.tree_id)
    stored = Counter(stored_year(node)["status"] for node in nodes)
    assert panel.counts == {status: stored.get(status, 0) for status in ("off_track", "at_risk", "on_track", "no_data")}
    assert sum(panel.counts.values()) == 15
    # The demo's story: upsell revenue far behind its plan, webinars missing a month.
    assert panel.counts["off_track"] >= 2
    counts = panel.counts_figure["data"][0]
    assert counts["x"] == list(panel.counts.values())
    assert counts["y"][0] == "✗ Off track"


def test_the_status_map_boxes_link_to_node_pages_or_drill_in(demo):
    response = page(demo_user("executive"))
    (panel,) = response.context["panels"]
    icicle = panel.icicle["data"][0]
    assert icicle["type"] == "icicle"
    assert len(icicle["ids"]) == 15
    by_code = {n.code: n for n in Node.objects.filter(tree_id=demo.tree_id)}
    links = {box: link for box, (link, _phone_label) in zip(icicle["ids"], icicle["customdata"], strict=True)}
    # A leaf opens its node page; a node with children drills into its subtree, keeping the period.
    assert links[str(by_code["new_contracts"].pk)] == f"/nodes/{by_code['new_contracts'].pk}/"
    assert links[str(demo.pk)] == f"/nodes/{demo.pk}/"
    assert links[str(by_code["upsell"].pk)] == f"/executive/?node={by_code['upsell'].pk}&period=fytd&month=2026-11"
    # Status reads without colour: a symbol in the label and a word in the text.
    upsell_revenue = icicle["ids"].index(str(by_code["upsell_revenue"].pk))
    assert icicle["labels"][upsell_revenue].startswith("✗ ")
    assert icicle["text"][upsell_revenue].startswith("Off track")
    # The text equivalent lists every box with a link to its node page.
    html = response.content.decode()
    for node in by_code.values():
        assert f'href="/nodes/{node.pk}/"' in html


def test_drilling_into_a_success_factor(demo):
    upsell = Node.objects.get(tree_id=demo.tree_id, code="upsell")
    response = page(demo_user("executive"), node=str(upsell.pk), **FYTD)
    (panel,) = response.context["panels"]
    assert panel.focus.pk == upsell.pk
    subtree = {n.pk for n in upsell.get_descendants(include_self=True)}
    assert {int(i) for i in panel.icicle["data"][0]["ids"]} == subtree
    assert panel.icicle["data"][0]["parents"][0] == ""
    assert sum(panel.counts.values()) == len(subtree)
    html = response.content.decode()
    assert "Whole tree" in html and f'href="/nodes/{upsell.pk}/"' in html
    # The period stays with the drill-down: the selector keeps the node.
    assert f'name="node" value="{upsell.pk}"' in html


# --- the KPIs most behind ----------------------------------------------------------------------


def test_kpis_most_behind_are_ranked_by_shortfall_times_weight(demo):
    (panel,) = page(demo_user("executive")).context["panels"]
    expected = []
    for node in Node.objects.filter(tree_id=demo.tree_id, kind__in=RANKED_KINDS):
        year = stored_year(node)
        if year["gap"] is not None and year["gap"] < 0:
            expected.append((-year["gap"] / abs(year["target"]) * float(node.weight), node.code))
    expected.sort(reverse=True)
    ranked = [row.node.code for row in panel.behind]
    assert ranked == [code for _, code in expected]
    assert ranked[0] == "upsell_revenue"  # ¥600k a month planned, about 70% of it achieved
    assert "new_contracts" in ranked and "appointments" not in ranked  # ahead of plan


def test_each_kpi_behind_says_who_owns_it_and_why(demo):
    response = page(demo_user("executive"))
    (panel,) = response.context["panels"]
    first = panel.behind[0]
    year = stored_year(Node.objects.get(pk=first.node.pk))
    assert first.node.owner_name == "Ken Tanaka"
    assert first.figures.status == "off_track"
    assert first.gap_text == "¥1.1M short"
    assert first.shortfall == pytest.approx(-year["gap"] / year["target"])
    assert "against a target to date of" in first.explanation
    assert "off track below 90%" in first.explanation  # the stored reason code, explained
    html = response.content.decode()
    rows = re.findall(r'<td class="cell-name"><a href="/nodes/(\d+)/">', html.split('class="data behind"')[1])
    assert [int(pk) for pk in rows] == [row.node.pk for row in panel.behind]
    assert "Ranked by shortfall × weight" in html


# --- freshness ----------------------------------------------------------------------------------


def test_freshness_last_actual_and_missing_actuals(demo):
    (panel,) = page(demo_user("executive")).context["panels"]
    last = Measurement.objects.filter(node__tree_id=demo.tree_id).order_by("-entered_at").first()
    assert panel.freshness.last_actual_at == last.entered_at
    assert panel.freshness.stale is False and panel.freshness.computed_at is not None
    assert panel.freshness.missing == []  # seed_demo entered everything up to TODAY

    Measurement.objects.filter(node__code="close_rate", period_start=date(2026, 11, 1)).delete()
    (panel,) = page(demo_user("executive")).context["panels"]
    assert [(m.node.code, m.period) for m in panel.freshness.missing] == [("close_rate", date(2026, 11, 1))]


@pytest.mark.parametrize(
    "params",
    [
        FYTD,
        {"period": "quarter", "month": "2026-10"},
        {"period": "month", "month": "2026-10"},
        {"period": "custom", "from": "2026-05", "to": "2026-09"},
    ],
)
def test_actuals_missing_counts_the_window_shown_as_the_node_pages_and_the_api_do(demo, params):
    """§2.6 of issue 9: "Actuals missing this period" counted today's period whatever the window
    (0 on the fiscal year to date with months missing). It is now the missing inputs over the
    window shown, read from the stored figures: what each node page and the progress API say."""
    gaps = [("webinars", date(2026, 5, 1)), ("close_rate", date(2026, 10, 1)), ("close_rate", date(2026, 8, 1))]
    for code, period in gaps:
        Measurement.objects.filter(node__tree_id=demo.tree_id, node__code=code, period_start=period).delete()
    jobs.tree_rollup(root_id=demo.pk, as_of=TODAY)
    executive = demo_user("executive")
    response = page(executive, **params)
    (panel,) = response.context["panels"]
    window = response.context["window"]

    api = APIClient()
    api.force_authenticate(Membership.objects.get(role=Role.EXECUTIVE, organisation=demo.organisation).user)
    said = {}  # what the progress API says of each hand-entered node over the window
    for node in Node.objects.filter(tree_id=demo.tree_id, is_archived=False).order_by("lft"):
        if needs_actuals(node):
            answer = api.get(f"/api/v1/nodes/{node.pk}/progress/", {"from": window.first, "to": window.last})
            if missing := answer.json()["to_date"]["missing_inputs"]:
                said[node.code] = missing
    shown = re.search(r'<dd class="missing-actuals">(\d+)', response.content.decode())
    assert int(shown.group(1)) == sum(said.values()) > 0
    assert panel.missing == sum(said.values())
    assert [node.code for node in panel.missing_nodes] == list(said)
    assert {code for code, period in gaps if window.first <= period <= window.last} <= set(said)
    assert f"Inputs missing, {window.label}" in response.content.decode()
    for code in said:  # and each node page says the same for the same window
        node = Node.objects.get(tree_id=demo.tree_id, code=code)
        assert executive.get(f"/nodes/{node.pk}/", params).context["page"].figures.missing == said[code]


def _missing_said(text: str) -> int:
    """The count in "… · 9 inputs missing" (0 when the text does not mention any)."""
    found = re.search(r"(\d+) inputs? missing", text)
    return int(found.group(1)) if found else 0


def test_a_kpi_missing_data_says_how_many_on_the_ranked_list_the_status_map_and_the_report(demo):
    """§1.5 of issue 9: a KPI with no data for months read "Off track 37%" with no mention of it.
    The ranked list's "why", the status map's boxes (label and hover text), the monthly report
    and the progress API now give the same stored count of missing inputs for the same window."""
    from django.db.models import F

    leads = Node.objects.get(tree_id=demo.tree_id, code="leads_approached")  # daily
    october = Measurement.objects.filter(node=leads, period_start__month=10, period_start__year=2026)
    october.filter(period_start__day__lte=9).delete()  # nine days without an actual
    october.update(value=F("value") / 2)  # and far behind on the others, whatever the rule
    jobs.tree_rollup(root_id=demo.pk, as_of=TODAY)
    params = {"period": "month", "month": "2026-10"}
    executive = demo_user("executive")
    (panel,) = page(executive, **params).context["panels"]

    api = APIClient()
    api.force_authenticate(Membership.objects.get(role=Role.EXECUTIVE, organisation=demo.organisation).user)
    answer = api.get(f"/api/v1/nodes/{leads.pk}/progress/", {"from": "2026-10-01", "to": "2026-10-31"})
    from_api = answer.json()["to_date"]["missing_inputs"]
    assert from_api == 9

    (ranked,) = [row for row in panel.behind if row.node.pk == leads.pk]
    assert _missing_said(ranked.explanation) == from_api
    icicle = panel.icicle["data"][0]
    text = dict(zip(icicle["ids"], icicle["text"], strict=True))
    assert _missing_said(text[str(leads.pk)]) == from_api
    assert "%{text}" in icicle["hovertemplate"]  # the hover says it too
    assert _missing_said(str(panel.outline).split(f"/nodes/{leads.pk}/")[1].split("</li>")[0]) == from_api

    report = executive.get(f"/trees/{demo.pk}/report/", {"month": "2026-10"}).context["report"]
    (item,) = [item for item in report.attention if item.row.node.pk == leads.pk]
    assert _missing_said(item.why) == from_api == item.row.figures.missing


def test_a_pending_rollup_is_flagged(demo):
    from goals.models import RollupState

    RollupState.objects.filter(root=demo).update(stale_since=timezone.now())
    html = page(demo_user("executive")).content.decode()
    assert "Recomputing: the figures may lag the latest actuals" in html


# --- the period selector -------------------------------------------------------------------------


def test_a_custom_range_computed_now_agrees_with_the_stored_year_to_date(demo):
    executive = demo_user("executive")
    (stored,) = page(executive).context["panels"]
    (computed,) = page(executive, period="custom", **{"from": "2026-04", "to": "2026-11"}).context["panels"]
    assert computed.figures.actual == pytest.approx(stored.figures.actual)
    assert computed.figures.target == pytest.approx(stored.figures.target)
    assert computed.counts == stored.counts
    assert [row.node.code for row in computed.behind] == [row.node.code for row in stored.behind]


def test_a_month_and_a_quarter(demo):
    executive = demo_user("executive")
    (month,) = page(executive, period="month", month="2026-10").context["panels"]
    series = RollupSeries.objects.get(node=demo).series
    october = series["period"].index("2026-10-01")
    assert month.figures.actual == series["actual"][october]
    (quarter,) = page(executive, period="quarter", month="2026-11").context["panels"]
    q3 = series["quarter"]["period"].index("2026-10-01")
    assert quarter.figures.actual == series["quarter"]["actual"][q3]


def test_bad_period_input_falls_back_and_says_why(demo):
    response = page(demo_user("executive"), period="custom", **{"from": "2026-09", "to": "2026-04"})
    assert response.context["window"].kind == "fytd"
    assert "The range must end in or after the month it starts." in response.content.decode()


def test_links_keep_the_period(demo):
    executive = demo_user("executive")
    (panel,) = page(executive, period="quarter", month="2026-08").context["panels"]
    drills = [url for url, _label in panel.icicle["data"][0]["customdata"] if url.startswith("/executive/")]
    assert drills and all(url.endswith("&period=quarter&month=2026-07") for url in drills)
    upsell = Node.objects.get(tree_id=demo.tree_id, code="upsell")
    html = page(executive, node=str(upsell.pk), period="quarter", month="2026-08").content.decode()
    assert 'href="?period=quarter&amp;month=2026-07">Whole tree</a>' in html


# --- who may see it --------------------------------------------------------------------------------


def test_managers_may_open_it_members_may_not(demo):
    assert page(demo_user("manager")).status_code == 200
    assert demo_user("member").get("/executive/").status_code == 403


def test_other_organisations_see_only_their_own(demo):
    html = page(demo_user("outsider")).content.decode()
    assert "Double web-shop sales" in html
    assert "SaaS annual revenue" not in html
    assert demo_user("outsider").get("/executive/", {"node": demo.pk}).status_code == 404


def test_a_bad_or_archived_node_is_not_found(demo):
    executive = demo_user("executive")
    assert executive.get("/executive/", {"node": "x"}).status_code == 404
    leaf = Node.objects.get(tree_id=demo.tree_id, code="webinars")
    Node.objects.filter(pk=leaf.pk).update(is_archived=True)
    assert executive.get("/executive/", {"node": leaf.pk}).status_code == 404


def test_anonymous_visitors_log_in_first(client):
    response = client.get("/executive/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# --- a fixed number of queries, light pages -----------------------------------------------------


@pytest.fixture
def synthetic(db):
    def build(nodes: int) -> Client:
        organisation = Organisation.objects.create(name=f"Synthetic {nodes}")
        tree = tree_generate(organisation=organisation, nodes=nodes, periods=12, today=TODAY)
        jobs.tree_rollup(root_id=tree.root.pk, as_of=TODAY)
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.create_user(f"chief{nodes}")
        Membership.objects.create(user=user, organisation=organisation, role=Role.EXECUTIVE)
        client = Client()
        client.force_login(user)
        client.get("/executive/")  # warm up: session and translations
        return client

    return build


QUERIES = (
    11  # session, user, membership, KGIs, nodes, figures, KGI series, states, last actuals, missing, unread notices
)


@pytest.mark.parametrize("nodes", [60, 600])
def test_queries_do_not_grow_with_the_tree(synthetic, nodes, django_assert_max_num_queries):
    client = synthetic(nodes)
    with django_assert_max_num_queries(QUERIES):
        response = client.get("/executive/", FYTD)
    (panel,) = response.context["panels"]
    assert sum(panel.counts.values()) == nodes


def test_a_large_tree_sends_little_figure_data(synthetic):
    response = synthetic(600).get("/executive/", FYTD)
    html = response.content.decode()
    figures = re.findall(r'<script id="([^"]+)" type="application/json">(.*?)</script>', html, re.S)
    assert {name for name, _ in figures} == set(re.findall(r'data-figure="([^"]+)"', html))
    assert sum(len(data) for _, data in figures) < 150_000
    for _, data in figures:
        assert json.loads(data)["layout"]["title"]["text"]
    (panel,) = response.context["panels"]
    # The map shows the levels that fit; the text says how many nodes are left to drill into.
    assert len(panel.boxes) < 600 and "click a box to see deeper levels" in html


def test_window_from_the_view_matches_the_parser(demo):
    response = page(demo_user("executive"))
    window, _ = window_from_params(FYTD, today=TODAY, fiscal_start_month=4)
    assert response.context["window"] == window


def test_stored_figures_are_read_not_recomputed(demo, monkeypatch):
    """The stored windows never start the engine; a custom range does (the one exception), and
    so does a month of a daily node (its stored periods are days)."""

    engine = storage.tree_engine
    runs = []

    def counted(*args, **kwargs):
        runs.append(args)
        return engine(*args, **kwargs)

    monkeypatch.setattr(storage, "tree_engine", counted)
    executive = demo_user("executive")
    for params in (FYTD, {"period": "quarter", "month": "2026-11"}):
        page(executive, **params)
    assert runs == []
    page(executive, period="month", month="2026-11")
    page(executive, period="custom", **{"from": "2026-05", "to": "2026-06"})
    assert len(runs) == 2


def test_figures_are_cached_until_the_next_rollup_run(demo, django_assert_max_num_queries):
    executive = demo_user("executive")
    (before,) = page(executive).context["panels"]
    # The stored rows change only in a rollup run, which also moves RollupState.computed_at:
    # a write behind its back is not seen, and the page needs one query less.
    series = RollupSeries.objects.get(node=demo)
    year = series.series["year"]
    year["actual"][year["period"].index("2026-04-01")] = 1.0
    RollupSeries.objects.filter(pk=series.pk).update(series=series.series)
    with django_assert_max_num_queries(QUERIES - 1):
        (cached,) = page(executive).context["panels"]
    assert cached.figures.actual == before.figures.actual
    Measurement.objects.filter(node=demo, period_start=date(2026, 11, 1)).update(value=118_000_000)
    jobs.tree_rollup(root_id=demo.pk, as_of=TODAY)
    (after,) = page(executive).context["panels"]
    assert after.figures.actual == 118_000_000


def test_the_page_in_japanese(demo):
    client = demo_user("executive")
    client.cookies["django_language"] = "ja"
    response = page(client)
    assert response.context["LANGUAGE_CODE"] == "ja"
    (panel,) = response.context["panels"]
    assert "万円" in panel.gap_text  # ¥1.7M in the Japanese way
    assert "2,000万円" in response.content.decode()  # the gap to close, ¥20M
