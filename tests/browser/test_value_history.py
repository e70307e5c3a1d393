"""The value history in a real browser (issue 10 §3): a team member replaces this month's actual
that the manager entered, and the manager reads it on the node page — period, before → after,
who, when and the note — also at a phone's width without the page scrolling sideways."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from goals.forms import period_label
from goals.models import Measurement, Node
from goals.units import format_quantity
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE_WIDTH = 390


@pytest.fixture
def demo(eager_rollups, db):
    # The views take today from the clock; the demo's actuals (entered by the manager) must agree.
    call_command("seed_demo", today=timezone.localdate(), stdout=open("/dev/null", "w"))
    root = Node.objects.get(code="revenue", level=0)
    return {n.code: n for n in Node.objects.filter(tree_id=root.tree_id)}


def test_a_replaced_actual_is_read_in_the_node_pages_history(browser, page, demo):
    appointments = demo["appointments"]
    this_month = timezone.localdate().replace(day=1)
    before = Measurement.objects.get(node=appointments, period_start=this_month).value
    after = before + 3
    note = "Three <late> bookings counted after the call."

    # The team member who owns the KPI enters this month's actual again, with a note.
    login(page, "member", "kpitree-demo")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My KPIs").click()
    card = page.locator(f"#kpi-{appointments.pk}")
    expect(card.get_by_role("combobox", name="Period")).to_have_value(this_month.isoformat())
    card.get_by_role("textbox", name="Actual (appointments)").fill(f"{after}")
    card.get_by_role("textbox", name="Note").fill(note)
    card.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Saved")
    assert Measurement.objects.get(node=appointments, period_start=this_month).value == Decimal(after)
    page.context.clear_cookies()

    # The manager reads who changed what on the node page.
    login(page, "manager", "kpitree-demo")
    page.goto(f"{page.base_url}/nodes/{appointments.pk}/")
    history = page.locator("section", has=page.get_by_role("heading", name="Value history"))
    expect(history).to_be_visible()
    newest = history.locator("tbody tr").first
    month = period_label(this_month, appointments.frequency)
    expect(newest.locator("td").nth(0)).to_have_text(month)
    shown = [format_quantity(v, "appointments", "en", entered=True) for v in (before, after)]
    expect(newest.locator("td").nth(1)).to_have_text(f"{shown[0]} → {shown[1]}")
    expect(newest.locator("td").nth(2)).to_have_text("Yui Suzuki")
    expect(newest.locator("td").nth(3)).to_have_text(re.compile(r"\d"))
    expect(newest.locator("td").nth(4)).to_have_text(note)  # text, not markup
    # The value the manager first entered for the month stays in the history too.
    entered = history.locator("tbody tr").filter(has_text=month).filter(has_text=f"Entered: {shown[0]}")
    expect(entered).to_have_count(1)
    expect(entered).to_contain_text("Ken Tanaka")
    screenshot(page, "node-value-history")

    # At a phone's width the history scrolls inside its own box, not the page.
    phone = browser.new_context(viewport={"width": PHONE_WIDTH, "height": 844}, is_mobile=True, locale="en-GB")
    try:
        phone.add_cookies(page.context.cookies())
        small = phone.new_page()
        small.goto(f"{page.base_url}/nodes/{appointments.pk}/")
        expect(small.get_by_role("heading", name="Value history")).to_be_visible()
        screenshot(small, "node-value-history-phone")
        assert small.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    finally:
        phone.close()
