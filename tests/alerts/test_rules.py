"""The beat rules of issue 11 §4 with fixed dates: reminders, status changes, escalation,
overdue actions; run twice, they write nothing new."""

from __future__ import annotations

from datetime import date

import pytest

from alerts import services
from alerts.models import AlertPreference, Kind, Notice
from goals.models import Measurement
from pdca.models import Action, ActionStatus
from tests.alerts.conftest import store_statuses

pytestmark = pytest.mark.django_db


def notices(kind=None):
    qs = Notice.objects.all()
    if kind:
        qs = qs.filter(kind=kind)
    return sorted((n.user.username, n.node.name if n.node else None, n.period, n.subject_id) for n in qs)


def test_reminder_before_the_period_ends_to_owner_and_reporters(organisation, small_tree, member, colleague):
    _root, kpi = small_tree
    kpi.reporters.add(colleague)
    Measurement.objects.create(node=kpi, period_start=date(2026, 8, 1), value=10)  # August is in
    # September ends on the 30th: 3 days before (the default) is the 27th.
    services.reminders(organisation, today=date(2026, 9, 26))
    assert notices(Kind.REMINDER) == []
    services.reminders(organisation, today=date(2026, 9, 27))
    assert notices(Kind.REMINDER) == [
        ("mate", "Leads", date(2026, 9, 1), services.REMIND_BEFORE),
        ("worker", "Leads", date(2026, 9, 1), services.REMIND_BEFORE),
    ]


def test_no_reminder_when_the_value_is_entered(organisation, small_tree, member):
    _root, kpi = small_tree
    Measurement.objects.create(node=kpi, period_start=date(2026, 8, 1), value=10)
    Measurement.objects.create(node=kpi, period_start=date(2026, 9, 1), value=10)
    services.reminders(organisation, today=date(2026, 9, 28))
    assert notices(Kind.REMINDER) == []


def test_reminder_after_the_period_when_still_missing(organisation, small_tree, member):
    _root, kpi = small_tree
    services.reminders(organisation, today=date(2026, 10, 2))  # September ended 2 days ago (< 3)
    assert notices(Kind.REMINDER) == []
    services.reminders(organisation, today=date(2026, 10, 3))
    assert notices(Kind.REMINDER) == [("worker", "Leads", date(2026, 9, 1), services.REMIND_AFTER)]


def test_reminders_ignore_archived_nodes_and_other_organisations(organisation, small_tree, other_tree, outsider):
    _root, kpi = small_tree
    kpi.is_archived = True
    kpi.save()
    services.reminders(organisation, today=date(2026, 9, 28))
    assert notices(Kind.REMINDER) == []


def test_reminders_only_for_nodes_that_take_actuals(organisation, small_tree, manager):
    services.reminders(organisation, today=date(2026, 9, 28))
    assert all(user != "boss" for user, *_rest in notices(Kind.REMINDER))  # the KGI is a sum


def test_running_every_rule_twice_writes_nothing_new(organisation, small_tree, member):
    root, kpi = small_tree
    store_statuses(kpi, {date(2026, 7, 1): "on_track", date(2026, 8, 1): "off_track"})
    Action.objects.create(
        organisation=organisation,
        node=root,
        title="Call back",
        owner=member,
        due_date=date(2026, 9, 1),
        original_due_date=date(2026, 9, 1),
    )
    today = date(2026, 9, 28)
    services.run_rules(today=today)
    first = Notice.objects.count()
    assert first >= 4  # reminder, status change ×2, escalation, overdue action
    services.run_rules(today=today)
    assert Notice.objects.count() == first


def test_status_change_to_owner_and_parent_owner(organisation, small_tree):
    _root, kpi = small_tree
    store_statuses(kpi, {date(2026, 7, 1): "on_track", date(2026, 8, 1): "at_risk", date(2026, 9, 1): "on_track"})
    services.status_changes(organisation, today=date(2026, 9, 15))  # September is not complete
    assert notices(Kind.STATUS_CHANGE) == [
        ("boss", "Leads", date(2026, 8, 1), 0),
        ("worker", "Leads", date(2026, 8, 1), 0),
    ]
    assert Notice.objects.filter(kind=Kind.STATUS_CHANGE).first().params["after"] == "at_risk"


