"""Under the Content-Security-Policy the pages still work in Chromium: every chart is drawn (plotly.js
needs no eval for our traces), the API docs load, and no page reports a violation — neither in the
console nor as a ``securitypolicyviolation`` event."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from goals.models import Node
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# Added before any page script runs (by the browser, so the policy does not apply to it).
LISTEN = """window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));"""


@pytest.fixture
def demo(eager_rollups, db):
    call_command("seed_demo", today=timezone.localdate(), stdout=open("/dev/null", "w"))  # noqa: SIM115
    root = Node.objects.get(code="revenue", level=0)
    return {n.code: n for n in Node.objects.filter(tree_id=root.tree_id)}


@pytest.mark.parametrize(
    ("username", "home"), [("executive", "/executive/"), ("manager", "/manager/"), ("member", "/member/")]
)
def test_no_page_breaks_the_content_security_policy(page, demo, username, home):
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(LISTEN)
    login(page, username, "kpitree-demo")
    root, kpi = demo["revenue"], demo["upsell_revenue"]
    for path in (home, f"/trees/{root.pk}/", f"/nodes/{kpi.pk}/", f"/trees/{root.pk}/report/", "/api/v1/docs/"):
        response = page.goto(page.base_url + path)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        for figure in page.locator("[data-figure]").all():
            expect(figure).to_have_class(re.compile("figure-drawn"))
        if path == "/api/v1/docs/":
            expect(page.locator(".swagger-ui .info .title")).to_contain_text("kpitree API")
        page.mouse.move(600, 400)  # a hover draws plotly's hover layer and tool bar
        violations = page.evaluate("window.__violations")
        assert violations == [], (path, violations)
    assert not [text for text in console if "Content Security Policy" in text or "strict CSP" in text], console
