"""The plan check where people see it (docs/rollup.md, "Plan check"): the SMART finding for a
whole tree and for a few nodes (the same answer, in a bounded number of queries), the line on
the tree diagram and the table on the node page, with the organisation's tolerance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import translation

from goals import selectors
from goals.models import Node, TargetOverride
from goals.rollup import storage

FY_START, FY_END = date(2026, 4, 1), date(2027, 3, 31)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def leads_tree(organisation, manager) -> dict[str, Node]:
    """A KGI, a KSF and the KPI "1,200 leads a month" that adds up two teams' "150 leads a
    week": the issue's example."""

    def add(code: str, parent: Node | None, **fields) -> Node:
        fields.setdefault("kind", "kpi")
        fields.setdefault("unit", "leads")
        return Node.objects.create(
            organisation=organisation, parent=parent, code=code, name=f"{code} leads", owner=manager, **fields
        )

    kgi = add("leads", None, kind="kgi", target_value=Decimal(20_000), start_date=FY_START, deadline=FY_END)
    ksf = add("pipeline", kgi, kind="ksf", unit="")
    kpi = add("team_leads", ksf, value_source="sum", target_value=Decimal(1200), start_date=FY_START, deadline=FY_END)
    for code in ("team_a", "team_b"):
        add(
            code,
            kpi,
            kind="sub_kpi",
            frequency="weekly",
            target_value=Decimal(150),
            start_date=FY_START,
            deadline=FY_END,
        )
    return {n.code: Node.objects.get(pk=n.pk) for n in Node.objects.filter(tree_id=kgi.tree_id)}


def rules(report) -> set[str]:
    return {f.rule for f in report.findings if f.level != "pass"}


def test_the_tree_and_the_nodes_alone_give_the_same_plan_finding(leads_tree):
    nodes = selectors.tree_nodes(leads_tree["leads"])
    kpi = leads_tree["team_leads"]

    whole = selectors.tree_smart_reports(nodes)
    alone = selectors.nodes_smart_reports([kpi])
    edited = selectors.node_smart_context(kpi, parent=leads_tree["pipeline"]).plan

    assert "R-plan" in rules(whole[kpi.pk])
    assert alone[kpi.pk].findings == whole[kpi.pk].findings
    (finding,) = [f for f in whole[kpi.pk].findings if f.rule == "R-plan"]
    assert finding.message.startswith(
        "Year from April 2026: the drivers' targets add up to 15,600 leads against this target of 14,400 leads "
        "(1,200 leads over; the organisation allows 5%)."
    )
    assert edited.year_rows == storage.nodes_plan_checks([kpi])[kpi.pk].year_rows
    # Entered by hand: no plan check, no finding.
    assert "R-plan" not in rules(whole[leads_tree["leads"].pk])


def test_the_organisations_tolerance_decides(leads_tree, organisation):
    organisation.plan_tolerance_percent = Decimal(10)
    organisation.save()
    kpi = leads_tree["team_leads"]

    assert rules(selectors.nodes_smart_reports([kpi])[kpi.pk]) & {"A-plan", "R-plan"} == set()


def test_drivers_that_fall_short_are_an_achievability_warning(leads_tree):
    Node.objects.filter(code__in=["team_a", "team_b"]).update(target_value=Decimal(100))
    kpi = leads_tree["team_leads"]

    report = selectors.nodes_smart_reports([kpi])[kpi.pk]

    assert "A-plan" in rules(report)
    assert "4,000 leads short" in report.letter("A").reasons[0]  # 10,400 against 14,400


def test_an_override_of_a_driver_is_rolled_up(leads_tree):
    # The KPI's own target for the year is lowered to the drivers' 15,600 by overriding April.
    TargetOverride.objects.create(
        node=leads_tree["team_leads"], period_start=FY_START, value=Decimal(2400), reason="Launch month"
    )
    kpi = leads_tree["team_leads"]

    assert rules(selectors.nodes_smart_reports([kpi])[kpi.pk]) & {"A-plan", "R-plan"} == set()


def test_plan_checks_of_many_nodes_take_a_fixed_number_of_queries(leads_tree, django_assert_max_num_queries):
    nodes = selectors.tree_nodes(leads_tree["leads"])

    with django_assert_max_num_queries(2):  # overrides, organisation: the tree is loaded
        assert set(storage.nodes_plan_checks(nodes, loaded=nodes)) == {leads_tree["team_leads"].pk}
    with django_assert_max_num_queries(3):  # and the subtrees and ancestors of the nodes asked for
        storage.nodes_plan_checks(nodes)


def test_the_tree_diagram_says_what_the_drivers_add_up_to(manager, leads_tree):
    html = signed_in(manager).get(f"/trees/{leads_tree['leads'].pk}/").content.decode()

    assert (
        "Year from April 2026: the drivers&#x27; targets add up to 15.6k leads; the target is 14.4k leads "
        "— 1.2k leads over"
    ) in html
    assert html.count('class="box-plan') == 1


def test_the_node_page_has_the_plan_table(member, leads_tree):
    response = signed_in(member).get(f"/nodes/{leads_tree['team_leads'].pk}/")
    html = response.content.decode()
    table = response.context["page"].plan

    assert "Do the drivers' targets add up?" in html
    assert [(line.label, line.implied, line.own, line.difference, line.words) for line in table.years] == [
        ("Year from April 2026", "15,600 leads", "14,400 leads", "+1,200 leads", "1,200 leads over")
    ]
    may = next(line for line in table.periods if line.label == "May 2026")
    july = next(line for line in table.periods if line.label == "July 2026")
    assert (may.implied, may.difference, may.verdict, may.words) == ("1,200 leads", "0 leads", "meets", "adds up")
    assert (july.implied, july.verdict, july.words) == ("1,500 leads", "over", "300 leads over")


def test_a_node_page_says_why_there_is_no_plan_check(member, leads_tree):
    Node.objects.filter(code="team_b").update(target_value=None)

    html = signed_in(member).get(f"/nodes/{leads_tree['team_leads'].pk}/").content.decode()

    assert "No plan check: team_b has no target." in html


def test_a_node_entered_by_hand_has_no_plan_section(member, leads_tree):
    html = signed_in(member).get(f"/nodes/{leads_tree['team_a'].pk}/").content.decode()

    assert "Do the drivers" not in html


def test_the_plan_check_in_japanese(member, leads_tree):
    client = signed_in(member)
    client.cookies["django_language"] = "ja"

    # The middleware activates Japanese in this thread; override() restores the language after.
    with translation.override("ja"):
        html = client.get(f"/nodes/{leads_tree['team_leads'].pk}/").content.decode()

    assert "下位指標の目標は積み上がるか" in html
    assert "目標との差が 5% 以内なら整合しています。" in html
    assert "下位指標の目標の積み上げは 15,600 leads、目標は 14,400 leads — 1,200 leads 超過" in html


def test_a_node_being_edited_is_checked_with_the_target_typed(leads_tree):
    kpi = leads_tree["team_leads"]
    kpi.target_value = Decimal(1300)  # 15,600 a year: what the two teams add up to

    context = selectors.node_smart_context(kpi, parent=leads_tree["pipeline"])

    (year, verdict) = context.plan.year_rows[0]
    assert (year.implied, year.own, verdict) == (15_600, 15_600, "meets")
