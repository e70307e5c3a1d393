"""The member's dashboard (dashboards/views.py member_home): my KPIs with progress bars and
sparklines, what I still have to enter, my attainment per month with an overall score, and the
team's scores only where the organisation shares them — read from the stored rollup."""

from __future__ import annotations

import json
from datetime import date

import pytest

from dashboards import selectors as board
from dashboards.pages import member as member_page
from goals.dev.trees import tree_generate
from goals.models import Node, Organisation
from goals.rollup import document, jobs
from goals.rollup.engine import MAX_SCORE
from tests.conftest import signed_in
from tests.dashboards.small_tree import (
    ACTUALS,
    APR,
    MAY,
    MAY_WINDOW,
    TODAY,
    freeze_today,
    saas_tree,
    store_actuals,
    stored,
)

OWNED = {
    "appointments",
    "leads_approached",
    "role_plays",
    "feature_adoption",
    "webinars",
    "reactivation_calls",
    "reactivation_emails",
}


@pytest.fixture(autouse=True)
def today(monkeypatch):
    freeze_today(monkeypatch)


@pytest.fixture
def tree(organisation, manager, executive, member):
    nodes = saas_tree(organisation, manager, executive, member)
    nodes["close_rate"].reporters.add(member)  # the member also enters the manager's close rate
    daily = {"leads_approached": [(date(2026, 5, day), "10", "") for day in (4, 5, 6)]}
    store_actuals(nodes, {**ACTUALS, **daily})
    return nodes


def may(user, **params):
    return signed_in(user).get("/member/", {**MAY_WINDOW, **params})


def cards_of(response) -> dict[str, member_page.KpiCard]:
    return {card.node.code: card for card in response.context["board"].cards}


# --- my KPIs -------------------------------------------------------------------------------------


def test_my_kpis_are_the_ones_i_own_or_enter(member, tree):
    response = may(member)
    assert response.status_code == 200
    cards = cards_of(response)
    assert set(cards) == OWNED | {"close_rate"}
    assert cards["appointments"].owned and not cards["close_rate"].owned
    html = response.content.decode()
    assert "you enter it" in html
    assert "Upsell revenue" not in html  # the manager's, and the member does not enter it


def test_each_kpi_shows_its_stored_figures_for_the_window(member, tree):
    cards = cards_of(may(member))
    appointments = stored(tree["appointments"], MAY)
    figures = cards["appointments"].figures
    assert (figures.actual, figures.target, figures.attainment) == (
        appointments["actual"],
        appointments["target"],
        appointments["attainment"],
    )
    assert figures.status == "off_track"
    assert cards["webinars"].figures.status == "no_data"


def test_a_daily_kpi_is_judged_over_the_whole_month(member, tree):
    # The rollup stores a daily KPI's days; its month is summed over them: 3 × 10 leads.
    figures = cards_of(may(member))["leads_approached"].figures
    assert figures.actual == 30
    assert figures.missing == 28  # the other days of May


def test_progress_bars_show_attainment_in_numbers_and_words(member, tree):
    response = may(member)
    card = cards_of(response)["appointments"]
    html = response.content.decode()
    assert card.bar == pytest.approx(card.figures.attainment)
    assert f'value="{card.bar:.1f}"' in html
    assert f"{card.figures.attainment:.1f}% of target" in html
    assert "✗ Off track" in html
    over = member_page.KpiCard(card.node, card.root, document.NodeFigures(attainment=180.0), [], True)
    assert over.bar == 100.0  # the bar is full; the number says how far beyond


def test_sparklines_draw_the_last_stored_periods(member, tree):
    response = may(member)
    card = cards_of(response)["appointments"]
    assert [(p.period, p.actual) for p in card.recent] == [(APR, 40), (MAY, 10)]
    html = response.content.decode()
    assert 'class="sparkline"' in html
    assert "Actuals and targets of the last 2 periods" in html


# --- what I still have to enter ------------------------------------------------------------------


def test_what_i_still_have_to_enter_links_to_the_form(member, tree):
    response = may(member)
    to_enter = {entry.node.code: entry.periods for entry in response.context["board"].to_enter}
    assert set(to_enter) == {
        "leads_approached",
        "feature_adoption",
        "webinars",
        "reactivation_calls",
        "reactivation_emails",
    }
    assert to_enter["webinars"] == (MAY,)
    assert len(to_enter["leads_approached"]) == 28
    html = response.content.decode()
    assert f'href="/actuals/#kpi-{tree["webinars"].pk}"' in html
    assert "Enter 3 feature webinars a month" in html


def test_an_entered_actual_leaves_the_list(eager_rollups, member, tree):
    client = signed_in(member)
    node = tree["webinars"]
    response = client.post(
        f"/actuals/{node.pk}/",
        {f"kpi{node.pk}-period": "2026-06-01", f"kpi{node.pk}-value": "3", f"kpi{node.pk}-note": ""},
    )
    assert response.status_code == 302
    to_enter = {entry.node.code for entry in client.get("/member/").context["board"].to_enter}
    assert "webinars" not in to_enter
    assert "feature_adoption" in to_enter


def test_nothing_to_enter_is_said_plainly(member, tree):
    response = signed_in(member).get("/member/", {"period": "month", "month": "2026-03"})  # before the tree
    assert response.context["board"].to_enter == []
    assert "Nothing left to enter for this period." in response.content.decode()


