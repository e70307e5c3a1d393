from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import set_language

from accounts.views import PasswordChangeView
from dashboards import views as dashboards_views
from goals import urls as goals_urls

# The node page is drawn by the dashboards (its chart and figures; goals does not import
# dashboards) and keeps its name ``goals:node``: it joins the goals namespace here, where both
# apps meet.
GOALS_PATTERNS = [path("nodes/<int:pk>/", dashboards_views.node_detail, name="node"), *goals_urls.urlpatterns]

urlpatterns = [
    path("", include("dashboards.urls")),
    path("", include((GOALS_PATTERNS, goals_urls.app_name))),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("", include("alerts.urls")),
    path("", include("pdca.urls")),
    path("api/v1/", include("goals.api_urls")),
    path(settings.ADMIN_URL, admin.site.urls),
]
