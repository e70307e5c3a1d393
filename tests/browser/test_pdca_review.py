"""A review in a real browser (issue 11): the manager opens a KPI's review of last month,
classifies the miss as an execution shortfall with the proposed bottleneck, and adds two
actions — also at a phone's width without the page scrolling sideways."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from goals.models import Node
from pdca.models import Action, Review
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE_WIDTH = 390


@pytest.fixture
def demo(eager_rollups, db):
    call_command("seed_demo", today=timezone.localdate(), stdout=open("/dev/null", "w"))  # noqa: SIM115
    root = Node.objects.get(code="revenue", level=0)
    return {n.code: n for n in Node.objects.filter(tree_id=root.tree_id)}


def test_a_manager_reviews_a_miss_and_adds_two_actions(browser, page, demo):
    close_rate, role_plays = demo["close_rate"], demo["role_plays"]
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 800})
    login(page, "manager", "kpitree-demo")
    page.goto(f"{page.base_url}/nodes/{close_rate.pk}/")
    page.get_by_role("link", name="Review last month").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Review of")
    # The proposed bottleneck is preselected: the input that missed most.
    expect(page.get_by_role("combobox", name="Bottleneck")).to_have_value(str(role_plays.pk))
    page.get_by_role("combobox", name="Cause").select_option("execution_shortfall")
    page.get_by_role("textbox", name="Explanation").fill("Too few role-plays before the big pitches.")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    screenshot(page, "pdca-review")
    page.get_by_role("button", name="Save review").click()
    expect(page.locator(".messages")).to_contain_text("Review saved")
    review = Review.objects.get(node=close_rate)
    assert (review.cause, review.bottleneck_id, review.status) == ("execution_shortfall", role_plays.pk, "at_risk")

    due = timezone.localdate() + timedelta(days=14)
    for title in ("Weekly sales-talk role-play", "Record and review two pitches a week"):
        page.get_by_role("link", name="Add an action").click()
        page.get_by_role("textbox", name="Measure").fill("Better sales talks")
        page.get_by_role("textbox", name="Action").fill(title)
        page.get_by_role("combobox", name="Owner").select_option(label="member")
        page.get_by_label("Due").fill(due.isoformat())
        page.get_by_role("button", name="Save action").click()
        expect(page.locator(".messages")).to_contain_text("Action saved")
        page.goto(f"{page.base_url}/nodes/{close_rate.pk}/review/")
    assert set(Action.objects.filter(node=close_rate, review=review).values_list("title", flat=True)) == {
        "Weekly sales-talk role-play",
        "Record and review two pitches a week",
    }
    page.goto(f"{page.base_url}/nodes/{close_rate.pk}/")
    section = page.locator("#reviews")
    expect(section).to_contain_text("Weekly sales-talk role-play")
    expect(section).to_contain_text("Execution fell short")
