"""Fixtures of the dashboards' tests."""

from __future__ import annotations

import pytest

from goals.models import Node
from tests.dashboards.with_actuals import enter_actuals


@pytest.fixture
def nodes(eager_rollups, saas_tree, manager, django_capture_on_commit_callbacks) -> dict[str, Node]:
    """The demo tree with the actuals of tests/dashboards/with_actuals.py, rolled up."""
    return enter_actuals(saas_tree, manager.membership, django_capture_on_commit_callbacks)
