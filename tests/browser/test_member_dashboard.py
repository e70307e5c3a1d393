"""The member's dashboard in a real browser: log in, see what is still to enter this month and
the attainment chart, follow the link to the entry form, save, and see the item gone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.dashboards.small_tree import freeze_today, saas_tree, store_actuals

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_member_sees_what_to_enter_and_follows_the_link(
    eager_rollups, page, monkeypatch, organisation, manager, executive, member
):
    freeze_today(monkeypatch)  # 20 June 2026
    tree = saas_tree(organisation, manager, executive, member)
    store_actuals(tree)
    webinars = tree["webinars"]

    login(page, "worker", "pw-worker")
    expect(page).to_have_url(re.compile(r"/member/$"))
    to_enter = page.locator("#to-enter")
    expect(to_enter.locator("h2")).to_have_text("Still to enter, June 2026")
    expect(to_enter).to_contain_text("Enter 3 feature webinars a month: June 2026")
    expect(page.locator(f"tr[data-node='{tree['appointments'].pk}']")).to_contain_text("– No data")

    # May, shared by its URL: the progress bars and the chart of the months so far.
    page.goto(page.base_url + "/member/?period=month&month=2026-05")
    appointments = page.locator(f"tr[data-node='{tree['appointments'].pk}']")
    expect(appointments.locator("progress")).to_be_visible()
    expect(appointments).to_contain_text("✗ Off track")
    expect(page.locator(".figure-history.figure-drawn")).to_be_visible()
    expect(page.locator("#to-enter")).to_contain_text("Enter 3 feature webinars a month: May 2026")
    screenshot(page, "member-dashboard")

    page.goto(page.base_url + "/member/")
    to_enter = page.locator("#to-enter")

    to_enter.get_by_role("link", name="Enter 3 feature webinars a month").click()
    expect(page).to_have_url(re.compile(rf"/actuals/#kpi-{webinars.pk}$"))
    card = page.locator(f"#kpi-{webinars.pk}")
    expect(card.get_by_role("combobox", name="Period")).to_have_value("2026-06-01")
    card.get_by_role("textbox", name="Actual (webinars)").fill("3")
    card.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Saved 3 webinars")

    page.goto(page.base_url + "/member/")
    expect(page.locator("#to-enter")).not_to_contain_text("3 feature webinars a month")
    expect(page.locator("#to-enter")).to_contain_text("Enter 50 appointments a month")
