from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import apis as account_apis
from goals import apis
from goals.api_input import api_not_found
from pdca import apis as pdca_apis

urlpatterns = [
    path("auth/token/", account_apis.TokenApi.as_view(), name="api-token"),
    path("auth/tokens/", account_apis.TokenListApi.as_view(), name="api-tokens"),
    path("auth/tokens/<int:pk>/", account_apis.TokenRevokeApi.as_view(), name="api-token-revoke"),
    path("nodes/", apis.NodeListCreateApi.as_view(), name="api-nodes"),
    path("nodes/<int:pk>/", apis.NodeDetailApi.as_view(), name="api-node"),
    path("nodes/<int:pk>/archive/", apis.NodeArchiveApi.as_view(), name="api-node-archive"),
    path("nodes/<int:pk>/restore/", apis.NodeRestoreApi.as_view(), name="api-node-restore"),
    path("nodes/<int:pk>/move/", apis.NodeMoveApi.as_view(), name="api-node-move"),
    path("nodes/<int:pk>/smart/", apis.NodeSmartApi.as_view(), name="api-node-smart"),
    path("nodes/<int:pk>/tree/", apis.NodeTreeApi.as_view(), name="api-node-tree"),
    path("nodes/<int:pk>/progress/", apis.NodeProgressApi.as_view(), name="api-node-progress"),
    path("nodes/<int:pk>/explain/", apis.NodeExplainApi.as_view(), name="api-node-explain"),
    path("nodes/<int:pk>/value-history/", apis.NodeValueHistoryApi.as_view(), name="api-node-value-history"),
    path("measurements/", apis.MeasurementListCreateApi.as_view(), name="api-measurements"),
    path("measurements/bulk/", apis.MeasurementBulkApi.as_view(), name="api-measurements-bulk"),
    path("measurements/<int:pk>/history/", apis.MeasurementHistoryApi.as_view(), name="api-measurement-history"),
    path("reviews/", pdca_apis.ReviewListCreateApi.as_view(), name="api-reviews"),
    path("reviews/<int:pk>/", pdca_apis.ReviewDetailApi.as_view(), name="api-review"),
    path("actions/", pdca_apis.ActionListCreateApi.as_view(), name="api-actions"),
    path("actions/<int:pk>/", pdca_apis.ActionDetailApi.as_view(), name="api-action"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up code as a script file, not inline (for a strict CSP).
    # A page for people: the log-in page rather than a 401 (the schema itself needs a login too).
    path("docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    # Last: any other path under the API (a misspelt one, /nodes/abc/) is a JSON 404 too.
    re_path(r"", api_not_found),
]
