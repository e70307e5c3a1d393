"""At a phone's width (390 px), in English and in Japanese, no page scrolls sideways: each role's
home, the tree, a node page, the node form with its SMART panel and the monthly report. Wide
content (tables, the tree diagram) scrolls inside its own box instead."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from goals.models import Node
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTH = 390
# The elements that stick out past the right edge, for the failure message.
OVERFLOWING = """(width) => Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > width + 1 && !e.closest('.tree-scroll, .table-scroll, .grid-scroll'))
  .slice(0, 8)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + String(e.className.baseVal ?? e.className).split(' ').join('.')
       + ' → ' + Math.round(e.getBoundingClientRect().right))"""


# Short labels that must stay on one line: a SMART letter's name and its result (合格 stood
# one character per line in Japanese), and every status.
BROKEN_LABELS = """() => Array.from(document.querySelectorAll(
    '.smart-report tbody th, .smart-report td.smart-result, .smart-report thead th, main .status:not(.stale, .freshness .status)'))
  .filter(e => {
    const range = document.createRange();
    range.selectNodeContents(e);
    // On two lines, some two boxes of the label do not overlap vertically.
    const boxes = Array.from(range.getClientRects()).filter(r => r.height > 2 && r.width > 2);  // not the visually hidden
    return boxes.some(a => boxes.some(b => a.bottom <= b.top + 1));
  })
  .map(e => e.textContent.trim())"""


@pytest.fixture
def demo(eager_rollups, db):
    call_command("seed_demo", today=timezone.localdate(), stdout=open("/dev/null", "w"))  # noqa: SIM115
    root = Node.objects.get(code="revenue", level=0)
    return {n.code: n for n in Node.objects.filter(tree_id=root.tree_id)}


def _phone(browser, live_server, language: str):
    context = browser.new_context(
        viewport={"width": WIDTH, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="ja-JP" if language == "ja" else "en-GB",
    )
    context.set_default_timeout(15_000)
    # The language the site would keep after the switcher: no Accept-Language guesswork.
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.base_url = live_server.url
    return context, page


def _login(page, username: str) -> None:
    # Enter rather than the button: its name is in the page's language.
    page.goto(page.base_url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "kpitree-demo")
    page.press("#id_password", "Enter")
    page.wait_for_load_state()


def _width(page, path: str, name: str) -> tuple[int, list[str]]:
    page.goto(page.base_url + path)
    page.wait_for_load_state("networkidle")
    for figure in page.locator("[data-figure]").all():
        expect(figure).to_have_class(re.compile("figure-drawn"))
    screenshot(page, name)
    assert page.evaluate(BROKEN_LABELS) == [], path
    return page.evaluate("document.documentElement.scrollWidth"), page.evaluate(OVERFLOWING, WIDTH)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_no_page_scrolls_sideways_at_phone_width(browser, live_server, demo, language):
    root, kpi, ksf = demo["revenue"], demo["upsell_revenue"], demo["upsell"]
    pages = {
        "executive": ["/executive/", f"/trees/{root.pk}/", f"/nodes/{kpi.pk}/", f"/trees/{root.pk}/report/"],
        "manager": [
            "/manager/",
            f"/trees/{root.pk}/",
            f"/nodes/{kpi.pk}/",
            f"/nodes/{ksf.pk}/",
            f"/nodes/{kpi.pk}/edit/",
            f"/trees/{root.pk}/report/",
        ],
        "member": ["/member/", f"/nodes/{demo['appointments'].pk}/"],
    }
    widths, wide = {}, {}
    for username, paths in pages.items():
        context, page = _phone(browser, live_server, language)
        _login(page, username)
        for path in paths:
            slug = re.sub(r"\W+", "-", path.strip("/")) or "home"
            widths[f"{username} {path}"], wide[f"{username} {path}"] = _width(
                page, path, f"phone-{language}-{username}-{slug}"
            )
        context.close()
    print(f"\nscrollWidth at {WIDTH} px ({language}):", widths)
    too_wide = {key: (width, wide[key]) for key, width in widths.items() if width > WIDTH}
    assert not too_wide, too_wide
