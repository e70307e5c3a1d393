from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from goals import selectors, services, smart
from goals.access import manager_required, membership_required
from goals.forms import LibraryPickForm, MoveForm, NodeForm, TreeStartForm
from goals.library import KPI_LIBRARY_BY_KEY, TREE_TEMPLATES
from goals.models import Kind, Node
from goals.periods import fiscal_year_bounds


@dataclass
class Box:
    """A node in the tree diagram, with its SMART report and its children."""

    node: Node
    report: smart.SmartReport
    children: list[Box] = field(default_factory=list)


def _outline(nodes: list[Node], reports: dict[int, smart.SmartReport]) -> list[Box]:
    boxes = {n.pk: Box(n, reports[n.pk]) for n in nodes}
    roots = []
    for n in nodes:
        parent = boxes.get(n.parent_id)
        (parent.children if parent else roots).append(boxes[n.pk])
    return roots


def _child_kind(parent: Node) -> str:
    return {Kind.KGI: Kind.KSF, Kind.KSF: Kind.KPI}.get(parent.kind, Kind.SUB_KPI)


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
    reports = selectors.tree_smart_reports(nodes)
    summary = smart.summarise_tree(nodes, list(reports.values()))
    return render(
        request,
        "goals/tree_detail.html",
        {
            "root": root,
            "outline": _outline(nodes, reports),
            "summary": summary,
            "show_archived": show_archived,
            "can_edit": request.membership.can_edit_trees,
        },
    )


@membership_required
def node_detail(request: HttpRequest, pk: int) -> HttpResponse:
    node = selectors.node_get(request.membership, pk)
    # SMART needs the node's neighbours (parent, siblings, children): check it within its tree,
    # exactly as the diagram and the API do.
    tree = selectors.tree_nodes(node.get_root(), include_archived=node.is_archived)
    reports = selectors.tree_smart_reports(tree)
    changes = selectors.node_changes(node)
    return render(
        request,
        "goals/node_detail.html",
        {
            "node": node,
            "report": reports[node.pk],
            "children": [n for n in tree if n.parent_id == node.pk],
            "child_reports": reports,
            "ancestors": [n for n in tree if n.lft < node.lft and n.rght > node.rght],
            "changes": changes,
            "can_edit": request.membership.can_edit_trees,
            "can_delete": services.node_can_delete(node),
            "child_kind_label": Kind(_child_kind(node)).label,
        },
    )


def _node_form_page(request, *, form, node, parent, kind, title, library_form=None):
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
        },
    )


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
    kind = _child_kind(parent)
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
    form = NodeForm(request.POST, instance=node, organisation=membership.organisation, kind=kind)
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
    return render(request, "goals/partials/smart_panel.html", {"report": report, "preview_errors": labelled})


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
