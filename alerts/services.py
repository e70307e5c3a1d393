"""The rules of reminders and alerts (issue 11 §4): what is due, to whom, and how it is said.

Each rule takes ``today`` explicitly and writes notices with ``bulk_create(ignore_conflicts=True)``:
the notice's unique constraint (user, kind, node, period, subject) makes every job safe to run
twice. Queries are bounded: each rule loads an organisation's nodes, memberships, preferences,
measurements and stored documents in bulk, never one query per node.
"""

from __future__ import annotations

import logging
import smtplib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from alerts.models import AlertPreference, Digest, Kind, Notice
from goals.models import Measurement, Membership, Node, Organisation, takes_actuals_q
from goals.periods import period_end, period_label, period_start
from goals.rollup import document, storage
from pdca.models import OPEN_ACTION_STATUSES, Action

logger = logging.getLogger(__name__)

# A reminder before a period ends and one after it ended are two notices of the same node and
# period: the one after is told apart by this subject.
REMIND_BEFORE, REMIND_AFTER = 0, 1
JUDGED = ("on_track", "at_risk", "off_track")
SEVERITY = {"on_track": 0, "at_risk": 1, "off_track": 2}


@dataclass(frozen=True)
class Candidate:
    user_id: int
    kind: str
    node_id: int | None
    period: date
    subject_id: int
    params: dict


# --- who wants what ------------------------------------------------------------------------


def _muted(user_ids: Iterable[int]) -> dict[int, set[str]]:
    rows = AlertPreference.objects.filter(user_id__in=set(user_ids)).values_list("user_id", "muted_kinds")
    return {user_id: set(kinds or ()) for user_id, kinds in rows}


def _members(organisation: Organisation) -> set[int]:
    return set(
        Membership.objects.filter(organisation=organisation, user__is_active=True).values_list("user_id", flat=True)
    )


def _write(organisation: Organisation, candidates: list[Candidate]) -> int:
    """Write the candidates that reach a member who has not muted their kind; a notice already
    written is left alone. Returns how many candidates were offered (written or already there)."""
    members = _members(organisation)
    wanted = [c for c in candidates if c.user_id in members]
    muted = _muted(c.user_id for c in wanted)
    wanted = [c for c in wanted if c.kind not in muted.get(c.user_id, ())]
    Notice.objects.bulk_create(
        [
            Notice(
                organisation=organisation,
                user_id=c.user_id,
                kind=c.kind,
                node_id=c.node_id,
                period=c.period,
                subject_id=c.subject_id,
                params=c.params,
            )
            for c in wanted
        ],
        ignore_conflicts=True,
    )
    return len(wanted)


def _active_nodes(organisation: Organisation):
    return Node.objects.filter(organisation=organisation, is_archived=False)


def _node_params(node: Node, period: date) -> dict:
    return {"node": node.name, "frequency": node.frequency, "period": period.isoformat()}


# --- the rules -----------------------------------------------------------------------------


def reminders(organisation: Organisation, *, today: date) -> int:
    """Whoever enters a node's value (its owner and reporters) is reminded ``remind_days_before``
    days before the current period ends when it has no value yet, and again once the previous
    period has been over ``remind_days_after`` days and its value is still missing."""
    nodes = list(
        _active_nodes(organisation)
        .filter(takes_actuals_q())
        .prefetch_related(Prefetch("reporters", to_attr="reporter_list"))
    )
    if not nodes:
        return 0
    fiscal = organisation.fiscal_year_start_month
    windows = storage.nodes_windows(nodes)
    due: list[tuple[Node, date, int]] = []
    for node in nodes:
        start, deadline = windows.get(node.pk, (None, None))
        current = period_start(today, node.frequency, fiscal)
        previous = period_start(current - timedelta(days=1), node.frequency, fiscal)
        for period, stage, is_due in (
            (
                current,
                REMIND_BEFORE,
                (period_end(current, node.frequency) - today).days <= organisation.remind_days_before,
            ),
            (
                previous,
                REMIND_AFTER,
                (today - period_end(previous, node.frequency)).days >= organisation.remind_days_after,
            ),
        ):
            in_window = (start is None or period_end(period, node.frequency) >= start) and (
                deadline is None or period <= deadline
            )
            if is_due and in_window:
                due.append((node, period, stage))
    entered = set(
        Measurement.objects.filter(
            node_id__in=[n.pk for n, _p, _s in due], period_start__in={p for _n, p, _s in due}
        ).values_list("node_id", "period_start")
    )
    candidates = []
    for node, period, stage in due:
        if (node.pk, period) in entered:
            continue
        people = {node.owner_id, *(u.pk for u in node.reporter_list)} - {None}
        params = {**_node_params(node, period), "after": stage == REMIND_AFTER}
        candidates += [Candidate(user, Kind.REMINDER, node.pk, period, stage, params) for user in people]
    return _write(organisation, candidates)


