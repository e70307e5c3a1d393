from __future__ import annotations

from goals.access import request_membership


def membership(request) -> dict:
    """The signed-in user's membership (organisation and role), for the navigation."""
    return {"membership": request_membership(request)}
