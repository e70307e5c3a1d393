"""The node page's chart, its figures for the selected window and its children's (goals.views
node_detail drawing dashboards/pages/node.py), and the chart builder (dashboards/figures.py)."""

from __future__ import annotations

import json
import re

import pytest

from dashboards.figures import node_chart
from goals.models import Node, Organisation
from tests.conftest import signed_in
from tests.dashboards.with_actuals import freeze_today


@pytest.fixture(autouse=True)
def today(monkeypatch):
    freeze_today(monkeypatch)


def node_page(user, node: Node, **params):
    return signed_in(user).get(f"/nodes/{node.pk}/", params)


def traces(figure: dict) -> dict[str, dict]:
    return {trace["name"]: trace for trace in figure["data"]}


def test_a_flow_is_charted_as_running_totals_with_the_projection_to_the_deadline(manager, nodes):
    response = node_page(manager, nodes["appointments"], period="month", month="2026-05")
    chart = response.context["page"].chart
    assert chart.cumulative is True  # appointments add up over time
    drawn = traces(chart.figure)
    actual = drawn["Actual, running total"]
    assert actual["y"][:3] == [30, 70, None]  # April 30, May 40; June not entered yet
    # The target of each month, added up: 36.25, 36.25 + 37.5, … (the line from 35 to 50),
    # rounded for the chart (the hover text and the table carry the exact numbers).
    assert drawn["Target, running total"]["y"][:2] == pytest.approx([36.25, 73.75], abs=0.05)
    # A count is shown whole (§2.6 of issue 9): 73.75 appointments read "74 appointments".
    assert "Target, running total: 74 appointments" in actual["text"][1]
    assert drawn["Target, running total"]["y"][-1] == 517.5
    # Each point is marked with its month's status: April off track (✗), May on track.
    assert actual["marker"]["symbol"][:2] == ["x", "circle"]
    assert "Status of the period: ✗ Off track" in actual["text"][0]
    # A line through the running totals (and zero before April) rises 35 a month: from May's
    # 70 to March it reaches 420, 97.5 short of the year's 517.5.
    assert chart.expected == pytest.approx(420)
    assert (
        chart.expected_text == "Expected at the deadline: 420 appointments (98 appointments short)"
    )  # a count is shown whole
    assert drawn["Projection"]["y"][:2] == [None, 70]
    assert drawn["Expected at the deadline"]["y"] == [420]
    layout = chart.figure["layout"]
    assert layout["yaxis"]["title"]["text"] == "appointments, running total"
    assert layout["xaxis"]["title"]["text"] == "Period"
    assert layout["title"]["text"]
    assert [shape["x0"] for shape in layout["shapes"]] == ["2026-05-01"]  # the window selected


def test_a_stock_is_charted_per_period_against_the_deadlines_target(manager, nodes):
    chart = node_page(manager, nodes["revenue"]).context["page"].chart
    assert chart.cumulative is False
    drawn = traces(chart.figure)
    assert drawn["Actual"]["y"][:3] == [101_000_000, 104_000_000, None]
    # ¥101M, ¥104M: ¥3M a month, so ¥134M in March against the ¥120M target.
    assert chart.expected == pytest.approx(134_000_000)
    assert chart.expected_text == "Expected at the deadline: ¥134M (¥14M ahead)"
    assert chart.figure["layout"]["yaxis"]["tickprefix"] == "¥"


def test_the_page_embeds_the_chart_and_its_table(manager, nodes):
    response = node_page(manager, nodes["appointments"])
    html = response.content.decode()
    match = re.search(r'<script id="node-chart" type="application/json">(.*?)</script>', html, re.S)
    assert match is not None
    assert json.loads(match.group(1))["data"]  # the figure, for static/js/figures.js to draw
    assert 'data-figure="node-chart"' in html and 'aria-describedby="node-chart-summary"' in html
    assert "The chart as a table" in html
    assert "vendor/plotly/plotly.min.js" in html and "js/figures.js" in html
    assert "<script>" not in html  # no inline scripts


