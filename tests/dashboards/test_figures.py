"""Figures as data (dashboards/figures.py): the sparkline's geometry and the Plotly figures."""

from __future__ import annotations

import json

import pytest
from django.utils import translation

from dashboards import figures
from dashboards.figures import sparkline


def test_a_rising_series_is_one_path_from_bottom_left_to_top_right():
    figure = sparkline([1.0, 2.0, 3.0], width=100, height=20, pad=0)
    assert figure.actual_paths == ["M0.0 20.0 L50.0 10.0 L100.0 0.0"]
    assert figure.dots == []
    assert figure.last == (100.0, 0.0)


def test_a_missing_period_is_a_gap_never_a_dip_to_zero():
    figure = sparkline([1.0, 2.0, None, 3.0, 4.0, None, 5.0], width=60, height=10, pad=0)
    assert figure.actual_paths == ["M0.0 10.0 L10.0 7.5", "M30.0 5.0 L40.0 2.5"]
    assert figure.dots == [(60.0, 0.0)]  # a lone value has no line: it is drawn as a dot


def test_targets_share_the_scale_and_a_flat_series_sits_in_the_middle():
    figure = sparkline([5.0, 5.0], [5.0, 5.0], width=10, height=10, pad=0)
    assert figure.actual_paths == ["M0.0 5.0 L10.0 5.0"]
    assert figure.target_path == "M0.0 5.0 L10.0 5.0"
    scaled = sparkline([0.0, 10.0], [20.0, 20.0], width=10, height=20, pad=0)
    assert scaled.actual_paths == ["M0.0 20.0 L10.0 10.0"]
    assert scaled.target_path == "M0.0 0.0 L10.0 0.0"


def test_nothing_to_draw():
    figure = sparkline([None, None], [None, None])
    assert (figure.actual_paths, figure.target_path, figure.dots, figure.last) == ([], "", [], None)
    assert sparkline([]).last is None
    single = sparkline([7.0], width=10, height=10, pad=0)
    assert single.dots == [(5.0, 5.0)] and single.last == (5.0, 5.0)


# --- Plotly figures: plain dicts built from numbers ----------------------------------------------


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def test_every_status_has_a_symbol_a_word_and_a_colour():
    assert [figures.status_text(s) for s in figures.STATUS_ORDER] == [
        "✗ Off track",
        "! At risk",
        "✓ On track",
        "– No data",
    ]
    assert set(figures.STATUS_COLOURS) == set(figures.STATUS_MARKERS) == set(figures.STATUS_ORDER)
    assert figures.status_text("unknown") == "– No data"


@pytest.mark.parametrize(
    ("value", "shown"),
    [(None, None), (118_673_250.4, 118_673_250), (16.756, 16.8), (0.91234, 0.912), (-1234.5, -1234)],
)
def test_numbers_are_rounded_to_what_a_chart_shows(value, shown):
    assert figures.rounded(value) == shown


@pytest.mark.parametrize(
    ("actual", "baseline", "goal", "share"),
    [
        (108.0, 100.0, 120.0, 0.4),  # a stock: 8 of the 20 to go
        (70.0, None, 120.0, 70 / 120),  # a flow counted from zero
        (4.0, 5.0, 2.0, 1 / 3),  # a decrease: from 5% down to 2%, now at 4%
        (None, 100.0, 120.0, None),
        (120.0, 120.0, 120.0, 1.0),
    ],
)
def test_share_of_the_way_from_baseline_to_goal(actual, baseline, goal, share):
    assert figures.progress_share(actual=actual, baseline=baseline, goal=goal) == pytest.approx(share)


def test_the_kgi_bullet_shows_actual_target_band_and_goal():
    figure = figures.kgi_bullet(
        title="Revenue — FY2026 to date",
        unit="JPY",
        actual=116_673_250.0,
        target=115_000_000.0,
        goal=120_000_000.0,
        baseline=100_000_000.0,
        status="on_track",
    )
    (indicator,) = figure["data"]
    assert indicator["type"] == "indicator" and indicator["gauge"]["shape"] == "bullet"
    assert indicator["value"] == 116_673_250
    assert indicator["gauge"]["steps"][0]["range"] == [100_000_000, 115_000_000]
    assert indicator["gauge"]["threshold"]["value"] == 120_000_000
    assert indicator["delta"]["reference"] == 115_000_000
    assert indicator["number"]["prefix"] == "¥"
    assert indicator["gauge"]["bar"]["color"] == figures.STATUS_COLOURS["on_track"]
    assert indicator["title"]["text"] == "✓ On track"
    assert figure["layout"]["title"]["text"] == "Revenue — FY2026 to date"
    assert len(json.dumps(figure["layout"].get("template", {}))) < 100  # not plotly's 7 KB default


def test_a_decrease_target_colours_the_delta_the_other_way():
    figure = figures.kgi_bullet(
        title="Churn",
        unit="%",
        actual=4.0,
        target=3.0,
        goal=2.0,
        baseline=5.0,
        status="off_track",
        direction="decrease",
    )
    delta = figure["data"][0]["delta"]
    assert delta["increasing"]["color"] == figures.STATUS_COLOURS["off_track"]
    assert figure["data"][0]["number"]["suffix"] == "%"


