from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from goals.models import Kind, Node, RollupSeries, ValueSource


@pytest.fixture
def small_tree(organisation, manager, member):
    """A KGI owned by the manager over one monthly KPI owned by the member (entered by hand)."""
    root = Node.objects.create(
        organisation=organisation,
        kind=Kind.KGI,
        name="Revenue",
        code="revenue",
        owner=manager,
        value_source=ValueSource.SUM,
        target_value=Decimal(100),
        start_date=date(2026, 4, 1),
        deadline=date(2027, 3, 31),
    )
    kpi = Node.objects.create(
        organisation=organisation,
        parent=root,
        kind=Kind.KPI,
        name="Leads",
        code="leads",
        owner=member,
        target_value=Decimal(50),
    )
    return root, kpi


def store_statuses(node, statuses: dict[date, str]) -> None:
    """A stored rollup document for ``node`` with these statuses (read, never recomputed)."""
    periods = sorted(statuses)
    RollupSeries.objects.update_or_create(
        node=node,
        defaults={
            "series": {
                "period": [p.isoformat() for p in periods],
                "status": [statuses[p] for p in periods],
                "attainment": [None for _ in periods],
                "as_of": "2026-09-01",
            },
            "computed_at": timezone.now(),
        },
    )
