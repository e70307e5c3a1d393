"""The review meeting of a tree for a month (issue 11 §3): the monthly review, the 1-on-1, the
kick-off. The agenda is generated — off-track and at-risk nodes without a review, overdue
actions, missing actuals, plan-check findings — and the minutes are the reviews and actions
recorded in the month.

Read from the stored rollup, as the monthly report is ("one number, one answer"): the figures
are never recomputed here. A fixed number of queries, whatever the tree's size.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import NoReverseMatch, reverse

from dashboards.pages.executive import why
from dashboards.selectors import needs_actuals
from dashboards.stored import tree_window_figures
from dashboards.windows import Window
from goals import selectors as goals_selectors
from goals.access import attainment_hidden_owners, attainment_visible
from goals.models import Membership, Node, Role
from goals.rollup.document import EMPTY, NodeFigures
from goals.selectors import reported_by
from goals.smart import Finding
from pdca.models import OPEN_ACTION_STATUSES, Action, Review

ATTENTION = ("off_track", "at_risk")
PLAN_RULES = ("A-plan", "R-plan")


# --- links to the review and action forms (app pdca): built here only ---------------------------


def _path(name: str, args: list, fallback: str) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return fallback


def review_url(node_pk: int, period_start: date) -> str:
    return _path("pdca:review", [node_pk], f"/nodes/{node_pk}/review/") + f"?period={period_start:%Y-%m-%d}"


def action_add_url(node_pk: int) -> str:
    return _path("pdca:action_add", [node_pk], f"/nodes/{node_pk}/actions/new/")


def action_edit_url(action_pk: int) -> str:
    return _path("pdca:action_edit", [action_pk], f"/actions/{action_pk}/edit/")


# --- what the page shows --------------------------------------------------------------------------


@dataclass(frozen=True)
class AgendaNode:
    """A node off track or at risk in the month that has no review yet."""

    node: Node
    figures: NodeFigures
    why: str
    month_first: date

    @property
    def review_url(self) -> str:
        return review_url(self.node.pk, self.month_first)


@dataclass(frozen=True)
class OverdueAction:
    action: Action
    days_overdue: int
    slipped_days: int  # how far the due date has moved from the first one
    attainment_now: float | None  # the node's stored attainment in the month

    @property
    def edit_url(self) -> str:
        return action_edit_url(self.action.pk)


@dataclass(frozen=True)
class MissingInput:
    node: Node
    missing: int
    enterers: list  # the owner and the reporters


@dataclass(frozen=True)
class PlanFinding:
    node: Node
    finding: Finding


@dataclass(frozen=True)
class MinuteAction:
    action: Action
    slipped_days: int

    @property
    def edit_url(self) -> str:
        return action_edit_url(self.action.pk)


@dataclass(frozen=True)
class Minutes:
    """The reviews recorded for the month and the actions created or changed in it."""

    reviews: list[Review]
    actions: list[MinuteAction]


@dataclass(frozen=True)
class Meeting:
    root: Node
    month: Window
    today: date
    unreviewed: list[AgendaNode]
    overdue: list[OverdueAction]
    missing: list[MissingInput]
    plan_findings: list[PlanFinding]
    minutes: Minutes
    members_only: bool  # a team member's own meeting (1-on-1): their nodes only
    scope_size: int  # the nodes the meeting covers

    @property
    def agenda_items(self) -> int:
        return len(self.unreviewed) + len(self.overdue) + len(self.missing) + len(self.plan_findings)


def meeting_scope(membership: Membership, nodes: list[Node]) -> frozenset[int] | None:
    """The node ids a team member's meeting covers (the ones they own or report), or None for
    managers and executives (every node)."""
    if membership.role != Role.MEMBER:
        return None
    ids = [n.pk for n in nodes]
    reported = reported_by(membership.user_id, ids)
    return frozenset(n.pk for n in nodes if n.owner_id == membership.user_id or n.pk in reported)


def month_minutes(nodes: list[Node], month: Window) -> Minutes:
    """The reviews written for ``month`` (their period starts in it) and the actions created or
    changed in it, of ``nodes``: two queries. The meeting page and the monthly report share it."""
    ids = [n.pk for n in nodes]
    reviews = list(
        Review.objects.filter(node_id__in=ids, period_start__range=(month.first, month.last))
        .select_related("node", "author", "bottleneck")
        .order_by("node__lft")
    )
    in_month = (month.first, month.last)
    actions = Action.objects.filter(node_id__in=ids).filter(
        Q(created_at__date__range=in_month) | Q(updated_at__date__range=in_month)
    )
    actions = actions.select_related("node", "owner").order_by("node__lft", "due_date", "pk")
    return Minutes(
        reviews=reviews,
        actions=[MinuteAction(a, (a.due_date - a.original_due_date).days) for a in actions],
    )


def meeting(root: Node, month: Window, *, membership: Membership, today: date) -> Meeting:
    """The agenda and minutes of ``root``'s tree for ``month`` as ``membership`` may read them."""
    root.organisation = membership.organisation  # the engine reads the fiscal year from it
    tree = goals_selectors.tree_nodes(root, include_archived=root.is_archived)
    nodes = tree
    scope = meeting_scope(membership, nodes)
    if scope is not None:
        nodes = [n for n in nodes if n.pk in scope]
    hidden = attainment_hidden_owners(membership)
    nodes = [n for n in nodes if attainment_visible(membership, n, hidden_owners=hidden, reports=scope is not None)]
    by_node = tree_window_figures(root, month, today=today)
    minutes = month_minutes(nodes, month)
    reviewed = {r.node_id for r in minutes.reviews}

    # (1) Off track or at risk, no review yet: worst first (off track, then the lowest attainment).
    unreviewed = [
        AgendaNode(n, by_node.get(n.pk, EMPTY), why(n, by_node.get(n.pk, EMPTY)), month.first)
        for n in nodes
        if by_node.get(n.pk, EMPTY).status in ATTENTION and n.pk not in reviewed
    ]
    unreviewed.sort(
        key=lambda item: (
            ATTENTION.index(item.figures.status),
            item.figures.attainment if item.figures.attainment is not None else float("inf"),
            item.node.lft,
        )
    )

    # (2) Overdue actions: open and past their due date, the longest overdue first.
    ids = [n.pk for n in nodes]
    overdue_actions = (
        Action.objects.filter(node_id__in=ids, status__in=OPEN_ACTION_STATUSES, due_date__lt=today)
        .select_related("node", "owner")
        .order_by("due_date", "pk")
    )
    overdue = [
        OverdueAction(
            action=a,
            days_overdue=(today - a.due_date).days,
            slipped_days=(a.due_date - a.original_due_date).days,
            attainment_now=by_node.get(a.node_id, EMPTY).attainment,
        )
        for a in overdue_actions
    ]

    # (3) Missing actuals: the hand-entered nodes with inputs missing in the month, and who enters them.
    lacking = [n for n in nodes if needs_actuals(n) and by_node.get(n.pk, EMPTY).missing]
    reporters: dict[int, list] = defaultdict(list)
    if lacking:
        through = Node.reporters.through
        links = through.objects.filter(node_id__in=[n.pk for n in lacking]).values_list("node_id", "user_id")
        links = list(links)
        users = get_user_model().objects.in_bulk({user_id for _, user_id in links})
        for node_id, user_id in links:
            reporters[node_id].append(users[user_id])
    missing = [
        MissingInput(
            n,
            by_node[n.pk].missing,
            [*([n.owner] if n.owner else []), *(u for u in reporters[n.pk] if u.pk != n.owner_id)],
        )
        for n in lacking
    ]

    # (4) Plan-check findings (A-plan, R-plan) of the computed nodes.
    findings = []
    if nodes:
        reports = goals_selectors.tree_smart_reports(tree)  # the whole tree: formulas read it
        for n in nodes:
            report = reports.get(n.pk)
            for finding in report.findings if report else ():
                if finding.rule in PLAN_RULES:
                    findings.append(PlanFinding(n, finding))

    return Meeting(
        root=root,
        month=month,
        today=today,
        unreviewed=unreviewed,
        overdue=overdue,
        missing=missing,
        plan_findings=findings,
        minutes=minutes,
        members_only=scope is not None,
        scope_size=len(nodes),
    )
