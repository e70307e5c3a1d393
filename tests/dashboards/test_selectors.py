"""Reads of the stored rollup for the dashboards (dashboards/selectors.py): a window's figures
from the stored columns, the engine only where the stored windows cannot answer, freshness."""

from __future__ import annotations

from datetime import date

import pytest

from dashboards import selectors as board
from dashboards import stored as stored_rollup
from dashboards.windows import custom_window, fytd_window, month_window, quarter_window
from goals.models import Measurement, Node, RollupSeries, RollupState
from goals.rollup import document
from tests.dashboards.small_tree import APR, JUN, MAY, TODAY, saas_tree, store_actuals

APRIL = 4


@pytest.fixture
def tree(organisation, manager, executive, member):
    nodes = saas_tree(organisation, manager, executive, member)
    store_actuals(nodes)
    return nodes


def stored_columns(node: Node, key: str | None = None) -> dict:
    series = RollupSeries.objects.get(node=node).series
    return series[key] if key else series


@pytest.mark.parametrize(
    ("window", "key", "first"),
    [
        (month_window(MAY, fiscal_start_month=APRIL), None, "2026-05-01"),
        (quarter_window(MAY, fiscal_start_month=APRIL), "quarter", "2026-04-01"),
        (fytd_window(date(2026, 6, 1), fiscal_start_month=APRIL), "year", "2026-04-01"),
    ],
)
def test_each_stored_window_is_read_from_its_columns(tree, window, key, first):
    figures = stored_rollup.tree_window_figures(tree["revenue"], window, today=TODAY)
    assert set(figures) == {n.pk for n in tree.values()}
    for code in ("appointments", "new_contracts", "upsell_revenue", "new_business", "revenue"):
        columns = stored_columns(tree[code], key)
        index = columns["period"].index(first)
        mine = figures[tree[code].pk]
        assert (mine.actual, mine.target, mine.gap, mine.status, mine.missing, mine.reason) == (
            columns["actual"][index],
            columns["target"][index],
            columns["gap"][index],
            columns["status"][index],
            columns["missing"][index],
            columns["reason"][index],
        )
        assert mine.period == date.fromisoformat(first)


def test_whole_documents_give_the_same_figures_as_their_parts(tree):
    window = quarter_window(MAY, fiscal_start_month=APRIL)
    parts = stored_rollup.tree_window_figures(tree["revenue"], window, today=TODAY)
    whole = stored_rollup.tree_window_figures(
        tree["revenue"], window, series=stored_rollup.tree_series(tree["revenue"]), today=TODAY
    )
    assert parts == whole


def test_a_custom_range_is_computed_and_agrees_with_the_stored_quarter(tree):
    stored = stored_rollup.tree_window_figures(
        tree["revenue"], quarter_window(MAY, fiscal_start_month=APRIL), today=TODAY
    )
    computed = stored_rollup.tree_window_figures(
        tree["revenue"], custom_window(date(2026, 4, 1), date(2026, 6, 1), fiscal_start_month=APRIL), today=TODAY
    )
    for node in tree.values():
        a, b = stored[node.pk], computed[node.pk]
        assert (a.status, a.missing, a.reason) == (b.status, b.missing, b.reason)
        assert a.actual == pytest.approx(b.actual) and a.gap == pytest.approx(b.gap)


def test_a_custom_range_is_judged_as_of_the_day_given(tree):
    """Computed with the engine as of the day the caller passes (the views pass today), not the
    clock's: once June has ended, its missing actual of appointments counts."""
    window = custom_window(APR, JUN, fiscal_start_month=APRIL)
    appointments = tree["appointments"].pk
    in_june = stored_rollup.tree_window_figures(tree["revenue"], window, today=TODAY)[appointments]
    in_july = stored_rollup.tree_window_figures(tree["revenue"], window, today=date(2026, 7, 6))[appointments]
    assert (in_june.actual, in_june.missing) == (50, 0)
    assert (in_july.actual, in_july.missing) == (50, 1)


def test_a_month_of_a_daily_node_is_computed_not_read_from_a_day(tree):
    leads = tree["leads_approached"]
    Measurement.objects.create(node=leads, period_start=date(2026, 5, 1), value=4)
    Measurement.objects.create(node=leads, period_start=date(2026, 5, 2), value=6)
    figures = stored_rollup.tree_window_figures(
        tree["revenue"], month_window(MAY, fiscal_start_month=APRIL), today=TODAY
    )
    assert figures[leads.pk].actual == 10  # May's days added up (the rollup ran before: not stored)


def test_a_year_to_date_before_the_stored_as_of_is_computed(tree):
    """The stored year is "to date" of 2026-06-20; the year to April ends before that."""
    april = fytd_window(date(2026, 4, 1), fiscal_start_month=APRIL)
    figures = stored_rollup.tree_window_figures(tree["revenue"], april, today=TODAY)
    appointments = stored_columns(tree["appointments"])
    assert figures[tree["appointments"].pk].actual == appointments["actual"][appointments["period"].index("2026-04-01")]


