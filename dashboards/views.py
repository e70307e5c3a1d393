from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from dashboards import figures
from dashboards.figures import sparkline
from dashboards.pages import executive, monthly
from dashboards.pages import manager as manager_page
from dashboards.pages import meeting as meeting_page
from dashboards.pages import member as member_page
from dashboards.pages import node as node_page
from dashboards.windows import MONTH, month_window, window_from_params
from goals import selectors, services
from goals.access import (
    actuals_required,
    attainment_hidden_owners,
    builds_trees,
    membership_required,
    node_attainment_visible,
    sees_manager_dashboard,
    sees_team_attainment,
    sees_whole_organisation,
)
from goals.models import Kind, Role
from goals.periods import add_months
from goals.rollup import explain, storage
from goals.smart import Level
from pdca import services as pdca_services

ROLE_HOME = {
    Role.EXECUTIVE: "dashboards:executive",
    Role.MANAGER: "dashboards:manager",
    Role.MEMBER: "dashboards:member",
}


@membership_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role lands on its own home page."""
    return redirect(ROLE_HOME[request.membership.role])


@membership_required
def executive_home(request: HttpRequest) -> HttpResponse:
    """Per KGI: where it stands over the window, where it is heading, the status map of its tree
    (``?node=`` drills into a subtree) and the KPIs most behind. Executives and managers only:
    it shows every member's attainment."""
    membership = request.membership
    if not sees_whole_organisation(membership):
        raise PermissionDenied
    today = timezone.localdate()
    window, window_errors = window_from_params(
        request.GET, today=today, fiscal_start_month=membership.organisation.fiscal_year_start_month, default="fytd"
    )
    focus = None
    if request.GET.get("node"):
        focus = selectors.node_get(membership, request.GET["node"])
        if focus.is_archived:
            raise Http404
    panels = executive.executive_overview(membership, window, today=today, focus=focus)
    return render(
        request,
        "dashboards/executive_home.html",
        {
            "panels": panels,
            "window": window,
            "window_errors": window_errors,
            "focus": focus,
            "period_keep": [("node", focus.pk)] if focus else [],
        },
    )


TREE_SCOPES = ("mine", "all")


def _window(request: HttpRequest, *, today: date, default: str = "month"):
    return window_from_params(
        request.GET,
        today=today,
        fiscal_start_month=request.membership.organisation.fiscal_year_start_month,
        default=default,
    )


def _trees_in_scope(request: HttpRequest) -> manager_page.ManagerTrees:
    """The trees a manager looks at: ``trees=<root id>`` (404 for another organisation's), all of
    them, or theirs — those where they own a node; by default theirs if they own any."""
    choice = request.GET.get("trees", "")
    root = None
    if choice and choice not in TREE_SCOPES:
        root = selectors.node_get(request.membership, choice)
    return manager_page.manager_trees(
        request.membership,
        user_id=request.user.pk,
        tree_id=root.tree_id if root is not None else None,
        everything=choice == "all" or (not choice and not builds_trees(request.membership)),
    )


