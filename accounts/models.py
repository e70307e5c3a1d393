"""API tokens: only a hash of each token is stored; a token expires, can be revoked, and dies with
the password it was issued under. accounts.tokens is the only module that creates or reads them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    # The token's first characters, to tell tokens apart in a list; far too short to guess the rest.
    prefix = models.CharField(_("prefix"), max_length=12)
    # SHA-256 of the token (hex). A token has 256 random bits, so a fast hash is enough: no
    # dictionary to attack, and the lookup by digest stays one indexed query per request.
    digest = models.CharField(max_length=64, unique=True)
    # SHA-256 of the user's password hash when the token was issued: a new password (from our
    # form, the admin or `manage.py changepassword`) no longer matches, so the token stops working.
    password_fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"), db_index=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})" if self.name else f"{self.prefix}…"
