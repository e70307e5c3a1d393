"""The manager's journey in a real browser: build a four-level tree from nothing, meet a SMART
error and fix it, move a subtree, archive a node, switch to Japanese."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from goals.models import Node
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _box(page, name: str):
    return page.locator(".box", has=page.get_by_role("link", name=name, exact=True))


def _fill(page, fields: dict[str, str]) -> None:
    for field, value in fields.items():
        locator = page.locator(f"#id_{field}")
        if locator.evaluate("e => e.tagName") == "SELECT":
            locator.select_option(value)
        else:
            locator.fill(value)


def test_manager_builds_a_tree(page, manager):
    login(page, "boss", "pw-boss")
    expect(page).to_have_url(re.compile(r"/manager/$"))

    # The KGI: a root with a number and a deadline.
    page.get_by_role("link", name="KPI trees").first.click()
    page.get_by_role("link", name="Start with an empty KGI").click()
    _fill(
        page,
        {
            "name": "Annual revenue ¥500M → ¥600M by fiscal year end",
            "code": "revenue",
            "unit": "JPY",
            "baseline_value": "500000000",
            "target_value": "600000000",
        },
    )
    page.get_by_role("button", name="Create").click()
    expect(page.locator("h1")).to_have_text("Annual revenue ¥500M → ¥600M by fiscal year end")
    expect(_box(page, "Annual revenue ¥500M → ¥600M by fiscal year end")).to_contain_text("¥500M → ¥600M")

    # Two KSFs under it.
    for name, code in (("Win enterprise customers", "enterprise"), ("Keep customers longer", "retention")):
        page.get_by_role("link", name="Add a child under Annual revenue").click()
        expect(page.locator(".kind-line")).to_contain_text("KSF")
        _fill(page, {"name": name, "code": code, "rationale": "Closes part of the ¥100M gap."})
        page.get_by_role("button", name="Create").click()
        expect(_box(page, name)).to_be_visible()

    # A KPI from the library, first without a target: a SMART error blocks saving.
    page.get_by_role("link", name="Add a child under Win enterprise customers").click()
    page.get_by_label("Start from the KPI library").select_option("appointments")
    page.get_by_role("button", name="Use these presets").click()
    expect(page.locator("#id_unit")).to_have_value("appointments")
    _fill(page, {"name": "40 appointments a month", "code": "appointments", "rationale": "Meetings lead to deals."})
    page.locator("#id_target_value").fill("")
    page.locator("#id_baseline_value").fill("30")
    page.locator("#id_baseline_value").press("Tab")  # the live SMART panel reacts to changes
    expect(page.locator("#smart-preview")).to_contain_text("Set a numeric target.")
    page.get_by_role("button", name="Create").click()
    expect(page.locator(".form-errors").first).to_be_visible()
    expect(page.locator("#id_target_value_error, #id_target_value + .errorlist, .errorlist").first).to_contain_text(
        "Set a numeric target."
    )
    expect(page.locator("#id_name")).to_have_value("40 appointments a month")  # nothing typed is lost
    assert not Node.objects.filter(code="appointments").exists()
    screenshot(page, "manager-smart-error")

    page.locator("#id_target_value").fill("40")
    page.get_by_role("button", name="Create").click()
    expect(_box(page, "40 appointments a month")).to_contain_text("30 appointments → 40 appointments")

    # A sub-KPI under the KPI: the fourth level.
    page.get_by_role("link", name="Add a child under 40 appointments a month").click()
    expect(page.locator(".kind-line")).to_contain_text("Sub-KPI")
    _fill(
        page,
        {
            "name": "10 calls per day",
            "code": "calls",
            "unit": "calls",
            "baseline_value": "6",
            "target_value": "10",
            "frequency": "daily",
            "indicator_type": "leading",
            "rationale": "One call in four books a meeting.",
        },
    )
    page.get_by_role("button", name="Create").click()
    expect(_box(page, "10 calls per day")).to_be_visible()
    assert Node.objects.get(code="calls").level == 3
    screenshot(page, "manager-tree")

    # Move the KPI (with its sub-KPI) to the other KSF.
    page.get_by_role("link", name="Move 40 appointments a month").click()
    page.get_by_label("New parent").select_option(label="KSF: Keep customers longer")
    page.get_by_role("button", name="Move").click()
    expect(page.locator(".messages")).to_contain_text("Moved")
    kpi = Node.objects.get(code="appointments")
    assert kpi.parent.code == "retention"
    assert Node.objects.get(code="calls").parent_id == kpi.pk

    # Archive the sub-KPI, with confirmation.
    page.get_by_role("link", name="Archive 10 calls per day").click()
    expect(page.locator("h1")).to_contain_text("Archive")
    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_role("link", name="10 calls per day", exact=True)).to_have_count(0)
    assert Node.objects.get(code="calls").is_archived
    page.get_by_role("link", name="Show archived nodes").click()
    expect(_box(page, "10 calls per day")).to_contain_text("Archived")

    # Switch to Japanese.
    page.locator("#language-select").select_option("ja")
    page.get_by_role("button", name="Switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator(".site-header nav")).to_contain_text("KPIツリー")
    expect(page.locator(".tree-summary h2")).to_contain_text("SMART")
    expect(page.locator(".legend")).to_contain_text("KGI（重要目標達成指標）")

    # The journey goes on in Japanese: a KSF without a name is refused in Japanese, then saved.
    page.get_by_role("link", name="Annual revenue ¥500M → ¥600M by fiscal year end の配下に子ノードを追加").click()
    _fill(page, {"code": "churn", "rationale": "解約を減らせば売上の目減りを防げる。"})
    page.get_by_role("button", name="作成").click()
    expect(page.locator("#id_name_error, .errorlist").first).to_contain_text("この項目は必須です")
    expect(page.locator("#id_code")).to_have_value("churn")
    _fill(page, {"name": "解約を減らす"})
    page.get_by_role("button", name="作成").click()
    expect(_box(page, "解約を減らす")).to_contain_text("KSF")
    expect(page.locator(".messages")).to_contain_text("追加")
    screenshot(page, "manager-tree-ja")
