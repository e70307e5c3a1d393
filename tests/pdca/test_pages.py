"""The review and action pages, and the node page's "Reviews and actions"."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from goals.models import Measurement, Node
from pdca import rules
from pdca.models import Action, Review
from tests.conftest import signed_in
from tests.pdca.test_services import store


@pytest.fixture
def root(saas_tree):
    Node.objects.filter(tree_id=saas_tree.tree_id).update(frequency="monthly")
    Node.objects.filter(pk=saas_tree.pk).update(value_source="sum", formula="")
    root = Node.objects.get(pk=saas_tree.pk)
    month = rules.last_complete_month(timezone.localdate())
    store(root, attainment=0.5, status="off_track", period=month)
    children = list(Node.objects.filter(parent=root).order_by("lft"))
    for child, attainment in zip(children, [0.9, 0.3], strict=False):
        store(child, attainment=attainment, status="off_track", period=month)
    root.month, root.weakest = month, children[1]
    return root


def test_the_review_form_proposes_the_bottleneck_and_prefills_the_note(manager, root):
    Measurement.objects.create(node=root, period_start=root.month, value=10, note="Two deals slipped")
    page = signed_in(manager).get(f"/nodes/{root.pk}/review/")
    assert page.status_code == 200
    assert page.context["form"].initial["bottleneck"] == root.weakest
    assert page.context["form"].initial["explanation"] == "Two deals slipped"
    assert "csrfmiddlewaretoken" in page.content.decode()


def test_a_miss_without_cause_re_shows_the_input(manager, root):
    page = signed_in(manager).post(f"/nodes/{root.pk}/review/", {"explanation": "typed text"})
    assert page.status_code == 200 and "cause" in page.context["form"].errors
    assert "typed text" in page.content.decode()
    assert not Review.objects.exists()


def test_a_manager_saves_a_review_and_it_shows_on_the_node_page(manager, root):
    client = signed_in(manager)
    answer = client.post(
        f"/nodes/{root.pk}/review/",
        {"cause": "execution_shortfall", "bottleneck": root.weakest.pk, "explanation": "few meetings"},
    )
    assert answer.status_code == 302
    review = Review.objects.get()
    assert review.bottleneck == root.weakest and review.status == "off_track"
    node_page = client.get(f"/nodes/{root.pk}/").content.decode()
    assert "Reviews and actions" in node_page and "Execution fell short" in node_page


def test_target_unrealistic_links_to_the_restatement_with_the_review_as_reason(manager, root):
    client = signed_in(manager)
    client.post(f"/nodes/{root.pk}/review/", {"cause": "target_unrealistic"})
    page = client.get(f"/nodes/{root.pk}/review/")
    assert page.context["restate_url"].startswith(f"/nodes/{root.pk}/targets/?reason=")
    targets = client.get(page.context["restate_url"])
    assert f"review {Review.objects.get().pk}" in targets.content.decode()


def test_an_executive_reads_the_review_but_cannot_post(executive, root):
    client = signed_in(executive)
    assert client.get(f"/nodes/{root.pk}/review/").status_code == 200
    assert client.post(f"/nodes/{root.pk}/review/", {"cause": "external_factor"}).status_code == 403
    assert client.get(f"/nodes/{root.pk}/actions/new/").status_code == 403


def test_another_organisation_gets_404(outsider, root):
    action = Action.objects.create(
        organisation=root.organisation, node=root, title="x", due_date=root.month, original_due_date=root.month
    )
    client = signed_in(outsider)
    assert client.get(f"/nodes/{root.pk}/review/").status_code == 404
    assert client.get(f"/actions/{action.pk}/edit/").status_code == 404


def test_actions_are_added_and_their_due_date_moved(manager, member, root):
    client = signed_in(manager)
    due = timezone.localdate() + timedelta(days=5)
    answer = client.post(
        f"/nodes/{root.pk}/actions/new/",
        {
            "measure": "more leads",
            "title": "weekly sales-talk role-play",
            "owner": member.pk,
            "due_date": due.isoformat(),
            "status": "planned",
        },
    )
    assert answer.status_code == 302, answer.context["form"].errors
    action = Action.objects.get()
    moved = due + timedelta(days=7)
    client.post(
        f"/actions/{action.pk}/edit/",
        {
            "measure": "more leads",
            "title": action.title,
            "owner": member.pk,
            "due_date": moved.isoformat(),
            "status": "doing",
        },
    )
    action.refresh_from_db()
    assert (action.original_due_date, action.due_date, action.started_on) == (due, moved, timezone.localdate())
    bad = client.post(f"/nodes/{root.pk}/actions/new/", {"title": "", "due_date": "", "status": "planned"})
    assert bad.status_code == 200 and bad.context["form"].errors


def test_the_review_of_a_date_is_its_month(manager, root):
    page = signed_in(manager).get(f"/nodes/{root.pk}/review/?period={root.month.replace(day=15)}")
    assert page.context["first"] == root.month
    assert signed_in(manager).get(f"/nodes/{root.pk}/review/?period=nonsense").context["first"] == root.month
    assert date(2026, 1, 1) == rules.review_window(date(2026, 1, 31), "monthly", 4)[0]


def test_another_cause_ignores_the_preselected_bottleneck(manager, root):
    answer = signed_in(manager).post(
        f"/nodes/{root.pk}/review/", {"cause": "external_factor", "bottleneck": root.weakest.pk}
    )
    assert answer.status_code == 302
    assert Review.objects.get().bottleneck is None


def test_an_executive_comments_on_a_review(executive, manager, root):
    review = Review.objects.create(
        organisation=root.organisation, node=root, period_start=root.month, period_end=root.month, status="off_track"
    )
    client = signed_in(executive)
    url = f"/nodes/{root.pk}/review/?period={root.month}"
    assert client.post(url, {"comment": "Why so few meetings?"}).status_code == 302
    assert review.comments.get().author == executive
    empty = client.post(url, {"comment": "  "})
    assert empty.status_code == 200 and empty.context["comment_errors"]
    assert "Why so few meetings?" in client.get(url).content.decode()
