from __future__ import annotations

from django.urls import path

from goals import views

app_name = "goals"
# The node page ("nodes/<int:pk>/", name "node") is dashboards.views.node_detail, added to this
# namespace in kpitree/urls.py.
urlpatterns = [
    path("trees/", views.tree_list, name="trees"),
    path("trees/new/", views.tree_create, name="tree_create"),
    path("trees/<int:pk>/", views.tree_detail, name="tree"),
    path("nodes/<int:pk>/add/", views.node_add_child, name="node_add_child"),
    path("nodes/<int:pk>/edit/", views.node_edit, name="node_edit"),
    path("nodes/<int:pk>/move/", views.node_move, name="node_move"),
    path("nodes/<int:pk>/archive/", views.node_archive, name="node_archive"),
    path("nodes/<int:pk>/restore/", views.node_restore, name="node_restore"),
    path("nodes/<int:pk>/delete/", views.node_delete, name="node_delete"),
    path("nodes/<int:pk>/targets/", views.node_targets, name="node_targets"),
    path("nodes/smart-preview/", views.node_smart_preview, name="node_smart_preview"),
    path("actuals/", views.my_actuals, name="my_actuals"),
    path("actuals/grid/", views.actuals_grid, name="actuals_grid"),
    path("actuals/locks/", views.period_locks, name="period_locks"),
    path("actuals/<int:pk>/", views.actual_save, name="actual_save"),
    path("settings/", views.organisation_settings, name="organisation_settings"),
]