def _latest_complete(doc: dict, frequency: str, today: date) -> tuple[int | None, list[str]]:
    """The index of the node's latest stored period that has ended before ``today``."""
    periods = document.column(doc, "period")
    latest = None
    for index, text in enumerate(periods):
        if period_end(date.fromisoformat(text), frequency) < today:
            latest = index
    return latest, periods


def _with_parents(organisation: Organisation) -> tuple[list[Node], dict[int, int | None]]:
    nodes = list(_active_nodes(organisation).only("id", "name", "frequency", "owner_id", "parent_id"))
    parent_ids = {n.parent_id for n in nodes} - {None}
    parent_owner = dict(Node.objects.filter(pk__in=parent_ids).values_list("pk", "owner_id"))
    return nodes, parent_owner


def status_changes(organisation: Organisation, *, today: date) -> int:
    """A node whose latest complete period is judged differently from the period before it
    (worse: on track → at risk / off track, at risk → off track; or recovered to on track),
    read from its stored document, is told to its owner and its parent's owner."""
    nodes, parent_owner = _with_parents(organisation)
    docs = storage.nodes_documents([n.pk for n in nodes])
    candidates = []
    for node in nodes:
        doc = docs.get(node.pk) or {}
        index, periods = _latest_complete(doc, node.frequency, today)
        if not index:  # none, or the first: nothing to compare with
            continue
        before, after = doc["status"][index - 1], doc["status"][index]
        if before not in JUDGED or after not in JUDGED or before == after:
            continue
        if after != "on_track" and SEVERITY[after] < SEVERITY[before]:
            continue  # off track → at risk is not news
        period = date.fromisoformat(periods[index])
        params = {**_node_params(node, period), "before": before, "after": after}
        people = {node.owner_id, parent_owner.get(node.parent_id)} - {None}
        candidates += [Candidate(user, Kind.STATUS_CHANGE, node.pk, period, 0, params) for user in people]
    return _write(organisation, candidates)


def escalations(organisation: Organisation, *, today: date) -> int:
    """A node off track in its latest complete period, which ended ``escalate_after_days`` days
    ago or more, with no open action, is escalated to its parent's owner (a root's own owner)."""
    nodes, parent_owner = _with_parents(organisation)
    docs = storage.nodes_documents([n.pk for n in nodes])
    acting = set(
        Action.objects.filter(organisation=organisation, status__in=OPEN_ACTION_STATUSES).values_list(
            "node_id", flat=True
        )
    )
    candidates = []
    for node in nodes:
        if node.pk in acting:
            continue
        doc = docs.get(node.pk) or {}
        index, periods = _latest_complete(doc, node.frequency, today)
        if index is None or doc["status"][index] != "off_track":
            continue
        period = date.fromisoformat(periods[index])
        days = (today - period_end(period, node.frequency)).days
        if days < organisation.escalate_after_days:
            continue
        user = parent_owner.get(node.parent_id) if node.parent_id else node.owner_id
        if user is not None:
            params = {**_node_params(node, period), "days": days}
            candidates.append(Candidate(user, Kind.ESCALATION, node.pk, period, 0, params))
    return _write(organisation, candidates)


def overdue_actions(organisation: Organisation, *, today: date) -> int:
    """An open action past its due date is told to its owner (once per due date)."""
    rows = Action.objects.filter(
        organisation=organisation,
        status__in=OPEN_ACTION_STATUSES,
        due_date__lt=today,
        owner__isnull=False,
        node__is_archived=False,
    ).select_related("node")
    candidates = [
        Candidate(
            a.owner_id,
            Kind.OVERDUE_ACTION,
            a.node_id,
            a.due_date,
            a.pk,
            {"node": a.node.name, "action": a.title, "due": a.due_date.isoformat()},
        )
        for a in rows
    ]
    return _write(organisation, candidates)


RULES = (reminders, status_changes, escalations, overdue_actions)


def run_rules(*, today: date) -> int:
    """Every rule for every organisation."""
    return sum(rule(organisation, today=today) for organisation in Organisation.objects.all() for rule in RULES)


# --- saying it -----------------------------------------------------------------------------


def status_name(code: str) -> str:
    return {"on_track": _("on track"), "at_risk": _("at risk"), "off_track": _("off track")}.get(code, code)


