"""The reviews and actions API (/api/v1/reviews/, /api/v1/actions/)."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from goals.models import Node
from pdca.models import Action, Review
from tests.pdca.test_services import store


@pytest.fixture
def root(saas_tree):
    """A summed root, monthly, off track last month, with its children stored."""
    Node.objects.filter(tree_id=saas_tree.tree_id).update(frequency="monthly")
    Node.objects.filter(pk=saas_tree.pk).update(value_source="sum", formula="")
    root = Node.objects.get(pk=saas_tree.pk)
    month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    store(root, attainment=0.5, status="off_track", period=month)
    for child, attainment in zip(Node.objects.filter(parent=root).order_by("lft"), [0.9, 0.3], strict=False):
        store(child, attainment=attainment, status="off_track", period=month)
    root.month = month
    return root


def test_a_manager_writes_and_reads_a_review(manager_api, root):
    answer = manager_api.post(
        "/api/v1/reviews/",
        {"node": root.pk, "period_start": root.month.isoformat(), "cause": "external_factor"},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    review = answer.json()
    assert review["status"] == "off_track" and review["figures"]["attainment"] == 0.5
    listed = manager_api.get("/api/v1/reviews/", {"node": root.pk, "cause": "external_factor"}).json()
    assert [r["id"] for r in listed["results"]] == [review["id"]]
    assert manager_api.get("/api/v1/reviews/", {"cause": "data_problem"}).json()["count"] == 0
    patched = manager_api.patch(f"/api/v1/reviews/{review['id']}/", {"explanation": "slow month"}, format="json")
    assert patched.status_code == 200 and patched.json()["explanation"] == "slow month"


def test_a_miss_without_cause_is_a_400_on_the_field(manager_api, root):
    answer = manager_api.post(
        "/api/v1/reviews/", {"node": root.pk, "period_start": root.month.isoformat()}, format="json"
    )
    assert answer.status_code == 400 and "cause" in answer.json()
    answer = manager_api.post("/api/v1/reviews/", {"node": root.pk, "period_start": "x"}, format="json")
    assert answer.status_code == 400 and "period_start" in answer.json()


def test_an_executive_reads_but_does_not_write(executive_api, manager_api, root):
    answer = executive_api.post(
        "/api/v1/reviews/",
        {"node": root.pk, "period_start": root.month.isoformat(), "cause": "external_factor"},
        format="json",
    )
    assert answer.status_code == 403
    assert executive_api.get("/api/v1/reviews/").status_code == 200


def test_another_organisation_gets_404(outsider_api, manager, root):
    review = Review.objects.create(
        organisation=root.organisation, node=root, period_start=root.month, period_end=root.month, status="no_data"
    )
    action = Action.objects.create(
        organisation=root.organisation, node=root, title="x", due_date=root.month, original_due_date=root.month
    )
    assert outsider_api.get(f"/api/v1/reviews/{review.pk}/").status_code == 404
    assert outsider_api.get(f"/api/v1/actions/{action.pk}/").status_code == 404
    assert outsider_api.get("/api/v1/reviews/").json()["count"] == 0
    answer = outsider_api.post(
        "/api/v1/actions/", {"node": root.pk, "title": "x", "due_date": "2026-12-01"}, format="json"
    )
    assert answer.status_code == 400 and "node" in answer.json()


def test_actions_crud_and_filters(manager_api, manager, member, root):
    today = timezone.localdate()
    answer = manager_api.post(
        "/api/v1/actions/",
        {
            "node": root.pk,
            "measure": "more leads",
            "title": "approach 10 new leads a day",
            "owner": member.pk,
            "due_date": (today - timedelta(days=3)).isoformat(),
            "status": "doing",
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    created = answer.json()
    assert created["started_on"] == today.isoformat() and created["slippage_days"] == 3
    assert manager_api.get("/api/v1/actions/", {"overdue": "true"}).json()["count"] == 1
    assert manager_api.get("/api/v1/actions/", {"owner": manager.pk}).json()["count"] == 0
    assert manager_api.get("/api/v1/actions/", {"status": "planned"}).json()["count"] == 0
    moved = manager_api.patch(
        f"/api/v1/actions/{created['id']}/", {"due_date": (today + timedelta(days=4)).isoformat()}, format="json"
    ).json()
    assert moved["original_due_date"] == (today - timedelta(days=3)).isoformat() and moved["slippage_days"] == 7
    bad = manager_api.post("/api/v1/actions/", {"node": root.pk, "due_date": "2026-12-01"}, format="json")
    assert bad.status_code == 400 and "title" in bad.json()
    assert manager_api.get("/api/v1/actions/", {"status": "nope"}).status_code == 400


def test_the_period_must_have_started(manager_api, root):
    answer = manager_api.post(
        "/api/v1/reviews/", {"node": root.pk, "period_start": date(2099, 1, 1).isoformat()}, format="json"
    )
    assert answer.status_code == 400


def test_a_colleague_s_personal_kpi_stays_private(member_api, member, colleague, manager_api, root):
    """As its actuals: a team member does not read another member's reviews and actions unless
    the organisation shares attainment (or they report that KPI)."""
    kpi = Node.objects.filter(parent=root).order_by("lft").first()
    Node.objects.filter(pk=kpi.pk).update(owner=colleague)
    review = Review.objects.create(
        organisation=root.organisation, node=kpi, period_start=root.month, period_end=root.month, status="no_data"
    )
    action = Action.objects.create(
        organisation=root.organisation, node=kpi, title="x", due_date=root.month, original_due_date=root.month
    )
    assert member_api.get("/api/v1/reviews/").json()["count"] == 0
    assert member_api.get("/api/v1/actions/").json()["count"] == 0
    assert member_api.get(f"/api/v1/reviews/{review.pk}/").status_code == 404
    assert member_api.get(f"/api/v1/actions/{action.pk}/").status_code == 404
    assert manager_api.get("/api/v1/reviews/").json()["count"] == 1

    kpi.reporters.add(member)
    assert member_api.get("/api/v1/reviews/").json()["count"] == 1
    assert member_api.get(f"/api/v1/actions/{action.pk}/").status_code == 200

    kpi.reporters.remove(member)
    root.organisation.members_see_team_attainment = True
    root.organisation.save()
    assert member_api.get("/api/v1/reviews/").json()["count"] == 1
