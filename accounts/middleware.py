"""Sessions end after SESSION_IDLE_TIMEOUT_MINUTES without a request."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

LAST_SEEN = "kpitree_last_seen"


class SessionIdleTimeoutMiddleware:
    """Keeps a signed-in session alive while it is used.

    A session expires SESSION_COOKIE_AGE (= the idle timeout) after it was last saved; the session
    backend then refuses it and the user is signed out. Saving it on every request
    (SESSION_SAVE_EVERY_REQUEST) would write the session table on every page, htmx swap and API
    call, so the session is only stamped — and so saved — when its last stamp is older than a
    minute (a tenth of the timeout if shorter). A session therefore ends between one minute
    before and exactly at the timeout after its last request: never later.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.interval = max(1, min(60, settings.SESSION_COOKIE_AGE // 10))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if SESSION_KEY in session:
            now = int(timezone.now().timestamp())
            if now - session.get(LAST_SEEN, 0) >= self.interval:
                session[LAST_SEEN] = now
        return self.get_response(request)
