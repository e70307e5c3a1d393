"""A member finds a reminder in the inbox (issue 11 §4) and follows it to enter the value."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from alerts import services
from alerts.models import Kind, Notice
from goals.models import Measurement, Node
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_member_follows_a_reminder_to_enter_the_value(eager_rollups, page):
    call_command("seed_demo", today=timezone.localdate(), stdout=open("/dev/null", "w"))
    appointments = Node.objects.get(code="appointments", tree_id=Node.objects.get(code="revenue", level=0).tree_id)
    this_month = timezone.localdate().replace(day=1)
    Notice.objects.create(
        organisation=appointments.organisation,
        user=appointments.owner,
        kind=Kind.REMINDER,
        node=appointments,
        period=this_month,
        subject_id=services.REMIND_BEFORE,
        params={"node": appointments.name, "frequency": appointments.frequency, "period": this_month.isoformat()},
    )

    login(page, appointments.owner.username, "kpitree-demo")
    inbox = page.locator(".inbox-link")
    expect(inbox).to_have_attribute("data-unread", "1")
    inbox.click()
    expect(page.locator("h1")).to_have_text("Inbox")
    expect(page.locator(".notice.unread")).to_contain_text(f"Please enter the value of {appointments.name}")
    screenshot(page, "member-inbox-reminder")

    page.locator(".notice").get_by_role("button", name="Open").click()
    expect(page).to_have_url(re.compile(rf"/actuals/#kpi-{appointments.pk}$"))
    expect(page.locator(".inbox-link")).to_have_attribute("data-unread", "0")
    card = page.locator(f"#kpi-{appointments.pk}")
    card.get_by_role("textbox", name=re.compile("^Actual")).fill("40")
    card.get_by_role("textbox", name="Note").fill("Entered after the reminder.")
    card.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Saved 40")
    assert Measurement.objects.filter(node=appointments, period_start=this_month, value=40).exists()
