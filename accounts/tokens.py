"""API tokens end to end: how a token is made, what is kept of it, how a request's token is checked
and how tokens end. Every entry point (the token API, DRF authentication, the password change, the
admin) goes through these functions; nothing else reads or writes ApiToken.

A token is `kpt_` and 43 URL-safe characters (256 random bits). Only its SHA-256 is stored, with
its first characters for lists. A token stops working when it expires (API_TOKEN_TTL_HOURS after
it was issued), when it is revoked, when its user is deactivated and when its user's password
changes, whichever path changed it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiToken

SCHEME = "kpt_"
PREFIX_LENGTH = 12  # "kpt_" and 8 random characters: enough to recognise, useless to guess with
# last_used_at is a hint for people, not an audit log: one write a minute per token at most.
LAST_USED_PRECISION = timedelta(minutes=1)


class TokenRefused(Exception):
    """The token cannot be used; the message says why, for the API client."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _password_fingerprint(user) -> str:
    return hashlib.sha256(user.password.encode()).hexdigest()


def api_token_create(*, user, name: str = "", now: datetime | None = None) -> tuple[ApiToken, str]:
    """Issue a new token; returns it with the secret, which is shown this once and never stored."""
    now = now or timezone.now()
    secret = SCHEME + secrets.token_urlsafe(32)
    # A script that asks for a token on every run leaves expired ones behind: clear them here.
    ApiToken.objects.filter(user=user, expires_at__lte=now).delete()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=secret[:PREFIX_LENGTH],
        digest=_digest(secret),
        password_fingerprint=_password_fingerprint(user),
        created_at=now,
        expires_at=now + timedelta(hours=settings.API_TOKEN_TTL_HOURS),
    )
    return token, secret


def api_token_authenticate(*, secret: str, now: datetime | None = None) -> ApiToken:
    """The live token for this secret (its user in `token.user`), or TokenRefused."""
    now = now or timezone.now()
    token = ApiToken.objects.select_related("user").filter(digest=_digest(secret)).first()
    if token is None or not token.user.is_active:
        raise TokenRefused(_("Invalid token."))
    if not hmac.compare_digest(token.password_fingerprint, _password_fingerprint(token.user)):
        # The password changed by a path that did not revoke the tokens (the admin, a command).
        token.delete()
        raise TokenRefused(_("Invalid token."))
    if token.expires_at <= now:
        raise TokenRefused(_("This token has expired; ask for a new one at POST /api/v1/auth/token/."))
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_tokens_list(*, user, now: datetime | None = None) -> QuerySet[ApiToken]:
    """The user's tokens that still work, newest first."""
    now = now or timezone.now()
    return ApiToken.objects.filter(
        user=user, expires_at__gt=now, password_fingerprint=_password_fingerprint(user)
    ).order_by("-created_at", "-pk")


def api_token_revoke(*, user, token_id: int) -> bool:
    """Revoke one of the user's own tokens; False when the user has no such token."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    return bool(deleted)


def api_tokens_revoke_all(*, user) -> int:
    """Revoke every token of the user (called when they change their password)."""
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    return deleted
