"""A node named with markup is drawn as text in Chromium: the executive's status map and the
manager's indicator charts hold no link from user text (dashboards.figures.figure_text)."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from goals.models import Node
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHISH = '<a href="http://evil.example/phish">Session expired - log in again</a>'


@pytest.fixture
def hostile_names(eager_rollups, db):
    call_command("seed_demo", today=timezone.localdate(), stdout=open("/dev/null", "w"))  # noqa: SIM115
    root = Node.objects.get(code="revenue", level=0)
    # A name cut short in a box used to leave its <a> open for the boxes after it.
    Node.objects.filter(tree_id=root.tree_id, code__in=["new_business", "appointments", "upsell_revenue"]).update(
        name=PHISH
    )
    Node.objects.filter(tree_id=root.tree_id, code="feature_adoption").update(unit="<b>%</b>")


def _figures_have_no_link(page) -> None:
    for figure in page.locator("[data-figure]").all():
        expect(figure).to_have_class(re.compile("figure-drawn"))
    # Plotly draws <a href> of a text as an SVG link: none may come from a name or a unit.
    assert page.locator("[data-figure] a").count() == 0
    assert page.locator("[data-figure] b").count() == 0


def test_the_status_map_draws_a_hostile_name_as_text(page, hostile_names):
    login(page, "executive", "kpitree-demo")
    _figures_have_no_link(page)
    status_map = page.locator("[data-figure$='-map']")
    expect(status_map).to_contain_text('<a href="http://evil.example/phish">')
    screenshot(page, "executive-hostile-names")


def test_the_indicator_charts_draw_hostile_names_and_units_as_text(page, hostile_names):
    login(page, "manager", "kpitree-demo")
    expect(page).to_have_url(re.compile(r"/manager/$"))
    _figures_have_no_link(page)
    expect(page.locator(".pair-grid")).to_contain_text("<a href=")
