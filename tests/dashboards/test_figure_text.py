"""User text in figures is drawn literally (dashboards.figures.figure_text): Plotly reads a subset
of HTML in labels, hover texts, titles, annotations, legend entries and tick texts, so a node named
``<a href=…>`` was drawn as a live link, and a name cut short left the ``<a>`` open for the labels
after it. Every figure of every page is checked with names and units full of markup."""

from __future__ import annotations

import json
import re

import pytest
from django.utils import translation

from dashboards import figures
from goals.models import Node
from tests.conftest import signed_in
from tests.dashboards.small_tree import MAY_WINDOW, freeze_today, saas_tree, store_actuals

PHISH = '<a href="http://evil.example/phish">Session expired - log in again</a>'
UNIT = "<b>u</b>&amp;"
# The tags the figure builders write themselves; anything else with "<" came from user text.
OUR_TAGS = re.compile(r"<br>|</?extra>")
FIGURE_JSON = re.compile(r'<script id="([^"]+)" type="application/json">(.*?)</script>', re.S)


def strings(value):
    """Every string in a figure: data, layout, config (keys too)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


def markup_in(figure: dict) -> list[str]:
    return [text for text in strings(figure) if "<" in OUR_TAGS.sub("", text)]


def figures_of(html: str) -> dict[str, dict]:
    return {
        figure_id: json.loads(source.replace("\\u003C", "<").replace("\\u003E", ">").replace("\\u0026", "&"))
        for figure_id, source in FIGURE_JSON.findall(html)
    }


@pytest.fixture(autouse=True)
def english(monkeypatch):
    freeze_today(monkeypatch)
    with translation.override("en"):
        yield


@pytest.fixture
def tree(organisation, manager, executive, member):
    nodes = saas_tree(organisation, manager, executive, member)
    store_actuals(nodes)
    # Every name and unit is markup, as a hostile manager could type them into the form.
    for index, node in enumerate(nodes.values()):
        Node.objects.filter(pk=node.pk).update(name=f"{PHISH} {index}", unit=UNIT)
    return nodes


def test_figure_text_escapes_the_markup_plotly_reads():
    assert figures.figure_text(PHISH) == (
        '&lt;a href="http://evil.example/phish"&gt;Session expired - log in again&lt;/a&gt;'
    )
    assert figures.figure_text("R&D <3") == "R&amp;D &lt;3"
    assert figures.figure_lines(["<b>", "x"]) == "&lt;b&gt;<br>x"


def test_a_name_is_cut_before_it_is_escaped():
    label = figures.figure_text(figures.short("x" * 38 + "&lt;"))
    assert label == "x" * 38 + "&amp;…"  # never "&l…" read as the start of an entity


@pytest.mark.parametrize(
    ("text", "columns", "lines"),
    [
        ("Drive upsell with the new reporting feature", 16, ["Drive upsell", "with the new", "reporting", "feature"]),
        ("新規顧客の獲得数", 8, ["新規顧客", "の獲得数"]),
        ("✗ 新規 abc", 6, ["✗ 新規", "abc"]),
        ("✗ 新規 abc", 5, ["✗ 新", "規", "abc"]),
        ("abcdefghij", 4, ["abcd", "efgh", "ij"]),
        ("売上（月次）。", 8, ["売上（月", "次）。"]),  # a closing mark never starts a line
    ],
)
def test_wrapped_breaks_at_spaces_and_between_cjk_characters(text, columns, lines):
    assert figures.wrapped(text, columns) == lines


def test_every_status_map_label_is_readable_on_its_fill():
    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    for status in figures.STATUS_ORDER:
        light, dark = sorted([luminance(figures.STATUS_COLOURS[status]), luminance(figures.STATUS_INKS[status])])
        assert (dark + 0.05) / (light + 0.05) >= 4.5, status


def test_the_status_map_draws_names_literally_in_every_text():
    boxes = [
        figures.StatusMapNode(id=1, parent=None, label=PHISH, status="on_track", attainment=101.0, url="/nodes/1/"),
        figures.StatusMapNode(id=2, parent=1, label="<i>" * 30, status="off_track", attainment=50.0, url="/nodes/2/"),
    ]
    figure = figures.status_icicle(boxes, title=f"Status map of {PHISH}")
    assert markup_in(figure) == []
    icicle = figure["data"][0]
    # The first box shows its whole name in lines, the others a cut one; a phone's labels are
    # in lines too: our <br> between escaped words, never a tag of the user's.
    assert icicle["labels"][0].startswith("✓ &lt;a<br>href=")
    assert icicle["labels"][1] == "✗ " + "&lt;i&gt;" * 13 + "…"
    assert icicle["customdata"][0][1].startswith("✓ &lt;a<br>href=")
    assert "&lt;" in figure["layout"]["title"]["text"]
    assert icicle["insidetextfont"]["color"] == [figures.STATUS_INKS["on_track"], figures.STATUS_INKS["off_track"]]


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("executive", "/executive/"),
        ("manager", "/manager/"),
        ("member", "/member/"),
        ("manager", "/nodes/{appointments}/"),
        ("member", "/nodes/{revenue}/"),
        ("executive", "/trees/{revenue}/report/?month=2026-05"),
    ],
)
def test_no_figure_of_any_page_carries_markup_from_user_text(request, tree, role, path):
    response = signed_in(request.getfixturevalue(role)).get(
        path.format(**{code: node.pk for code, node in tree.items()}), MAY_WINDOW if "report" not in path else {}
    )
    assert response.status_code == 200
    drawn = figures_of(response.content.decode())
    assert drawn, "the page draws no figure"
    for figure_id, figure in drawn.items():
        assert markup_in(figure) == [], figure_id
    # The user's text is there, escaped, in some figure of the page.
    assert "&lt;a href=" in json.dumps(drawn) or "&lt;b&gt;u&lt;/b&gt;" in json.dumps(drawn)


def test_the_score_chart_of_a_node_without_a_number_carries_no_markup(manager, tree):
    response = signed_in(manager).get(f"/nodes/{tree['new_business'].pk}/", MAY_WINDOW)
    drawn = figures_of(response.content.decode())
    assert response.context["page"].chart.score is True
    assert markup_in(drawn["node-chart"]) == []


def test_the_manager_pair_chart_keeps_user_text_out_of_its_hover_template(manager, tree):
    response = signed_in(manager).get("/manager/", MAY_WINDOW)
    figure = response.context["pairs"][0]["figure"]
    for trace in figure["data"]:
        assert "%{meta}" in trace["hovertemplate"] and "&lt;b&gt;" not in trace["hovertemplate"]
        assert trace["meta"] == "&lt;b&gt;u&lt;/b&gt;&amp;amp;"
        assert trace["name"].startswith("&lt;a href=")
