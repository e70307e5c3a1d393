"""The manager's dashboard (dashboards/views.py manager_home): the status of every node, missing
actuals by owner, off-track KPIs without a note, leading and lagging indicators charted together,
open SMART findings — read from the stored rollup, for managers (executives read only)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.db.models import F

from dashboards import selectors as board
from dashboards.pages import manager as manager_page
from dashboards.windows import month_window
from goals import services
from goals.dev.trees import tree_generate
from goals.library import SAAS_REVENUE_TREE
from goals.models import Measurement, Membership, Node
from goals.rollup import document, jobs
from tests.conftest import signed_in
from tests.dashboards.small_tree import (
    MAY,
    MAY_WINDOW,
    TODAY,
    freeze_today,
    saas_tree,
    store_actuals,
    stored,
)


@pytest.fixture(autouse=True)
def today(monkeypatch):
    freeze_today(monkeypatch)


@pytest.fixture
def tree(organisation, manager, executive, member):
    nodes = saas_tree(organisation, manager, executive, member)
    store_actuals(nodes)
    return nodes


def may(user, **params):
    return signed_in(user).get("/manager/", {**MAY_WINDOW, **params})


# --- the status of every node --------------------------------------------------------------------


def test_every_node_has_its_stored_figures_for_the_window(manager, tree):
    response = may(manager)
    assert response.status_code == 200
    (status,) = response.context["board"].trees
    rows = {node.code: figures for node, figures in status.rows}
    assert len(rows) == 15
    appointments = stored(tree["appointments"], MAY)
    assert rows["appointments"].actual == appointments["actual"] == 10
    assert rows["appointments"].attainment == appointments["attainment"]
    assert rows["appointments"].status == "off_track"
    assert rows["new_contracts"].actual == 10
    assert rows["webinars"].status == "no_data"
    html = response.content.decode()
    # Unrounded in storage, rounded on the page; the status in a symbol and a word.
    assert f"{appointments['attainment']:.1f}%" in html
    assert "✗ Off track" in html


def test_status_counts_add_up_to_the_nodes_of_the_tree(manager, tree):
    response = may(manager)
    (status,) = response.context["board"].trees
    expected = {"on_track": 0, "at_risk": 0, "off_track": 0, "no_data": 0}
    for _node, figures in status.rows:
        expected[figures.status] += 1
    assert status.counts == expected
    assert sum(status.counts.values()) == 15
    assert status.counts["off_track"] >= 2  # appointments and upsell revenue at least
    assert response.context["counts"] == expected
    figure = response.context["counts_figure"]
    assert figure["layout"]["title"]["text"].startswith("Nodes by status")
    assert list(figure["data"][0]["x"]) == [expected[s] for s in ("off_track", "at_risk", "on_track", "no_data")]


def test_the_figures_come_from_the_stored_rollup_not_a_new_computation(manager, tree):
    # An actual changed behind the rollup's back: the page keeps showing what was stored.
    Measurement.objects.filter(node=tree["appointments"], period_start=MAY).update(value=99)
    rows = {node.code: figures for node, figures in may(manager).context["board"].trees[0].rows}
    assert rows["appointments"].actual == 10


def test_the_period_selector_is_kept_in_the_url(manager, tree):
    response = signed_in(manager).get("/manager/", {"period": "quarter", "month": "2026-05", "trees": "all"})
    window = response.context["window"]
    assert (window.kind, window.first, window.last) == ("quarter", date(2026, 4, 1), date(2026, 6, 30))
    html = response.content.decode()
    assert 'name="trees" value="all"' in html  # the period form keeps the tree choice
    assert 'name="month" value="2026-04"' in html  # the tree form keeps the period


def test_a_bad_period_falls_back_to_this_month_and_says_why(manager, tree):
    response = signed_in(manager).get("/manager/", {"period": "month", "month": "May"})
    assert response.status_code == 200
    assert response.context["window"].first == TODAY.replace(day=1)
    assert response.context["window_errors"]


# --- missing actuals by owner --------------------------------------------------------------------


def test_missing_actuals_are_grouped_by_owner_with_their_periods(manager, executive, member, tree):
    groups = may(manager).context["board"].missing
    by_owner = {g.owner.username if g.owner else None: g for g in groups}
    assert set(by_owner) == {"worker", "chief", "boss"}
    assert groups[0].owner == member  # who has most to enter comes first
    worker = {entry.node.code: entry.periods for entry in by_owner["worker"].entries}
    assert set(worker) == {
        "leads_approached",
        "feature_adoption",
        "webinars",
        "reactivation_calls",
        "reactivation_emails",
    }
    assert worker["webinars"] == (MAY,)
    assert len(worker["leads_approached"]) == 31  # a daily KPI: every day of May
    assert by_owner["worker"].count == 35
    assert {e.node.code for e in by_owner["chief"].entries} == {"revenue"}
    assert {e.node.code for e in by_owner["boss"].entries} == {"repeat_rate"}


def test_missing_actuals_of_this_month_count_only_the_days_so_far(manager, tree):
    # Today is 20 June: a monthly KPI owes June, a daily one the twenty days so far.
    groups = signed_in(manager).get("/manager/").context["board"].missing
    entries = {e.node.code: e.periods for g in groups for e in g.entries}
    assert entries["appointments"] == (date(2026, 6, 1),)
    assert len(entries["leads_approached"]) == 20


def test_the_page_names_who_still_has_to_enter_what(manager, tree):
    html = may(manager).content.decode()
    assert "Actuals still missing, May 2026" in html
    assert "Worker" in html and "35 actuals" in html
    assert "3 feature webinars a month" in html
    assert "and 28 more" in html  # 31 days of leads: three named, the rest counted


def test_a_node_without_an_owner_is_listed_as_nobodys(manager, tree):
    Node.objects.filter(pk=tree["repeat_rate"].pk).update(owner=None)
    groups = may(manager).context["board"].missing
    assert groups[-1].owner is None
    assert [e.node.code for e in groups[-1].entries] == ["repeat_rate"]
    assert "Nobody (set an owner)" in may(manager).content.decode()


# --- off track without a note --------------------------------------------------------------------


def test_off_track_kpis_without_a_note_are_listed_and_those_with_one_are_not(manager, tree):
    unexplained = may(manager).context["board"].unexplained
    codes = [item.node.code for item in unexplained]
    assert "appointments" in codes
    assert "upsell_revenue" not in codes  # its May actual says why
    assert all(item.node.kind != "ksf" for item in unexplained)
    assert all(item.figures.status == "off_track" for item in unexplained)


def test_a_note_added_later_takes_the_kpi_off_the_list(manager, tree):
    Measurement.objects.filter(node=tree["appointments"], period_start=MAY).update(note="Two reps were ill.")
    codes = [item.node.code for item in may(manager).context["board"].unexplained]
    assert "appointments" not in codes


def test_a_note_below_a_computed_node_explains_it(tree):
    Node.objects.filter(pk=tree["close_rate"].pk).update(value_source="average")  # from its sub-KPI
    nodes = list(Node.objects.filter(tree_id=tree["revenue"].tree_id).order_by("lft"))
    off = document.NodeFigures(status="off_track", attainment=50.0)
    figures = {n.pk: off for n in nodes}
    unexplained = {u.node.code for u in board.off_track_without_note(nodes, figures, noted={tree["role_plays"].pk})}
    assert "close_rate" not in unexplained  # computed from role plays, whose actual has a note
    assert "role_plays" not in unexplained
    # A hand-entered number needs a note of its own, whatever is noted below it.
    assert {"appointments", "new_contracts", "revenue"} <= unexplained
    assert "new_business" not in unexplained  # a KSF is explained by its KPIs


def test_noted_actuals_cover_the_periods_that_overlap_the_window(tree, organisation):
    nodes = list(Node.objects.filter(tree_id=tree["revenue"].tree_id).order_by("lft"))
    window = month_window(MAY, fiscal_start_month=4)
    assert board.noted_actuals(nodes, window, fiscal_start_month=4) == {tree["upsell_revenue"].pk}
    june = month_window(date(2026, 6, 1), fiscal_start_month=4)
    assert board.noted_actuals(nodes, june, fiscal_start_month=4) == set()


# --- leading and lagging indicators --------------------------------------------------------------


def test_each_leading_kpi_is_paired_with_the_result_it_drives(tree):
    nodes = list(Node.objects.filter(tree_id=tree["revenue"].tree_id).order_by("lft"))
    pairs = {(p.driver.code, p.result.code) for p in board.indicator_pairs(nodes)}
    assert pairs == {
        ("appointments", "new_contracts"),  # a lagging sibling counted the same way
        ("role_plays", "close_rate"),  # the parent it drives
        ("feature_adoption", "upsell_revenue"),
        ("webinars", "feature_adoption"),
        ("reactivation_calls", "repeat_rate"),
        ("reactivation_emails", "reactivation_calls"),
    }  # leads approached is daily and appointments monthly: not charted together


def test_pair_charts_put_the_result_furthest_behind_first(manager, tree):
    response = may(manager)
    pairs = response.context["board"].pairs
    assert response.context["board"].pair_count == 6
    first = pairs[0]
    assert first.pair.result.code in ("upsell_revenue", "new_contracts", "close_rate")
    figures = {node.code: f for node, f in response.context["board"].trees[0].rows}
    ranks = [board._STATUS_RANK[figures[p.pair.result.code].status] for p in pairs]
    assert ranks == sorted(ranks)


def test_the_pair_chart_has_both_series_on_two_axes_with_units(manager, tree):
    response = may(manager)
    item = next(p for p in response.context["pairs"] if p["pair"].driver.code == "appointments")
    figure = item["figure"]
    bars, line = figure["data"]
    assert bars["type"] == "bar" and line["type"] == "scatter"
    assert line["yaxis"] == "y2"
    # Twelve months up to the end of May; the tree starts in April.
    assert bars["x"][-2:] == ("2026-04-01", "2026-05-01") or list(bars["x"][-2:]) == ["2026-04-01", "2026-05-01"]
    assert list(bars["y"][-2:]) == [40, 10]
    assert list(line["y"][-2:]) == [6, 10]
    layout = figure["layout"]
    assert "appointments" in layout["yaxis"]["title"]["text"]
    assert "contracts" in layout["yaxis2"]["title"]["text"]
    assert layout["title"]["text"]
    assert "Off track" in " ".join(bars["text"])  # status in words, not colour alone
    assert len(json.dumps(figure)) < 6000
    html = response.content.decode()
    assert f'data-figure="{item["id"]}"' in html and f'id="{item["id"]}"' in html
    assert "As a table" in html


# --- who sees what -------------------------------------------------------------------------------


def test_the_manager_sees_the_links_that_change_things(manager, tree):
    html = may(manager).content.decode()
    assert 'href="/settings/"' in html
    assert 'href="/actuals/"' in html
    assert "Start a new tree" in html


def test_an_executive_reads_the_manager_view_without_edit_links(executive, tree):
    response = may(executive)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Manager dashboard (read only)" in html
    assert 'href="/settings/"' not in html
    assert 'href="/actuals/"' not in html
    assert "Start a new tree" not in html
    assert "Actuals still missing" in html


def test_team_members_do_not_open_the_manager_view(member, tree):
    assert may(member).status_code == 403


def test_anonymous_visitors_log_in_first(client, tree):
    response = client.get("/manager/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_outsider_sees_only_their_own_organisation(outsider, tree, other_tree):
    response = may(outsider)
    assert response.status_code == 200
    html = response.content.decode()
    assert f"/nodes/{tree['appointments'].pk}/" not in html
    assert [t.root for t in response.context["board"].trees] == [other_tree]


def test_another_organisations_tree_is_404(outsider, tree, other_tree):
    assert may(outsider, trees=tree["revenue"].pk).status_code == 404
    assert may(outsider, trees="nonsense").status_code == 404
    assert may(outsider, trees=other_tree.pk).status_code == 200


def test_the_managers_own_trees_by_default_and_all_on_request(organisation, manager, executive, member, tree):
    theirs = services.tree_create_from_template(
        organisation=organisation,
        actor=manager,
        template=SAAS_REVENUE_TREE,
        start_date=date(2026, 4, 1),
        deadline=date(2027, 3, 31),
        owners={"executive": executive, "manager": executive, "member": executive},
    )
    roots = [t.root for t in may(manager).context["board"].trees]
    assert roots == [tree["revenue"]]  # the manager owns nodes only in the first tree
    roots = [t.root for t in may(manager, trees="all").context["board"].trees]
    assert roots == [tree["revenue"], theirs]
    roots = [t.root for t in may(manager, trees=theirs.pk).context["board"].trees]
    assert roots == [theirs]
    # An executive owns nodes in both; they see all trees, theirs first.
    assert len(may(executive).context["board"].trees) == 2


# --- queries -------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [30, 240])
def test_queries_do_not_grow_with_the_tree(organisation, manager, size, django_assert_max_num_queries):
    generated = tree_generate(organisation=organisation, nodes=size, periods=6, today=TODAY)
    leaves = Node.objects.filter(tree_id=generated.root.tree_id, rght=F("lft") + 1, value_source="manual")
    # A daily KPI: its month is not stored, so the engine is loaded for it (a fixed cost).
    Node.objects.filter(pk=leaves.order_by("lft").values("pk")[:1]).update(frequency="daily")
    jobs.tree_rollup(root_id=generated.root.pk, as_of=TODAY)
    Node.objects.filter(tree_id=generated.root.tree_id, level__gte=2).update(owner=manager)
    client = signed_in(manager)
    client.get("/manager/")  # warm up: session and translations
    # session, user, membership; the tree chosen; the nodes and their SMART history; stored
    # series; actuals of the window and their notes; stale state; the engine for the daily
    # KPI: its nodes, actuals and target overrides; the plan checks of the computed nodes: their
    # target overrides and the organisation's tolerance; the header's unread notices.
    with django_assert_max_num_queries(16):
        response = client.get("/manager/", {"trees": generated.root.pk})
    assert response.status_code == 200
    assert len(response.context["board"].trees[0].rows) == generated.nodes


def test_an_organisation_with_no_trees_gets_an_empty_page(manager):
    response = signed_in(manager).get("/manager/")
    assert response.status_code == 200
    assert "No KPI trees yet." in response.content.decode()


def test_members_of_the_organisation_only(django_user_model, tree):
    drifter = django_user_model.objects.create_user("drifter", password="pw")
    assert not Membership.objects.filter(user=drifter).exists()
    assert signed_in(drifter).get("/manager/").status_code == 403


def test_a_large_tree_lists_the_nodes_not_on_track(tree):
    node = tree["appointments"]
    rows = [(node, document.NodeFigures(status="on_track"))] * 240 + [
        (node, document.NodeFigures(status="at_risk"))
    ] * 10
    status = manager_page.TreeStatus(tree["revenue"], rows, {})
    assert [f.status for _n, f in status.listed] == ["at_risk"] * 10
    assert status.unlisted == 240
    small = manager_page.TreeStatus(tree["revenue"], rows[:200], {})
    assert small.listed == rows[:200] and small.unlisted == 0


@pytest.mark.parametrize(
    ("kind", "month", "frequency", "expected"),
    [
        ("month", date(2026, 5, 1), "monthly", (date(2025, 6, 1), date(2026, 5, 31))),
        ("fytd", date(2026, 11, 1), "monthly", (date(2025, 12, 1), date(2026, 11, 30))),
        ("month", date(2026, 5, 1), "daily", (date(2026, 5, 1), date(2026, 5, 31))),
    ],
)
def test_charts_over_time_show_a_year_up_to_the_window(kind, month, frequency, expected):
    from dashboards.windows import fytd_window

    window = (month_window if kind == "month" else fytd_window)(month, fiscal_start_month=4)
    assert board.chart_range(window, frequency=frequency) == expected


def test_due_periods_are_those_started_by_today_inside_the_nodes_span(tree):
    window = month_window(date(2026, 6, 1), fiscal_start_month=4)
    monthly, daily = tree["appointments"], tree["leads_approached"]
    span = (date(2026, 4, 1), date(2027, 3, 31))
    assert board.due_periods(monthly, window=window, today=TODAY, fiscal_start_month=4, span=span) == [date(2026, 6, 1)]
    assert len(board.due_periods(daily, window=window, today=TODAY, fiscal_start_month=4, span=span)) == 20
    late = (date(2026, 6, 15), date(2027, 3, 31))  # starts mid-June: its first day is due
    assert board.due_periods(daily, window=window, today=TODAY, fiscal_start_month=4, span=late)[0] == date(2026, 6, 15)
    over = (date(2026, 4, 1), date(2026, 5, 31))  # ended in May: nothing due in June
    assert board.due_periods(monthly, window=window, today=TODAY, fiscal_start_month=4, span=over) == []


def test_a_node_without_a_number_shows_its_score_not_two_dashes(manager, tree):
    html = may(manager).content.decode()
    start = html.index(f'data-node="{tree["new_business"].pk}"')
    row = html[start : html.index("</tr>", start)]
    # The KSF has no actual or target of its own: its cells say where its attainment comes from.
    assert '<td colspan="2" class="score-of-children">Weighted score of its children</td>' in row
    assert "—" not in row.split("score-of-children")[0]
    assert row.index("score-of-children") < row.index("%</td>")
