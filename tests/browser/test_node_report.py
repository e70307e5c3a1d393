"""The node page and the monthly report in a real browser: the chart is drawn, the children are
listed with their figures and lead to their pages, and the report prints on A4 without the
site's navigation."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from goals.management.commands.seed_demo import DEMO_NOTES
from goals.models import Node
from tests.browser.conftest import ARTIFACTS, login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(eager_rollups, db):
    # The views take today from the clock; the demo's actuals (rolled up on commit) must agree.
    call_command("seed_demo", today=timezone.localdate(), stdout=open("/dev/null", "w"))
    root = Node.objects.get(code="revenue", level=0)
    return {n.code: n for n in Node.objects.filter(tree_id=root.tree_id)}


def test_node_page_draws_its_chart_and_lists_its_children(page, demo):
    login(page, "manager", "kpitree-demo")
    page.goto(f"{page.base_url}/nodes/{demo['upsell'].pk}/")
    expect(page.locator("h1")).to_contain_text(demo["upsell"].name)

    # A KSF without a number of its own: no chart, but its children with their figures.
    children = page.locator(".children-figures")
    upsell_revenue = children.locator(f'tr[data-node="{demo["upsell_revenue"].pk}"]')
    expect(upsell_revenue).to_contain_text("Off track")
    expect(upsell_revenue).to_contain_text("short")
    expect(upsell_revenue.locator("svg.sparkline")).to_be_visible()

    # The period selector keeps the window in the URL, and the links keep it too.
    selector = page.get_by_role("form", name="Period")
    selector.get_by_role("combobox", name="Period").select_option("quarter")
    selector.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"period=quarter"))
    expect(page.locator(".period-current")).to_contain_text("FY")
    page.locator(".children-figures").get_by_role("link", name=demo["upsell_revenue"].name).click()
    expect(page).to_have_url(re.compile(rf"/nodes/{demo['upsell_revenue'].pk}/\?period=quarter"))

    # The KPI's chart: actual against target, the projection and the value expected at the deadline.
    chart = page.locator('[data-figure="node-chart"]')
    expect(chart).to_have_class(re.compile("figure-drawn"))
    expect(chart.locator(".main-svg").first).to_be_visible()
    expect(chart).to_contain_text("Projection")
    expect(page.locator("#node-chart-summary")).to_contain_text("Expected at the deadline")
    expect(page.locator(".window-figures")).to_contain_text("Off track")
    screenshot(page, "node-page")


def test_monthly_report_prints_on_a4(page, demo):
    login(page, "executive", "kpitree-demo")
    page.goto(f"{page.base_url}/trees/{demo['revenue'].pk}/")
    page.get_by_role("link", name="Monthly report").click()
    expect(page).to_have_url(re.compile(rf"/trees/{demo['revenue'].pk}/report/"))
    expect(page.locator("h1")).to_have_text(demo["revenue"].name)

    # The month's status table and the misses with what was said about them.
    expect(page.locator(f'.report-tree tr[data-node="{demo["upsell_revenue"].pk}"]')).to_contain_text("Off track")
    attention = page.locator(f'.attention-item[data-node="{demo["upsell_revenue"].pk}"]')
    expect(attention).to_contain_text(DEMO_NOTES["upsell_revenue"][:40])
    expect(page.locator('[data-figure="report-kgi-chart"]')).to_have_class(re.compile("figure-drawn"))
    expect(page.locator('[data-figure="report-counts"]')).to_have_class(re.compile("figure-drawn"))
    screenshot(page, "monthly-report")

    # On paper: no navigation or buttons, the charts within the A4 width.
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".report-tools")).to_be_hidden()
    expect(page.get_by_role("button", name="Print or save as PDF")).to_be_hidden()
    box = page.locator('[data-figure="report-kgi-chart"]').bounding_box()
    assert box is not None and box["width"] <= 700
    screenshot(page, "monthly-report-print")
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = page.pdf(path=str(ARTIFACTS / "monthly-report.pdf"), format="A4", prefer_css_page_size=True)
    # Each of the three sections starts on a page of its own.
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 3
