"""The node form in a real browser shows only the fields that apply to the value source and the
direction chosen (static/js/node_form.js); a field it hides keeps what was typed in it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from goals.models import Node
from tests.browser.conftest import login, settle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_form_shows_the_fields_of_the_value_source_and_direction_chosen(page, manager, saas_tree):
    appointments = Node.objects.get(tree_id=saas_tree.tree_id, code="appointments")
    login(page, "boss", "pw-boss")
    page.goto(f"{page.base_url}/nodes/{appointments.pk}/edit/")

    # Entered by hand, to be increased: a target and a baseline, no formula and no range.
    expect(page.locator("#id_target_value")).to_be_visible()
    expect(page.locator("#id_baseline_value")).to_be_visible()
    expect(page.locator("#id_target_scope")).to_be_visible()  # a flow: per period or whole window
    for hidden in ("#id_formula", "#id_target_min", "#id_target_max"):
        expect(page.locator(hidden)).to_be_hidden()

    # Stay within a range: the bounds instead of the target; the target typed is kept.
    page.locator("#id_direction").select_option("maintain")
    expect(page.locator("#id_target_min")).to_be_visible()
    expect(page.locator("#id_target_max")).to_be_visible()
    for hidden in ("#id_target_value", "#id_baseline_value", "#id_target_scope"):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.locator("#id_target_value")).to_have_value("50")
    page.locator("#id_direction").select_option("increase")
    expect(page.locator("#id_target_value")).to_be_visible()
    expect(page.locator("#id_target_value")).to_have_value("50")
    expect(page.locator("#id_target_min")).to_be_hidden()

    # A formula: its field appears, and goes again with another source.
    page.locator("#id_value_source").select_option("formula")
    expect(page.locator("#id_formula")).to_be_visible()
    page.locator("#id_formula").fill("a * b")
    page.locator("#id_value_source").select_option("sum")
    expect(page.locator("#id_formula")).to_be_hidden()
    expect(page.locator("#id_formula")).to_have_value("a * b")  # kept, not cleared

    # An average over time has no "per period or whole window" to choose.
    page.locator("#id_time_aggregation").select_option("average")
    expect(page.locator("#id_target_scope")).to_be_hidden()
    page.locator("#id_time_aggregation").select_option("sum")
    expect(page.locator("#id_target_scope")).to_be_visible()
    settle(page)


def test_a_range_is_saved_from_the_fields_the_form_shows(page, manager, saas_tree):
    appointments = Node.objects.get(tree_id=saas_tree.tree_id, code="appointments")
    login(page, "boss", "pw-boss")
    page.goto(f"{page.base_url}/nodes/{appointments.pk}/edit/")
    page.locator("#id_direction").select_option("maintain")
    page.locator("#id_target_min").fill("40")
    page.locator("#id_target_max").fill("60")
    page.locator("#id_target_max").press("Tab")
    settle(page)
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("h1")).to_contain_text(appointments.name)
    appointments.refresh_from_db()
    assert (appointments.direction, appointments.target_min, appointments.target_max) == ("maintain", 40, 60)


def test_the_status_rule_is_asked_for_only_while_a_ksf_has_no_number(page, manager, saas_tree):
    new_business = Node.objects.get(tree_id=saas_tree.tree_id, code="new_business")
    login(page, "boss", "pw-boss")
    page.goto(f"{page.base_url}/nodes/{new_business.pk}/edit/")
    rule = page.locator("#id_status_rule")
    expect(rule).to_be_visible()  # no target: its status comes from its children, by this rule
    page.locator("#id_target_value").fill("100")
    expect(rule).to_be_hidden()
    page.locator("#id_direction").select_option("maintain")
    expect(rule).to_be_visible()  # a range to stay within, and none typed
    page.locator("#id_target_max").fill("5")
    expect(rule).to_be_hidden()
    page.locator("#id_direction").select_option("increase")
    page.locator("#id_target_value").fill("")
    expect(rule).to_be_visible()
    settle(page)
