from __future__ import annotations

from alerts.services import unread_count


def unread_notices(request) -> dict:
    """The signed-in user's unread notices, for the header: one query, only when drawn."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notices": lambda: unread_count(user)}