def test_the_nodes_own_figures_and_its_childrens_for_the_window(manager, nodes):
    response = node_page(manager, nodes["new_business"], period="month", month="2026-04")
    page = response.context["page"]
    assert page.window.label == "April 2026"
    children = {row.node.code: row for row in page.children}
    assert set(children) == {"appointments", "close_rate", "new_contracts"}
    appointments = children["appointments"]
    assert (appointments.figures.actual, appointments.figures.target) == (30, 36.25)
    assert appointments.figures.status == "off_track"
    assert appointments.gap_text == "6 appointments short"  # 6.25: a count is shown whole
    assert appointments.sparkline.last is not None  # April and May drawn
    assert children["close_rate"].figures.status == "no_data"
    html = response.content.decode()
    assert f'href="/nodes/{nodes["appointments"].pk}/?period=month&amp;month=2026-04"' in html
    assert "6 appointments short" in html and "82.8%" in html and "✗ Off track" in html
    assert 'value="2026-04"' in html  # the period selector keeps the window


@pytest.mark.parametrize(
    ("params", "actual", "label"),
    [
        ({"period": "quarter", "month": "2026-05"}, 70, "Q1 FY2026"),
        ({"period": "month", "month": "2026-05"}, 40, "May 2026"),
        ({"period": "custom", "from": "2026-04", "to": "2026-05"}, 70, "2026-04 – 2026-05"),
    ],
)
def test_the_window_is_read_from_the_url(manager, nodes, params, actual, label):
    page = node_page(manager, nodes["new_business"], **params).context["page"]
    assert page.window.label == label
    assert {row.node.code: row for row in page.children}["appointments"].figures.actual == actual


def test_a_bad_window_falls_back_to_this_month_and_says_why(manager, nodes):
    response = node_page(manager, nodes["appointments"], period="month", month="May")
    assert response.context["page"].window.label == "June 2026"
    assert "Enter the month as YYYY-MM" in response.content.decode()


def test_no_chart_before_the_first_rollup(manager, saas_tree):
    response = node_page(manager, saas_tree)
    assert response.status_code == 200
    assert response.context["page"].chart is None
    assert "No chart yet" in response.content.decode()


def test_a_member_sees_another_members_kpi_without_figures(member, colleague, nodes):
    Node.objects.filter(pk=nodes["appointments"].pk).update(owner=colleague)
    page = node_page(member, nodes["new_business"], period="month", month="2026-04").context["page"]
    appointments = {row.node.code: row for row in page.children}["appointments"]
    assert appointments.visible is False and appointments.figures.actual is None
    assert node_page(member, nodes["appointments"]).context["page"].chart is None
    Organisation.objects.filter(pk=member.membership.organisation_id).update(members_see_team_attainment=True)
    assert node_page(member, nodes["appointments"]).context["page"].chart is not None


@pytest.mark.parametrize("role", ["manager", "executive", "member"])
def test_every_role_of_the_organisation_sees_the_chart(request, role, nodes):
    assert node_page(request.getfixturevalue(role), nodes["revenue"]).context["page"].chart is not None


def test_another_organisations_node_is_404(outsider, nodes):
    assert node_page(outsider, nodes["appointments"]).status_code == 404


# --- the chart builder ---------------------------------------------------------------------------


def test_a_range_is_drawn_as_a_band_between_its_bounds():
    figure = node_chart(
        title="Repeat rate",
        unit="%",
        periods=["2026-04-01", "2026-05-01"],
        actual=[45.0, 62.0],
        target=[None, None],
        low=[40.0, 40.0],
        high=[60.0, 60.0],
        statuses=["on_track", "at_risk"],
    )
    drawn = traces(figure)
    assert drawn["Highest acceptable"]["fill"] == "tonexty"  # filled down to the low bound
    assert drawn["Lowest acceptable"]["y"] == [40.0, 40.0]
    assert "Target" not in drawn  # a range has no single target line
    assert drawn["Actual"]["marker"]["symbol"] == ["circle", "diamond"]
    assert drawn["Actual"]["text"] == ["✓ On track", "! At risk"]  # the status in words, too
    assert figure["layout"]["yaxis"]["ticksuffix"] == "%"


