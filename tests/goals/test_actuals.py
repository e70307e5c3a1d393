"""Actuals (goals/actuals.py): who may log which value for which period, and closing months."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from goals import actuals, selectors, tasks
from goals.actuals import Entry, RowErrors, measurement_upsert, measurements_upsert_bulk
from goals.models import Measurement, Node, PeriodLock, RollupSeries, RollupState
from goals.rollup import storage

D = Decimal
TODAY = date(2026, 11, 22)
NOVEMBER, OCTOBER, DECEMBER = date(2026, 11, 1), date(2026, 10, 1), date(2026, 12, 1)


@pytest.fixture
def nodes(saas_tree, member) -> dict[str, Node]:
    """The SaaS tree by code; the member owns appointments and feature adoption."""
    Node.objects.filter(tree_id=saas_tree.tree_id, code__in=["appointments", "feature_adoption"]).update(owner=member)
    return {n.code: n for n in Node.objects.filter(tree_id=saas_tree.tree_id)}


def save(membership, node, value, *, period=NOVEMBER, note="", today=TODAY):
    return measurement_upsert(
        membership=membership, entry=Entry(node=node, period=period, value=D(str(value)), note=note), today=today
    )


def errors_of(membership, node, value, *, period=NOVEMBER, note="", today=TODAY) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        save(membership, node, value, period=period, note=note, today=today)
    return caught.value.message_dict


def target(node: Node, period: date) -> float:
    return storage.period_targets([(node, period)], node.organisation, today=TODAY)[(node.pk, period)]


# --- the happy path ------------------------------------------------------------------------------


def test_member_logs_an_actual_for_a_kpi_they_own(eager_rollups, member, nodes, django_capture_on_commit_callbacks):
    appointments = nodes["appointments"]
    # The run the tree's creation asked for (on_commit does not fire inside a test transaction).
    tasks.rollup_tree(nodes["revenue"].pk)
    assert not storage.tree_is_stale(appointments)
    with django_capture_on_commit_callbacks(execute=True):
        measurement = save(member.membership, appointments, target(appointments, NOVEMBER) + 1)
    assert measurement.entered_by == member
    assert measurement.period_start == NOVEMBER
    # The rollup ran on commit (eager Celery): the tree is fresh and the period has a status.
    stored = RollupSeries.objects.get(node=appointments).series
    assert stored["status"][stored["period"].index("2026-11-01")] == "on_track"
    assert not RollupState.objects.filter(stale_since__isnull=False).exists()


def test_saving_asks_for_a_rollup_of_the_tree(member, nodes):
    save(member.membership, nodes["appointments"], 48)
    # Inside the test transaction the task has not run yet: the tree says so.
    assert storage.tree_is_stale(nodes["appointments"])


def test_entering_a_period_again_replaces_the_value_and_keeps_the_old_one(member, nodes):
    appointments = nodes["appointments"]
    save(member.membership, appointments, 44)
    save(member.membership, appointments, 48)
    assert list(Measurement.objects.filter(node=appointments).values_list("value", flat=True)) == [D("48")]
    history = Measurement.history.filter(node_id=appointments.pk).order_by("history_date")
    assert [h.value for h in history] == [D("44"), D("48")]
    assert {h.history_user for h in history} == {member}


def test_a_reporter_may_enter_for_a_node_they_do_not_own(member, nodes):
    webinars = nodes["webinars"]
    webinars.reporters.add(member)
    assert save(member.membership, webinars, 3).value == D("3")


def test_a_manager_may_enter_for_any_node_of_the_organisation(manager, nodes):
    assert save(manager.membership, nodes["webinars"], 3).entered_by == manager


# --- bad input: each case of issue 3 §3 ----------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "value", "message"),
    [
        ("feature_adoption", "101", "A percentage must be between 0 and 100."),
        ("feature_adoption", "-1", "A percentage must be between 0 and 100."),
        ("appointments", "-3", "appointments cannot be negative."),
    ],
)
def test_value_rules(member, nodes, code, value, message):
    assert errors_of(member.membership, nodes[code], value, note="x") == {"value": [message]}


@pytest.mark.parametrize(
    ("value", "unit", "ok"),
    [("0", "%", True), ("100", "%", True), ("100.1", "％", False), ("-2", "points", True), ("-2", "JPY", False)],
)
def test_value_errors_table(value, unit, ok):
    assert (actuals.value_errors(value=D(value), unit=unit) == []) is ok


@pytest.mark.parametrize(
    ("period", "today", "message"),
    [
        (date(2026, 11, 15), TODAY, "2026-11-15 is not the start of a period; use 2026-11-01."),
        (date(2026, 3, 1), TODAY, "The period is before the KPI starts (2026-04-01)."),
        (date(2027, 4, 1), date(2027, 5, 10), "The period is after the KPI's deadline (2027-03-31)."),
        (DECEMBER, TODAY, "The period has not started yet."),
        # Outside the supported dates: 9999-12 has no period end to compare (it was a 500).
        (date(9999, 12, 1), TODAY, "The period must lie between 1990-01-01 and 2100-12-31."),
        (date(1, 1, 1), TODAY, "The period must lie between 1990-01-01 and 2100-12-31."),
    ],
)
def test_period_rules(member, nodes, period, today, message):
    assert errors_of(member.membership, nodes["appointments"], 48, period=period, today=today) == {"period": [message]}


def test_a_note_is_at_most_2000_characters(member, nodes):
    errors = errors_of(member.membership, nodes["appointments"], 48, note="x" * 2001)
    assert errors == {"note": ["Ensure this value has at most 2000 characters (it has 2001)."]}
    assert save(member.membership, nodes["appointments"], 48, note="x" * 2000).note == "x" * 2000


def test_a_locked_month_refuses_actuals(manager, member, nodes):
    actuals.period_lock(membership=manager.membership, month=OCTOBER, reason="Board pack sent", today=TODAY)
    errors = errors_of(member.membership, nodes["appointments"], 48, period=OCTOBER)
    assert errors == {"period": ["October 2026 is locked; ask a manager to reopen it."]}
    save(member.membership, nodes["appointments"], 48)  # November is still open


SEPTEMBER, JANUARY = date(2026, 9, 1), date(2027, 1, 1)
FISCAL_YEAR_2026 = frozenset(date(2026 + (m < 4), m, 1) for m in range(1, 13))  # April 2026 … March 2027


@pytest.mark.parametrize(
    ("period", "frequency", "fiscal_start_month", "locked", "expected"),
    [
        # A month is locked when it is.
        (OCTOBER, "monthly", 4, {OCTOBER}, True),
        (NOVEMBER, "monthly", 4, {OCTOBER}, False),
        # A quarter (fiscal, from April: October–December) only when all three months are.
        (OCTOBER, "quarterly", 4, {OCTOBER}, False),
        (OCTOBER, "quarterly", 4, {OCTOBER, NOVEMBER}, False),
        (OCTOBER, "quarterly", 4, {NOVEMBER, DECEMBER}, False),
        (OCTOBER, "quarterly", 4, {OCTOBER, NOVEMBER, DECEMBER}, True),
        # The quarter follows the fiscal year: from February, November–January.
        (NOVEMBER, "quarterly", 2, {NOVEMBER, DECEMBER}, False),
        (NOVEMBER, "quarterly", 2, {NOVEMBER, DECEMBER, JANUARY}, True),
        # A (fiscal) year when all twelve are: closing April does not freeze it.
        (date(2026, 4, 1), "yearly", 4, {date(2026, 4, 1)}, False),
        (date(2026, 4, 1), "yearly", 4, FISCAL_YEAR_2026 - {date(2027, 3, 1)}, False),
        (date(2026, 4, 1), "yearly", 4, FISCAL_YEAR_2026, True),
        # A week belongs to the month that holds its Thursday: 28 Sep – 4 Oct 2026 is October's …
        (date(2026, 9, 28), "weekly", 4, {OCTOBER}, True),
        (date(2026, 9, 28), "weekly", 4, {SEPTEMBER}, False),
        # … and 26 Oct – 1 Nov 2026 is October's too (its Thursday is the 29th).
        (date(2026, 10, 26), "weekly", 4, {OCTOBER}, True),
        (date(2026, 10, 26), "weekly", 4, {NOVEMBER}, False),
        (date(2026, 11, 30), "weekly", 4, {NOVEMBER}, False),  # Thursday 3 December
        (date(2026, 11, 30), "weekly", 4, {DECEMBER}, True),
        # A day, its month.
        (date(2026, 10, 31), "daily", 4, {OCTOBER}, True),
        (date(2026, 11, 1), "daily", 4, {OCTOBER}, False),
        # Nothing locked, nothing refused.
        (OCTOBER, "quarterly", 4, set(), False),
    ],
)
def test_period_locked_table(period, frequency, fiscal_start_month, locked, expected):
    assert (
        actuals.period_locked(
            period=period,
            frequency=frequency,
            fiscal_start_month=fiscal_start_month,
            locked_months=frozenset(locked),
        )
        is expected
    )


def test_locking_october_leaves_the_quarter_open_until_december_is_locked(manager, nodes):
    """§2.3 of issue 9: closing October froze the quarterly value of October–December."""
    Node.objects.filter(pk=nodes["appointments"].pk).update(frequency="quarterly")
    appointments = Node.objects.get(pk=nodes["appointments"].pk)
    in_january = date(2027, 1, 10)
    for month in (OCTOBER, NOVEMBER):
        actuals.period_lock(membership=manager.membership, month=month, today=in_january)
    save(manager.membership, appointments, 150, period=OCTOBER, note="Noted.", today=in_january)
    actuals.period_lock(membership=manager.membership, month=DECEMBER, today=in_january)
    errors = errors_of(manager.membership, appointments, 160, period=OCTOBER, note="Noted.", today=in_january)
    assert errors == {"period": ["October 2026 to December 2026 are locked; ask a manager to reopen one of them."]}


def test_a_week_is_locked_with_the_month_that_holds_its_thursday(manager, nodes):
    Node.objects.filter(pk=nodes["appointments"].pk).update(frequency="weekly")
    appointments = Node.objects.get(pk=nodes["appointments"].pk)
    actuals.period_lock(membership=manager.membership, month=SEPTEMBER, today=TODAY)
    week = date(2026, 9, 28)  # Monday 28 September … Sunday 4 October: October's week
    save(manager.membership, appointments, 12, period=week, note="Noted.")
    actuals.period_lock(membership=manager.membership, month=OCTOBER, today=TODAY)
    errors = errors_of(manager.membership, appointments, 13, period=week, note="Noted.")
    assert errors == {"period": ["October 2026 is locked; ask a manager to reopen it."]}


def test_a_computed_node_refuses_actuals_with_the_reason(manager, nodes):
    kgi = nodes["revenue"]
    Node.objects.filter(pk=kgi.pk).update(value_source="sum")
    kgi.refresh_from_db()
    assert errors_of(manager.membership, kgi, 100) == {
        "node": ["This number is computed from its children (Sum of children); enter the children's actuals instead."]
    }


def test_a_success_factor_without_a_number_refuses_actuals(manager, nodes):
    errors = errors_of(manager.membership, nodes["upsell"], 1)
    assert errors == {"node": ["This success factor has no number of its own; enter its KPIs' actuals instead."]}


def test_a_member_may_not_enter_for_another_members_node(member, nodes):
    # Webinars belongs to someone else (the manager) and the member is not one of its reporters.
    assert errors_of(member.membership, nodes["webinars"], 3) == {"node": ["You may not enter actuals for this KPI."]}
    assert not Measurement.objects.exists()


def test_no_one_enters_for_another_organisations_node(outsider, nodes):
    assert errors_of(outsider.membership, nodes["appointments"], 48) == {
        "node": ["You may not enter actuals for this KPI."]
    }


def test_an_executive_never_enters_actuals(executive, nodes):
    assert errors_of(executive.membership, nodes["appointments"], 48) == {
        "node": ["You may not enter actuals for this KPI."]
    }


def test_an_archived_node_refuses_actuals(manager, nodes):
    Node.objects.filter(pk=nodes["webinars"].pk).update(is_archived=True)
    nodes["webinars"].refresh_from_db()
    assert "node" in errors_of(manager.membership, nodes["webinars"], 3)


# --- the note: every miss needs a cause and a next action ----------------------------------------


def test_a_value_that_puts_the_kpi_off_track_needs_a_note(member, nodes):
    appointments = nodes["appointments"]
    low = round(target(appointments, NOVEMBER) * 0.5)
    assert errors_of(member.membership, appointments, low) == {
        "note": ["This value puts the KPI off track: say why and what happens next."]
    }
    saved = save(member.membership, appointments, low, note="  Two reps were ill; next: re-book the lost demos.  ")
    assert saved.note == "Two reps were ill; next: re-book the lost demos."


@pytest.mark.parametrize("own_start_date", [True, False])
def test_the_note_rule_phases_the_target_over_the_window_the_rollup_uses(member, nodes, own_start_date):
    """§1.6 of issue 9: without a start date of its own a KPI got no target in the note rule
    (its KGI's window was not looked up), so no note was ever required, while the rollup phased
    a target over the inherited window. With or without the date, the answer is the same."""
    appointments = nodes["appointments"]
    planned = target(appointments, NOVEMBER)  # 35 → 50 over FY2026: 45 in November
    if not own_start_date:
        Node.objects.filter(pk=appointments.pk).update(start_date=None)
        appointments.refresh_from_db()
    engine, _nodes = storage.node_engine(appointments, as_of=TODAY)
    assert engine.schedule(engine.specs[appointments.pk])[NOVEMBER].value == planned == 45
    assert target(appointments, NOVEMBER) == planned
    assert errors_of(member.membership, appointments, 10) == {
        "note": ["This value puts the KPI off track: say why and what happens next."]
    }


def test_no_note_is_needed_on_track_or_at_risk(member, nodes):
    appointments = nodes["appointments"]
    planned = target(appointments, NOVEMBER)
    save(member.membership, appointments, planned)  # on track
    save(member.membership, appointments, round(planned * 0.95, 2))  # at risk, not off track


@pytest.mark.parametrize(
    ("direction", "value", "expected"),
    [("increase", "89", True), ("increase", "90", False), ("decrease", "112", True), ("decrease", "110", False)],
)
def test_off_track_reads_the_direction(direction, value, expected):
    node = Node(direction=direction, off_track_below=D("90"))
    assert actuals.off_track(node, D(value), 100.0) is expected


# --- many at once: all or nothing ----------------------------------------------------------------


def test_bulk_saves_every_row_or_none(member, nodes):
    good = Entry(node=nodes["appointments"], period=NOVEMBER, value=D("48"))
    bad = Entry(node=nodes["feature_adoption"], period=OCTOBER, value=D("140"))
    future = Entry(node=nodes["appointments"], period=DECEMBER, value=D("48"))
    with pytest.raises(RowErrors) as caught:
        measurements_upsert_bulk(membership=member.membership, entries=[good, bad, future], today=TODAY)
    assert caught.value.rows == {
        1: {"value": ["A percentage must be between 0 and 100."]},
        2: {"period": ["The period has not started yet."]},
    }
    assert not Measurement.objects.exists()
    saved = measurements_upsert_bulk(membership=member.membership, entries=[good], today=TODAY)
    assert [m.value for m in saved] == [D("48")]


# --- which nodes a caller logs actuals for -------------------------------------------------------


@pytest.mark.parametrize("role", ["member", "manager", "executive"])
def test_entry_nodes_is_can_enter_as_a_query(request, role, nodes, member):
    nodes["webinars"].reporters.add(member)
    Node.objects.filter(pk=nodes["repeat_rate"].pk).update(value_source="average")
    membership = request.getfixturevalue(role).membership
    listed = set(actuals.entry_nodes(membership).values_list("code", flat=True))
    expected = {
        n.code
        for n in Node.objects.filter(tree_id=nodes["revenue"].tree_id)
        if actuals.can_enter(membership, n) and not actuals.node_errors(n)
    }
    assert listed == expected
    if role == "member":
        assert listed == {"appointments", "feature_adoption", "webinars"}
    if role == "executive":
        assert listed == set()


def test_entry_nodes_filters_by_tree(manager, nodes, other_tree):
    assert actuals.entry_nodes(manager.membership, tree_id=nodes["revenue"].tree_id).count() == 12
    assert actuals.entry_nodes(manager.membership, tree_id=other_tree.tree_id).count() == 0


# --- closing a month and reopening it ------------------------------------------------------------


def test_a_manager_locks_a_month_and_reopens_it_with_a_reason(manager):
    membership = manager.membership
    lock = actuals.period_lock(membership=membership, month=OCTOBER, reason="Figures sent to the board", today=TODAY)
    assert (lock.is_locked, lock.changed_by, lock.reason) == (True, manager, "Figures sent to the board")
    assert actuals.locked_months(membership.organisation_id) == frozenset({OCTOBER})

    lock = actuals.period_reopen(
        membership=membership, month=OCTOBER, reason="  A late invoice for a big deal  ", today=TODAY
    )
    assert (lock.is_locked, lock.reason) == (False, "A late invoice for a big deal")
    assert actuals.locked_months(membership.organisation_id) == frozenset()
    history = [(h.is_locked, h.reason, h.history_user) for h in selectors.period_lock_history(membership)]
    assert history == [
        (False, "A late invoice for a big deal", manager),
        (True, "Figures sent to the board", manager),
    ]
    # Locked again later: the same row, a third history record.
    actuals.period_lock(membership=membership, month=OCTOBER, today=TODAY)
    assert PeriodLock.objects.count() == 1
    assert len(selectors.period_lock_history(membership)) == 3


def test_reopening_needs_a_reason(manager):
    actuals.period_lock(membership=manager.membership, month=OCTOBER, today=TODAY)
    with pytest.raises(ValidationError) as caught:
        actuals.period_reopen(membership=manager.membership, month=OCTOBER, reason="  ", today=TODAY)
    assert caught.value.message_dict == {
        "reason": ["Say why the month is reopened; the reason is kept in its history."]
    }
    assert actuals.locked_months(manager.membership.organisation_id) == frozenset({OCTOBER})


@pytest.mark.parametrize(
    ("month", "locking", "is_locked", "reason", "errors"),
    [
        (
            DECEMBER,
            True,
            False,
            "",
            {"month": ["December 2026 has not started yet; only past and current months can be locked."]},
        ),
        (NOVEMBER, True, False, "", {}),
        (OCTOBER, True, True, "", {"month": ["October 2026 is already locked."]}),
        (OCTOBER, False, False, "why", {"month": ["October 2026 is not locked."]}),
        (date(2026, 10, 2), True, False, "", {"month": ["A month is given by its first day."]}),
    ],
)
def test_lock_errors_table(month, locking, is_locked, reason, errors):
    assert actuals.lock_errors(month=month, today=TODAY, is_locked=is_locked, locking=locking, reason=reason) == errors


@pytest.mark.parametrize("role", ["member", "executive"])
def test_only_managers_lock_and_reopen(request, role, manager):
    actuals.period_lock(membership=manager.membership, month=OCTOBER, today=TODAY)
    membership = request.getfixturevalue(role).membership
    with pytest.raises(PermissionDenied):
        actuals.period_lock(membership=membership, month=date(2026, 9, 1), today=TODAY)
    with pytest.raises(PermissionDenied):
        actuals.period_reopen(membership=membership, month=OCTOBER, reason="please", today=TODAY)
    assert actuals.locked_months(manager.membership.organisation_id) == frozenset({OCTOBER})


def test_a_lock_is_per_organisation(manager, outsider, nodes):
    actuals.period_lock(membership=outsider.membership, month=NOVEMBER, today=TODAY)
    assert actuals.locked_months(manager.membership.organisation_id) == frozenset()
    save(manager.membership, nodes["appointments"], 48)


@pytest.mark.parametrize(("value", "expected"), [("10", True), ("85", False), ("96", False), ("120", True)])
def test_off_track_judges_a_range_like_the_rollup(value, expected):
    # "Stay within range": far outside is off track (a note is required), just outside at risk.
    from goals.targets import Target

    node = Node(direction="maintain", target_min=D("80"), target_max=D("95"), off_track_below=D("90"))
    assert actuals.off_track(node, D(value), Target(low=80.0, high=95.0)) is expected
