"""The executive's journey in a real browser: log in, read the KGI's gap and the status map,
drill into a success factor and then click the off-track KPI to read why it is off track."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from goals.models import Node
from goals.rollup import jobs
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TODAY = date(2026, 11, 22)


@pytest.fixture
def demo(eager_rollups, monkeypatch):
    # The live server runs in this process: fixing the clock here fixes the page's "today".
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)
    call_command("seed_demo", today=TODAY, stdout=open("/dev/null", "w"))  # noqa: SIM115
    root = Node.objects.get(organisation__name="Demo Co.", level=0)
    jobs.tree_rollup(root_id=root.pk, as_of=TODAY)
    return root


def _box(page, text: str):
    """A box of the status map (plotly draws each as an SVG group with its label inside)."""
    return page.locator("[data-figure$='-map'] g.slice", has_text=text).first


def test_executive_sees_the_gap_and_drills_into_an_off_track_kpi(page, demo):
    login(page, "executive", "kpitree-demo")
    expect(page).to_have_url(re.compile(r"/executive/$"))
    main = page.locator("main")
    # The KGI: where it stands against its target to date, and the gap it was set to close.
    expect(page.locator(".kgi-headline")).to_contain_text("¥1.7M ahead")
    expect(main).to_contain_text("FY2026 to date")
    expect(page.locator(".gap-to-close")).to_have_text("¥20M")
    expect(main).to_contain_text("Expected at the deadline: ¥")
    # Every figure is drawn by plotly.js, served from this site.
    for figure in page.locator("[data-figure]").all():
        expect(figure).to_have_class(re.compile("figure-drawn"))
    expect(_box(page, "Upsell revenue ¥600k a month")).to_contain_text("✗")
    # The KPIs most behind: upsell revenue first, with its owner and the reason.
    first = page.locator("table.behind tbody tr").first
    expect(first).to_contain_text("Upsell revenue ¥600k a month")
    expect(first).to_contain_text("Ken Tanaka")
    expect(first).to_contain_text("Off track")
    screenshot(page, "executive-dashboard")

    # A box with boxes to its right opens that part of the tree.
    _box(page, "Drive upsell with the new reporting").click()
    upsell = Node.objects.get(tree_id=demo.tree_id, code="upsell")
    expect(page).to_have_url(re.compile(rf"/executive/\?node={upsell.pk}&period=fytd&month=2026-11$"))
    expect(page.locator(".breadcrumbs")).to_contain_text("Drive upsell with the new reporting feature")
    expect(page.locator("[data-figure$='-map']")).to_have_class(re.compile("figure-drawn"))
    screenshot(page, "executive-dashboard-drilled")

    # The red KPI opens its node page, which says why it is off track.
    _box(page, "Upsell revenue ¥600k a month").click()
    kpi = Node.objects.get(tree_id=demo.tree_id, code="upsell_revenue")
    expect(page).to_have_url(re.compile(rf"/nodes/{kpi.pk}/$"))
    expect(page.locator("h1")).to_contain_text("Upsell revenue ¥600k a month")
    expect(main).to_contain_text("Off track")
    expect(main).to_contain_text(
        re.compile(r"Attainment of the target to date: at risk below 100(\.0)?%, off track below 90")
    )
    screenshot(page, "executive-node-explanation")