def test_for_paper_the_chart_keeps_its_size_and_drops_the_tool_bar():
    figure = node_chart(title="t", unit="JPY", periods=["2026-04-01"], actual=[1.0], target=[1.0], width=680)
    assert figure["layout"]["width"] == 680
    assert figure["config"] == {"responsive": False, "displayModeBar": False}
    assert "config" not in node_chart(title="t", unit="JPY", periods=["2026-04-01"], actual=[1.0], target=[1.0])


# --- a node without a number of its own (issue 10 §1) ------------------------------------------


def row_of(html: str, node: Node) -> str:
    start = html.index(f'data-node="{node.pk}"')
    return html[start : html.index("</tr>", start)]


def test_a_ksf_without_a_number_charts_its_score_against_its_thresholds(manager, nodes):
    Node.objects.filter(pk=nodes["new_business"].pk).update(at_risk_below=95, off_track_below=80)
    response = node_page(manager, nodes["new_business"], period="month", month="2026-05")
    chart = response.context["page"].chart
    assert chart.score is True
    drawn = traces(chart.figure)
    # April: appointments 82.8%, the other two without data; May 106.7%. Not an empty chart of
    # actuals against a target the KSF does not have.
    assert "Actual" not in drawn and "Target" not in drawn
    assert drawn["Score"]["y"][:3] == [82.8, 106.7, None]
    assert drawn["Score"]["marker"]["symbol"][:2] == ["x", "circle"]
    assert "Score: 82.8%" in drawn["Score"]["text"][0]
    assert set(drawn["At risk below 95%"]["y"]) == {95}
    assert set(drawn["Off track below 80%"]["y"]) == {80}
    assert chart.figure["layout"]["yaxis"]["ticksuffix"] == "%"
    assert [shape["x0"] for shape in chart.figure["layout"]["shapes"]] == ["2026-05-01"]
    assert [row.attainment for row in chart.rows[:2]] == pytest.approx([82.76, 106.67], abs=0.01)
    html = response.content.decode()
    table = html[html.index('class="data chart-table"') :]
    table = table[: table.index("</table>")]
    assert ">Score<" in table and ">82.8%<" in table and "Projection" not in table


def test_a_ksf_without_a_number_charted_in_words_of_its_rule(manager, nodes):
    Node.objects.filter(pk=nodes["new_business"].pk).update(status_rule="worst")
    chart = node_page(manager, nodes["new_business"]).context["page"].chart
    assert chart.figure["layout"]["title"]["text"] == "Score per period: the child furthest behind"


def test_tables_show_the_score_of_a_node_without_a_number_not_dashes(manager, nodes):
    # The KGI's children: the KSF's actual and target cells name its score, beside its attainment.
    html = node_page(manager, nodes["revenue"], period="month", month="2026-04").content.decode()
    row = row_of(html, nodes["new_business"])
    assert '<td colspan="2" class="score-of-children">Weighted score of its children</td>' in row
    assert row.index("score-of-children") < row.index("82.8%")
    assert row.count("<td>—</td>") == 1  # only the gap, which a score does not have
    # The KSF's own table of periods.
    html = node_page(manager, nodes["new_business"]).content.decode()
    progress = html[html.index('id="progress-title"') :]
    first = progress[progress.index("<tbody>") : progress.index("</tr>", progress.index("<tbody>"))]
    assert "Weighted score of its children" in first and "82.8%" in first
    assert first.count("<td>—</td>") == 1  # the gap


def test_a_node_with_a_number_keeps_its_actual_and_target_cells(manager, nodes):
    html = node_page(manager, nodes["new_business"], period="month", month="2026-04").content.decode()
    row = row_of(html, nodes["appointments"])
    assert "score-of-children" not in row and "30 appointments" in row
