"""The monthly report of a tree (dashboards/views.py monthly_report, dashboards/pages/monthly.py)."""

from __future__ import annotations

from datetime import date

import pytest
from django.db.models import F

from goals.dev.trees import tree_generate
from goals.models import Measurement, Node, Organisation, RollupSeries, RollupState
from goals.rollup import jobs
from tests.conftest import signed_in
from tests.dashboards.with_actuals import APPOINTMENTS_NOTE, REVENUE_NOTE, TODAY, freeze_today


@pytest.fixture(autouse=True)
def today(monkeypatch):
    freeze_today(monkeypatch)


def report(user, root: Node, month: str | None = "2026-04"):
    return signed_in(user).get(f"/trees/{root.pk}/report/", {"month": month} if month else {})


def rows_by_code(response) -> dict:
    return {row.node.code: row for row in response.context["report"].rows}


# --- the numbers ---------------------------------------------------------------------------------


def test_the_kgi_against_its_target_in_the_month_and_to_date(manager, nodes):
    response = report(manager, nodes["revenue"], "2026-05")
    assert response.status_code == 200
    made = response.context["report"]
    # A stock: May's value against May's step of the line from ¥100M to ¥120M (103.33M).
    assert made.kgi.actual == 104_000_000
    assert made.kgi.target == pytest.approx(103_333_333.33)
    assert made.kgi.status == "on_track"
    assert made.kgi_gap_text == "¥666.7k ahead"
    # The fiscal year to the end of May: for a stock, its latest value against the latest target.
    assert (made.to_date.first, made.to_date.last) == (date(2026, 4, 1), date(2026, 5, 31))
    assert made.kgi_to_date.actual == 104_000_000
    assert made.kgi_to_date.target == pytest.approx(103_333_333.33)
    html = response.content.decode()
    assert "¥104,000,000" in html and "¥103,333,333" in html
    assert "FY2026 to date" in html


def test_every_node_in_tree_order_with_the_months_stored_figures(manager, nodes):
    response = report(manager, nodes["revenue"])
    made = response.context["report"]
    assert [row.node.pk for row in made.rows] == list(
        Node.objects.filter(tree_id=nodes["revenue"].tree_id).order_by("lft").values_list("pk", flat=True)
    )
    rows = rows_by_code(response)
    # April: 30 appointments against 36.25 (the line from 35 to 50 a month) is 82.8%, off track.
    appointments = rows["appointments"].figures
    assert (appointments.actual, appointments.target, appointments.status) == (30, 36.25, "off_track")
    assert appointments.attainment == pytest.approx(82.7586, abs=1e-3)
    assert rows["appointments"].gap_text == "6 appointments short"  # 6.25: a count is shown whole
    # What is shown is what the rollup stored (never recomputed here).
    stored = RollupSeries.objects.get(node=nodes["appointments"]).series
    assert stored["attainment"][stored["period"].index("2026-04-01")] == appointments.attainment
    kgi = rows["revenue"].figures
    assert kgi.status == "at_risk" and kgi.attainment == pytest.approx(99.3443, abs=1e-3)
    # Nothing entered: no data, and the missing actual counted.
    assert rows["close_rate"].figures.status == "no_data" and rows["close_rate"].figures.missing == 1
    html = response.content.decode()
    assert "82.8%" in html and "6 appointments short" in html
    assert "✗ Off track" in html and "! At risk" in html  # the status as a symbol and a word
    assert made.counts["off_track"] >= 1 and sum(made.counts.values()) == len(made.rows)


def test_off_track_and_at_risk_items_carry_the_notes_of_their_actuals(manager, nodes):
    response = report(manager, nodes["revenue"])
    attention = {item.row.node.code: item for item in response.context["report"].attention}
    assert attention["appointments"].row.figures.status == "off_track"
    assert [note.text for note in attention["appointments"].notes] == [APPOINTMENTS_NOTE]
    assert attention["appointments"].notes[0].by == manager
    # The KGI is at risk in April with no note of its own: it is flagged. May's note is not April's.
    assert attention["revenue"].notes == [] and attention["revenue"].needs_note
    # Worst first: off track before at risk.
    statuses = [item.row.figures.status for item in response.context["report"].attention]
    assert statuses == sorted(statuses, key=["off_track", "at_risk"].index)
    html = response.content.decode()
    assert APPOINTMENTS_NOTE in html
    assert REVENUE_NOTE not in html
    assert "No cause or next action recorded yet." in html


