from __future__ import annotations

from django.urls import path

from dashboards import views

app_name = "dashboards"
urlpatterns = [
    path("", views.home, name="home"),
    path("executive/", views.executive_home, name="executive"),
    path("manager/", views.manager_home, name="manager"),
    path("member/", views.member_home, name="member"),
    path("trees/<int:pk>/report/", views.monthly_report, name="monthly_report"),
    path("trees/<int:pk>/meeting/", views.meeting, name="meeting"),
]