def test_a_node_without_stored_figures_has_no_data(tree):
    RollupSeries.objects.filter(node=tree["webinars"]).delete()
    figures = stored_rollup.tree_window_figures(
        tree["revenue"], quarter_window(MAY, fiscal_start_month=APRIL), today=TODAY
    )
    assert figures[tree["webinars"].pk] == document.EMPTY


def test_archived_nodes_are_left_out(tree):
    Node.objects.filter(pk=tree["webinars"].pk).update(is_archived=True)
    figures = stored_rollup.tree_window_figures(
        tree["revenue"], quarter_window(MAY, fiscal_start_month=APRIL), today=TODAY
    )
    assert tree["webinars"].pk not in figures
    assert tree["webinars"].pk not in {n.pk for n in board.tree_outline(tree["revenue"])}


def test_the_outline_reads_what_the_dashboards_show(tree):
    outline = {n.code: n for n in board.tree_outline(tree["revenue"])}
    assert list(outline)[0] == "revenue" and len(outline) == 15
    appointments = outline["appointments"]
    node = tree["appointments"]
    assert (appointments.pk, appointments.parent_id, appointments.lft, appointments.level) == (
        node.pk,
        node.parent_id,
        node.lft,
        node.level,
    )
    assert appointments.weight == 2.0 and appointments.at_risk_below == 100.0
    assert appointments.start_date is None or isinstance(appointments.start_date, date)
    assert outline["revenue"].deadline == date(2027, 3, 31)
    assert appointments.owner_name == "Worker"  # the member's first name (conftest)
    assert outline["new_business"].numbered is False and appointments.numbered is True


def test_needs_actuals(tree):
    outline = {n.code: n for n in board.tree_outline(tree["revenue"])}
    assert board.needs_actuals(tree["appointments"]) and board.needs_actuals(outline["appointments"])
    assert not board.needs_actuals(tree["new_business"]) and not board.needs_actuals(outline["new_business"])


def test_missing_actuals_of_the_current_period(tree):
    nodes = board.tree_outline(tree["revenue"])
    missing = board.missing_actuals(nodes, today=date(2026, 5, 20), fiscal_start_month=APRIL)
    codes = {m.node.code for m in missing}
    # May has actuals for five KPIs (small_tree.ACTUALS); the other hand-entered ones are due.
    assert {"appointments", "new_contracts", "close_rate", "role_plays", "upsell_revenue"}.isdisjoint(codes)
    assert {"revenue", "webinars", "feature_adoption"} <= codes
    assert "new_business" not in codes  # a KSF without a number takes no actuals
    leads = next(m for m in missing if m.node.code == "leads_approached")
    assert leads.period == date(2026, 5, 20)  # a daily KPI is due for today
    # Before the tree's window opens nothing is due.
    assert board.missing_actuals(nodes, today=date(2026, 3, 31), fiscal_start_month=APRIL) == []


def test_freshness(tree, django_assert_max_num_queries):
    root = tree["revenue"]
    nodes = board.tree_outline(root)
    with django_assert_max_num_queries(3):
        fresh = board.tree_freshness(root, today=TODAY, nodes=nodes, fiscal_start_month=APRIL)
    assert fresh.stale is False
    assert fresh.computed_at == RollupState.objects.get(root=root).computed_at
    assert fresh.last_actual_at == Measurement.objects.order_by("-entered_at").first().entered_at
    assert fresh.missing_count == len(fresh.missing) > 0
    RollupState.objects.filter(root=root).update(stale_since=fresh.computed_at)
    assert board.tree_freshness(root, today=TODAY, nodes=nodes, fiscal_start_month=APRIL).stale is True


def test_several_trees_in_the_same_number_of_queries(tree, organisation, manager, executive, member):
    other = saas_tree(organisation, manager, executive, member)
    roots = [tree["revenue"], other["revenue"]]
    window = quarter_window(MAY, fiscal_start_month=APRIL)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        stored_rollup.trees_window_figures(roots[:1], window, today=TODAY)
        board.trees_outline(organisation.pk, [roots[0].tree_id])
    with CaptureQueriesContext(connection) as two:
        figures = stored_rollup.trees_window_figures(roots, window, today=TODAY)
        outlines = board.trees_outline(organisation.pk, [r.tree_id for r in roots])
    assert len(one) == len(two) == 2
    assert len(figures) == 30 and [len(nodes) for nodes in outlines.values()] == [15, 15]


def test_document_parts_needs_two_keys():
    with pytest.raises(ValueError):
        stored_rollup.DocumentParts("rollup__series", ["year"])