def test_a_later_month_has_its_own_items_and_notes(manager, nodes):
    attention = {
        item.row.node.code for item in report(manager, nodes["revenue"], "2026-05").context["report"].attention
    }
    assert "appointments" not in attention and "revenue" not in attention  # both ahead in May


def test_the_report_has_a_kgi_chart_with_its_table_and_the_status_counts_chart(manager, nodes):
    response = report(manager, nodes["revenue"])
    made = response.context["report"]
    chart = made.kgi_chart
    assert chart is not None and not chart.cumulative  # the KGI is a stock
    layout = chart.figure["layout"]
    assert layout["width"] == 680 and chart.figure["config"]["responsive"] is False  # sized for paper
    assert layout["yaxis"]["tickprefix"] == "¥"
    assert {shape["x0"] for shape in layout["shapes"]} == {"2026-04-01"}  # the month shaded
    assert made.counts_figure["layout"]["width"] == 680
    html = response.content.decode()
    assert 'data-figure="report-kgi-chart"' in html and 'id="report-kgi-chart"' in html
    assert 'id="report-kgi-chart-table"' in html and "The chart as a table" in html
    assert 'data-figure="report-counts"' in html and 'id="report-counts-text"' in html
    assert "vendor/plotly/plotly.min.js" in html and "css/report.css" in html


def test_the_header_says_when_and_how_fresh(manager, nodes):
    response = report(manager, nodes["revenue"])
    made = response.context["report"]
    assert made.freshness.stale is False and made.freshness.computed_at is not None
    assert "Up to date with the actuals entered" in response.content.decode()
    # A rollup is pending (an actual saved and not yet rolled up): the report says so.
    RollupState.objects.filter(root=nodes["revenue"]).update(stale_since=F("computed_at"))
    assert "Stale: new actuals are being rolled up" in report(manager, nodes["revenue"]).content.decode()


def test_this_month_by_default_and_a_bad_month_is_said(manager, nodes):
    made = report(manager, nodes["revenue"], None).context["report"]
    assert made.month.first == date(2026, 6, 1)
    response = report(manager, nodes["revenue"], "2026-13")
    assert response.context["report"].month.first == date(2026, 6, 1)
    assert "Enter the month as YYYY-MM" in response.content.decode()


def test_linked_from_the_tree_page_and_the_dashboards(manager, executive, nodes):
    report_url = f"/trees/{nodes['revenue'].pk}/report/"
    assert f'href="{report_url}"' in signed_in(manager).get(f"/trees/{nodes['revenue'].pk}/").content.decode()
    # The dashboards link the report of the month their period ends in.
    assert f'href="{report_url}?month=2026-06"' in signed_in(executive).get("/executive/").content.decode()
    assert f'href="{report_url}?month=2026-06"' in signed_in(manager).get("/manager/").content.decode()


# --- who may read it -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "executive", "member"])
def test_every_member_of_the_organisation_reads_it(request, role, nodes):
    assert report(request.getfixturevalue(role), nodes["revenue"]).status_code == 200