def message(notice: Notice) -> str:
    """The notice in the active language, from its kind and params (user text unescaped: the
    template escapes it in HTML)."""
    p = notice.params
    when = period_label(date.fromisoformat(p["period"]), p["frequency"]) if "period" in p else ""
    if notice.kind == Kind.REMINDER:
        if p.get("after"):
            return _("The value of %(node)s for %(period)s is still missing.") % {"node": p["node"], "period": when}
        return _("Please enter the value of %(node)s for %(period)s before the period ends.") % {
            "node": p["node"],
            "period": when,
        }
    if notice.kind == Kind.STATUS_CHANGE:
        return _("%(node)s went from %(before)s to %(after)s in %(period)s.") % {
            "node": p["node"],
            "before": status_name(p["before"]),
            "after": status_name(p["after"]),
            "period": when,
        }
    if notice.kind == Kind.ESCALATION:
        return _("%(node)s has been off track since %(period)s for %(days)s days with no open action.") % {
            "node": p["node"],
            "period": when,
            "days": p["days"],
        }
    if notice.kind == Kind.OVERDUE_ACTION:
        return _("The action “%(action)s” on %(node)s was due on %(due)s.") % {
            "action": p["action"],
            "node": p["node"],
            "due": p["due"],
        }
    return notice.get_kind_display()


def link(notice: Notice) -> str:
    """Where the notice leads: the actuals to enter for a reminder, the node otherwise."""
    if notice.kind == Kind.REMINDER:
        return reverse("goals:my_actuals") + (f"#kpi-{notice.node_id}" if notice.node_id else "")
    if notice.node_id:
        return reverse("goals:node", args=[notice.node_id])
    return reverse("alerts:inbox")


def unread_count(user) -> int:
    return Notice.objects.filter(user=user, read_at__isnull=True).count()


def mark_read(user, notice_id: int, *, now: datetime) -> Notice:
    notice = Notice.objects.get(user=user, pk=notice_id)
    if notice.read_at is None:
        notice.read_at = now
        notice.save(update_fields=["read_at"])
    return notice


def mark_all_read(user, *, now: datetime) -> int:
    return Notice.objects.filter(user=user, read_at__isnull=True).update(read_at=now)


def preference(user) -> AlertPreference:
    """The user's preference (an unsaved default if they never set one)."""
    return AlertPreference.objects.filter(user=user).first() or AlertPreference(user=user)


# --- e-mail --------------------------------------------------------------------------------


def _language(pref: AlertPreference) -> str:
    return pref.language or settings.LANGUAGE_CODE


def _site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def send_notices_email(user, notices: list[Notice], *, language: str, now: datetime) -> bool:
    """One e-mail of the notices (one for an immediate alert, several for a digest), in the
    recipient's language; marks them e-mailed."""
    if not notices or not user.email:
        return False
    with translation.override(language):
        items = [{"message": message(n), "url": _site_url(link(n))} for n in notices]
        context = {"user": user, "items": items, "inbox_url": _site_url(reverse("alerts:inbox"))}
        if len(notices) == 1:
            subject = _("[kpitree] %(message)s") % {"message": items[0]["message"]}
        else:
            subject = _("[kpitree] %(count)s new alerts") % {"count": len(notices)}
        text = render_to_string("alerts/email/notices.txt", context)
        html = render_to_string("alerts/email/notices.html", context)
    mail = EmailMultiAlternatives(" ".join(subject.split())[:200], text, to=[user.email])
    mail.attach_alternative(html, "text/html")
    try:
        mail.send()
    except (OSError, smtplib.SMTPException):  # the next run tries again: nothing is marked e-mailed
        logger.warning("Could not e-mail %s alert(s) to user %s.", len(notices), user.pk, exc_info=True)
        return False
    Notice.objects.filter(pk__in=[n.pk for n in notices]).update(emailed_at=now)
    return True


def _pending_by_user(modes: set[str]) -> dict:
    """Notices not yet e-mailed, grouped by user, of users whose e-mail mode is one of ``modes``
    (a user without a preference gets the daily digest)."""
    prefs = {p.user_id: p for p in AlertPreference.objects.all()}
    grouped = defaultdict(list)
    for notice in Notice.objects.filter(emailed_at__isnull=True).select_related("user").order_by("created_at", "pk"):
        pref = prefs.get(notice.user_id) or AlertPreference(user_id=notice.user_id)
        if pref.digest in modes:
            grouped[notice.user_id].append((notice, pref))
    return grouped


def send_immediate(*, now: datetime) -> int:
    """One e-mail per alert to the users who want them at once."""
    sent = 0
    for rows in _pending_by_user({Digest.IMMEDIATE}).values():
        for notice, pref in rows:
            sent += send_notices_email(notice.user, [notice], language=_language(pref), now=now)
    return sent


def send_digests(*, today: date, now: datetime) -> int:
    """The daily digest every day, the weekly one on Mondays: every notice not yet e-mailed."""
    modes = {Digest.DAILY} | ({Digest.WEEKLY} if today.weekday() == 0 else set())
    sent = 0
    for user_id, rows in _pending_by_user(modes).items():
        pref = rows[0][1]
        if send_notices_email(rows[0][0].user, [n for n, _p in rows], language=_language(pref), now=now):
            sent += 1
            AlertPreference.objects.update_or_create(user_id=user_id, defaults={"last_digest_at": now})
    return sent