def test_recovery_is_told_and_an_easing_is_not(organisation, small_tree):
    _root, kpi = small_tree
    store_statuses(kpi, {date(2026, 7, 1): "off_track", date(2026, 8, 1): "at_risk"})
    services.status_changes(organisation, today=date(2026, 9, 15))
    assert notices(Kind.STATUS_CHANGE) == []
    store_statuses(kpi, {date(2026, 7, 1): "off_track", date(2026, 8, 1): "on_track"})
    services.status_changes(organisation, today=date(2026, 9, 15))
    assert {n.params["after"] for n in Notice.objects.filter(kind=Kind.STATUS_CHANGE)} == {"on_track"}


def test_no_status_change_from_no_data(organisation, small_tree):
    _root, kpi = small_tree
    store_statuses(kpi, {date(2026, 7, 1): "no_data", date(2026, 8, 1): "off_track"})
    services.status_changes(organisation, today=date(2026, 9, 15))
    assert notices(Kind.STATUS_CHANGE) == []


def test_escalation_after_the_organisations_days_to_the_parents_owner(organisation, small_tree):
    _root, kpi = small_tree
    store_statuses(kpi, {date(2026, 8, 1): "off_track"})
    services.escalations(organisation, today=date(2026, 9, 6))  # August ended 6 days ago (< 7)
    assert notices(Kind.ESCALATION) == []
    services.escalations(organisation, today=date(2026, 9, 7))
    assert notices(Kind.ESCALATION) == [("boss", "Leads", date(2026, 8, 1), 0)]


def test_no_escalation_with_an_open_action(organisation, small_tree, member):
    _root, kpi = small_tree
    store_statuses(kpi, {date(2026, 8, 1): "off_track"})
    action = Action.objects.create(
        organisation=organisation,
        node=kpi,
        title="Call back",
        owner=member,
        due_date=date(2026, 12, 1),
        original_due_date=date(2026, 12, 1),
    )
    services.escalations(organisation, today=date(2026, 9, 10))
    assert notices(Kind.ESCALATION) == []
    action.status = ActionStatus.DONE
    action.save()
    services.escalations(organisation, today=date(2026, 9, 10))
    assert notices(Kind.ESCALATION) == [("boss", "Leads", date(2026, 8, 1), 0)]


def test_overdue_actions_to_their_owner_once_per_action(organisation, small_tree, member, colleague):
    _root, kpi = small_tree
    due = date(2026, 9, 1)
    late = [
        Action.objects.create(
            organisation=organisation, node=kpi, title=t, owner=member, due_date=due, original_due_date=due
        )
        for t in ("One", "Two")
    ]
    Action.objects.create(
        organisation=organisation,
        node=kpi,
        title="Done",
        owner=colleague,
        due_date=due,
        original_due_date=due,
        status=ActionStatus.DONE,
    )
    services.overdue_actions(organisation, today=date(2026, 9, 1))  # due today: not overdue
    assert notices(Kind.OVERDUE_ACTION) == []
    services.overdue_actions(organisation, today=date(2026, 9, 2))
    services.overdue_actions(organisation, today=date(2026, 9, 3))
    assert notices(Kind.OVERDUE_ACTION) == [("worker", "Leads", due, a.pk) for a in late]


def test_muted_kinds_are_not_written(organisation, small_tree, member):
    AlertPreference.objects.create(user=member, muted_kinds=[Kind.REMINDER])
    services.reminders(organisation, today=date(2026, 9, 28))
    assert notices(Kind.REMINDER) == []


def _queries(today) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        services.run_rules(today=today)
    return len(captured)


def _add_kpis(organisation, root, owner, count, start):
    from goals.models import Node

    for i in range(start, start + count):
        kpi = Node.objects.create(
            organisation=organisation, parent=root, kind="kpi", name=f"K{i}", code=f"k{i}", owner=owner, target_value=1
        )
        store_statuses(kpi, {date(2026, 7, 1): "on_track", date(2026, 8, 1): "off_track"})
        Action.objects.create(
            organisation=organisation,
            node=kpi,
            title="Late",
            owner=owner,
            due_date=date(2026, 9, 1),
            original_due_date=date(2026, 9, 1),
        )


def test_rules_do_not_query_per_node(organisation, small_tree, member):
    root, _kpi = small_tree
    _add_kpis(organisation, root, member, 2, 0)
    few = _queries(date(2026, 9, 28))
    Notice.objects.all().delete()
    _add_kpis(organisation, root, member, 10, 2)
    assert _queries(date(2026, 9, 28)) == few
