"""Reads of the goals domain. Every read is scoped to the caller's organisation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from goals import smart
from goals.models import Kind, Measurement, Membership, Node

_yes, _no = _("yes"), _("no")
# The services record why a node changed; these are the words shown for it.
_CHANGE_REASONS = {
    "created": _("Created"),
    "edited": _("Edited"),
    "moved": _("Moved"),
    "archived": _("Archived"),
    "restored": _("Restored"),
    "deleted": _("Deleted"),
}


def membership_for(user) -> Membership | None:
    if not user.is_authenticated:
        return None
    try:
        return Membership.objects.select_related("organisation").get(user=user)
    except Membership.DoesNotExist:
        return None


def nodes_of(membership: Membership) -> QuerySet[Node]:
    return Node.objects.filter(organisation_id=membership.organisation_id)


def node_get(membership: Membership, pk: int) -> Node:
    """The node, or 404 when it does not exist *or belongs to another organisation*."""
    try:
        return nodes_of(membership).select_related("owner", "parent").get(pk=pk)
    except (Node.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def trees_of(membership: Membership, *, include_archived: bool = False) -> QuerySet[Node]:
    roots = nodes_of(membership).filter(level=0).select_related("owner")
    if not include_archived:
        roots = roots.filter(is_archived=False)
    return roots.order_by("tree_id")


def tree_nodes(root: Node, *, include_archived: bool = False) -> list[Node]:
    """All nodes of ``root``'s tree in depth-first order, in one query."""
    nodes = Node.objects.filter(tree_id=root.tree_id, organisation_id=root.organisation_id)
    if not include_archived:
        nodes = nodes.filter(is_archived=False)
    return list(nodes.select_related("owner").order_by("lft"))


def subtree_nodes(node: Node, *, include_archived: bool = False) -> list[Node]:
    nodes = node.get_descendants(include_self=True).filter(organisation_id=node.organisation_id)
    if not include_archived:
        nodes = nodes.filter(is_archived=False)
    return list(nodes.select_related("owner").order_by("lft"))


def node_has_actuals(node: Node) -> bool:
    return Measurement.objects.filter(node=node).exists()


def history_by_node(node_ids: Sequence[int]) -> dict[int, tuple[Decimal, ...]]:
    rows = (
        Measurement.objects.filter(node_id__in=node_ids)
        .order_by("node_id", "period_start")
        .values_list("node_id", "value")
    )
    out: dict[int, list[Decimal]] = defaultdict(list)
    for node_id, value in rows:
        out[node_id].append(value)
    return {k: tuple(v) for k, v in out.items()}


def smart_context(
    node: Node,
    *,
    parent: Node | None,
    children: Sequence[Node],
    siblings: Sequence[Node],
    history: tuple[Decimal, ...] = (),
) -> smart.NodeContext:
    """Build the SMART context from already-loaded neighbours (no queries).

    ``siblings`` are the parent's other active children (excluding ``node``).
    """
    if node.kind == Kind.KSF:
        kpis = sum(1 for c in children if c.kind == Kind.KPI)
    elif node.kind == Kind.KPI and parent is not None and parent.kind == Kind.KSF:
        kpis = 1 + sum(1 for s in siblings if s.kind == Kind.KPI)
    else:
        kpis = 0
    return smart.NodeContext(
        parent_kind=parent.kind if parent else None,
        parent_value_source=parent.value_source if parent else None,
        parent_unit=parent.unit if parent else "",
        parent_deadline=parent.deadline if parent else None,
        child_codes=frozenset(c.code for c in children),
        child_units=tuple(c.unit for c in children),
        kpis_under_ksf=kpis,
        history=history,
    )


def node_smart_context(node: Node, *, parent: Node | None) -> smart.NodeContext:
    """SMART context for a single (possibly unsaved or edited) node, read from the database."""
    children: list[Node] = []
    history: tuple[Decimal, ...] = ()
    if node.pk:
        children = list(Node.objects.filter(parent_id=node.pk, is_archived=False))
        history = history_by_node([node.pk]).get(node.pk, ())
    siblings: list[Node] = []
    if parent is not None and parent.pk:
        siblings = list(Node.objects.filter(parent_id=parent.pk, is_archived=False).exclude(pk=node.pk))
    return smart_context(node, parent=parent, children=children, siblings=siblings, history=history)


def tree_smart_reports(nodes: Sequence[Node]) -> dict[int, smart.SmartReport]:
    """SMART reports for a list of nodes that forms whole subtrees, with one extra query."""
    by_id = {n.pk: n for n in nodes}
    children: dict[int | None, list[Node]] = defaultdict(list)
    for n in nodes:
        children[n.parent_id].append(n)
    history = history_by_node(list(by_id))
    reports = {}
    for n in nodes:
        parent = by_id.get(n.parent_id)
        siblings = [s for s in children[n.parent_id] if s.pk != n.pk] if parent else []
        context = smart_context(
            n,
            parent=parent,
            children=children[n.pk],
            siblings=siblings,
            history=history.get(n.pk, ()),
        )
        reports[n.pk] = smart.check_node(n, context)
    return reports


@dataclass
class TreeOverview:
    root: Node
    nodes: list[Node]
    reports: dict[int, smart.SmartReport]
    summary: smart.TreeSummary


def organisation_trees(membership: Membership) -> list[TreeOverview]:
    """Every active tree of the organisation with its SMART reports, in two queries."""
    nodes = list(nodes_of(membership).filter(is_archived=False).select_related("owner").order_by("tree_id", "lft"))
    reports = tree_smart_reports(nodes)
    by_tree: dict[int, list[Node]] = defaultdict(list)
    for n in nodes:
        by_tree[n.tree_id].append(n)
    out = []
    for members in by_tree.values():
        if members[0].level != 0:
            continue  # a subtree whose root is archived is not shown as a tree
        tree_reports = {n.pk: reports[n.pk] for n in members}
        out.append(
            TreeOverview(members[0], members, tree_reports, smart.summarise_tree(members, list(tree_reports.values())))
        )
    return out


@dataclass
class FieldChange:
    label: str
    old: str
    new: str


@dataclass
class NodeChange:
    when: object
    who: object
    reason: str
    changes: list[FieldChange]


def _display(field_name: str, value, users: dict) -> str:
    if value is None or value == "":
        return "—"
    if field_name == "owner":
        user = users.get(value)
        return (user.get_full_name() or user.username) if user else str(value)
    field = Node._meta.get_field(field_name)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return str(_yes) if value else str(_no)
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


def node_changes(node: Node, *, limit: int = 50) -> list[NodeChange]:
    """The node's recorded changes, newest first, with labels and before/after values."""
    records = list(node.history.select_related("history_user").order_by("-history_date", "-history_id")[: limit + 1])
    diffs = []
    owner_ids = set()
    for newer, older in zip(records, [*records[1:], None], strict=True):
        delta = newer.diff_against(older).changes if older is not None else []
        diffs.append((newer, delta))
        owner_ids |= {v for c in delta if c.field == "owner" for v in (c.old, c.new) if v}
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=owner_ids)}
    out = []
    for record, delta in diffs[:limit]:
        fields = [
            FieldChange(
                label=str(Node._meta.get_field(c.field).verbose_name),
                old=_display(c.field, c.old, users),
                new=_display(c.field, c.new, users),
            )
            for c in delta
            if c.field not in ("archived_at",)
        ]
        out.append(
            NodeChange(
                when=record.history_date,
                who=record.history_user,
                reason=_CHANGE_REASONS.get(record.history_change_reason or "", record.get_history_type_display()),
                changes=fields,
            )
        )
    return out
