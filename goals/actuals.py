"""Actuals: who may log which value for which period, and logging it.

Every entry point (the member's form and grid, the API, the bulk API, seed_demo) calls
:func:`measurement_upsert` / :func:`measurements_upsert_bulk`, which check
:func:`measurement_errors` under the organisation lock and then ask for a rollup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from goals.access import builds_trees, enters_actuals
from goals.models import Measurement, Membership, Node, PeriodLock, Role, takes_actuals_q
from goals.periods import (
    EARLIEST_DATE,
    LATEST_DATE,
    add_months,
    is_supported_date,
    month_label,
    period_anchor,
    period_end,
    period_start,
    window_errors,
)
from goals.rollup import jobs, storage
from goals.rollup.engine import OFF_TRACK, judge
from goals.services import _lock_organisation
from goals.targets import Target

PERCENT_UNITS = {"%", "percent", "％"}
# Units where a negative number makes no sense (counts and money); others (°C, points) allow it.
SIGNED_UNITS = {"points", "°c", "℃", "rank", "pt", "pts"}


def can_enter(membership: Membership, node: Node) -> bool:
    """Members enter for the nodes they own or report; managers for any; executives never."""
    if node.organisation_id != membership.organisation_id or node.is_archived:
        return False
    if not enters_actuals(membership):
        return False
    if builds_trees(membership):
        return True
    return node.owner_id == membership.user_id or node.reporters.filter(pk=membership.user_id).exists()


def value_errors(*, value: Decimal, unit: str) -> list[str]:
    """Rules on the number itself (pure)."""
    errors = []
    normalised = (unit or "").strip().lower()
    if normalised in PERCENT_UNITS and not (0 <= value <= 100):
        errors.append(_("A percentage must be between 0 and 100."))
    elif value < 0 and normalised not in SIGNED_UNITS:
        errors.append(_("%(unit)s cannot be negative.") % {"unit": unit or _("This number")})
    return errors


def period_errors(
    *, node: Any, period: date, today: date, fiscal_start_month: int, locked_months: frozenset[date]
) -> list[str]:
    """Rules on the period (pure): a supported date, inside the node's window, not in the future,
    not locked."""
    if not is_supported_date(period):
        # Checked first: 9999-12-01 has no period end to compare with the window.
        return [
            _("The period must lie between %(first)s and %(last)s.") % {"first": EARLIEST_DATE, "last": LATEST_DATE}
        ]
    start = period_start(period, node.frequency, fiscal_start_month)
    if start != period:
        return [_("%(date)s is not the start of a period; use %(start)s.") % {"date": period, "start": start}]
    if problems := window_errors(
        period=period, frequency=node.frequency, start=node.start_date, deadline=node.deadline
    ):
        return problems
    if period > today:
        return [_("The period has not started yet.")]
    lock = {"period": period, "frequency": node.frequency, "fiscal_start_month": fiscal_start_month}
    if period_locked(**lock, locked_months=locked_months):
        months = period_lock_months(**lock)
        if len(months) == 1:
            return [_("%(month)s is locked; ask a manager to reopen it.") % {"month": month_label(months[0])}]
        return [
            _("%(first)s to %(last)s are locked; ask a manager to reopen one of them.")
            % {"first": month_label(months[0]), "last": month_label(months[-1])}
        ]
    return []


def period_lock_months(*, period: date, frequency: str, fiscal_start_month: int) -> list[date]:
    """The months (their first days) whose closing locks the period of ``frequency`` holding
    ``period`` (pure): every month a month, quarter or year spans; the one month of a day; and
    for a week the month that holds its Thursday.

    A week that straddles two months is counted in the month that holds its Thursday (the rule
    ISO 8601 uses for years, docs/rollup.md), so that month's lock is the one that freezes it:
    once October is closed its figures stop changing, whatever September's lock says.
    """
    start = period_start(period, frequency, fiscal_start_month)
    if frequency == "weekly":
        return [period_anchor(start, frequency).replace(day=1)]
    if frequency == "daily":
        return [start.replace(day=1)]
    end = period_end(start, frequency)
    months = []
    month = start.replace(day=1)
    while month <= end:
        months.append(month)
        month = add_months(month, 1)
    return months


def period_locked(*, period: date, frequency: str, fiscal_start_month: int, locked_months: frozenset[date]) -> bool:
    """Whether the period holding ``period`` is locked: all of its months are (pure). Closing
    October alone leaves the October–December quarter open; closing April does not freeze a
    yearly KPI. The form, the grid, the API and the bulk endpoint all ask this function."""
    months = period_lock_months(period=period, frequency=frequency, fiscal_start_month=fiscal_start_month)
    return all(month in locked_months for month in months)


def node_errors(node: Node) -> list[str]:
    """Only hand-entered numbers accept actuals."""
    if node.value_source != "manual":
        return [
            _("This number is computed from its children (%(source)s); enter the children's actuals instead.")
            % {"source": node.get_value_source_display()}
        ]
    if not node.takes_actuals:  # a KSF without a number of its own
        return [_("This success factor has no number of its own; enter its KPIs' actuals instead.")]
    return []


def off_track(node: Node, value: Decimal, target: Target | float | None) -> bool:
    """Whether the value alone, against the period's target, would be off track — judged by
    the rollup's own rules (direction, ranges, thresholds), so the form and the figures agree."""

    if target is None:
        return False
    if not isinstance(target, Target):
        target = Target(value=float(target))
    _, _, status, _ = judge(storage.rollup_spec(node), float(value), target)
    return status == OFF_TRACK


