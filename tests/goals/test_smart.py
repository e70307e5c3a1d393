"""SMART rules (goals/smart.py): every rule id as error, warning and pass, on unsaved nodes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from goals import smart
from goals.models import Node
from goals.rollup.plan import PlanCheck, PlanRow
from goals.smart import Level, NodeContext, SmartReport

D = Decimal
START, DEADLINE = date(2026, 4, 1), date(2027, 3, 31)
ERROR, WARNING, PASS = Level.ERROR, Level.WARNING, Level.PASS

# A KPI that passes every rule; each case below changes as little as possible.
GOOD_KPI = {
    "kind": "kpi",
    "name": "50 appointments a month",
    "description": "",
    "code": "appointments",
    "owner_id": 1,
    "unit": "appointments",
    "direction": "increase",
    "baseline_value": D("35"),
    "target_value": D("50"),
    "time_aggregation": "sum",
    "target_min": None,
    "target_max": None,
    "start_date": START,
    "deadline": DEADLINE,
    "frequency": "monthly",
    "indicator_type": "leading",
    "value_source": "manual",
    "formula": "",
    "rationale": "More appointments give more chances to close.",
}
GOOD_KSF = {
    **GOOD_KPI,
    "kind": "ksf",
    "name": "Win more new customers with a stronger sales team",
    "code": "new_business",
    "unit": "",
    "baseline_value": None,
    "target_value": None,
    "start_date": None,
    "deadline": None,
    "rationale": "New contracts close most of the gap.",
}
GOOD_KGI = {
    **GOOD_KPI,
    "kind": "kgi",
    "name": "SaaS annual revenue ¥100M → ¥120M by fiscal year end",
    "code": "revenue",
    "unit": "JPY",
    "baseline_value": D("100000000"),
    "target_value": D("120000000"),
    "indicator_type": "lagging",
    "rationale": "",
}
KPI_CONTEXT = NodeContext(parent_kind="ksf", parent_deadline=DEADLINE, kpis_under_ksf=1)
KSF_CONTEXT = NodeContext(parent_kind="kgi", parent_deadline=DEADLINE, kpis_under_ksf=2)
KGI_CONTEXT = NodeContext()


# Plan checks (goals.rollup.plan) of a KGI with a target of 120M for FY2026: the drivers add up
# to 100M (short by 16.7%) or to 480M (4× over).
PLAN_SHORT = PlanCheck(1, 5.0, years=(PlanRow(START, DEADLINE, "yearly", 100_000_000, 120_000_000),))
PLAN_OVER = replace(PLAN_SHORT, years=(PlanRow(START, DEADLINE, "yearly", 480_000_000, 120_000_000),))


def node(base: dict = GOOD_KPI, **changes) -> Node:
    return Node(**{**base, **changes})


def problems(report: SmartReport) -> set[tuple[str, Level, str | None]]:
    """The findings that are not passes, as (rule, level, field)."""
    return {(f.rule, f.level, f.field) for f in report.findings if f.level != PASS}


def check(base: dict = GOOD_KPI, context: NodeContext = KPI_CONTEXT, **changes) -> SmartReport:
    return smart.check_node(node(base, **changes), context)


@pytest.mark.parametrize(
    ("base", "context"),
    [(GOOD_KPI, KPI_CONTEXT), (GOOD_KSF, KSF_CONTEXT), (GOOD_KGI, KGI_CONTEXT)],
    ids=["kpi", "ksf", "kgi"],
)
def test_good_nodes_pass_every_letter(base, context):
    report = check(base, context)

    assert problems(report) == set()
    assert report.level == PASS
    assert sorted(f.rule for f in report.findings) == ["A-ok", "M-ok", "R-ok", "S-ok", "T-ok"]
    assert all(r.level == PASS and len(r.reasons) == 1 for r in report.letters)


def test_any_object_with_the_fields_will_do():
    report = smart.check_node(SimpleNamespace(**GOOD_KPI), KPI_CONTEXT)

    assert report.level == PASS


# (id, base, context, changes, expected findings that are not passes). Each rule appears as
# an error or warning and next to it the nearest case that passes.
CASES = [
    # S — Specific
    ("S-name", GOOD_KPI, KPI_CONTEXT, {"name": "   "}, {("S-name", ERROR, "name")}),
    (
        "S-name stops the other S rules",
        GOOD_KPI,
        KPI_CONTEXT,
        {"name": "", "owner_id": None},
        {("S-name", ERROR, "name")},
    ),
    ("S-owner", GOOD_KPI, KPI_CONTEXT, {"owner_id": None}, {("S-owner", WARNING, "owner")}),
    ("S-owner on a KSF", GOOD_KSF, KSF_CONTEXT, {"owner_id": None}, {("S-owner", WARNING, "owner")}),
    (
        "S-vague-phrase",
        GOOD_KPI,
        KPI_CONTEXT,
        {"name": "Try to get 50 appointments a month"},
        {("S-vague-phrase", WARNING, "name")},
    ),
    (
        "S-vague-phrase in the description",
        GOOD_KPI,
        KPI_CONTEXT,
        {"description": "As many as possible, somehow."},
        {("S-vague-phrase", WARNING, "name")},
    ),
    (
        "S-vague-phrase in Japanese",
        GOOD_KPI,
        KPI_CONTEXT,
        {"name": "できるだけ毎月50件のアポイント"},
        {("S-vague-phrase", WARNING, "name")},
    ),
    (
        "S-vague-phrase on a KSF",
        GOOD_KSF,
        KSF_CONTEXT,
        {"name": "Do our best in sales"},
        {("S-vague-phrase", WARNING, "name")},
    ),
    (
        "S-vague-phrase, as soon as possible",
        GOOD_KPI,
        KPI_CONTEXT,
        {"name": "50 appointments a month, as soon as possible"},
        {("S-vague-phrase", WARNING, "name")},
    ),
    (
        "S-vague-phrase, as low as possible",
        GOOD_KPI,
        KPI_CONTEXT,
        {"name": "Churn as low as possible each month (2%)"},
        {("S-vague-phrase", WARNING, "name")},
    ),
    # "Entry to" contains "try to" but is not vague.
    ("S-vague-phrase inside a word passes", GOOD_KPI, KPI_CONTEXT, {"name": "Entry to 3 new markets a year"}, set()),
    ("S-number", GOOD_KPI, KPI_CONTEXT, {"name": "More appointments every month"}, {("S-number", WARNING, "name")}),
    (
        "S-number from the description passes",
        GOOD_KPI,
        KPI_CONTEXT,
        {"name": "More appointments every month", "description": "50, up from 35."},
        set(),
    ),
    ("S-number not asked of a KSF", GOOD_KSF, KSF_CONTEXT, {}, set()),
    ("S-period", GOOD_KPI, KPI_CONTEXT, {"name": "50 appointments"}, {("S-period", WARNING, "name")}),
    ("S-period with a deadline passes", GOOD_KPI, KPI_CONTEXT, {"name": "50 appointments by March 2027"}, set()),
    ("S-period in Japanese passes", GOOD_KPI, KPI_CONTEXT, {"name": "アポイント数 月50件"}, set()),
    ("S-period with FY passes", GOOD_KPI, KPI_CONTEXT, {"name": "50 appointments in FY2026"}, set()),
    (
        "S-number and S-period",
        GOOD_KPI,
        KPI_CONTEXT,
        {"name": "Appointments"},
        {("S-number", WARNING, "name"), ("S-period", WARNING, "name")},
    ),
    (
        "S-vague-phrase, docs example",
        GOOD_KPI,
        KPI_CONTEXT,
        {"name": "Get as many leads as possible"},
        {
            ("S-vague-phrase", WARNING, "name"),
            ("S-number", WARNING, "name"),
            ("S-period", WARNING, "name"),
        },
    ),
    (
        "S-number, docs example",
        GOOD_KPI,
        KPI_CONTEXT,
        {"name": "Improve the close rate"},
        {
            ("S-number", WARNING, "name"),
            ("S-period", WARNING, "name"),
        },
    ),
    ("S-number, the docs' fix passes", GOOD_KPI, KPI_CONTEXT, {"name": "Close rate 20% per month"}, set()),
    # M — Measurable
    (
        "M-range without a highest value",
        GOOD_KPI,
        KPI_CONTEXT,
        {"direction": "maintain", "target_min": D("10")},
        {("M-range", ERROR, "target_max")},
    ),
    (
        "M-range without a lowest value",
        GOOD_KPI,
        KPI_CONTEXT,
        {"direction": "maintain", "target_max": D("10")},
        {("M-range", ERROR, "target_min")},
    ),
    (
        "M-range-order",
        GOOD_KPI,
        KPI_CONTEXT,
        {"direction": "maintain", "target_min": D("20"), "target_max": D("10")},
        {("M-range-order", ERROR, "target_min")},
    ),
    (
        "M-range, a one-value range passes and needs no target",
        GOOD_KPI,
        KPI_CONTEXT,
        {"direction": "maintain", "target_value": None, "target_min": D("10"), "target_max": D("10")},
        set(),
    ),
    ("M-target", GOOD_KPI, KPI_CONTEXT, {"target_value": None}, {("M-target", ERROR, "target_value")}),
    ("M-target on a KGI", GOOD_KGI, KGI_CONTEXT, {"target_value": None}, {("M-target", ERROR, "target_value")}),
    (
        "M-target on a sub-KPI",
        GOOD_KPI,
        NodeContext(parent_kind="kpi"),
        {"kind": "sub_kpi", "target_value": None},
        {("M-target", ERROR, "target_value")},
    ),
    ("M-unit", GOOD_KPI, KPI_CONTEXT, {"unit": "  "}, {("M-unit", ERROR, "unit")}),
    (
        "M-unit on a KSF with a number",
        GOOD_KSF,
        KSF_CONTEXT,
        {"target_value": D("3"), "baseline_value": D("1")},
        {("M-unit", ERROR, "unit")},
    ),
    ("M-baseline", GOOD_KPI, KPI_CONTEXT, {"baseline_value": None}, {("M-baseline", WARNING, "baseline_value")}),
    (
        "M-baseline not asked of a computed node",
        GOOD_KPI,
        replace(KPI_CONTEXT, child_units=("appointments",)),
        {"baseline_value": None, "value_source": "sum"},
        set(),
    ),
    (
        "M-formula empty",
        GOOD_KPI,
        KPI_CONTEXT,
        {"value_source": "formula", "formula": "", "time_aggregation": "average"},
        {("M-formula", ERROR, "formula")},
    ),
    (
        "M-formula invalid",
        GOOD_KPI,
        replace(KPI_CONTEXT, descendant_codes=frozenset({"calls"})),
        {"value_source": "formula", "formula": "calls **", "time_aggregation": "average"},
        {("M-formula", ERROR, "formula")},
    ),
    (
        "M-formula-waiting: a code no node has yet (built top down)",
        GOOD_KPI,
        replace(KPI_CONTEXT, descendant_codes=frozenset({"contracts"})),
        {"value_source": "formula", "formula": "contracts / appointments * 100", "time_aggregation": "average"},
        {("M-formula-waiting", WARNING, "formula")},
    ),
    (
        "M-formula-waiting with nothing under it yet",
        GOOD_KPI,
        KPI_CONTEXT,
        {"value_source": "formula", "formula": "contracts / appointments * 100", "time_aggregation": "average"},
        {("M-formula-waiting", WARNING, "formula")},
    ),
    (
        "M-formula-codes: a code elsewhere in the tree",
        GOOD_KPI,
        replace(
            KPI_CONTEXT,
            descendant_codes=frozenset({"contracts"}),
            tree_codes=frozenset({"contracts", "appointments", "revenue"}),
        ),
        {"value_source": "formula", "formula": "contracts / appointments * 100", "time_aggregation": "average"},
        {("M-formula-codes", ERROR, "formula")},
    ),
    (
        "M-formula-cycle: its own code or an ancestor's",
        GOOD_KPI,
        replace(
            KPI_CONTEXT,
            descendant_codes=frozenset({"contracts"}),
            above_codes=frozenset({"rate", "revenue"}),
            tree_codes=frozenset({"contracts", "rate", "revenue"}),
        ),
        {"value_source": "formula", "formula": "contracts / revenue * 100", "time_aggregation": "average"},
        {("M-formula-cycle", ERROR, "formula")},
    ),
    (
        "M-formula-constant: a division by zero",
        GOOD_KPI,
        replace(KPI_CONTEXT, descendant_codes=frozenset({"contracts"})),
        {"value_source": "formula", "formula": "1/0", "time_aggregation": "average"},
        {("M-formula-constant", ERROR, "formula")},
    ),
    (
        "M-formula-constant: a number",
        GOOD_KPI,
        KPI_CONTEXT,
        {"value_source": "formula", "formula": "42", "time_aggregation": "average"},
        {("M-formula-constant", ERROR, "formula")},
    ),
    (
        "M-formula: a literal beyond a float",
        GOOD_KPI,
        replace(KPI_CONTEXT, descendant_codes=frozenset({"contracts"})),
        {"value_source": "formula", "formula": "contracts * 1" + "0" * 400, "time_aggregation": "average"},
        {("M-formula", ERROR, "formula")},
    ),
    (
        "M-formula over its children passes",
        GOOD_KPI,
        replace(KPI_CONTEXT, descendant_codes=frozenset({"contracts", "appointments"})),
        {"value_source": "formula", "formula": "contracts / appointments * 100", "time_aggregation": "average"},
        set(),
    ),
    (
        "M-thresholds",
        GOOD_KPI,
        KPI_CONTEXT,
        {"at_risk_below": Decimal("90"), "off_track_below": Decimal("95")},
        {("M-thresholds", ERROR, "off_track_below")},
    ),
    (
        "M-thresholds, equal thresholds pass (no at-risk band)",
        GOOD_KPI,
        KPI_CONTEXT,
        {"at_risk_below": Decimal("90"), "off_track_below": Decimal("90")},
        set(),
    ),
    (
        "M-thresholds on a KSF that scores its children",
        GOOD_KSF,
        KSF_CONTEXT,
        {"status_rule": "weighted", "at_risk_below": Decimal("90"), "off_track_below": Decimal("95")},
        {("M-thresholds", ERROR, "off_track_below")},
    ),
    (
        # Its status is its worst child's, judged on the child's thresholds: its own judge nothing.
        "M-thresholds not asked of a KSF that takes the worst of its children",
        GOOD_KSF,
        KSF_CONTEXT,
        {"status_rule": "worst", "at_risk_below": Decimal("90"), "off_track_below": Decimal("95")},
        set(),
    ),
    (
        "M-rate-summed",
        GOOD_KPI,
        KPI_CONTEXT,
        {"unit": "%", "time_aggregation": "sum"},
        {("M-rate-summed", WARNING, "time_aggregation")},
    ),
    (
        "M-rate-summed, a rate averaged over time passes",
        GOOD_KPI,
        KPI_CONTEXT,
        {"unit": "%", "time_aggregation": "average"},
        set(),
    ),
    ("M-no-inputs", GOOD_KPI, KPI_CONTEXT, {"value_source": "sum"}, {("M-no-inputs", WARNING, "value_source")}),
    (
        "M-unit-mismatch",
        GOOD_KPI,
        replace(KPI_CONTEXT, child_units=("appointments", "leads", "calls")),
        {"value_source": "average"},
        {("M-unit-mismatch", ERROR, "value_source")},
    ),
    (
        "M-unit-mismatch, same units pass",
        GOOD_KPI,
        replace(KPI_CONTEXT, child_units=("appointments", "appointments")),
        {"value_source": "max"},
        set(),
    ),
    (
        "M-unit-mismatch not asked of a formula",
        GOOD_KPI,
        replace(KPI_CONTEXT, descendant_codes=frozenset({"a", "b"}), child_units=("%", "leads")),
        {"value_source": "formula", "formula": "a * b / 100", "time_aggregation": "average"},
        set(),
    ),
    (
        "M-unit-parent",
        GOOD_KPI,
        replace(KPI_CONTEXT, parent_value_source="sum", parent_unit="leads"),
        {},
        {("M-unit-parent", ERROR, "unit")},
    ),
    (
        "M-unit-parent, same unit passes",
        GOOD_KPI,
        replace(KPI_CONTEXT, parent_value_source="weighted_average", parent_unit="appointments"),
        {},
        set(),
    ),
    (
        "M-unit-parent not asked under a formula",
        GOOD_KPI,
        replace(KPI_CONTEXT, parent_value_source="formula", parent_unit="%"),
        {},
        set(),
    ),
    ("M not asked of a KSF", GOOD_KSF, KSF_CONTEXT, {}, set()),
    # A — Achievable
    ("A-direction up", GOOD_KPI, KPI_CONTEXT, {"target_value": D("35")}, {("A-direction", WARNING, "target_value")}),
    (
        "A-direction down",
        GOOD_KPI,
        KPI_CONTEXT,
        {"direction": "decrease", "baseline_value": D("5"), "target_value": D("6")},
        {("A-direction", WARNING, "target_value")},
    ),
    (
        "A-direction, a decrease passes",
        GOOD_KPI,
        KPI_CONTEXT,
        {"direction": "decrease", "baseline_value": D("5"), "target_value": D("4")},
        set(),
    ),
    (
        "A-stretch up",
        GOOD_KPI,
        KPI_CONTEXT,
        {"baseline_value": D("10"), "target_value": D("25")},
        {("A-stretch", WARNING, "target_value")},
    ),
    (
        "A-stretch, exactly doubling passes",
        GOOD_KPI,
        KPI_CONTEXT,
        {"baseline_value": D("10"), "target_value": D("20")},
        set(),
    ),
    (
        "A-stretch down",
        GOOD_KPI,
        KPI_CONTEXT,
        {"direction": "decrease", "baseline_value": D("100"), "target_value": D("40")},
        {("A-stretch", WARNING, "target_value")},
    ),
    (
        "A-stretch, exactly halving passes",
        GOOD_KPI,
        KPI_CONTEXT,
        {"direction": "decrease", "baseline_value": D("100"), "target_value": D("50")},
        set(),
    ),
    (
        "A-stretch not asked from a zero baseline",
        GOOD_KPI,
        KPI_CONTEXT,
        {"baseline_value": D("0"), "target_value": D("50")},
        set(),
    ),
    (
        "A-stretch not asked of a range",
        GOOD_KPI,
        KPI_CONTEXT,
        {"direction": "maintain", "baseline_value": D("1"), "target_min": D("90"), "target_max": D("99")},
        set(),
    ),
    # History 10 → 12 over two months: +1 a month, +120% over twelve months; 2× that is 240%.
    (
        "A-history",
        GOOD_KPI,
        replace(KPI_CONTEXT, history=(D("10"), D("11"), D("12"))),
        {"baseline_value": D("12"), "target_value": D("50")},
        {("A-history", WARNING, "target_value")},
    ),
    (
        "A-history, docs example",
        GOOD_KPI,
        replace(KPI_CONTEXT, history=(D("100"), D("102"), D("104"))),
        {"baseline_value": D("100"), "target_value": D("200")},
        {("A-history", WARNING, "target_value")},
    ),
    (
        "A-history supports more than doubling",
        GOOD_KPI,
        replace(KPI_CONTEXT, history=(D("10"), D("11"), D("12"))),
        {"baseline_value": D("12"), "target_value": D("30")},
        set(),
    ),
    (
        "A-history too short falls back to A-stretch",
        GOOD_KPI,
        replace(KPI_CONTEXT, history=(D("10"), D("12"))),
        {"baseline_value": D("12"), "target_value": D("30")},
        {("A-stretch", WARNING, "target_value")},
    ),
    (
        "A-history falling falls back to A-stretch",
        GOOD_KPI,
        replace(KPI_CONTEXT, history=(D("12"), D("11"), D("10"))),
        {"baseline_value": D("10"), "target_value": D("30")},
        {("A-stretch", WARNING, "target_value")},
    ),
    (
        "A-history without a start date falls back to A-stretch",
        GOOD_KPI,
        replace(KPI_CONTEXT, history=(D("10"), D("11"), D("12"))),
        {"baseline_value": D("12"), "target_value": D("30"), "start_date": None},
        {("A-stretch", WARNING, "target_value"), ("T-start", WARNING, "start_date")},
    ),
    # R — Related
    (
        "R-parent KPI under a KGI",
        GOOD_KPI,
        replace(KPI_CONTEXT, parent_kind="kgi"),
        {},
        {("R-parent", ERROR, "parent")},
    ),
    ("R-parent KPI as a root", GOOD_KPI, replace(KPI_CONTEXT, parent_kind=None), {}, {("R-parent", ERROR, "parent")}),
    (
        "R-parent KSF under a KSF",
        GOOD_KSF,
        replace(KSF_CONTEXT, parent_kind="ksf"),
        {},
        {("R-parent", ERROR, "parent")},
    ),
    ("R-parent KSF as a root", GOOD_KSF, replace(KSF_CONTEXT, parent_kind=None), {}, {("R-parent", ERROR, "parent")}),
    ("R-parent KGI with a parent", GOOD_KGI, NodeContext(parent_kind="ksf"), {}, {("R-parent", ERROR, "parent")}),
    (
        "R-parent sub-KPI under a KSF",
        GOOD_KPI,
        replace(KPI_CONTEXT, parent_kind="ksf"),
        {"kind": "sub_kpi"},
        {("R-parent", ERROR, "parent")},
    ),
    ("R-parent sub-KPI under a KPI passes", GOOD_KPI, NodeContext(parent_kind="kpi"), {"kind": "sub_kpi"}, set()),
    (
        "R-parent sub-KPI under a sub-KPI passes",
        GOOD_KPI,
        NodeContext(parent_kind="sub_kpi"),
        {"kind": "sub_kpi"},
        set(),
    ),
    (
        "R-too-many-kpis on a KPI",
        GOOD_KPI,
        replace(KPI_CONTEXT, kpis_under_ksf=4),
        {},
        {("R-too-many-kpis", WARNING, None)},
    ),
    (
        "R-too-many-kpis on a KSF",
        GOOD_KSF,
        replace(KSF_CONTEXT, kpis_under_ksf=5),
        {},
        {("R-too-many-kpis", WARNING, None)},
    ),
    ("R-too-many-kpis, three pass", GOOD_KPI, replace(KPI_CONTEXT, kpis_under_ksf=3), {}, set()),
    (
        "R-too-many-kpis not asked of a sub-KPI",
        GOOD_KPI,
        NodeContext(parent_kind="kpi", kpis_under_ksf=4),
        {"kind": "sub_kpi"},
        set(),
    ),
    ("R-link", GOOD_KPI, KPI_CONTEXT, {"rationale": " \n"}, {("R-link", WARNING, "rationale")}),
    ("R-link on a KSF", GOOD_KSF, KSF_CONTEXT, {"rationale": ""}, {("R-link", WARNING, "rationale")}),
    ("R-link not asked of a KGI", GOOD_KGI, KGI_CONTEXT, {"rationale": ""}, set()),
    # T — Time-bounded
    ("T-order", GOOD_KPI, KPI_CONTEXT, {"start_date": date(2027, 4, 1)}, {("T-order", ERROR, "deadline")}),
    ("T-order, same day passes", GOOD_KPI, KPI_CONTEXT, {"start_date": DEADLINE}, set()),
    (
        "T-order on a KSF",
        GOOD_KSF,
        KSF_CONTEXT,
        {"start_date": date(2026, 5, 1), "deadline": date(2026, 4, 30)},
        {("T-order", ERROR, "deadline")},
    ),
    ("T-deadline", GOOD_KPI, KPI_CONTEXT, {"deadline": None}, {("T-deadline", ERROR, "deadline")}),
    ("T-deadline on a KGI", GOOD_KGI, KGI_CONTEXT, {"deadline": None}, {("T-deadline", ERROR, "deadline")}),
    ("T-start", GOOD_KPI, KPI_CONTEXT, {"start_date": None}, {("T-start", WARNING, "start_date")}),
    (
        "T-deadline and T-start",
        GOOD_KPI,
        KPI_CONTEXT,
        {"start_date": None, "deadline": None},
        {("T-deadline", ERROR, "deadline"), ("T-start", WARNING, "start_date")},
    ),
    (
        "T-after-parent",
        GOOD_KPI,
        replace(KPI_CONTEXT, parent_deadline=date(2026, 12, 31)),
        {},
        {("T-after-parent", WARNING, "deadline")},
    ),
    ("T-after-parent, no parent deadline passes", GOOD_KPI, replace(KPI_CONTEXT, parent_deadline=None), {}, set()),
    (
        "T-after-parent on a KSF with a deadline",
        GOOD_KSF,
        replace(KSF_CONTEXT, parent_deadline=date(2026, 12, 31)),
        {"deadline": DEADLINE},
        {("T-after-parent", WARNING, "deadline")},
    ),
    ("T not asked of a KSF", GOOD_KSF, KSF_CONTEXT, {"start_date": None, "deadline": None}, set()),
    (
        "T-date-range: an open-ended deadline",
        GOOD_KPI,
        replace(KPI_CONTEXT, parent_deadline=None),
        {"deadline": date(9999, 12, 31)},
        {("T-date-range", ERROR, "deadline")},
    ),
    (
        "T-date-range: the year 1",
        GOOD_KPI,
        KPI_CONTEXT,
        {"start_date": date(1, 1, 1)},
        {("T-date-range", ERROR, "start_date")},
    ),
    (
        "T-date-range: both",
        GOOD_KGI,
        KGI_CONTEXT,
        {"start_date": date(1989, 12, 31), "deadline": date(2101, 1, 1)},
        {("T-date-range", ERROR, "start_date"), ("T-date-range", ERROR, "deadline")},
    ),
    (
        "T-date-range: the first supported day passes",
        GOOD_KGI,
        KGI_CONTEXT,
        {"start_date": date(1990, 1, 1), "deadline": date(1990, 12, 31)},
        set(),
    ),
    (
        "T-date-range: the last supported day passes",
        GOOD_KGI,
        KGI_CONTEXT,
        {"start_date": date(2100, 1, 1), "deadline": date(2100, 12, 31)},
        set(),
    ),
    (
        "T-window-length: a daily KPI over ten years",
        GOOD_KPI,
        replace(KPI_CONTEXT, parent_deadline=None),
        {"frequency": "daily", "start_date": date(2026, 4, 1), "deadline": date(2036, 3, 31)},
        {("T-window-length", ERROR, "deadline")},
    ),
    (
        "T-window-length: 600 months pass",
        GOOD_KGI,
        KGI_CONTEXT,
        {"start_date": date(2000, 1, 1), "deadline": date(2049, 12, 31)},
        set(),
    ),
    (
        "T-window-length: 601 months",
        GOOD_KGI,
        KGI_CONTEXT,
        {"start_date": date(2000, 1, 1), "deadline": date(2050, 1, 1)},
        {("T-window-length", ERROR, "deadline")},
    ),
    (
        "T-window-length: a daily KSF inherits its KGI's five years",
        GOOD_KSF,
        replace(KSF_CONTEXT, inherited_start=date(2026, 4, 1), inherited_deadline=date(2031, 3, 31)),
        {"frequency": "daily"},
        {("T-window-length", ERROR, "frequency")},
    ),
    (
        "T-window-length: a monthly KSF inherits them fine",
        GOOD_KSF,
        replace(KSF_CONTEXT, inherited_start=date(2026, 4, 1), inherited_deadline=date(2031, 3, 31)),
        {},
        set(),
    ),
    (
        "T-window-length: a KGI whose daily sub-KPI follows its dates",
        GOOD_KGI,
        replace(KGI_CONTEXT, dependant_windows=(("calls", "daily", date(2026, 4, 1), date(2031, 3, 31)),)),
        {},
        {("T-window-length", ERROR, "deadline")},
    ),
    (
        "A-plan: the drivers' targets leave the KGI short for the year",
        GOOD_KGI,
        replace(KGI_CONTEXT, plan=PLAN_SHORT),
        {},
        {("A-plan", WARNING, "target_value")},
    ),
    (
        "R-plan: the drivers' targets add up to far more than the KGI's",
        GOOD_KGI,
        replace(KGI_CONTEXT, plan=PLAN_OVER),
        {},
        {("R-plan", WARNING, "target_value")},
    ),
    (
        "plan: within the tolerance, no finding",
        GOOD_KGI,
        replace(KGI_CONTEXT, plan=replace(PLAN_SHORT, tolerance=25)),
        {},
        set(),
    ),
    (
        "A-plan: for a decrease target, drivers that add up above it leave it unreachable",
        GOOD_KPI,
        replace(KPI_CONTEXT, plan=PLAN_OVER),
        {"direction": "decrease", "baseline_value": D("60"), "target_value": D("50")},
        {("A-plan", WARNING, "target_value")},
    ),
]


@pytest.mark.parametrize(("base", "context", "changes", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(base, context, changes, expected):
    report = check(base, context, **changes)

    assert problems(report) == expected
    assert report.level == smart.worst(level for _, level, _ in expected)


def test_every_rule_id_is_covered():
    covered = {rule for case in CASES for rule, _, _ in case[4]}

    assert covered == {
        "S-name", "S-owner", "S-vague-phrase", "S-number", "S-period",
        "M-range", "M-range-order", "M-target", "M-unit", "M-baseline", "M-formula", "M-formula-codes",
        "M-formula-constant", "M-formula-cycle", "M-formula-waiting",
        "M-no-inputs", "M-unit-mismatch", "M-unit-parent", "M-rate-summed", "M-thresholds",
        "A-direction", "A-history", "A-stretch", "A-plan",
        "R-parent", "R-too-many-kpis", "R-link", "R-plan",
        "T-order", "T-deadline", "T-start", "T-after-parent", "T-date-range", "T-window-length",
    }  # fmt: skip


def test_formula_codes_message_names_the_unknown_and_the_known_codes():
    report = check(
        context=replace(
            KPI_CONTEXT,
            descendant_codes=frozenset({"contracts"}),
            tree_codes=frozenset({"contracts", "won", "lost", "revenue"}),
        ),
        value_source="formula",
        formula="won / (contracts + lost)",
    )

    (finding,) = report.errors
    assert finding.message == (
        "The formula names lost, won, which are not under this node; a formula may use only the nodes under it "
        "(contracts)."
    )


def test_a_formula_written_before_its_inputs_waits_for_them():
    report = check(
        context=replace(KPI_CONTEXT, descendant_codes=frozenset({"sessions"}), tree_codes=frozenset({"sessions"})),
        value_source="formula",
        formula="sessions * cvr * aov",
        time_aggregation="sum",
    )

    assert not report.errors
    (finding,) = [f for f in report.findings if f.rule == "M-formula-waiting"]
    assert (
        finding.message
        == "Waiting for: aov, cvr. No node under it has that code yet; it shows no data until they exist."
    )


def test_a_long_list_of_codes_is_cut_short():
    below = frozenset(f"kpi{n:02}" for n in range(20))
    report = check(
        context=replace(KPI_CONTEXT, descendant_codes=below, tree_codes=below | {"x"}),
        value_source="formula",
        formula="x * 2",
    )

    (finding,) = report.errors
    assert finding.message.endswith("(kpi00, kpi01, kpi02, kpi03, kpi04, kpi05, kpi06, kpi07 …).")


def test_formula_syntax_error_message_is_the_parsers():
    (finding,) = check(value_source="formula", formula="__import__('os')").errors

    assert finding.rule == "M-formula"
    assert finding.message.startswith("Unknown function __import__()")


def test_stretch_and_history_messages_give_the_percentages():
    (stretch,) = check(baseline_value=D("10"), target_value=D("25")).warnings
    (history,) = check(
        context=replace(KPI_CONTEXT, history=(D("10"), D("11"), D("12"))),
        baseline_value=D("12"),
        target_value=D("50"),
    ).warnings

    assert "150%" in stretch.message
    assert "317%" in history.message and "120%" in history.message


def test_yearly_history_is_measured_over_the_fiscal_years_periods():
    # A yearly KPI over one fiscal year (April–March) has one period, not two: the trend of
    # +10% a year supports +15% (under 2×) but not +25%.
    context = replace(KPI_CONTEXT, history=(D("100"), D("110"), D("120")))
    yearly = {"frequency": "yearly", "baseline_value": D("120")}

    assert problems(check(context=context, target_value=D("138"), **yearly)) == set()
    assert problems(check(context=context, target_value=D("150"), **yearly)) == {("A-history", WARNING, "target_value")}


@pytest.mark.parametrize(
    ("baseline", "target", "expected"),
    [
        (D("100"), D("120"), D("0.2")),
        (D("100"), D("80"), D("-0.2")),
        (D("-50"), D("-25"), D("0.5")),
        (D("0"), D("10"), None),
    ],
)
def test_required_change(baseline, target, expected):
    assert smart.required_change(baseline, target) == expected


@pytest.mark.parametrize(
    ("history", "periods", "expected"),
    [
        ((D("10"), D("11"), D("12")), 12, D("1.2")),
        ((D("10"), D("12"), D("14"), D("16")), 3, D("0.6")),
        ((D("12"), D("11"), D("10")), 12, D("-1")),
        ((D("10"), D("12")), 12, None),  # too few points
        ((D("0"), D("1"), D("2")), 12, None),  # no base to be relative to
    ],
)
def test_trend_change(history, periods, expected):
    assert smart.trend_change(history, periods) == expected


def test_worst():
    assert smart.worst([]) == PASS
    assert smart.worst([PASS, WARNING, PASS]) == WARNING
    assert smart.worst([WARNING, ERROR, PASS]) == ERROR


# --- SmartReport ---------------------------------------------------------------------------


def _messy_report() -> SmartReport:
    """No owner, no unit, no target, no deadline, and too many KPIs."""
    return check(
        context=replace(KPI_CONTEXT, kpis_under_ksf=4),
        owner_id=None,
        unit="",
        target_value=None,
        deadline=None,
    )


def test_report_letters_keep_the_worst_level_and_its_reasons():
    report = _messy_report()
    letters = {r.letter: r for r in report.letters}

    assert [r.letter for r in report.letters] == ["S", "M", "A", "R", "T"]
    assert letters["S"].level == WARNING and letters["S"].name == "Specific"
    assert letters["M"].level == ERROR
    # Only the errors are given as reasons when a letter has errors and warnings.
    assert letters["M"].reasons == (
        "Set a numeric target.",
        "Give the unit the number is counted in (JPY, %, appointments…).",
    )
    # No target: nothing about growth could be judged, and the reason says so.
    assert letters["A"].level == PASS and letters["A"].reasons == ("Not judged yet: it has no target.",)
    assert letters["R"].level == WARNING
    assert letters["T"].level == ERROR and letters["T"].reasons == ("Set a deadline.",)
    assert report.level == ERROR


def test_report_errors_and_warnings():
    report = _messy_report()

    assert [f.rule for f in report.errors] == ["M-target", "M-unit", "T-deadline"]
    assert [f.rule for f in report.warnings] == ["S-owner", "R-too-many-kpis"]


def test_report_errors_by_field():
    report = check(
        context=replace(KPI_CONTEXT, parent_kind="kgi"),
        unit="",
        direction="maintain",
        target_min=D("5"),
        target_max=D("1"),
        deadline=None,
        owner_id=None,
    )

    assert report.errors_by_field() == {
        "target_min": ["The lowest acceptable value is above the highest."],
        "unit": ["Give the unit the number is counted in (JPY, %, appointments…)."],
        "parent": ["A KPI must sit under a KSF."],
        "deadline": ["Set a deadline."],
    }


def test_report_errors_by_field_groups_messages_of_one_field():
    report = SmartReport(
        [
            smart.Finding("M", ERROR, "x", "one", "unit"),
            smart.Finding("M", WARNING, "y", "not an error", "unit"),
            smart.Finding("R", ERROR, "z", "two", "unit"),
            smart.Finding("R", ERROR, "w", "tree-wide", None),
        ]
    )

    assert report.errors_by_field() == {"unit": ["one", "two"], None: ["tree-wide"]}


def test_report_as_dict():
    data = check(owner_id=None).as_dict()

    assert data["level"] == "warning"
    assert data["letters"]["S"] == {
        "name": "Specific",
        "status": "warning",
        "reasons": ["Nobody owns it: name the person who answers for this number."],
    }
    assert data["letters"]["M"]["status"] == "pass"
    assert data["findings"][0] == {
        "letter": "S",
        "level": "warning",
        "rule": "S-owner",
        "message": "Nobody owns it: name the person who answers for this number.",
        "field": "owner",
    }
    assert {f["rule"] for f in data["findings"]} == {"S-owner", "M-ok", "A-ok", "R-ok", "T-ok"}


def test_empty_report_passes():
    report = SmartReport()

    assert report.level == PASS
    assert report.errors_by_field() == {}
    assert all(r.level == PASS and r.reasons == () for r in report.letters)


def test_ksf_pass_reasons_explain_it_needs_no_number():
    letters = {r.letter: r for r in check(GOOD_KSF, KSF_CONTEXT).letters}

    assert letters["M"].reasons == ("A KSF needs no number of its own; its KPIs measure it.",)


# --- Tree level ----------------------------------------------------------------------------


def _tree(*kpi_types: str) -> list[SimpleNamespace]:
    # The KGI and KSF are lagging by default; only KPIs and sub-KPIs count for the balance.
    return [
        SimpleNamespace(kind="kgi", indicator_type="lagging"),
        SimpleNamespace(kind="ksf", indicator_type="lagging"),
        *(SimpleNamespace(kind="kpi" if i % 2 == 0 else "sub_kpi", indicator_type=t) for i, t in enumerate(kpi_types)),
    ]


@pytest.mark.parametrize(
    ("kpi_types", "expected"),
    [
        (("lagging", "lagging"), "Every KPI is a lagging indicator"),
        (("leading", "leading", "leading"), "Every KPI is a leading indicator"),
        (("leading",), "Every KPI is a leading indicator"),
        (("leading", "lagging"), None),
        ((), None),
    ],
)
def test_tree_balance(kpi_types, expected):
    findings = smart.tree_findings(_tree(*kpi_types))

    if expected is None:
        assert findings == []
    else:
        (finding,) = findings
        assert (finding.rule, finding.letter, finding.level, finding.field) == ("R-balance", "R", WARNING, None)
        assert finding.message.startswith(expected)


def test_summarise_tree_counts_reports_by_level():
    reports = [check(), check(), check(owner_id=None), check(deadline=None)]

    summary = smart.summarise_tree(_tree("leading", "lagging"), reports)

    assert (summary.nodes, summary.passing, summary.warnings, summary.errors) == (4, 2, 1, 1)
    assert summary.findings == ()
    assert summary.level == ERROR


@pytest.mark.parametrize(
    ("reports", "kpi_types", "expected"),
    [
        ([check(), check()], ("leading", "lagging"), PASS),
        ([check(), check(owner_id=None)], ("leading", "lagging"), WARNING),
        # Every node passes, but the tree as a whole is unbalanced.
        ([check(), check()], ("lagging",), WARNING),
        ([check(deadline=None)], ("lagging",), ERROR),
        ([], (), PASS),
    ],
    ids=["all pass", "a warning", "unbalanced", "an error", "empty"],
)
def test_summarise_tree_level(reports, kpi_types, expected):
    summary = smart.summarise_tree(_tree(*kpi_types), reports)

    assert summary.level == expected


# --- a node in error does not feed its parent ------------------------------------------------


def _error(message: str) -> smart.Finding:
    return smart.Finding("M", ERROR, "M-unit-parent", message, "unit")


def _warning(message: str) -> smart.Finding:
    return smart.Finding("S", WARNING, "S-owner", message, "owner")


TREE = [
    SimpleNamespace(pk=1, parent_id=None, name="KGI"),
    SimpleNamespace(pk=2, parent_id=1, name="More visitors"),
    SimpleNamespace(pk=3, parent_id=2, name="Sessions"),
    SimpleNamespace(pk=4, parent_id=2, name="Followers"),
]


@pytest.mark.parametrize(
    ("findings", "expected"),
    [
        ({}, {}),
        ({3: [_warning("Nobody owns it.")]}, {}),
        ({4: [_error("Not in sessions.")]}, {2: ("Followers is in error: Not in sessions.",)}),
        (
            {2: [_error("Cannot combine followers.")], 4: [_error("Not in sessions.")]},
            {
                1: ("More visitors is in error: Cannot combine followers.",),
                2: ("Followers is in error: Not in sessions.",),
            },
        ),
        (
            {3: [_error("One."), _error("Two.")]},
            {2: ("Sessions is in error: One.", "Sessions is in error: Two.")},
        ),
        ({1: [_error("A root has no parent to withhold from.")]}, {}),
    ],
    ids=["none", "a warning feeds its parent", "a child in error", "the parent in error too", "two errors", "a root"],
)
def test_inputs_in_error(findings, expected):
    reports = {node.pk: SmartReport(findings.get(node.pk, [])) for node in TREE}

    assert smart.inputs_in_error(TREE, reports) == expected


# --- M-rate-summed: only a rate is not added up over time ---------------------------------------

REVENUE_CONTEXT = replace(KPI_CONTEXT, descendant_codes=frozenset({"sessions", "cvr", "aov", "won", "appts", "cost"}))


@pytest.mark.parametrize(
    ("unit", "formula", "time_aggregation", "warned"),
    [
        ("JPY", "sessions * cvr * aov", "sum", False),  # a flow: revenue per month, summed
        ("JPY", "sessions * cvr / 100 * aov", "sum", False),  # a division by a constant is a scale
        ("JPY", "(sessions + won) * aov", "sum", False),
        ("JPY", "max(sessions, won) * aov", "sum", False),
        ("%", "won / appts * 100", "sum", True),  # a close rate: three months of 20% are not 60%
        ("ratio", "won / appts", "sum", True),  # a `/` at the top level
        ("%", "100 - cost / sessions * 100", "sum", True),  # a division inside makes it a ratio
        ("JPY", "aov * won / max(appts, 1)", "sum", True),  # divided by a function of a child
        ("JPY", "won / appts", "average", False),  # a rate averaged over time is right
        ("%", "sessions * cvr", "sum", True),  # a % unit summed over time
        ("%", "sessions * cvr", "last", False),
    ],
)
def test_m_rate_summed_warns_only_where_summing_is_wrong(unit, formula, time_aggregation, warned):
    report = check(
        GOOD_KPI,
        REVENUE_CONTEXT,
        unit=unit,
        value_source="formula",
        formula=formula,
        time_aggregation=time_aggregation,
        baseline_value=None,
    )

    assert (("M-rate-summed", WARNING, "time_aggregation") in problems(report)) is warned


@pytest.mark.parametrize(
    ("unit", "time_aggregation", "warned"),
    [("%", "sum", True), ("％", "sum", True), ("%", "average", False), ("appointments", "sum", False)],
)
def test_m_rate_summed_on_a_hand_entered_number(unit, time_aggregation, warned):
    report = check(unit=unit, time_aggregation=time_aggregation)

    assert (("M-rate-summed", WARNING, "time_aggregation") in problems(report)) is warned


def test_m_rate_summed_says_nothing_about_a_formula_that_does_not_parse():
    report = check(GOOD_KPI, REVENUE_CONTEXT, value_source="formula", formula="won /")

    assert {rule for rule, _level, _field in problems(report)} == {"M-formula"}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({}, "The target needs growth the baseline and history support."),
        ({"target_value": None}, "Not judged yet: it has no target."),
        ({"baseline_value": None}, "Not judged yet: it has no baseline to compare the target with."),
        (
            {"direction": "decrease", "baseline_value": D("50"), "target_value": D("40")},
            "The target needs a reduction the baseline and history support.",
        ),
        (
            {"direction": "maintain", "target_value": None, "target_min": D("1"), "target_max": D("3")},
            "A range to stay within: there is no growth to judge.",
        ),
    ],
    ids=["growth", "no target", "no baseline", "a reduction", "a range"],
)
def test_the_achievable_pass_says_only_what_was_judged(changes, reason):
    assert check(**changes).letter("A").reasons == (reason,)


def test_plan_messages_state_the_numbers_with_the_unit():
    (short,) = check(GOOD_KGI, replace(KGI_CONTEXT, plan=PLAN_SHORT)).warnings
    (over,) = check(GOOD_KGI, replace(KGI_CONTEXT, plan=PLAN_OVER)).warnings

    assert short.message.startswith(
        "Year from April 2026: if every driver meets its target, this comes to ¥100,000,000, not its target of "
        "¥120,000,000 (¥20,000,000 short; the organisation allows 5%)."
    )
    assert over.message.startswith(
        "Year from April 2026: the drivers' targets add up to ¥480,000,000 against this target of ¥120,000,000 "
        "(4.0× over; "
    )


def test_a_plan_without_a_verdict_or_a_missed_year_adds_nothing():
    no_check = PlanCheck(1, 5.0, reason="input_without_target")
    single_month = PlanCheck(
        1,
        5.0,
        periods=(PlanRow(START, date(2026, 4, 30), "monthly", 1500, 1200),),
        years=(PlanRow(START, DEADLINE, "yearly", 14_700, 14_400),),
    )

    assert problems(check(GOOD_KGI, replace(KGI_CONTEXT, plan=no_check))) == set()
    # A five-week month misses; the year is within 5%: no finding.
    assert problems(check(GOOD_KGI, replace(KGI_CONTEXT, plan=single_month))) == set()
