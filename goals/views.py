from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from goals import actuals, selectors, services, smart, value_sources
from goals.access import (
    actuals_required,
    builds_trees,
    manager_required,
    membership_required,
)
from goals.forms import (
    ActualForm,
    ActualsGridForm,
    LibraryPickForm,
    MonthForm,
    MoveForm,
    NodeForm,
    OrganisationSettingsForm,
    TargetOverrideForm,
    TargetRestateForm,
    TreeStartForm,
    grid_rows,
    period_label,
    plain_number,
)
from goals.library import KPI_LIBRARY_BY_KEY, TREE_TEMPLATES
from goals.models import Kind, Node, Status, TargetOverride
from goals.periods import add_months, fiscal_year_bounds, month_label
from goals.rollup import storage
from goals.rollup.plan import PlanCheck, summary_text
from goals.sparkline import Sparkline, sparkline
from goals.units import format_quantity


@dataclass
class DiagramNode:
    """A node in the tree diagram, with its SMART report and its children."""

    node: Node
    report: smart.SmartReport
    children: list[DiagramNode] = field(default_factory=list)
    plan_text: str = ""  # "Year from April 2026: the drivers' targets add up to …" (goals.rollup.plan)
    plan_verdict: str = ""

    @property
    def source(self) -> str:
        """Where its value and status come from: ``= sessions × cvr × aov``, ``Σ children``…"""
        node = self.node
        return value_sources.source_words(
            kind=node.kind,
            value_source=node.value_source,
            formula=node.formula,
            has_number=node.has_number,
            status_rule=node.status_rule,
            has_children=bool(self.children),
        )


def _outline(
    nodes: list[Node], reports: dict[int, smart.SmartReport], plans: Mapping[int, PlanCheck] | None = None
) -> list[DiagramNode]:
    plans = plans or {}
    language = get_language() or "en"
    boxes = {}
    for n in nodes:
        check = plans.get(n.pk)
        headline = check.headline if check is not None else None
        boxes[n.pk] = DiagramNode(
            n,
            reports[n.pk],
            plan_text=summary_text(check, n.unit, language) if headline else "",
            plan_verdict=headline[1] if headline else "",
        )
    roots = []
    for n in nodes:
        parent = boxes.get(n.parent_id)
        (parent.children if parent else roots).append(boxes[n.pk])
    return roots


@membership_required
def tree_list(request: HttpRequest) -> HttpResponse:
    show_archived = request.GET.get("archived") == "1"
    roots = list(selectors.trees_of(request.membership, include_archived=show_archived))
    return render(
        request,
        "goals/tree_list.html",
        {"roots": roots, "show_archived": show_archived, "start_form": TreeStartForm()},
    )


@membership_required
def tree_detail(request: HttpRequest, pk: int) -> HttpResponse:
    root = selectors.node_get(request.membership, pk)
    if root.level != 0:
        return redirect("goals:tree", pk=root.get_root().pk)
    # An archived tree is shown as it was; otherwise archived nodes only on request.
    show_archived = request.GET.get("archived") == "1" or root.is_archived
    nodes = selectors.tree_nodes(root, include_archived=show_archived)
    plans = storage.nodes_plan_checks(nodes, loaded=nodes)
    reports = selectors.tree_smart_reports(nodes, plans=plans)
    summary = smart.summarise_tree(nodes, list(reports.values()))
    return render(
        request,
        "goals/tree_detail.html",
        {
            "root": root,
            "outline": _outline(nodes, reports, plans),
            "summary": summary,
            "show_archived": show_archived,
            "can_edit": request.membership.can_edit_trees,
            "rollup_failures": selectors.rollup_failures_seen(request.membership, [root.tree_id]),
        },
    )


def _node_form_page(request, *, form, node, parent, kind, title, library_form=None):
    # After a failed submit the panel shows the check of what was typed, as the live preview did.
    panel = (
        _smart_panel(request.membership, request.POST, node=node, parent=parent, kind=kind) if form.is_bound else None
    )
    return render(
        request,
        "goals/node_form.html",
        {
            "form": form,
            "node": node,
            "parent": parent,
            "kind": kind,
            "kind_label": Kind(kind).label,
            "title": title,
            "library_form": library_form,
            "panel": panel,
        },
    )


