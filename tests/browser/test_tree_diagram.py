"""The tree diagram in a real browser: each box says where its value comes from, readably on a
screen and at a phone's width."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from goals.models import Node
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1400, 390])
def test_a_long_formula_stays_inside_its_box(page, manager, saas_tree, width):
    contracts = Node.objects.get(tree_id=saas_tree.tree_id, code="new_contracts")
    # The longest code there can be (40 characters) does not fit a box's line: it is broken.
    Node.objects.filter(pk=contracts.pk).update(
        value_source="formula", formula="appointments*close_rate/100+" * 8 + "partner_webinar_appointments_in_the_year"
    )
    page.set_viewport_size({"width": width, "height": 844})
    login(page, "boss", "pw-boss")
    page.goto(f"{page.base_url}/trees/{saas_tree.pk}/")
    source = page.locator(f"#node-{contracts.pk} .box-source dd")
    expect(source).to_contain_text("= appointments × close_rate ÷ 100 + appointments")
    inside = source.evaluate(
        "dd => dd.getBoundingClientRect().right <= dd.closest('.box').getBoundingClientRect().right + 0.5"
    )
    assert inside
