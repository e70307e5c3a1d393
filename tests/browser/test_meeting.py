"""The review meeting in a real browser: a manager opens the month's meeting of the demo tree and
finds an off-track KPI on the agenda and an overdue action with its slippage; at 390 px the page
does not scroll sideways."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from dashboards.pages.meeting import meeting
from dashboards.windows import month_window
from goals.models import Membership, Node
from pdca.models import Action
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(eager_rollups, db):
    call_command("seed_demo", today=timezone.localdate(), stdout=open("/dev/null", "w"))
    return Node.objects.get(code="revenue", level=0)


def test_a_manager_sees_the_off_track_kpi_and_the_overdue_action(page, demo):
    today = timezone.localdate()
    membership = Membership.objects.get(user__username="manager")
    month = month_window(today, fiscal_start_month=membership.organisation.fiscal_year_start_month)
    off_track = [
        item.node
        for item in meeting(demo, month, membership=membership, today=today).unreviewed
        if item.figures.status == "off_track"
    ]
    assert off_track, "the demo has a KPI off track this month"
    Action.objects.create(
        organisation=demo.organisation,
        node=off_track[0],
        owner=membership.user,
        title="Book demos from the webinar list",
        due_date=today - timedelta(days=3),
        original_due_date=today - timedelta(days=10),
    )

    login(page, "manager", "kpitree-demo")
    page.goto(f"{page.base_url}/trees/{demo.pk}/")
    page.get_by_role("link", name="Review meeting").click()
    expect(page.locator("h1")).to_contain_text(demo.name)
    agenda = page.locator("#agenda-unreviewed")
    item = agenda.locator(f'[data-node="{off_track[0].pk}"]')
    expect(item).to_contain_text("Off track")
    expect(item.get_by_role("link", name="Write its review")).to_be_visible()
    overdue = page.locator("#agenda-overdue")
    expect(overdue).to_contain_text("Book demos from the webinar list")
    expect(overdue.locator(".days-overdue")).to_contain_text("3 days")
    expect(overdue.locator(".slipped")).to_contain_text("moved 7 days")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "meeting-390")
