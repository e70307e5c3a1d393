"""Every way of reading a figure gives the same number (issue 9 §4): a property test over random
small trees with random actuals, for random windows.

For each example: the per-node engine and the columnar engine (on one grid), an incremental run
after a few new actuals and a full rebuild, the progress API's rows (explain.node_progress) and
the stored documents the dashboards read (dashboards.stored) agree on actual, target,
attainment, status and missing count; a flow's fiscal year is the sum of its months; a status
never contradicts the attainment as displayed, and a node that takes the worst of its children
shows that child's stored figures. Once per run the node page and the monthly
report are compared too. Each example's data is created and rolled back inside one transaction.

A comparison that cannot be made (a child of another frequency stores no entry for its parent's
period) says why it is left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboards.pages.monthly import monthly_report
from dashboards.pages.node import node_figures
from dashboards.stored import nodes_window_figures, tree_window_figures
from dashboards.windows import custom_window, fytd_window, month_window, quarter_window
from goals.models import Measurement, Membership, Node, Organisation, RollupChange
from goals.periods import period_starts
from goals.rollup import columns, document, explain, jobs, storage

TODAY = date(2026, 11, 20)
FISCAL = 4
START, DEADLINE = date(2026, 4, 1), date(2027, 3, 31)
FREQUENCIES = ("daily", "weekly", "monthly", "quarterly")
COMBINED = ("sum", "average", "weighted_average", "min", "max")


@dataclass
class Planned:
    index: int
    parent: int | None
    children: list[int] = field(default_factory=list)
    fields: dict = field(default_factory=dict)


@st.composite
def tree_plans(draw) -> tuple[list[Planned], dict[int, dict[date, Decimal]], bool]:
    """A tree of 3–15 nodes (at most four levels), its nodes' fields and their actuals by period."""
    count = draw(st.integers(3, 15))
    one_grid = draw(st.booleans())
    planned = [Planned(0, None)]
    depth = {0: 0}
    for index in range(1, count):
        parent = draw(st.sampled_from([p.index for p in planned if depth[p.index] < 3]))
        planned.append(Planned(index, parent))
        planned[parent].children.append(index)
        depth[index] = depth[parent] + 1
    rng = draw(st.randoms(use_true_random=False))
    points: dict[int, dict[date, Decimal]] = {}
    for node in planned:
        level = depth[node.index]
        frequency = "monthly" if one_grid else draw(st.sampled_from(FREQUENCIES))
        at_risk, off_track = draw(st.sampled_from([(100, 90), (100, 90), (95, 80)]))
        fields = {
            "kind": ("kgi", "kpi", "kpi", "sub_kpi")[level],
            "code": f"n{node.index}",
            "frequency": frequency,
            "at_risk_below": Decimal(at_risk),
            "off_track_below": Decimal(off_track),
            "status_rule": draw(st.sampled_from(["weighted", "worst"])),
            "weight": Decimal(draw(st.sampled_from([1, 1, 2, 3]))),
        }
        if level == 0:
            fields.update(start_date=START, deadline=DEADLINE)
        if node.children:
            source = draw(st.sampled_from([*COMBINED, "formula", "formula"]))
            fields["value_source"] = source
            codes = [f"n{c}" for c in node.children]
            if source == "formula":
                # A formula may name any node under it (issue 10 §1): a grandchild too.
                codes = [f"n{c}" for c in draw(st.permutations(_below(planned, node.index)))]
                # A flow (revenue = sessions × spend) or a rate (won / appointments).
                if draw(st.booleans()):
                    fields.update(formula=" * ".join(codes[:2]) if len(codes) > 1 else f"{codes[0]} * 2")
                    fields.update(time_aggregation="sum", target_value=Decimal(draw(st.integers(100, 90000))))
                    # A flow with a ceiling is judged on its periods whose inputs are all in.
                    fields["direction"] = draw(st.sampled_from(["increase", "decrease"]))
                else:
                    fields.update(formula=f"{codes[0]} / {codes[-1]} * 100" if len(codes) > 1 else f"{codes[0]} / 4")
                    fields.update(time_aggregation="average", target_value=Decimal(draw(st.integers(20, 150))))
            elif level == 1 and draw(st.booleans()):
                fields["kind"] = "ksf"  # no number of its own: its status comes from its children
            else:
                fields["time_aggregation"] = draw(st.sampled_from(["sum", "average"]))
                fields["target_value"] = Decimal(draw(st.integers(10, 3000)))
                fields["direction"] = draw(st.sampled_from(["increase", "decrease"]))
        else:
            fields["value_source"] = "manual"
            shape = draw(st.sampled_from(["increase", "increase", "decrease", "range"]))
            fields["time_aggregation"] = draw(st.sampled_from(["sum", "sum", "average", "last"]))
            if shape == "range":
                low = draw(st.integers(0, 200))
                fields.update(direction="maintain", target_min=Decimal(low), target_max=Decimal(low + 150))
            else:
                fields.update(direction=shape, target_value=Decimal(draw(st.integers(10, 3000))))
            chance = draw(st.sampled_from([0.3, 0.8, 1.0]))
            # Around the target (or the range), so every status turns up.
            centre = int(fields.get("target_value") or fields["target_min"] + 75)
            points[node.index] = {
                day: Decimal(rng.randint(centre // 2, centre * 3 // 2 + 10))
                for day in period_starts(START, TODAY, frequency, FISCAL)
                if rng.random() < chance
            }
        node.fields = fields
    return planned, points, one_grid


def _below(planned: list[Planned], index: int) -> list[int]:
    """The indices of every node under ``index``, children first."""
    found, queue = [], list(planned[index].children)
    while queue:
        found.append(queue.pop(0))
        queue.extend(planned[found[-1]].children)
    return found


@st.composite
def windows(draw):
    month = date(2026, draw(st.integers(4, 11)), 1)
    kind = draw(st.sampled_from(["month", "quarter", "fytd", "custom"]))
    if kind == "month":
        return month_window(month, fiscal_start_month=FISCAL)
    if kind == "quarter":
        return quarter_window(month, fiscal_start_month=FISCAL)
    if kind == "fytd":
        return fytd_window(month, fiscal_start_month=FISCAL)
    last = date(2026, draw(st.integers(month.month, 12)), 1)
    return custom_window(month, last, fiscal_start_month=FISCAL)


def _create(organisation: Organisation, planned: list[Planned], points) -> list[Node]:
    nodes: list[Node] = []
    for plan in planned:
        parent = nodes[plan.parent] if plan.parent is not None else None
        nodes.append(
            Node.objects.create(organisation=organisation, parent=parent, name=plan.fields["code"], **plan.fields)
        )
    Measurement.objects.bulk_create(
        Measurement(node=nodes[index], period_start=day, value=value)
        for index, by_day in points.items()
        for day, value in by_day.items()
    )
    return [Node.objects.select_related("organisation").get(pk=n.pk) for n in nodes]


def _series(engine, ids) -> dict[int, dict]:
    return {node_id: json.loads(json.dumps(engine.series(node_id))) for node_id in ids}


def _stored(ids) -> dict[int, dict]:
    return {k: json.loads(json.dumps(v)) for k, v in storage.nodes_documents(ids).items()}


def _rounded(value: float | None) -> float | None:
    """The attainment as the API gives it: as displayed (see :func:`_displayed`)."""
    return None if value is None else float(_displayed(value))


def _displayed(attainment: float) -> Decimal:
    """The attainment as the pages show it (``floatformat:1``, half up)."""
    return Decimal(repr(attainment)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


pages_checked: list[bool] = []


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(plan=tree_plans(), chosen=st.lists(windows(), min_size=2, max_size=3), data=st.data())
def test_every_reader_gives_the_same_figures(plan, chosen, data):
    planned, points, one_grid = plan
    with transaction.atomic():
        _check_tree(planned, points, one_grid, chosen, data)
        transaction.set_rollback(True)


def _check_tree(planned, points, one_grid, chosen, data) -> None:
    organisation = Organisation.objects.create(name="Figures", fiscal_year_start_month=FISCAL)
    nodes = _create(organisation, planned, points)
    root = nodes[0]
    ids = [n.pk for n in nodes]

    # The per-node engine and the columnar one.
    engine, _ = storage.tree_engine(root, as_of=TODAY)
    full = _series(engine, ids)
    columnar = columns.ColumnarRollup(engine, ids)
    assert columnar.applies() or not one_grid
    if columnar.applies():
        assert {k: json.loads(v) for k, v in columnar.documents()} == full

    # A full run stores exactly the engine's documents; after a few new actuals an incremental
    # run stores what a full rebuild would.
    jobs.tree_rollup(root_id=root.pk, as_of=TODAY, full=True)
    assert _stored(ids) == full
    leaves = [n for n in nodes if n.value_source == "manual"]
    for leaf in data.draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=3, unique=True), label="changed"):
        day = data.draw(st.sampled_from(period_starts(START, TODAY, leaf.frequency, FISCAL)), label="period")
        value = Decimal(data.draw(st.integers(0, 3000), label="value"))
        Measurement.objects.update_or_create(node=leaf, period_start=day, defaults={"value": value})
        RollupChange.objects.create(root=root, node=leaf)
    jobs.tree_rollup(root_id=root.pk, as_of=TODAY)
    stored = _stored(ids)
    engine, _ = storage.tree_engine(root, as_of=TODAY)
    assert stored == _series(engine, ids)

    for window in chosen:
        figures = nodes_window_figures(nodes, [window], series=stored, roots={root.tree_id: root}, today=TODAY)
        for node in nodes:
            _check_progress(node, window, stored[node.pk], figures[node.pk][0])
    for node in nodes:
        children = [(child, stored[child.pk]) for child in nodes if child.parent_id == node.pk]
        _check_status_as_displayed(node, stored[node.pk], children)
    _check_flows(nodes, stored, root)

    if not pages_checked:
        pages_checked.append(True)
        _check_pages(root, nodes, stored, chosen[0])


def _check_progress(node: Node, window, stored: dict, shown) -> None:
    """The progress API's per-period rows are the stored periods; over a window of whole periods
    its "to date" row is what the dashboards show for the window."""
    answer = explain.node_progress(node, first=window.first, last=window.last, as_of=TODAY)
    for row in answer["periods"]:
        entry = document.period_figures(stored, row["period_start"], node.frequency)
        assert entry.period == row["period_start"], (node.code, row)
        assert (row["actual"], row["target"], row["target_min"], row["target_max"]) == (
            entry.actual,
            entry.target,
            entry.low,
            entry.high,
        ), (node.code, row["period_start"])
        assert (row["attainment"], row["status"], row["missing_inputs"]) == (
            _rounded(entry.attainment),
            entry.status,
            entry.missing,
        ), (node.code, row["period_start"])
    whole = answer["to_date"]
    assert (whole["actual"], whole["target"], whole["target_min"], whole["target_max"]) == (
        shown.actual,
        shown.target,
        shown.low,
        shown.high,
    ), (node.code, window)
    assert (whole["attainment"], whole["status"], whole["missing_inputs"]) == (
        _rounded(shown.attainment),
        shown.status,
        shown.missing,
    ), (node.code, window)


JUDGED_ON_THRESHOLDS = ("thresholds", "out_of_range", "weighted_children")
SEVERITY = {"no_data": -1, "on_track": 0, "at_risk": 1, "off_track": 2}


def _check_status_as_displayed(node: Node, stored: dict, children: list[tuple[Node, dict]]) -> None:
    """The node's thresholds applied to the attainment as displayed give the status shown; a node
    that takes the worst of its children shows that child's figures, judged on its thresholds."""
    for name in ("period", *document.WINDOWS):
        entries = document.window_columns(stored, name)
        for index in range(len(entries["period"])):
            entry = document.figures_at(entries, index)
            if entry.attainment is None:
                continue
            if entry.reason == "worst_of_children":
                _check_worst_child(node, name, entry, children)
            elif entry.reason in JUDGED_ON_THRESHOLDS:
                assert entry.status == _status_by_thresholds(node, entry), (node.code, name, entry)


def _status_by_thresholds(node: Node, entry) -> str:
    at_risk, off_track = Decimal(node.at_risk_below), Decimal(node.off_track_below)
    shown = _displayed(entry.attainment)
    if entry.reason == "out_of_range":
        return "off_track" if shown < off_track else "at_risk"
    return "on_track" if shown >= at_risk else "at_risk" if shown >= off_track else "off_track"


def _check_worst_child(node: Node, name: str, entry, children: list[tuple[Node, dict]]) -> None:
    """The status and attainment are those of the worst judged child's stored entry for the same
    window (by severity, then lowest attainment), and that status is the child's thresholds'."""
    judged = []
    for child, stored in children:
        columns = document.window_columns(stored, name)
        labels = columns["period"]
        if entry.period.isoformat() not in labels or (name == "period" and child.frequency != node.frequency):
            # A child of another frequency stores no entry for the node's own period (a weekly
            # child's month is computed, not stored): nothing to compare with here.
            return
        figures = document.figures_at(columns, labels.index(entry.period.isoformat()))
        if figures.status != "no_data":
            judged.append((child, figures))
    assert judged, (node.code, name, entry)
    child, worst = max(judged, key=lambda item: (SEVERITY[item[1].status], -item[1].attainment))
    assert (entry.status, entry.attainment) == (worst.status, worst.attainment), (node.code, name, entry, child.code)
    if worst.reason in JUDGED_ON_THRESHOLDS:
        assert worst.status == _status_by_thresholds(child, worst), (child.code, name, worst)
    elif worst.reason == "in_range":
        assert worst.status == "on_track", (child.code, name, worst)
    else:
        # The child takes the worst of its own children: checked when the child is.
        assert worst.reason == "worst_of_children", (child.code, name, worst)


def _flow(node: Node, children: dict[int, list[Node]]) -> bool:
    """Its value over a window is the sum of its values over the window's parts: a flow entered
    by hand, or a sum of flows."""
    # A quarterly node is not due in a month (docs/rollup.md §3): its months are no data.
    if node.frequency == "quarterly" or node.time_aggregation != "sum":
        return False
    if node.value_source in ("manual", "formula"):
        return True
    return node.value_source == "sum" and all(_flow(child, children) for child in children[node.pk])


def _check_flows(nodes: list[Node], stored: dict[int, dict], root: Node) -> None:
    """A flow's fiscal year to date is the sum of its months, as the dashboards show both."""
    children: dict[int, list[Node]] = {n.pk: [] for n in nodes}
    for node in nodes:
        if node.parent_id:
            children[node.parent_id].append(node)
    flows = [n for n in nodes if _flow(n, children)]
    if not flows:
        return
    months = [month_window(date(2026, m, 1), fiscal_start_month=FISCAL) for m in range(4, 12)]
    year = fytd_window(date(2026, 11, 1), fiscal_start_month=FISCAL)
    figures = nodes_window_figures(flows, [year, *months], series=stored, roots={root.tree_id: root}, today=TODAY)
    for node in flows:
        whole, *parts = figures[node.pk]
        values = [f.actual for f in parts if f.actual is not None]
        assert whole.actual == (pytest.approx(sum(values)) if values else None), node.code


def _check_pages(root: Node, nodes: list[Node], stored: dict[int, dict], window) -> None:
    """The node page and the monthly report show the stored figures."""
    user = get_user_model().objects.create_user(username="figures-manager", password="pw")
    membership = Membership.objects.create(user=user, organisation=root.organisation, role="manager")
    month = month_window(window.first, fiscal_start_month=FISCAL)
    for node in nodes[:3]:
        children = [n for n in nodes if n.parent_id == node.pk]
        page = node_figures(
            node,
            children,
            root=root,
            membership=membership,
            window=window,
            today=TODAY,
            sees_attainment=True,
            hidden_owners=frozenset(),
        )
        expected = nodes_window_figures(
            [node, *children], [window], series=stored, roots={root.tree_id: root}, today=TODAY
        )
        assert page.figures == expected[node.pk][0]
        assert {row.node.pk: row.figures for row in page.children} == {c.pk: expected[c.pk][0] for c in children}
    report = monthly_report(root, month, membership=membership, today=TODAY, now=datetime(2026, 11, 20, 9, tzinfo=UTC))
    shown = tree_window_figures(root, month, series=stored, today=TODAY)
    assert {row.node.pk: row.figures for row in report.rows} == shown
    to_date = explain.node_progress(root, first=report.to_date.first, last=report.to_date.last, as_of=TODAY)
    assert report.kgi_to_date.actual == to_date["to_date"]["actual"]
    assert _rounded(report.kgi_to_date.attainment) == to_date["to_date"]["attainment"]
    assert report.kgi_to_date.status == to_date["to_date"]["status"]
    assert report.kgi_to_date.missing == to_date["to_date"]["missing_inputs"]
