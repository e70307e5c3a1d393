"""Accounts (accounts/): changing one's password, and the idle timeout of signed-in sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken

PASSWORD_CHANGE = "/accounts/password_change/"
NEW_PASSWORD = "a-much-longer-passphrase-2026"


class Clock:
    """timezone.now() for the code under test (sessions, tokens, the idle timeout), moved by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(datetime(2026, 5, 11, 0, 0, tzinfo=UTC))
    monkeypatch.setattr(timezone, "now", clock)
    return clock


def signed_in_with_password(user) -> Client:
    """Logged in through the login form with the user's password (tests.conftest.signed_in skips it)."""
    client = Client()
    response = client.post("/accounts/login/", {"username": user.username, "password": "pw-" + user.username})
    assert response.status_code == 302
    return client


def change_password(client: Client, old: str, new: str = NEW_PASSWORD, confirm: str | None = None):
    return client.post(PASSWORD_CHANGE, {"old_password": old, "new_password1": new, "new_password2": confirm or new})


def api_token(username: str) -> str:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": "pw-" + username}, format="json"
    )
    assert response.status_code == 200
    return response.json()["token"]


def token_works(token: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.get("/api/v1/nodes/").status_code == 200


# --- changing one's password ----------------------------------------------------------------------


def test_password_change_needs_a_login(db):
    response = Client().get(PASSWORD_CHANGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("user_fixture", ["manager", "member", "executive"])
def test_every_role_has_a_link_to_change_the_password(request, user_fixture):
    client = Client()
    client.force_login(request.getfixturevalue(user_fixture))
    home = client.get("/", follow=True)
    assert f'href="{PASSWORD_CHANGE}"' in home.content.decode()
    page = client.get(PASSWORD_CHANGE)
    assert page.status_code == 200
    html = page.content.decode()
    for field in ("old_password", "new_password1", "new_password2"):
        assert f'name="{field}"' in html
    assert 'autocomplete="current-password"' in html
    assert 'autocomplete="new-password"' in html


def test_password_change_page_in_japanese(manager):
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    client.force_login(manager)
    html = client.get(PASSWORD_CHANGE).content.decode()
    assert "パスワードの変更" in html
    assert "現在のパスワード" in html


def test_changing_the_password_keeps_this_session_and_ends_the_others(manager):
    here, elsewhere = signed_in_with_password(manager), signed_in_with_password(manager)

    response = change_password(here, "pw-boss")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_change/done/"
    done = here.get(response["Location"])
    assert done.status_code == 200
    assert "Your password was changed." in done.content.decode()

    manager.refresh_from_db()
    assert manager.check_password(NEW_PASSWORD)
    assert here.get("/manager/").status_code == 200
    assert elsewhere.get("/manager/").status_code == 302


def test_changing_the_password_revokes_the_api_tokens(manager, member):
    mine, colleagues = api_token("boss"), api_token("worker")
    assert token_works(mine)

    change_password(signed_in_with_password(manager), "pw-boss")
    assert not token_works(mine)
    assert not ApiToken.objects.filter(user=manager).exists()
    assert token_works(colleagues)


@pytest.mark.parametrize(
    ("old", "new", "confirm", "field"),
    [
        ("wrong", NEW_PASSWORD, None, "old_password"),
        ("pw-boss", NEW_PASSWORD, NEW_PASSWORD + "x", "new_password2"),
        ("pw-boss", "12345678", None, "new_password2"),  # too common, entirely numeric
    ],
)
def test_a_refused_password_change_changes_nothing(manager, old, new, confirm, field):
    client = signed_in_with_password(manager)
    token = api_token("boss")
    response = change_password(client, old, new, confirm)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert 'role="alert"' in response.content.decode()
    manager.refresh_from_db()
    assert manager.check_password("pw-boss")
    assert token_works(token)


# --- idle timeout -------------------------------------------------------------------------------


def test_sessions_expire_after_eight_hours_idle_by_default():
    assert settings.SESSION_IDLE_TIMEOUT_MINUTES == 480
    assert settings.SESSION_COOKIE_AGE == 480 * 60


def test_a_session_in_use_stays_signed_in_and_an_idle_one_is_logged_out(manager, clock):
    client = signed_in_with_password(manager)
    # Used every 7 h 59 min for a day: still signed in.
    for _ in range(3):
        clock.advance(hours=7, minutes=59)
        assert client.get("/manager/").status_code == 200
    # Then left alone for 8 h 1 min: the next request goes to the log-in page.
    clock.advance(hours=8, minutes=1)
    response = client.get("/manager/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_session_is_written_at_most_once_a_minute(manager, clock):
    client = signed_in_with_password(manager)
    client.get("/manager/")  # the first request after the login stamps the session

    def session_writes() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/manager/").status_code == 200
        return sum(1 for q in queries if q["sql"].startswith("UPDATE") and "django_session" in q["sql"])

    clock.advance(seconds=20)
    assert session_writes() == 0
    clock.advance(seconds=20)
    assert session_writes() == 0
    clock.advance(seconds=21)
    assert session_writes() == 1


def test_an_idle_timeout_counts_from_the_last_write_not_the_last_request(manager, clock):
    """A session is stamped at most once a minute, so it may end up to a minute early — never late."""
    client = signed_in_with_password(manager)
    client.get("/manager/")
    clock.advance(seconds=50)
    client.get("/manager/")  # not written: less than a minute since the stamp
    clock.advance(hours=8, seconds=-40)  # 8 h - 40 s after this request, 8 h + 10 s after the stamp
    assert client.get("/manager/").status_code == 302
