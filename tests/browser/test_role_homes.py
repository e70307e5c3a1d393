"""The three demo logins land on their own pages; the outsider sees none of Demo Co.;
the tree works with the keyboard and at a phone's width."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from goals.models import Node
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DEMO_TREE = "SaaS annual revenue ¥100M → ¥120M by fiscal year end"


@pytest.fixture
def demo(db):
    call_command("seed_demo", today=date(2026, 11, 22), stdout=open("/dev/null", "w"))


@pytest.mark.parametrize(
    ("username", "url", "heading", "sees"),
    [
        ("executive", r"/executive/$", "Company goals (KGIs)", "¥20M"),
        ("manager", r"/manager/$", "Your KPI trees", DEMO_TREE),
        ("member", r"/member/$", "My KPIs", "50 appointments a month"),
    ],
)
def test_demo_login_lands_on_role_home(page, demo, username, url, heading, sees):
    login(page, username, "kpitree-demo")
    expect(page).to_have_url(re.compile(url))
    expect(page.locator("h1")).to_have_text(heading)
    expect(page.locator("main")).to_contain_text(sees)
    screenshot(page, f"home-{username}")


def test_outsider_sees_only_its_own_organisation(page, demo):
    login(page, "outsider", "kpitree-demo")
    expect(page.locator("main")).to_contain_text("Double web-shop sales")
    expect(page.locator("main")).not_to_contain_text("SaaS annual revenue")
    demo_root = Node.objects.get(code="revenue", level=0)
    response = page.goto(f"{page.base_url}/trees/{demo_root.pk}/")
    assert response.status == 404


def test_tree_works_with_the_keyboard_and_at_phone_width(browser, live_server, demo):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.base_url = live_server.url
    login(page, "manager", "kpitree-demo")
    root = Node.objects.get(code="revenue", level=0)
    page.goto(f"{page.base_url}/trees/{root.pk}/")
    # The page itself does not scroll sideways: the diagram scrolls inside its own box.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, "manager-tree-phone")
    # Tab to the KGI's "add a KSF" link and open it with Enter.
    target = page.get_by_role("link", name=f"Add a child under {DEMO_TREE}")
    for _ in range(60):
        page.keyboard.press("Tab")
        if target.evaluate("e => e === document.activeElement"):
            break
    else:
        pytest.fail("the add-KSF link is not reachable with Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".kind-line")).to_contain_text("KSF")
    context.close()