@membership_required
def manager_home(request: HttpRequest) -> HttpResponse:
    """Managers chase their trees here; executives may read it (without the links that change
    anything); team members have their own page."""
    membership = request.membership
    if not sees_manager_dashboard(membership):
        raise PermissionDenied
    today = timezone.localdate()
    window, window_errors = _window(request, today=today)
    chosen = _trees_in_scope(request)
    trees, scope = chosen.trees, chosen.scope
    nodes = [node for tree in trees for node in tree.nodes]
    board = manager_page.manager_dashboard(membership, [tree.root for tree in trees], nodes, window=window, today=today)
    open_findings = [
        (tree.root, node, finding)
        for tree in trees
        for node in tree.nodes
        for finding in tree.reports[node.pk].findings
        if finding.level != Level.PASS
    ]
    open_findings.sort(key=lambda item: (item[2].level != Level.ERROR, item[1].tree_id, item[1].lft))
    counts = {status: sum(tree.counts[status] for tree in board.trees) for status in figures.STATUS_ORDER}
    counts_title = gettext("Nodes by status, %(period)s") % {"period": window.label}
    return render(
        request,
        "dashboards/manager_home.html",
        {
            "trees": trees,
            "all_roots": chosen.roots,
            "scope": scope,
            "board": board,
            # Why a tree's figures stopped updating: for managers, who can fix the cause.
            "rollup_failures": board.failures if membership.can_edit_trees else (),
            "counts": counts,
            "counts_figure": figures.status_counts_chart(counts, title=counts_title) if nodes else None,
            "pairs": [
                {
                    "id": f"fig-pair-{index}",
                    "pair": pair.pair,
                    "figure": figures.indicator_pair_figure(pair),
                    "rows": list(zip(pair.periods, pair.driver, pair.result, strict=True)),
                }
                for index, pair in enumerate(board.pairs)
            ],
            "open_findings": open_findings[:50],
            "open_count": len(open_findings),
            "window": window,
            "window_errors": window_errors,
            "period_keep": [("trees", scope)] if request.GET.get("trees") else [],
            "can_edit": membership.can_edit_trees,
        },
    )


@actuals_required
def member_home(request: HttpRequest) -> HttpResponse:
    """My KPIs, what I still have to enter and my attainment per month (a manager sees theirs);
    the team's scores only where the organisation shares them."""
    membership = request.membership
    today = timezone.localdate()
    window, window_errors = _window(request, today=today)
    show_team = sees_team_attainment(membership)
    board = member_page.member_dashboard(membership, user=request.user, window=window, today=today, show_team=show_team)
    cards = [
        (card, sparkline([p.actual for p in card.recent], [p.target for p in card.recent])) for card in board.cards
    ]
    return render(
        request,
        "dashboards/member_home.html",
        {
            "board": board,
            "cards": cards,
            "history_figure": figures.attainment_history_figure(board.cards, board.history) if board.cards else None,
            "window": window,
            "window_errors": window_errors,
        },
    )


@membership_required
def monthly_report(request: HttpRequest, pk: int) -> HttpResponse:
    """A tree's report for one month (``?month=YYYY-MM``, this month by default), laid out for A4.
    Every member of the organisation reads it, as the tree page; a team member sees another's
    personal KPIs without their figures, as on the node page."""
    membership = request.membership
    root = selectors.node_get(membership, pk)
    if root.level != 0:
        root = root.get_root()
        return redirect(reverse("dashboards:monthly_report", args=[root.pk]) + _query(request.GET, "month"))
    today = timezone.localdate()
    fiscal = membership.organisation.fiscal_year_start_month
    month, month_errors = window_from_params(
        {"period": MONTH, "month": request.GET.get("month", "")}, today=today, fiscal_start_month=fiscal
    )
    report = monthly.monthly_report(root, month, membership=membership, today=today, now=timezone.now())
    return render(
        request,
        "dashboards/monthly_report.html",
        {
            "report": report,
            "month_errors": month_errors,
            "previous_month": month_window(add_months(month.first, -1), fiscal_start_month=fiscal),
            "next_month": month_window(add_months(month.first, 1), fiscal_start_month=fiscal),
        },
    )


