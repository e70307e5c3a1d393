"""Login lockout (django-axes): which address a request comes from, and when it is locked out.

Two limits, both counted over AXES_COOLOFF_MINUTES:
- a username from one address: AXES_FAILURE_LIMIT failures lock that pair only, so nobody can
  lock a named user out for everyone else;
- one address, whatever the usernames: AXES_ADDRESS_FAILURE_LIMIT (higher) locks the address,
  against guessing one password for many usernames.
"""

from __future__ import annotations

import ipaddress

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import QuerySet, Sum
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address: the connection's, or behind our TLS proxy the one it appended.

    X-Forwarded-For is trusted only with DJANGO_BEHIND_TLS_PROXY: anybody can send the header,
    so without a proxy it would let a client pick a fresh address for every guess. Behind the
    proxy only the right-most entry counts — the proxy appends the address it saw, and whatever
    the client sent stands to its left. A request that did not come through the proxy (no
    header) keeps its connection's address.
    """
    if settings.BEHIND_TLS_PROXY:
        appended = request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
        try:
            return str(ipaddress.ip_address(appended))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR")


def _failures(attempts: QuerySet) -> int:
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


class LockoutHandler(AxesDatabaseHandler):
    """axes' database handler with a limit per username+address and a higher one per address."""

    def get_failures(self, request, credentials=None) -> int:
        # One queryset per AXES_LOCKOUT_PARAMETERS entry, in order: the pair, then the address.
        pair, address = (_failures(attempts) for attempts in self.get_user_attempts(request, credentials))
        if address >= settings.AXES_ADDRESS_FAILURE_LIMIT:
            # At least AXES_FAILURE_LIMIT (checked in settings), so axes locks the request out.
            return address
        return pair

    def reset_user_attempts(self, request, credentials=None) -> int:
        """A successful login forgets that username's failures from the address, not the address's:
        otherwise signing in to one's own account would reset a password-spraying run."""
        pair = self.filter_user_attempts(request, credentials)[0]
        deleted, _ = pair.delete()
        return deleted