def test_the_progress_chart_has_target_actual_projection_and_the_expected_value():
    figure = figures.progress_chart(
        title="Per period",
        unit="appointments",
        periods=["2026-04-01", "2026-05-01", "2026-06-01"],
        actual=[40.0, 44.0, None],
        target=[45.0, 47.5, 50.0],
        line=[40.0, 44.0, 48.0],
        statuses=["off_track", "at_risk", "no_data"],
        expected=48.0,
        expected_text="Expected at the deadline: 48 appointments (2 appointments short)",
    )
    target, actual, line, expected = figure["data"]
    assert target["y"] == [45.0, 47.5, 50.0] and target["line"]["dash"] == "dash"
    assert actual["y"] == [40.0, 44.0, None]  # a missing period stays missing
    assert actual["marker"]["symbol"] == ["x", "diamond", "circle-open"]
    assert actual["text"] == ["✗ Off track", "! At risk", "– No data"]
    assert line["line"]["dash"] == "dot"
    assert expected["x"] == ["2026-06-01"] and expected["y"] == [48.0]
    layout = figure["layout"]
    assert layout["yaxis"]["title"]["text"] == "appointments"
    assert layout["xaxis"]["title"]["text"] == "Period"
    assert layout["annotations"][0]["text"].startswith("Expected at the deadline: 48")


def test_a_flow_is_charted_as_a_running_total_in_yen():
    figure = figures.progress_chart(
        title="t", unit="JPY", periods=["2026-04-01"], actual=[1.0], target=[2.0], cumulative=True
    )
    assert figure["layout"]["yaxis"]["title"]["text"] == "JPY, running total"
    assert figure["layout"]["yaxis"]["tickprefix"] == "¥"


def boxes(depths):
    """A chain of boxes per depth: box i at depth d, the parent the last box one level up."""
    out, last = [], {}
    for index, depth in enumerate(depths):
        out.append(
            figures.StatusMapNode(
                index, last.get(depth - 1), f"Node {index}", "at_risk", 95.0, f"/nodes/{index}/", depth
            )
        )
        last[depth] = index
    return out


def test_the_status_map_links_each_box_and_says_its_status_in_words():
    figure = figures.status_icicle(boxes([0, 1, 2, 1]), title="Status map")
    (icicle,) = figure["data"]
    assert icicle["type"] == "icicle" and icicle["tiling"]["orientation"] == "h"
    assert icicle["ids"] == ["0", "1", "2", "3"]
    assert icicle["parents"] == ["", "0", "1", "0"]
    assert [link for link, _phone_label in icicle["customdata"]] == ["/nodes/0/", "/nodes/1/", "/nodes/2/", "/nodes/3/"]
    assert icicle["labels"][0] == "! Node 0"
    assert icicle["text"][0] == "At risk · 95%"
    assert icicle["marker"]["colors"] == [figures.STATUS_COLOURS["at_risk"]] * 4


def test_a_long_name_is_cut_in_the_box_but_not_in_the_list():
    name = "A very long name for a KPI that would not fit in its box at all"
    root = figures.StatusMapNode(1, None, "KGI", "on_track", None, "/nodes/1/")
    box = figures.StatusMapNode(2, 1, name, "on_track", None, "/nodes/2/", depth=1)
    assert figures.status_icicle([root, box], title="t")["data"][0]["labels"][1] == "✓ " + name[:39] + "…"
    outline = figures.status_outline([box])
    assert name in outline and "✓ On track" in outline and 'href="/nodes/2/"' in outline


def test_the_box_the_map_starts_from_shows_its_whole_name_in_lines():
    name = "SaaS annual revenue ¥100M → ¥120M by fiscal year end"
    (icicle,) = figures.status_icicle(
        [figures.StatusMapNode(1, None, name, "on_track", 101.0, "/nodes/1/")], title="t"
    )["data"]
    assert icicle["labels"][0] == "✓ SaaS annual revenue ¥100M →<br>¥120M by fiscal year end"
    # Readable on its green: white text, inside and as plotly's "outside" text of the first box.
    assert icicle["insidetextfont"]["color"] == icicle["outsidetextfont"]["color"] == ["#ffffff"]


def test_the_text_list_escapes_names():
    outline = figures.status_outline([figures.StatusMapNode(1, None, "<b>R&D</b>", "no_data", None, "/nodes/1/")])
    assert "&lt;b&gt;R&amp;D&lt;/b&gt;" in outline


def test_the_map_keeps_the_levels_that_fit():
    depths = [0] + [1] * 5 + [2] * 15 + [3] * 75
    assert figures.depth_within(depths, budget=21) == 2
    assert figures.depth_within(depths, budget=96) == 3
    assert figures.depth_within(depths, budget=1) == 0  # the first level always shows
    assert len(figures.boxes_within(boxes(depths), budget=30)) == 21


def test_status_counts_worst_first():
    figure = figures.status_counts_chart({"on_track": 6, "off_track": 3}, title="Nodes by status")
    (bar,) = figure["data"]
    assert bar["y"] == ["✗ Off track", "! At risk", "✓ On track", "– No data"]
    assert bar["x"] == [3, 0, 6, 0]
    assert figure["layout"]["xaxis"]["title"]["text"] == "Nodes"