def test_another_organisations_tree_is_404(outsider, nodes):
    assert report(outsider, nodes["revenue"]).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, nodes):
    response = client.get(f"/trees/{nodes['revenue'].pk}/report/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_user_without_organisation_is_refused(django_user_model, nodes):
    drifter = django_user_model.objects.create_user("drifter", password="pw")
    assert report(drifter, nodes["revenue"]).status_code == 403


def test_an_inner_node_redirects_to_its_trees_report(manager, nodes):
    response = report(manager, nodes["appointments"], "2026-04")
    assert response.status_code == 302
    assert response["Location"] == f"/trees/{nodes['revenue'].pk}/report/?month=2026-04"


def test_a_member_sees_another_members_kpi_without_its_figures(member, colleague, nodes):
    Node.objects.filter(pk=nodes["appointments"].pk).update(owner=colleague)
    response = report(member, nodes["revenue"])
    made = response.context["report"]
    rows = rows_by_code(response)
    assert rows["appointments"].visible is False and rows["appointments"].figures.actual is None
    assert "appointments" not in {item.row.node.code for item in made.attention}
    assert made.hidden == 1
    html = response.content.decode()
    assert APPOINTMENTS_NOTE not in html and "personal KPI of a team member" in html
    # The shared goals stay visible, and the organisation may share personal attainment.
    assert rows["revenue"].visible and rows["revenue"].figures.actual == 101_000_000
    Organisation.objects.filter(pk=member.membership.organisation_id).update(members_see_team_attainment=True)
    assert rows_by_code(report(member, nodes["revenue"]))["appointments"].visible


def test_a_member_sees_their_own_kpi_and_one_they_report(member, colleague, nodes):
    Node.objects.filter(pk=nodes["appointments"].pk).update(owner=member)
    Node.objects.filter(pk=nodes["close_rate"].pk).update(owner=colleague)
    nodes["close_rate"].reporters.add(member)
    rows = rows_by_code(report(member, nodes["revenue"]))
    assert rows["appointments"].visible and rows["close_rate"].visible


# --- queries -------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [30, 240])
@pytest.mark.parametrize("month", ["2026-05", "2026-06"])  # May to date is computed; June's is stored
def test_queries_do_not_grow_with_the_tree(organisation, manager, size, month, django_assert_max_num_queries):
    generated = tree_generate(organisation=organisation, nodes=size, periods=6, today=TODAY)
    leaves = Node.objects.filter(tree_id=generated.root.tree_id, rght=F("lft") + 1, value_source="manual")
    # A weekly KPI: its month is not among its stored periods, so the engine is loaded for it.
    Node.objects.filter(pk=leaves.order_by("lft").values("pk")[:1]).update(frequency="weekly")
    jobs.tree_rollup(root_id=generated.root.pk, as_of=TODAY)
    client = signed_in(manager)
    client.get(f"/trees/{generated.root.pk}/report/")  # warm up: session and translations
    # session, user, membership; the root; its nodes; their stored series; the nodes' frequencies;
    # the engine for the weekly KPI and for the KGI to date (nodes, actuals, overrides, twice at
    # most); the rollup state, the last actual and this period's actuals; the month's notes; the
    # month's reviews and actions (the minutes); the header's unread notices.
    with django_assert_max_num_queries(20):
        response = client.get(f"/trees/{generated.root.pk}/report/", {"month": month})
    assert response.status_code == 200
    assert len(response.context["report"].rows) == generated.nodes


def test_a_node_without_a_number_shows_its_score_not_two_dashes(manager, nodes):
    html = report(manager, nodes["revenue"]).content.decode()
    start = html.index(f'data-node="{nodes["new_business"].pk}"')
    row = html[start : html.index("</tr>", start)]
    assert '<td colspan="2" class="score-of-children">Weighted score of its children</td><td>82.8%</td>' in row


def test_a_kgi_without_a_number_is_charted_by_its_score(manager, nodes):
    # Past the SMART check (a KGI needs a target): the report still draws what is stored.
    Node.objects.filter(pk=nodes["revenue"].pk).update(target_value=None)
    Measurement.objects.filter(node=nodes["revenue"]).delete()
    jobs.tree_rollup(root_id=nodes["revenue"].pk, as_of=TODAY, full=True)
    response = report(manager, nodes["revenue"])
    chart = response.context["report"].kgi_chart
    assert chart.score is True
    assert "Score" in {trace["name"] for trace in chart.figure["data"]}
    html = response.content.decode()
    table = html[html.index('id="report-kgi-chart-table"') :]
    table = table[: table.index("</table>")]
    assert ">Score<" in table and "Projection" not in table
    assert "score per period, from its children" in chart.title