def test_a_member_without_kpis_is_told_so(member, saas_tree):
    response = may(member)
    assert response.status_code == 200
    assert response.context["history_figure"] is None
    assert "You do not own any KPI yet." in response.content.decode()


# --- attainment history --------------------------------------------------------------------------


def test_attainment_history_has_the_twelve_months_up_to_the_window(member, tree):
    history = may(member).context["board"].history
    assert [row.period for row in history] == [
        date(2025, 6 + i, 1) if i < 7 else date(2026, i - 6, 1) for i in range(12)
    ]
    assert all(row.score is None for row in history[:10])  # the tree starts in April 2026


def test_each_month_has_every_kpi_and_an_overall_score(member, tree):
    response = may(member)
    cards = response.context["board"].cards
    row = response.context["board"].history[-1]
    assert row.period == MAY
    by_code = {card.node.code: cell for card, cell in zip(cards, row.cells, strict=True)}
    assert by_code["appointments"].attainment == stored(tree["appointments"], MAY)["attainment"]
    known = [min(cell.attainment, MAX_SCORE) for cell in row.cells if cell.attainment is not None]
    assert len(known) == 4  # appointments, leads, role plays and close rate have May actuals
    assert row.score == pytest.approx(sum(known) / len(known))
    html = response.content.decode()
    assert f"{row.score:.1f}%" in html


def test_the_history_chart_has_a_line_per_kpi_and_the_overall_score(member, tree):
    response = may(member)
    figure = response.context["history_figure"]
    assert len(figure["data"]) == len(response.context["board"].cards) + 1
    assert figure["data"][-1]["name"] == "Overall score"
    assert figure["layout"]["title"]["text"] == "My attainment per month"
    assert figure["layout"]["yaxis"]["ticksuffix"] == "%"
    assert "Attainment" in figure["layout"]["yaxis"]["title"]["text"]
    assert len(json.dumps(figure)) < 12000
    assert 'data-figure="fig-history"' in response.content.decode()


@pytest.mark.parametrize(
    ("attainments", "score"),
    [([100.0, 80.0], 90.0), ([400.0, 50.0], (MAX_SCORE + 50.0) / 2), ([None, 70.0], 70.0), ([None], None), ([], None)],
)
def test_the_overall_score_caps_each_kpi_as_the_tree_does(attainments, score):
    assert board.overall_score(attainments) == score


# --- the team, and who sees what -----------------------------------------------------------------


def test_members_do_not_see_the_team_unless_the_organisation_shares_it(member, colleague, tree):
    response = may(member)
    assert response.context["board"].team is None
    assert "Team attainment" not in response.content.decode()


def test_a_shared_team_table_lists_each_member_with_their_score(organisation, member, colleague, tree):
    Node.objects.filter(pk=tree["webinars"].pk).update(owner=colleague)
    Organisation.objects.filter(pk=organisation.pk).update(members_see_team_attainment=True)
    response = may(member)
    team = {row.user.username: row for row in response.context["board"].team}
    assert set(team) == {"worker", "mate"}
    assert team["mate"].kpis == 1 and team["mate"].counts["no_data"] == 1 and team["mate"].score is None
    assert team["worker"].kpis == 7  # six owned and the close rate they enter
    assert team["worker"].score == pytest.approx(response.context["board"].score)
    assert "Team attainment, May 2026" in response.content.decode()


def test_managers_always_see_the_team_on_their_own_kpi_page(manager, member, tree):
    response = may(manager)
    assert response.status_code == 200
    assert {row.user.username for row in response.context["board"].team} == {"boss", "worker"}
    assert "close_rate" in cards_of(response)  # a manager's own KPIs


def test_executives_have_no_member_page(executive, tree):
    assert may(executive).status_code == 403


def test_an_outsider_sees_only_their_own_organisation(outsider, tree, other_tree):
    response = may(outsider)
    assert response.status_code == 200
    codes = {card.node.tree_id for card in response.context["board"].cards}
    assert codes == {other_tree.tree_id}
    assert f"/nodes/{tree['appointments'].pk}/" not in response.content.decode()


def test_anonymous_visitors_log_in_first(client):
    response = client.get("/member/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# --- queries -------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [30, 240])
def test_queries_do_not_grow_with_my_kpis(organisation, member, size, django_assert_max_num_queries):
    generated = tree_generate(organisation=organisation, nodes=size, periods=6, today=TODAY)
    jobs.tree_rollup(root_id=generated.root.pk, as_of=TODAY)
    mine = Node.objects.filter(tree_id=generated.root.tree_id, level__gte=2).order_by("lft")
    Node.objects.filter(pk__in=mine.values("pk")[: size // 5]).update(owner=member)
    Node.objects.filter(pk=mine.values("pk")[:1]).update(frequency="daily")  # the engine's fixed cost
    client = signed_in(member)
    client.get("/member/")  # warm up: session and translations
    # session, user, membership; my reported and my owned nodes; their roots; stored series;
    # node windows; actuals of the window; stale state; the engine for the daily KPI; the
    # header's unread notices.
    with django_assert_max_num_queries(14):
        response = client.get("/member/")
    assert response.status_code == 200
    assert len(response.context["board"].cards) == size // 5
