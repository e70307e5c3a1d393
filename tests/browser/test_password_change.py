"""Changing one's password from the header, on a phone, in both languages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NEW_PASSWORD = "a-much-longer-passphrase-2026"


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize(
    ("locale", "link", "done"),
    [("en-GB", "Change password", "Password changed"), ("ja-JP", "パスワードの変更", "パスワードを変更しました")],
)
def test_change_password_at_phone_width(browser, live_server, manager, locale, link, done):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale=locale)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "pw-boss")
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()

    page.locator("header").get_by_role("link", name=link).click()
    expect(page.locator("h1")).to_have_text(link)
    assert fits_the_width(page)
    screenshot(page, f"password-change-phone-{locale}")

    page.fill("#id_old_password", "pw-boss")
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD + "-typo")
    page.locator("main button[type=submit]").click()
    expect(page.locator("#new_password2-errors")).to_be_visible()
    assert fits_the_width(page)

    page.fill("#id_old_password", "pw-boss")
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.locator("h1")).to_have_text(done)
    assert fits_the_width(page)
    manager.refresh_from_db()
    assert manager.check_password(NEW_PASSWORD)
    context.close()
