from django.urls import path

from pdca import views

app_name = "pdca"

urlpatterns = [
    path("nodes/<int:pk>/review/", views.review, name="review"),
    path("nodes/<int:pk>/actions/new/", views.action_add, name="action_add"),
    path("actions/<int:pk>/edit/", views.action_edit, name="action_edit"),
]
