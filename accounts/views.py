from __future__ import annotations

from django.contrib.auth import views as auth_views

from accounts import tokens


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change (which keeps this session and ends the user's other sessions),
    plus: the API tokens issued under the old password are revoked."""

    def form_valid(self, form):
        response = super().form_valid(form)
        tokens.api_tokens_revoke_all(user=form.user)
        return response
