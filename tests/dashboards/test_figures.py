"""Figures as data (dashboards/figures.py): the sparkline's geometry."""

from __future__ import annotations

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
