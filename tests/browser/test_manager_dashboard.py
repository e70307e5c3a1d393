"""The manager's dashboard in a real browser: log in, land on it, pick a month with the period
selector (kept in the URL), see who still has to enter which actuals and the off-track KPI
nobody has explained, with the charts drawn."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.dashboards.small_tree import freeze_today, saas_tree, store_actuals

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_sees_missing_actuals_by_owner(page, monkeypatch, organisation, manager, executive, member):
    freeze_today(monkeypatch)  # 20 June 2026
    tree = saas_tree(organisation, manager, executive, member)
    store_actuals(tree)

    login(page, "boss", "pw-boss")
    expect(page).to_have_url(re.compile(r"/manager/$"))
    missing = page.locator("#missing-actuals")
    expect(missing.locator("h2")).to_have_text("Actuals still missing, June 2026")
    expect(missing.locator("h3").first).to_contain_text("Worker")

    selector = page.locator("form.period-selector")
    selector.get_by_label("Period").select_option("month")
    selector.locator("#period-month").fill("2026-05")
    selector.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"period=month&month=2026-05"))
    expect(missing.locator("h2")).to_have_text("Actuals still missing, May 2026")
    worker = missing.locator("h3", has_text="Worker")
    expect(worker).to_contain_text("35 actuals")
    expect(missing).to_contain_text("3 feature webinars a month: May 2026")
    expect(missing.locator("h3", has_text="Chief")).to_contain_text("1 actual")

    unexplained = page.locator("#off-track-without-note")
    expect(unexplained).to_contain_text("50 appointments a month")
    expect(unexplained).not_to_contain_text("Upsell revenue")  # its actual has a note
    expect(page.locator(f"tr[data-node='{tree['appointments'].pk}']")).to_contain_text("✗ Off track")
    expect(page.locator(".figure-pair.figure-drawn").first).to_be_visible()
    expect(page.locator(".figure-counts.figure-drawn")).to_be_visible()
    screenshot(page, "manager-dashboard")