def _smart_panel(membership, data, *, node: Node | None, parent: Node | None, kind: str) -> dict:
    """The SMART panel for what was typed: its report and what would block saving."""
    form = NodeForm(data, instance=node, organisation=membership.organisation, kind=kind)
    report, errors = None, {}
    if form.is_valid():
        report, errors = services.node_preview(
            organisation=membership.organisation, parent=parent, node=node, kind=kind, data=form.data_for_service()
        )
    else:
        errors = {k: [str(m) for m in v] for k, v in form.errors.items()}
    labelled = [
        (str(form.fields[name].label) if name in form.fields else "", message)
        for name, messages in errors.items()
        for message in messages
    ]
    return {"report": report, "preview_errors": labelled}


def _library_initial(key: str, parent: Node) -> dict:
    item = KPI_LIBRARY_BY_KEY.get(key)
    if item is None:
        return {}
    # Suggest a code that is still free in this tree (appointments, appointments_2, …).
    taken = set(Node.objects.filter(tree_id=parent.tree_id).values_list("code", flat=True))
    code, suffix = item.key, 2
    while code in taken:
        code, suffix = f"{item.key}_{suffix}", suffix + 1
    return {
        "name": str(item.name),
        "code": code,
        "unit": item.unit,
        "direction": item.direction,
        "indicator_type": item.indicator_type,
        "time_aggregation": item.time_aggregation,
        "frequency": item.frequency,
    }