@dataclass(frozen=True)
class Entry:
    node: Node
    period: date
    value: Decimal
    note: str = ""


def measurement_errors(
    entry: Entry, *, membership: Membership, today: date, locked_months: frozenset[date], target: Target | float | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not can_enter(membership, entry.node):
        errors["node"] = [_("You may not enter actuals for this KPI.")]
        return errors
    if problems := node_errors(entry.node):
        errors["node"] = problems
        return errors
    if problems := value_errors(value=entry.value, unit=entry.node.unit):
        errors["value"] = problems
    if problems := period_errors(
        node=entry.node,
        period=entry.period,
        today=today,
        fiscal_start_month=membership.organisation.fiscal_year_start_month,
        locked_months=locked_months,
    ):
        errors["period"] = problems
    try:
        # The model's limit, as the form and the API check it: imports and seeds come here only.
        Measurement._meta.get_field("note").run_validators(entry.note)
    except ValidationError as error:
        errors["note"] = error.messages
    if not errors and not entry.note.strip() and off_track(entry.node, entry.value, target):
        errors["note"] = [_("This value puts the KPI off track: say why and what happens next.")]
    return errors


def locked_months(organisation_id: int) -> frozenset[date]:
    return frozenset(
        PeriodLock.objects.filter(organisation_id=organisation_id, is_locked=True).values_list("month", flat=True)
    )


def _save(entry: Entry, actor) -> Measurement:
    measurement = Measurement.objects.filter(node=entry.node, period_start=entry.period).first()
    if measurement is None:
        measurement = Measurement(node=entry.node, period_start=entry.period)
    measurement.value = entry.value
    measurement.note = entry.note.strip()
    measurement.entered_by = actor
    measurement._history_user = actor
    measurement.save()
    return measurement


def measurements_check(
    *, membership: Membership, entries: Sequence[Entry], today: date
) -> dict[int, dict[str, list[str]]]:
    """The errors of each entry (by index) under the rules above; saves nothing.

    The grid uses it to show every bad cell at once, even while some cells are not numbers.
    """
    locks = locked_months(membership.organisation_id)
    targets = storage.period_plan([(e.node, e.period) for e in entries], membership.organisation, today=today)
    row_errors = {}
    for index, entry in enumerate(entries):
        errors = measurement_errors(
            entry,
            membership=membership,
            today=today,
            locked_months=locks,
            target=targets.get((entry.node.pk, entry.period)),
        )
        if errors:
            row_errors[index] = errors
    return row_errors


@transaction.atomic
def measurements_upsert_bulk(*, membership: Membership, entries: Sequence[Entry], today: date) -> list[Measurement]:
    """Save all entries or none: ValidationError carries a dict of errors per row index."""
    _lock_organisation(membership.organisation_id)
    if row_errors := measurements_check(membership=membership, entries=entries, today=today):
        raise RowErrors(row_errors)
    saved = [_save(entry, membership.user) for entry in entries]
    for tree_id in sorted({e.node.tree_id for e in entries}):
        changed = [e.node.pk for e in entries if e.node.tree_id == tree_id]
        jobs.request_rollup(tree_id=tree_id, node_ids=changed)
    return saved


def measurement_upsert(*, membership: Membership, entry: Entry, today: date) -> Measurement:
    try:
        return measurements_upsert_bulk(membership=membership, entries=[entry], today=today)[0]
    except RowErrors as error:
        raise ValidationError(error.rows[0]) from None


class RowErrors(ValidationError):
    """Errors of a bulk save, per row index and field."""

    def __init__(self, rows: dict[int, dict[str, list[str]]]) -> None:
        super().__init__({f"row {i}": [m for ms in e.values() for m in ms] for i, e in rows.items()})
        self.rows = rows


# --- closing a month: a manager locks it and may reopen it with a reason --------------------------


def can_lock(membership: Membership) -> bool:
    """Only managers close and reopen months."""
    return builds_trees(membership)


def lock_errors(*, month: date, today: date, is_locked: bool, locking: bool, reason: str) -> dict[str, list[str]]:
    """Rules on locking or reopening a month (pure)."""
    errors: dict[str, list[str]] = {}
    if month.day != 1:
        errors["month"] = [_("A month is given by its first day.")]
    elif locking and month > today.replace(day=1):
        errors["month"] = [
            _("%(month)s has not started yet; only past and current months can be locked.") % _month(month)
        ]
    elif locking and is_locked:
        errors["month"] = [_("%(month)s is already locked.") % _month(month)]
    elif not locking and not is_locked:
        errors["month"] = [_("%(month)s is not locked.") % _month(month)]
    if not locking and not reason.strip():
        errors["reason"] = [_("Say why the month is reopened; the reason is kept in its history.")]
    return errors


def _month(month: date) -> dict[str, str]:
    # Named as the lock page and the actuals form name it ("November 2026"), not "2026-11".
    return {"month": month_label(month)}


def _period_lock_set(*, membership: Membership, month: date, reason: str, locking: bool, today: date) -> PeriodLock:
    if not can_lock(membership):
        raise PermissionDenied(_("Only managers lock and reopen months."))
    # The organisation lock orders this against measurements_upsert_bulk, which reads the locks
    # under the same lock: no actual slips into a month while it is being closed.
    _lock_organisation(membership.organisation_id)
    lock = PeriodLock.objects.filter(organisation_id=membership.organisation_id, month=month).first()
    errors = lock_errors(
        month=month,
        today=today,
        is_locked=bool(lock and lock.is_locked),
        locking=locking,
        reason=reason,
    )
    if errors:
        raise ValidationError(errors)
    if lock is None:
        lock = PeriodLock(organisation_id=membership.organisation_id, month=month)
    lock.is_locked = locking
    lock.reason = reason.strip()
    lock.changed_by = membership.user
    lock._history_user = membership.user
    lock.save()
    return lock


@transaction.atomic
def period_lock(*, membership: Membership, month: date, today: date, reason: str = "") -> PeriodLock:
    """Close a month: no actual of a period starting in it may be entered or changed."""
    return _period_lock_set(membership=membership, month=month, reason=reason, locking=True, today=today)


@transaction.atomic
def period_reopen(*, membership: Membership, month: date, reason: str, today: date) -> PeriodLock:
    """Open a locked month again; the reason is required and kept in the lock's history."""
    return _period_lock_set(membership=membership, month=month, reason=reason, locking=False, today=today)


def entry_nodes(membership: Membership, *, tree_id: int | None = None) -> QuerySet[Node]:
    """The query form of :func:`can_enter` and :func:`node_errors` (keep them in step): every
    node the caller may log actuals for, in tree order."""
    nodes = Node.objects.filter(takes_actuals_q(), organisation_id=membership.organisation_id, is_archived=False)
    if membership.role == Role.MEMBER:
        nodes = nodes.filter(Q(owner_id=membership.user_id) | Q(reporters=membership.user_id)).distinct()
    elif not builds_trees(membership):
        return nodes.none()
    if tree_id is not None:
        nodes = nodes.filter(tree_id=tree_id)
    return nodes.select_related("owner").order_by("tree_id", "lft")


def entry_index(membership: Membership, node: Node, *, tree_id: int | None = None) -> int:
    """How many of :func:`entry_nodes` come before ``node`` in their tree order: where its card
    is on the paged "My KPIs" page (one count, however many nodes there are)."""
    before = Q(tree_id__lt=node.tree_id) | Q(tree_id=node.tree_id, lft__lt=node.lft)
    return entry_nodes(membership, tree_id=tree_id).filter(before).count()
