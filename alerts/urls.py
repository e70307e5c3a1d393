from __future__ import annotations

from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/read/", views.notice_read, name="read"),
    path("inbox/read-all/", views.read_all, name="read_all"),
    path("inbox/preferences/", views.preferences, name="preferences"),
]
