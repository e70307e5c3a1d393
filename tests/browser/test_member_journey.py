"""The member's journey in a real browser: log in, open "My KPIs", enter this month's actual,
see it saved and the status change (eager Celery rolls the tree up on commit), then meet the
messages for a bad value and for a miss without a note."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from goals.models import Measurement, Node
from goals.rollup import storage
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(db):
    # The views take today from the clock in the site's time zone; the demo data must agree.
    call_command("seed_demo", today=timezone.localdate(), stdout=open("/dev/null", "w"))


def test_member_enters_this_months_actual(eager_rollups, page, demo):
    appointments = Node.objects.get(code="appointments", tree_id=Node.objects.get(code="revenue", level=0).tree_id)
    this_month = timezone.localdate().replace(day=1)
    target = storage.period_targets(
        [(appointments, this_month)], appointments.organisation, today=timezone.localdate()
    )[(appointments.pk, this_month)]

    login(page, "member", "kpitree-demo")
    expect(page).to_have_url(re.compile(r"/member/$"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My KPIs").click()
    expect(page.locator("h1")).to_have_text("My KPIs: actuals")

    card = page.locator(f"#kpi-{appointments.pk}")
    expect(card.locator(".period-status")).to_contain_text("On track")
    # The current month is preselected.
    expect(card.get_by_role("combobox", name="Period")).to_have_value(this_month.isoformat())
    screenshot(page, "member-actuals")

    # A value a little under the target: saved, and the status turns to "at risk".
    at_risk = f"{target * 0.95:.1f}"
    card.get_by_role("textbox", name="Actual (appointments)").fill(at_risk)
    card.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text(f"Saved {at_risk} appointments")
    expect(page.locator(".messages")).to_contain_text("Status: At risk.")
    card = page.locator(f"#kpi-{appointments.pk}")
    expect(card.locator(".last-actual")).to_contain_text(f"{at_risk} appointments")
    expect(card.locator(".period-status")).to_contain_text("At risk")
    assert Measurement.objects.get(node=appointments, period_start=this_month).value == Decimal(at_risk)
    screenshot(page, "member-actuals-saved")

    # A negative count: the message sits next to the field and the typed value stays.
    card.get_by_role("textbox", name="Actual (appointments)").fill("-5")
    card.get_by_role("textbox", name="Note").fill("Typed by hand")
    card.get_by_role("button", name="Save").click()
    card = page.locator(f"#kpi-{appointments.pk}")
    expect(card.locator(".errorlist")).to_have_text("appointments cannot be negative.")
    expect(card.get_by_role("textbox", name="Actual (appointments)")).to_have_value("-5")
    expect(card.get_by_role("textbox", name="Note")).to_have_value("Typed by hand")
    expect(card.get_by_role("textbox", name="Actual (appointments)")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "member-actuals-error")

    # Far under the target without a note: a note is asked for; with one, it is saved off track.
    off_track = f"{target * 0.5:.0f}"
    card.get_by_role("textbox", name="Actual (appointments)").fill(off_track)
    card.get_by_role("textbox", name="Note").fill("")
    card.get_by_role("button", name="Save").click()
    card = page.locator(f"#kpi-{appointments.pk}")
    expect(card.locator(".errorlist")).to_contain_text("This value puts the KPI off track")
    card.get_by_role("textbox", name="Note").fill("Two reps were ill. Next: re-book the lost appointments this week.")
    card.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Status: Off track.")
    expect(page.locator(f"#kpi-{appointments.pk} .period-status")).to_contain_text("Off track")
