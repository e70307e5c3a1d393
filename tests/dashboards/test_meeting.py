"""The review meeting of a tree (dashboards/pages/meeting.py, dashboards/views.py meeting)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import F

from dashboards.pages.meeting import meeting
from dashboards.windows import month_window
from goals.dev.trees import tree_generate
from goals.models import Node
from goals.rollup import jobs
from pdca.models import Action, ActionStatus, Cause, Review
from tests.conftest import signed_in
from tests.dashboards.with_actuals import TODAY, freeze_today

APRIL = month_window(date(2026, 4, 1), fiscal_start_month=4)


def agenda(membership, root, month=APRIL, today=TODAY):
    return meeting(root, month, membership=membership, today=today)


def review(node, user, **fields):
    return Review.objects.create(
        organisation=node.organisation,
        node=node,
        period_start=date(2026, 4, 1),
        period_end=date(2026, 4, 30),
        status="off_track",
        author=user,
        **fields,
    )


def action(node, user, **fields):
    fields.setdefault("due_date", date(2026, 6, 10))
    fields.setdefault("original_due_date", date(2026, 6, 1))
    return Action.objects.create(organisation=node.organisation, node=node, owner=user, title="Call 10 leads", **fields)


# --- the selector (today passed in, no clock) ------------------------------------------------------


def test_off_track_nodes_without_a_review_head_the_agenda_worst_first(manager, nodes):
    made = agenda(manager.membership, nodes["revenue"])
    codes = [item.node.code for item in made.unreviewed]
    assert "appointments" in codes and "revenue" in codes
    assert codes.index("appointments") < codes.index("revenue")  # off track before at risk
    item = next(i for i in made.unreviewed if i.node.code == "appointments")
    assert item.figures.status == "off_track"
    assert item.figures.attainment == pytest.approx(82.7586, abs=1e-3)  # the stored figure
    assert item.review_url.endswith(f"/nodes/{nodes['appointments'].pk}/review/?period=2026-04-01")


def test_a_reviewed_node_leaves_the_agenda_and_enters_the_minutes(manager, nodes):
    review(nodes["appointments"], manager, cause=Cause.EXECUTION_SHORTFALL, explanation="Two reps on leave")
    made = agenda(manager.membership, nodes["revenue"])
    assert "appointments" not in [item.node.code for item in made.unreviewed]
    assert [r.node.code for r in made.minutes.reviews] == ["appointments"]
    # A review of another month does not count for April.
    Review.objects.update(period_start=date(2026, 5, 1), period_end=date(2026, 5, 31))
    made = agenda(manager.membership, nodes["revenue"])
    assert "appointments" in [item.node.code for item in made.unreviewed] and not made.minutes.reviews


def test_overdue_actions_with_their_slippage_and_attainment(manager, nodes):
    late = action(nodes["appointments"], manager, attainment_at_start=75.0)
    action(nodes["appointments"], manager, due_date=date(2026, 7, 1), original_due_date=date(2026, 7, 1))
    action(nodes["appointments"], manager, status=ActionStatus.DONE)
    made = agenda(manager.membership, nodes["revenue"])
    assert [item.action.pk for item in made.overdue] == [late.pk]
    item = made.overdue[0]
    assert (item.days_overdue, item.slipped_days) == (10, 9)  # due 10 June, first due 1 June; today 20 June
    assert item.attainment_now == pytest.approx(82.7586, abs=1e-3)
    assert item.edit_url.endswith(f"/actions/{late.pk}/edit/")
    # On the due date itself it is not overdue yet.
    assert agenda(manager.membership, nodes["revenue"], today=date(2026, 6, 10)).overdue == []


def test_missing_actuals_with_who_enters_them(manager, member, nodes):
    nodes["close_rate"].reporters.add(member)
    made = agenda(manager.membership, nodes["revenue"])
    missing = {item.node.code: item for item in made.missing}
    assert missing["close_rate"].missing == 1
    assert member in missing["close_rate"].enterers
    assert all(item.node.takes_actuals for item in made.missing)


def test_plan_findings_are_the_a_plan_and_r_plan_ones(organisation, manager):
    """The plan check's example (tests/goals/test_plan_check_pages.py): two teams' 150 leads a week
    add up to more than the KPI's 1,200 a month, and fall short once lowered to 100."""

    def add(code, parent, **fields):
        fields.setdefault("kind", "kpi")
        fields.setdefault("unit", "leads")
        return Node.objects.create(
            organisation=organisation, parent=parent, code=code, name=f"{code} leads", owner=manager, **fields
        )

    fy = {"start_date": date(2026, 4, 1), "deadline": date(2027, 3, 31)}
    kgi = add("leads", None, kind="kgi", target_value=Decimal(20_000), **fy)
    ksf = add("pipeline", kgi, kind="ksf", unit="")
    kpi = add("team_leads", ksf, value_source="sum", target_value=Decimal(1200), **fy)
    for code in ("team_a", "team_b"):
        add(code, kpi, kind="sub_kpi", frequency="weekly", target_value=Decimal(150), **fy)
    root = Node.objects.get(pk=kgi.pk)

    made = agenda(manager.membership, root)
    assert [(item.node.code, item.finding.rule) for item in made.plan_findings] == [("team_leads", "R-plan")]
    Node.objects.filter(code__in=["team_a", "team_b"]).update(target_value=Decimal(100))
    made = agenda(manager.membership, root)
    assert [(item.node.code, item.finding.rule) for item in made.plan_findings] == [("team_leads", "A-plan")]