@membership_required
def meeting(request: HttpRequest, pk: int) -> HttpResponse:
    """A tree's review meeting for one month (``?month=YYYY-MM``): the generated agenda and the
    minutes, laid out for A4 as the monthly report. Managers and executives hold it for the whole
    tree; a team member opens it for their own nodes only (their 1-on-1), or is refused."""
    membership = request.membership
    root = selectors.node_get(membership, pk)
    if root.level != 0:
        root = root.get_root()
        return redirect(reverse("dashboards:meeting", args=[root.pk]) + _query(request.GET, "month"))
    today = timezone.localdate()
    fiscal = membership.organisation.fiscal_year_start_month
    month, month_errors = window_from_params(
        {"period": MONTH, "month": request.GET.get("month", "")}, today=today, fiscal_start_month=fiscal
    )
    made = meeting_page.meeting(root, month, membership=membership, today=today)
    if made.members_only and not made.scope_size:
        raise PermissionDenied
    return render(
        request,
        "dashboards/meeting.html",
        {
            "meeting": made,
            "month_errors": month_errors,
            "previous_month": month_window(add_months(month.first, -1), fiscal_start_month=fiscal),
            "next_month": month_window(add_months(month.first, 1), fiscal_start_month=fiscal),
        },
    )


def _query(params, *names: str) -> str:
    kept = urlencode({name: params[name] for name in names if params.get(name)})
    return f"?{kept}" if kept else ""


@membership_required
def node_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A node's page (URL name ``goals:node``, kpitree/urls.py): its definition, SMART check,
    history and explanation, with its figures and chart for the window (dashboards.pages.node)."""
    node = selectors.node_get(request.membership, pk)
    # Only the node's own neighbourhood is read (its ancestors, its children, and for SMART their
    # parents, children and a count of sibling KPIs), never the whole tree: a KPI among 2,000
    # siblings is read as fast as one among three. SMART checks them as the diagram and the API do.
    children = selectors.node_children(node, include_archived=node.is_archived)
    ancestors = list(node.get_ancestors())
    plans = storage.nodes_plan_checks([node, *children])
    reports = selectors.nodes_smart_reports([node, *children], include_archived=node.is_archived, plans=plans)
    changes = selectors.node_changes(node)
    # Another team member's personal KPI: its figures only if the organisation shares them.
    sees_attainment = node_attainment_visible(request.membership, node)
    today = timezone.localdate()
    progress_rows = storage.stored_progress(node) if sees_attainment else []
    # The actuals' history holds the values: shown under the same rule as the figures.
    value_changes, more_value_changes = selectors.node_value_changes(node) if sees_attainment else ([], False)
    explanation = None
    if not node.is_archived and progress_rows:
        explanation = explain.node_explain(node, period=min(today, progress_rows[-1]["period"]), as_of=today)
        hidden = attainment_hidden_owners(request.membership)
        owners = {n.pk: n.owner_id for n in children}
        for item in explanation["inputs"]:
            item["hidden"] = owners.get(item["node"]) in hidden
    window, window_errors = window_from_params(
        request.GET,
        today=today,
        fiscal_start_month=request.membership.organisation.fiscal_year_start_month,
        default="month",
    )
    hidden_owners = attainment_hidden_owners(request.membership)
    page = node_page.node_figures(
        node,
        children,
        root=ancestors[0] if ancestors else node,
        membership=request.membership,
        window=window,
        today=today,
        sees_attainment=sees_attainment,
        hidden_owners=hidden_owners,
        reported=selectors.reported_by(request.user.pk, [c.pk for c in children]) if hidden_owners else frozenset(),
        plan_check=plans.get(node.pk),
    )
    return render(
        request,
        "goals/node_detail.html",
        {
            "page": page,
            "window": window,
            "window_errors": window_errors,
            "progress_rows": progress_rows,
            "explanation": explanation,
            "sees_attainment": sees_attainment,
            "stale": storage.tree_is_stale(node),
            "rollup_failures": selectors.rollup_failures_seen(request.membership, [node.tree_id]),
            "node": node,
            "report": reports[node.pk],
            "children": children,
            "child_reports": reports,
            "ancestors": ancestors,
            "changes": changes,
            "value_changes": value_changes,
            "more_value_changes": more_value_changes,
            "can_edit": request.membership.can_edit_trees,
            "can_delete": services.node_can_delete(node),
            "pdca": pdca_services.node_section(request.membership, node, today),
            "child_kind_label": Kind(selectors.child_kind(node)).label,
        },
    )
