"""The node's target schedule page: phased defaults, per-period overrides, restatements."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from goals import services
from goals.models import Node, TargetOverride
from goals.rollup import storage
from tests.conftest import signed_in

# The schedule of targets does not move with the calendar: any fixed day.
TODAY = date(2026, 11, 20)


@pytest.fixture
def kpi(saas_tree) -> Node:
    return Node.objects.get(tree_id=saas_tree.tree_id, code="appointments")


def test_default_plan_is_a_straight_line_from_baseline_to_target(kpi):
    plan = storage.node_target_plan(kpi, today=TODAY)
    assert len(plan) == 12  # April 2026 .. March 2027, monthly
    assert plan[-1]["in_force"] == pytest.approx(50)
    assert plan[0]["in_force"] == pytest.approx(35 + 15 / 12)


def test_override_needs_a_reason_and_is_kept_in_history(kpi, manager):
    april = storage.node_target_plan(kpi, today=TODAY)[0]["period_start"]
    with pytest.raises(ValidationError) as error:
        services.target_override_set(
            node=kpi, actor=manager, period=april, value=Decimal("30"), reason=" ", today=TODAY
        )
    assert "reason" in error.value.message_dict
    services.target_override_set(
        node=kpi, actor=manager, period=april, value=Decimal("30"), reason="Golden Week", today=TODAY
    )
    assert storage.node_target_plan(kpi, today=TODAY)[0]["in_force"] == 30
    services.target_override_clear(node=kpi, actor=manager, period=april, reason="Back to plan")
    assert not TargetOverride.objects.exists()
    assert [h.history_type for h in TargetOverride.history.order_by("history_date")] == ["+", "-"]


def test_override_outside_the_window_is_refused(kpi, manager):
    from datetime import date

    with pytest.raises(ValidationError) as error:
        services.target_override_set(node=kpi, actor=manager, period=date(2030, 1, 1), value=1, reason="x", today=TODAY)
    assert "period" in error.value.message_dict


def test_restatement_keeps_the_old_numbers_in_history(kpi, manager):
    response = signed_in(manager).post(
        f"/nodes/{kpi.pk}/targets/",
        {
            "action": "restate",
            "restate-baseline_value": "35",
            "restate-target_value": "60",
            "restate-deadline": "2027-03-31",
            "restate-reason": "New hires joined in October",
        },
    )
    assert response.status_code == 302
    kpi.refresh_from_db()
    assert kpi.target_value == 60
    html = signed_in(manager).get(f"/nodes/{kpi.pk}/targets/").content.decode()
    assert "New hires joined in October" in html
    assert "50 → 60" in html


def test_restatement_without_reason_shows_the_error_and_changes_nothing(kpi, manager):
    response = signed_in(manager).post(
        f"/nodes/{kpi.pk}/targets/",
        {"action": "restate", "restate-target_value": "60", "restate-deadline": "2027-03-31", "restate-reason": ""},
    )
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    kpi.refresh_from_db()
    assert kpi.target_value == 50


def test_readers_see_the_schedule_but_may_not_change_it(kpi, member, executive):
    for user in (member, executive):
        client = signed_in(user)
        assert client.get(f"/nodes/{kpi.pk}/targets/").status_code == 200
        response = client.post(f"/nodes/{kpi.pk}/targets/", {"action": "restate", "restate-reason": "x"})
        assert response.status_code == 403


def test_another_organisation_gets_404(kpi, outsider):
    assert signed_in(outsider).get(f"/nodes/{kpi.pk}/targets/").status_code == 404