def test_actions_created_in_the_month_are_in_its_minutes(manager, nodes):
    made_action = action(nodes["appointments"], manager)
    Action.objects.filter(pk=made_action.pk).update(created_at="2026-04-15T09:00Z", updated_at="2026-04-15T09:00Z")
    assert [item.action.pk for item in agenda(manager.membership, nodes["revenue"]).minutes.actions] == [made_action.pk]
    may = month_window(date(2026, 5, 1), fiscal_start_month=4)
    assert agenda(manager.membership, nodes["revenue"], month=may).minutes.actions == []


def test_a_member_meets_about_their_own_nodes_only(member, nodes):
    Node.objects.filter(pk=nodes["appointments"].pk).update(owner=member)
    made = agenda(member.membership, nodes["revenue"])
    assert made.members_only and made.scope_size == 1
    assert [item.node.code for item in made.unreviewed] == ["appointments"]


# --- the page -----------------------------------------------------------------------------------


@pytest.fixture
def frozen(monkeypatch):
    freeze_today(monkeypatch)


def page(user, root, month="2026-04"):
    return signed_in(user).get(f"/trees/{root.pk}/meeting/", {"month": month} if month else {})


@pytest.mark.parametrize("role", ["manager", "executive"])
def test_managers_and_executives_hold_it(request, role, nodes, frozen):
    user = request.getfixturevalue(role)
    action(nodes["appointments"], user)
    response = page(user, nodes["revenue"])
    assert response.status_code == 200
    html = response.content.decode()
    assert "Call 10 leads" in html and "moved 9 days" in html and "10 days" in html
    assert nodes["appointments"].name in html and "Write its review" in html
    # Printable as the monthly report: its print style sheet, sections that start pages.
    assert "css/report.css" in html and "data-print" in html and 'class="report-section"' in html


def test_a_member_without_nodes_of_their_own_is_refused(member, nodes, frozen):
    assert page(member, nodes["revenue"]).status_code == 403
    Node.objects.filter(pk=nodes["appointments"].pk).update(owner=member)
    assert page(member, nodes["revenue"]).status_code == 200


def test_another_organisations_tree_is_404(outsider, nodes, frozen):
    assert page(outsider, nodes["revenue"]).status_code == 404


def test_a_bad_month_is_said(manager, nodes, frozen):
    response = page(manager, nodes["revenue"], "2026-13")
    assert response.status_code == 200
    assert response.context["month_errors"]
    assert 'id="month-errors"' in response.content.decode()


def test_linked_from_the_tree_page_and_the_monthly_report(manager, nodes, frozen):
    url = f"/trees/{nodes['revenue'].pk}/meeting/"
    assert url in signed_in(manager).get(f"/trees/{nodes['revenue'].pk}/").content.decode()
    report = signed_in(manager).get(f"/trees/{nodes['revenue'].pk}/report/", {"month": "2026-04"})
    assert f"{url}?month=2026-04" in report.content.decode()


def test_the_monthly_report_gains_the_months_reviews_and_actions(manager, nodes, frozen):
    review(nodes["appointments"], manager, cause=Cause.EXECUTION_SHORTFALL, went_well="Webinar leads")
    response = signed_in(manager).get(f"/trees/{nodes['revenue'].pk}/report/", {"month": "2026-04"})
    assert [r.node.code for r in response.context["report"].minutes.reviews] == ["appointments"]
    html = response.content.decode()
    assert "Minutes: reviews and actions" in html and "Webinar leads" in html and "Execution fell short" in html


def test_in_japanese(manager, nodes, frozen):
    client = signed_in(manager)
    client.cookies["django_language"] = "ja"
    response = client.get(f"/trees/{nodes['revenue'].pk}/meeting/", {"month": "2026-04"})
    html = response.content.decode()
    assert "レビュー会議" in html and "期限超過のアクション" in html


@pytest.mark.parametrize("size", [30, 240])
def test_queries_do_not_grow_with_the_tree(organisation, manager, size, django_assert_max_num_queries, frozen):
    generated = tree_generate(organisation=organisation, nodes=size, periods=6, today=TODAY)
    jobs.tree_rollup(root_id=generated.root.pk, as_of=TODAY)
    leaves = Node.objects.filter(tree_id=generated.root.tree_id, rght=F("lft") + 1)
    for leaf in leaves[:3]:
        action(leaf, manager, attainment_at_start=50.0)
        leaf.reporters.add(manager)
    client = signed_in(manager)
    client.get(f"/trees/{generated.root.pk}/meeting/")  # warm up: session and translations
    with django_assert_max_num_queries(20):
        response = client.get(f"/trees/{generated.root.pk}/meeting/", {"month": "2026-05"})
    assert response.status_code == 200
    assert len(response.context["meeting"].overdue) == 3
