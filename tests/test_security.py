"""Security settings (kpitree/settings.py, accounts/): argon2 hashes, CSRF, login lockout and the
client address behind the proxy, sessions, a login for the API schema and docs."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session
from django.test import Client
from rest_framework.test import APIClient

from goals.models import Node

LOGIN = "/accounts/login/"
# The production password hashers, not the fast test ones (tests/conftest.py).
pytestmark = pytest.mark.argon2


def log_in(client: Client, username: str, password: str, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# --- password hashing ---------------------------------------------------------------------------


def test_passwords_are_hashed_with_argon2(manager):
    assert manager.password.startswith("argon2$argon2id$")
    assert "pw-boss" not in manager.password
    assert manager.check_password("pw-boss")


def test_an_old_pbkdf2_hash_is_upgraded_to_argon2_at_login(manager):
    manager.password = make_password("pw-boss", hasher="pbkdf2_sha256")
    manager.save(update_fields=["password"])
    assert manager.password.startswith("pbkdf2_sha256$")

    client = Client()
    log_in(client, "boss", "pw-boss")
    assert is_signed_in(client)
    manager.refresh_from_db()
    assert manager.password.startswith("argon2")


# --- CSRF ---------------------------------------------------------------------------------------


def test_login_form_without_csrf_token_is_refused(manager):
    client = Client(enforce_csrf_checks=True)
    response = log_in(client, "boss", "pw-boss")
    assert response.status_code == 403
    assert not is_signed_in(client)


def test_login_form_with_csrf_token_works(manager):
    client = Client(enforce_csrf_checks=True)
    page = client.get(LOGIN)
    token = page.context["csrf_token"]
    response = client.post(LOGIN, {"username": "boss", "password": "pw-boss", "csrfmiddlewaretoken": str(token)})
    assert response.status_code == 302
    assert is_signed_in(client)


def test_changing_a_tree_without_csrf_token_is_refused(manager, saas_tree):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    response = client.post(f"/nodes/{saas_tree.pk}/archive/")
    assert response.status_code == 403
    assert not Node.objects.filter(is_archived=True).exists()

    # The same request from the page, with its token, goes through.
    token = client.get(f"/nodes/{saas_tree.pk}/archive/").context["csrf_token"]
    response = client.post(f"/nodes/{saas_tree.pk}/archive/", {"csrfmiddlewaretoken": str(token)})
    assert response.status_code == 302
    assert Node.objects.filter(is_archived=True).count() == 15


def test_smart_preview_without_csrf_token_is_refused(manager, saas_tree):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    assert client.post("/nodes/smart-preview/", {"kind": "kgi"}).status_code == 403


def test_api_with_a_session_needs_the_csrf_token(manager, saas_tree):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(manager)
    assert client.get("/api/v1/nodes/").status_code == 200
    response = client.post(f"/api/v1/nodes/{saas_tree.pk}/archive/")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Node.objects.filter(is_archived=True).exists()


def test_api_with_a_token_needs_no_csrf_token(manager, saas_tree):
    client = APIClient(enforce_csrf_checks=True)
    token = client.post("/api/v1/auth/token/", {"username": "boss", "password": "pw-boss"}, format="json").json()[
        "token"
    ]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.post(f"/api/v1/nodes/{saas_tree.pk}/archive/").status_code == 200


def test_logout_needs_post_with_csrf_token(manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 403
    assert is_signed_in(client)


# --- login lockout (django-axes) ----------------------------------------------------------------


def test_five_failed_logins_lock_the_account_out(manager):
    assert settings.AXES_FAILURE_LIMIT == 5
    client = Client()  # the test client sends REMOTE_ADDR=127.0.0.1, which axes needs
    for _ in range(5):
        response = log_in(client, "boss", "wrong")
        assert not is_signed_in(client)
    # The sixth attempt is refused even with the right password.
    response = log_in(client, "boss", "pw-boss")
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.content.decode()
    assert not is_signed_in(client)
    assert Client().get("/").status_code == 302


def test_four_failed_logins_do_not_lock_out(manager):
    client = Client()
    for _ in range(4):
        log_in(client, "boss", "wrong")
    response = log_in(client, "boss", "pw-boss")
    assert response.status_code == 302
    assert is_signed_in(client)


def test_lockout_is_per_username_and_address(manager, member):
    client = Client()
    for _ in range(5):
        log_in(client, "boss", "wrong")
    assert log_in(client, "boss", "pw-boss").status_code == 429
    # Another account from the same address, and the same account from another address, still work.
    other_user = Client()
    assert log_in(other_user, "worker", "pw-worker").status_code == 302
    other_address = Client(REMOTE_ADDR="192.0.2.7")
    assert log_in(other_address, "boss", "pw-boss").status_code == 302


def test_failed_token_requests_count_towards_the_lockout(manager):
    client = APIClient()
    for _ in range(4):
        response = client.post("/api/v1/auth/token/", {"username": "boss", "password": "wrong"}, format="json")
        assert response.status_code == 400
    # The fifth failure reaches the limit: from then on the endpoint says so, as the web login does.
    response = client.post("/api/v1/auth/token/", {"username": "boss", "password": "wrong"}, format="json")
    assert response.status_code == 429
    response = client.post("/api/v1/auth/token/", {"username": "boss", "password": "pw-boss"}, format="json")
    assert response.status_code == 429
    assert response.json() == {"detail": "Too many failed log-in attempts. Try again later."}
    assert int(response["Retry-After"]) == settings.AXES_COOLOFF_TIME * 3600
    # The web login is locked for the same username and address, too.
    assert log_in(Client(), "boss", "pw-boss").status_code == 429


# --- the client's address behind the TLS proxy ---------------------------------------------------

PROXY = "10.0.0.2"  # the TLS proxy's own address: REMOTE_ADDR of every request it passes on


def through_proxy(forwarded_for: str) -> Client:
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)


def test_behind_the_proxy_two_clients_are_counted_separately(manager, settings):
    settings.BEHIND_TLS_PROXY = True
    attacker = through_proxy("203.0.113.5")
    for _ in range(5):
        log_in(attacker, "boss", "wrong")
    assert log_in(attacker, "boss", "pw-boss").status_code == 429
    # The account's owner comes through the same proxy from another address: not locked out.
    owner = through_proxy("198.51.100.9")
    assert log_in(owner, "boss", "pw-boss").status_code == 302
    assert is_signed_in(owner)


def test_behind_the_proxy_the_address_the_proxy_appended_is_the_one_that_counts(manager, settings):
    settings.BEHIND_TLS_PROXY = True
    # The attacker sends an X-Forwarded-For of their own choosing; the proxy appends the real one.
    for n in range(5):
        log_in(through_proxy(f"198.51.100.{n}, 203.0.113.5"), "boss", "wrong")
    assert log_in(through_proxy("198.51.100.77, 203.0.113.5"), "boss", "pw-boss").status_code == 429
    assert log_in(through_proxy("203.0.113.5, 198.51.100.9"), "boss", "pw-boss").status_code == 302


def test_without_the_proxy_setting_x_forwarded_for_is_ignored(manager, settings):
    settings.BEHIND_TLS_PROXY = False
    for n in range(5):
        log_in(Client(HTTP_X_FORWARDED_FOR=f"198.51.100.{n}"), "boss", "wrong")
    # A forged header does not buy the attacker a fresh address.
    assert log_in(Client(HTTP_X_FORWARDED_FOR="198.51.100.99"), "boss", "pw-boss").status_code == 429


@pytest.mark.parametrize(
    ("behind_proxy", "forwarded_for", "expected"),
    [
        (True, "203.0.113.5", "203.0.113.5"),
        (True, "198.51.100.1,203.0.113.5", "203.0.113.5"),
        (True, " 2001:db8::1 ", "2001:db8::1"),
        (True, "", PROXY),  # a direct connection to the app, not through the proxy
        (True, "unknown", PROXY),
        (True, "203.0.113.5:4711", PROXY),
        (False, "203.0.113.5", PROXY),
    ],
)
def test_client_address(rf, settings, behind_proxy, forwarded_for, expected):
    from accounts.lockout import client_address

    settings.BEHIND_TLS_PROXY = behind_proxy
    request = rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_address(request) == expected


def test_one_username_cannot_be_locked_out_from_one_address_for_everyone(manager):
    attacker = Client(REMOTE_ADDR="203.0.113.5")
    for _ in range(20):
        log_in(attacker, "boss", "wrong")
    for address in ("198.51.100.1", "198.51.100.2"):
        assert log_in(Client(REMOTE_ADDR=address), "boss", "pw-boss").status_code == 302


def test_one_address_guessing_many_usernames_is_locked_out(manager, settings):
    settings.AXES_ADDRESS_FAILURE_LIMIT = 8
    sprayer = Client(REMOTE_ADDR="203.0.113.5")
    # One guess per username: far below the per-username limit, but the address runs out of tries.
    statuses = [log_in(sprayer, f"user{n}", "Summer2026!").status_code for n in range(8)]
    assert statuses == [200] * 7 + [429]
    assert log_in(sprayer, "boss", "pw-boss").status_code == 429
    assert log_in(Client(REMOTE_ADDR="198.51.100.9"), "boss", "pw-boss").status_code == 302


def test_a_successful_login_does_not_reset_the_address_count(manager, member, settings):
    settings.AXES_ADDRESS_FAILURE_LIMIT = 8
    address = "203.0.113.5"
    for n in range(4):
        log_in(Client(REMOTE_ADDR=address), f"user{n}", "guess")
    # The sprayer signs in to an account of their own: that resets worker@address only.
    assert log_in(Client(REMOTE_ADDR=address), "worker", "pw-worker").status_code == 302
    for n in range(4, 8):
        log_in(Client(REMOTE_ADDR=address), f"user{n}", "guess")
    assert log_in(Client(REMOTE_ADDR=address), "boss", "pw-boss").status_code == 429


# --- sessions -----------------------------------------------------------------------------------


def test_session_key_rotates_on_login(manager):
    client = Client()
    session = client.session  # creates an anonymous session and its cookie
    session["visited"] = True
    session.save()
    before = session.session_key

    log_in(client, "boss", "pw-boss")
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert is_signed_in(client)
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()


def test_logout_ends_the_session(manager):
    client = Client()
    log_in(client, "boss", "pw-boss")
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post("/accounts/logout/")
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get("/manager/").status_code == 302


# --- response headers ---------------------------------------------------------------------------


# --- the API schema and docs are for signed-in users -------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/schema/?format=json"])
def test_api_schema_needs_a_login(db, path):
    response = APIClient().get(path)
    assert response.status_code == 401
    assert "openapi" not in response.content.decode()


@pytest.mark.parametrize("path", ["/api/v1/docs/", "/api/v1/docs/?script="])
def test_api_docs_page_redirects_to_the_login(db, path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN + "?next=")


def test_api_schema_and_docs_with_a_session_or_a_token(manager):
    client = Client()
    client.force_login(manager)
    assert client.get("/api/v1/docs/").status_code == 200
    assert client.get("/api/v1/schema/").status_code == 200

    api = APIClient()
    token = api.post("/api/v1/auth/token/", {"username": "boss", "password": "pw-boss"}, format="json").json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/schema/").status_code == 200


@pytest.mark.parametrize("path", [LOGIN, "/api/v1/docs/"])
def test_security_headers(client, path):
    response = client.get(path)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_http_only(manager):
    client = Client()
    log_in(client, "boss", "pw-boss")
    assert client.cookies[settings.SESSION_COOKIE_NAME]["httponly"]