@manager_required
def tree_create(request: HttpRequest) -> HttpResponse:
    organisation = request.membership.organisation
    start, end = fiscal_year_bounds(date.today(), organisation.fiscal_year_start_month)
    template_key = request.POST.get("template") or request.GET.get("template") or ""
    if template_key:
        if template_key not in TREE_TEMPLATES or request.method != "POST":
            raise Http404
        try:
            root = services.tree_create_from_template(
                organisation=organisation,
                actor=request.user,
                template=TREE_TEMPLATES[template_key][1],
                start_date=start,
                deadline=end,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("goals:trees")
        messages.success(request, _("Tree created from the template. Adjust the numbers to your own."))
        return redirect("goals:tree", pk=root.pk)
    form = NodeForm(
        request.POST or None,
        organisation=organisation,
        kind=Kind.KGI,
        initial={"owner": request.user, "start_date": start, "deadline": end, "code": "kgi"},
    )
    if request.method == "POST" and form.is_valid():
        try:
            root = services.node_create(
                organisation=organisation,
                actor=request.user,
                kind=Kind.KGI,
                parent=None,
                data=form.data_for_service(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("KGI created. Now add the success factors (KSFs) that close its gap."))
            return redirect("goals:tree", pk=root.pk)
    return _node_form_page(
        request, form=form, node=None, parent=None, kind=Kind.KGI, title=_("New KPI tree: set the KGI")
    )


@manager_required
def node_add_child(request: HttpRequest, pk: int) -> HttpResponse:
    parent = selectors.node_get(request.membership, pk)
    if parent.is_archived:
        raise Http404
    kind = selectors.child_kind(parent)
    library_form = None
    initial = {
        "owner": request.user,
        "start_date": parent.start_date,
        "deadline": parent.deadline,
        "frequency": parent.frequency,
    }
    if kind in (Kind.KPI, Kind.SUB_KPI):
        library_form = LibraryPickForm(request.GET or None)
        initial.update(_library_initial(request.GET.get("library", ""), parent))
    form = NodeForm(request.POST or None, organisation=request.membership.organisation, kind=kind, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            node = services.node_create(
                organisation=request.membership.organisation,
                actor=request.user,
                kind=kind,
                parent=parent,
                data=form.data_for_service(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request, _("%(kind)s “%(name)s” added.") % {"kind": node.get_kind_display(), "name": node.name}
            )
            return redirect(f"{_tree_url(node)}#node-{node.pk}")
    title = _("Add a %(kind)s under “%(parent)s”") % {"kind": Kind(kind).label, "parent": parent.name}
    return _node_form_page(
        request, form=form, node=None, parent=parent, kind=kind, title=title, library_form=library_form
    )


def _tree_url(node: Node) -> str:
    return reverse("goals:tree", kwargs={"pk": node.get_root().pk})


@manager_required
def node_edit(request: HttpRequest, pk: int) -> HttpResponse:
    node = selectors.node_get(request.membership, pk)
    form = NodeForm(request.POST or None, instance=node, organisation=request.membership.organisation, kind=node.kind)
    if request.method == "POST" and form.is_valid():
        try:
            node = services.node_update(node=node, actor=request.user, data=form.data_for_service())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Saved."))
            return redirect("goals:node", pk=node.pk)
    title = _("Edit %(kind)s “%(name)s”") % {"kind": node.get_kind_display(), "name": node.name}
    return _node_form_page(request, form=form, node=node, parent=node.parent, kind=node.kind, title=title)


@manager_required
@require_POST
def node_smart_preview(request: HttpRequest) -> HttpResponse:
    """The live SMART panel of the node form (htmx): checks what is typed, saves nothing."""
    membership = request.membership
    node = parent = None
    if request.POST.get("node_id"):
        node = selectors.node_get(membership, request.POST["node_id"])
        parent = node.parent
        kind = node.kind
    else:
        kind = request.POST.get("kind", "")
        if kind not in Kind.values:
            raise Http404
        if request.POST.get("parent_id"):
            parent = selectors.node_get(membership, request.POST["parent_id"])
    return render(
        request,
        "goals/partials/smart_panel.html",
        _smart_panel(membership, request.POST, node=node, parent=parent, kind=kind),
    )


@manager_required
def node_move(request: HttpRequest, pk: int) -> HttpResponse:
    node = selectors.node_get(request.membership, pk)
    targets = services.move_targets(node)
    form = MoveForm(request.POST or None, targets=targets)
    if request.method == "POST" and form.is_valid():
        try:
            node = services.node_move(
                node=node,
                actor=request.user,
                new_parent=form.cleaned_data["parent"],
                position=form.cleaned_data["position"],
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error("parent", message)
        else:
            messages.success(
                request, _("Moved “%(name)s” under “%(parent)s”.") % {"name": node.name, "parent": node.parent.name}
            )
            return redirect(f"{_tree_url(node)}#node-{node.pk}")
    return render(request, "goals/node_move.html", {"node": node, "form": form, "has_targets": bool(targets)})


@manager_required
def node_archive(request: HttpRequest, pk: int) -> HttpResponse:
    node = selectors.node_get(request.membership, pk)
    descendants = node.get_descendant_count()
    if request.method == "POST":
        try:
            services.node_archive(node=node, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("goals:node", pk=node.pk)
        messages.success(request, _("Archived “%(name)s”. Its actuals and history are kept.") % {"name": node.name})
        if node.parent_id:
            return redirect("goals:tree", pk=node.get_root().pk)
        return redirect("goals:trees")
    return render(request, "goals/node_archive.html", {"node": node, "descendants": descendants})


@manager_required
@require_POST
def node_restore(request: HttpRequest, pk: int) -> HttpResponse:
    node = selectors.node_get(request.membership, pk)
    try:
        services.node_restore(node=node, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Restored “%(name)s”.") % {"name": node.name})
    return redirect("goals:node", pk=node.pk)


@manager_required
def node_delete(request: HttpRequest, pk: int) -> HttpResponse:
    node = selectors.node_get(request.membership, pk)
    if request.method == "POST":
        parent_id = node.parent_id
        root_pk = node.get_root().pk
        try:
            services.node_delete(node=node, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("goals:node", pk=node.pk)
        messages.success(request, _("Deleted “%(name)s”.") % {"name": node.name})
        return redirect("goals:tree", pk=root_pk) if parent_id else redirect("goals:trees")
    return render(request, "goals/node_delete.html", {"node": node, "can_delete": services.node_can_delete(node)})


@membership_required
def node_targets(request: HttpRequest, pk: int) -> HttpResponse:
    """The node's target for each period: phased default, manager overrides, restatements."""
    node = selectors.node_get(request.membership, pk)
    can_edit = request.membership.can_edit_trees and not node.is_archived
    today = timezone.localdate()
    plan = storage.node_target_plan(node, today=today)
    periods = [row["period_start"] for row in plan]
    override_form = TargetOverrideForm(prefix="override", periods=periods)
    # A review that found the target unrealistic links here with its reference as the reason (pdca).
    restate_form = TargetRestateForm(
        prefix="restate", instance=node, initial={"reason": request.GET.get("reason", "")[:500]}
    )
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        action = request.POST.get("action")
        try:
            if action == "override":
                override_form = TargetOverrideForm(request.POST, prefix="override", periods=periods)
                if override_form.is_valid():
                    data = override_form.cleaned_data
                    period = date.fromisoformat(data["period"])
                    if data["value"] is None:
                        services.target_override_clear(
                            node=node, actor=request.user, period=period, reason=data["reason"]
                        )
                    else:
                        services.target_override_set(
                            node=node,
                            actor=request.user,
                            period=period,
                            value=data["value"],
                            reason=data["reason"],
                            today=today,
                        )
                    messages.success(request, _("Target for %(period)s saved.") % {"period": data["period"]})
                    return redirect("goals:node_targets", pk=node.pk)
            elif action == "restate":
                restate_form = TargetRestateForm(request.POST, prefix="restate", instance=node)
                if restate_form.is_valid():
                    data = {k: v for k, v in restate_form.cleaned_data.items() if k != "reason"}
                    services.target_restate(
                        node=node, actor=request.user, data=data, reason=restate_form.cleaned_data["reason"]
                    )
                    messages.success(request, _("Target restated; the previous schedule is kept in the history."))
                    return redirect("goals:node_targets", pk=node.pk)
        except ValidationError as error:
            form = override_form if action == "override" else restate_form
            for field, field_messages in error.message_dict.items():
                for message in field_messages:
                    form.add_error(field if field in form.fields else None, message)
    overrides_history = (
        TargetOverride.history.filter(node_id=node.pk).select_related("history_user").order_by("-history_date")[:50]
    )
    target_fields = {"baseline_value", "target_value", "target_min", "target_max", "deadline", "start_date"}
    restatements = [
        change
        for change in selectors.node_changes(node)
        if any(field_change.field in target_fields for field_change in change.changes)
    ]
    return render(
        request,
        "goals/node_targets.html",
        {
            "node": node,
            "plan": plan,
            "can_edit": can_edit,
            "override_form": override_form,
            "restate_form": restate_form,
            "overrides_history": overrides_history,
            "restatements": restatements,
        },
    )


# --- actuals: "My KPIs", the grid, and closing months ---------------------------------------------

GRID_PERIODS = 3


@dataclass
class ActualsCard:
    """One KPI on the "My KPIs" page: its figures, its sparkline and its entry form."""

    row: selectors.ActualsRow
    form: ActualForm
    figure: Sparkline


def _tree_filter(request: HttpRequest) -> Node | None:
    """The tree chosen with ?tree=<root id> (404 for another organisation's), or None for all."""
    if not request.GET.get("tree"):
        return None
    node = selectors.node_get(request.membership, request.GET["tree"])
    return node if node.level == 0 else node.get_root()


def _actuals_url(name: str, tree: Node | None, anchor: str = "", *, page: int = 1) -> str:
    params = {"tree": tree.pk} if tree else {}
    if page > 1:
        params["page"] = page
    query = f"?{urlencode(params)}" if params else ""
    return f"{reverse(name)}{query}{anchor}"


# "My KPIs" shows this many cards a page: a manager's page listed every hand-entered number of
# the organisation (1,900 cards, each with its form and sparkline, took 9.6 s to render).
ACTUALS_PAGE_SIZE = 25


def _actuals_page_of(membership, node: Node, tree: Node | None) -> int:
    """The page of "My KPIs" that shows ``node``'s card."""
    index = actuals.entry_index(membership, node, tree_id=tree.tree_id if tree else None)
    return index // ACTUALS_PAGE_SIZE + 1


def _actual_form(row: selectors.ActualsRow, locked: frozenset[date], fiscal_start_month: int, data=None) -> ActualForm:
    current = row.current
    return ActualForm(
        data,
        prefix=f"kpi{row.node.pk}",
        node=row.node,
        periods=row.periods,
        locked=locked,
        fiscal_start_month=fiscal_start_month,
        initial={
            "period": row.period,
            "value": plain_number(current.value) if current else "",
            "note": current.note if current else "",
        },
    )


def _my_actuals_page(
    request: HttpRequest,
    *,
    tree: Node | None,
    page_number: int | str | None = None,
    bound: ActualForm | None = None,
    bound_node=None,
):
    membership = request.membership
    paginator = Paginator(actuals.entry_nodes(membership, tree_id=tree.tree_id if tree else None), ACTUALS_PAGE_SIZE)
    page = paginator.get_page(page_number)
    nodes = list(page.object_list)
    rows = selectors.actuals_rows(membership, nodes, today=timezone.localdate())
    locked = actuals.locked_months(membership.organisation_id)
    cards = []
    for row in rows:
        if bound is not None and row.node.pk == bound_node.pk:
            form = bound
        else:
            form = _actual_form(row, locked, membership.organisation.fiscal_year_start_month)
        figure = sparkline([_number(v) for _p, v, _t in row.recent], [t for _p, _v, t in row.recent])
        cards.append(ActualsCard(row=row, form=form, figure=figure))
    # A form sent for a KPI that is not listed (e.g. a computed one) still shows its errors.
    unlisted = bound if bound is not None and all(r.node.pk != bound_node.pk for r in rows) else None
    return render(
        request,
        "goals/my_actuals.html",
        {
            "cards": cards,
            "page": page,
            "tree": tree,
            "trees": selectors.trees_of(membership) if builds_trees(membership) else [],
            "stale": any(row.stale for row in rows),
            "unlisted": unlisted,
            "unlisted_node": bound_node,
            "query": f"?tree={tree.pk}" if tree else "",
        },
    )


def _number(value) -> float | None:
    return None if value is None else float(value)


@actuals_required
def my_actuals(request: HttpRequest) -> HttpResponse:
    """The KPIs the caller logs actuals for (a manager: all of the organisation's)."""
    return _my_actuals_page(request, tree=_tree_filter(request), page_number=request.GET.get("page"))


@actuals_required
@require_POST
def actual_save(request: HttpRequest, pk: int) -> HttpResponse:
    membership = request.membership
    node = selectors.node_get(membership, pk)
    if not actuals.can_enter(membership, node):
        raise PermissionDenied
    tree = _tree_filter(request)
    today = timezone.localdate()
    periods = selectors.entry_periods(
        node, today=today, fiscal_start_month=membership.organisation.fiscal_year_start_month
    )
    form = ActualForm(
        request.POST,
        prefix=f"kpi{node.pk}",
        node=node,
        periods=periods,
        locked=actuals.locked_months(membership.organisation_id),
        fiscal_start_month=membership.organisation.fiscal_year_start_month,
    )
    if form.is_valid():
        entry = actuals.Entry(
            node=node,
            period=form.cleaned_data["period"],
            value=form.cleaned_data["value"],
            note=form.cleaned_data["note"],
        )
        try:
            actuals.measurement_upsert(membership=membership, entry=entry, today=today)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _saved_message(node, entry))
            page = _actuals_page_of(membership, node, tree)
            return redirect(_actuals_url("goals:my_actuals", tree, f"#kpi-{node.pk}", page=page))
    page = _actuals_page_of(membership, node, tree)
    return _my_actuals_page(request, tree=tree, page_number=page, bound=form, bound_node=node)


def _saved_message(node: Node, entry: actuals.Entry) -> str:
    # With eager Celery (no broker) the rollup has already run on commit; with a broker the
    # tree is stale until the worker is done, and the message says so.
    status, stale = storage.period_status(node, entry.period)
    saved = _("Saved %(value)s for %(period)s.") % {
        "value": format_quantity(entry.value, node.unit, get_language() or "en", entered=True),
        "period": period_label(entry.period, node.frequency),
    }
    if stale:
        return saved + " " + _("The status is being recomputed; reload in a moment.")
    return saved + " " + _("Status: %(status)s.") % {"status": Status(status).label}


@actuals_required
def actuals_grid(request: HttpRequest) -> HttpResponse:
    """Several KPIs × their last periods in one form, saved all or nothing."""
    membership = request.membership
    tree = _tree_filter(request)
    today = timezone.localdate()
    fiscal = membership.organisation.fiscal_year_start_month
    nodes = list(actuals.entry_nodes(membership, tree_id=tree.tree_id if tree else None))
    periods = {
        n.pk: selectors.entry_periods(n, today=today, fiscal_start_month=fiscal)[:GRID_PERIODS][::-1] for n in nodes
    }
    first = min((p[0] for p in periods.values() if p), default=today)
    measurements = selectors.measurements_since([n.pk for n in nodes], since=first)
    locked = actuals.locked_months(membership.organisation_id)
    rows = [row for row in grid_rows(nodes, periods, measurements, locked, fiscal_start_month=fiscal) if any(row.cells)]
    form = ActualsGridForm(request.POST or None, rows=rows)
    if request.method == "POST" and not form.is_valid():
        # Check the cells that are numbers too, so every bad cell is marked in one round.
        changed = form.changed_cells()
        entries = [actuals.Entry(node=cell.node, period=cell.period, value=v, note=n) for cell, v, n in changed]
        form.add_row_errors(changed, actuals.measurements_check(membership=membership, entries=entries, today=today))
    elif request.method == "POST":
        changed = form.changed_cells()
        if not changed:
            messages.info(request, _("Nothing to save: no value was changed."))
            return redirect(_actuals_url("goals:actuals_grid", tree))
        entries = [actuals.Entry(node=cell.node, period=cell.period, value=v, note=n) for cell, v, n in changed]
        try:
            actuals.measurements_upsert_bulk(membership=membership, entries=entries, today=today)
        except actuals.RowErrors as error:
            form.add_row_errors(changed, error.rows)
        else:
            messages.success(
                request,
                ngettext("Saved %(count)d actual.", "Saved %(count)d actuals.", len(entries)) % {"count": len(entries)},
            )
            return redirect(_actuals_url("goals:actuals_grid", tree))
    width = max((len(row.cells) for row in rows), default=0)
    headers = [_grid_header(width - 1 - i) for i in range(width)]
    return render(
        request,
        "goals/actuals_grid.html",
        {
            "form": form,
            "rows": [
                (row, [(cell, form[cell.name] if cell else None) for cell in row.cells], form[row.note_name])
                for row in rows
            ],
            "headers": headers,
            "tree": tree,
            "trees": selectors.trees_of(membership) if builds_trees(membership) else [],
            "query": f"?tree={tree.pk}" if tree else "",
        },
    )


def _grid_header(periods_ago: int) -> str:
    if periods_ago == 0:
        return _("Current period")
    if periods_ago == 1:
        return _("Previous period")
    return _("%(count)d periods ago") % {"count": periods_ago}


LOCKABLE_MONTHS = 24


@manager_required
def period_locks(request: HttpRequest) -> HttpResponse:
    """Close a month so its actuals can no longer change, or reopen one with a reason."""
    membership = request.membership
    today = timezone.localdate()
    this_month = today.replace(day=1)
    months = [add_months(this_month, -i) for i in range(LOCKABLE_MONTHS)]
    locked = actuals.locked_months(membership.organisation_id)
    reopenable = sorted(locked, reverse=True)
    lock_form = MonthForm(prefix="lock", months=months, locked=locked, initial={"month": add_months(this_month, -1)})
    reopen_form = MonthForm(prefix="reopen", months=reopenable, locked=frozenset(), reopen=True)
    action = request.POST.get("action") if request.method == "POST" else None
    if action in ("lock", "reopen"):
        if action == "lock":
            form = lock_form = MonthForm(request.POST, prefix="lock", months=months, locked=locked)
            service = actuals.period_lock
        else:
            form = reopen_form = MonthForm(
                request.POST, prefix="reopen", months=reopenable, locked=frozenset(), reopen=True
            )
            service = actuals.period_reopen
        if form.is_valid():
            month = form.cleaned_data["month"]
            try:
                service(membership=membership, month=month, reason=form.cleaned_data["reason"], today=today)
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                done = _("%(month)s is locked.") if action == "lock" else _("%(month)s is open again.")
                messages.success(request, done % {"month": month_label(month)})
                return redirect("goals:period_locks")
    return render(
        request,
        "goals/period_locks.html",
        {
            "lock_form": lock_form,
            "reopen_form": reopen_form,
            "can_reopen": bool(reopenable),
            "locks": selectors.period_locks_in_force(membership),
            "history": selectors.period_lock_history(membership),
        },
    )


@manager_required
def organisation_settings(request: HttpRequest) -> HttpResponse:
    """The organisation's first fiscal month and who sees whose attainment."""
    organisation = request.membership.organisation
    form = OrganisationSettingsForm(request.POST or None, instance=organisation)
    if request.method == "POST" and form.is_valid():
        try:
            services.organisation_update(organisation=organisation, data=form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("The organisation's settings are saved."))
            return redirect("goals:organisation_settings")
    return render(request, "goals/organisation_settings.html", {"form": form, "organisation": organisation})
