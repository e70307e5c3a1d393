"""Reads of the goals domain. Every read is scoped to the caller's organisation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from goals import rollup, smart
from goals.models import Kind, Measurement, Membership, Node, RollupState, TargetOverride
from goals.periods import period_end, period_start, period_starts

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


def _rollup_spec(node: Node) -> rollup.NodeSpec:
    def number(value):
        return None if value is None else float(value)

    return rollup.NodeSpec(
        id=node.pk,
        parent_id=node.parent_id,
        code=node.code,
        kind=node.kind,
        unit=node.unit,
        direction=node.direction,
        value_source=node.value_source,
        formula=node.formula,
        time_aggregation=node.time_aggregation,
        frequency=node.frequency,
        weight=float(node.weight),
        baseline=number(node.baseline_value),
        target=number(node.target_value),
        target_min=number(node.target_min),
        target_max=number(node.target_max),
        target_scope=node.target_scope,
        start=node.start_date,
        deadline=node.deadline,
        at_risk_below=float(node.at_risk_below),
        off_track_below=float(node.off_track_below),
        status_rule=node.status_rule,
    )


def tree_engine(root: Node, *, as_of: date | None = None) -> tuple[rollup.TreeRollup, list[Node]]:
    """The rollup engine loaded with a tree's active nodes, actuals and target overrides."""
    nodes = list(Node.objects.filter(tree_id=root.tree_id, is_archived=False).order_by("lft"))
    ids = [n.pk for n in nodes]
    points: dict[int, dict[date, float]] = defaultdict(dict)
    for node_id, period, value in Measurement.objects.filter(node_id__in=ids).values_list(
        "node_id", "period_start", "value"
    ):
        points[node_id][period] = float(value)
    overrides: dict[int, dict[date, float]] = defaultdict(dict)
    for node_id, period, value in TargetOverride.objects.filter(node_id__in=ids).values_list(
        "node_id", "period_start", "value"
    ):
        overrides[node_id][period] = float(value)
    engine = rollup.TreeRollup(
        [_rollup_spec(n) for n in nodes],
        points,
        as_of=as_of or timezone.localdate(),
        fiscal_start_month=root.organisation.fiscal_year_start_month,
        overrides=overrides,
    )
    return engine, nodes


def tree_is_stale(node: Node) -> bool:
    """True while a rollup of the node's tree is pending (results may lag the actuals)."""
    return RollupState.objects.filter(root__tree_id=node.tree_id, stale_since__isnull=False).exists()


def period_targets(pairs: Sequence[tuple[Node, date]], organisation) -> dict[tuple[int, date], float | None]:
    """The scheduled target of each (node, period), overrides included."""
    nodes = {node.pk: node for node, _ in pairs}
    overrides: dict[int, dict[date, float]] = defaultdict(dict)
    for node_id, period, value in TargetOverride.objects.filter(node_id__in=list(nodes)).values_list(
        "node_id", "period_start", "value"
    ):
        overrides[node_id][period] = float(value)
    engine = rollup.TreeRollup(
        [_rollup_spec(n) for n in nodes.values()],
        {},
        as_of=timezone.localdate(),
        fiscal_start_month=organisation.fiscal_year_start_month,
        overrides=overrides,
    )
    out = {}
    for node, period in pairs:
        target = engine.schedule(engine.specs[node.pk]).get(period)
        out[(node.pk, period)] = target.value if target is not None else None
    return out


REASONS = {
    "no_number": _("It has no number of its own."),
    "no_actual": _("No actual has been entered for this period."),
    "actual": _("Its own actuals over the period (%(aggregation)s of %(points)s)."),
    "formula_error": _("The formula cannot be computed: %(error)s"),
    "formula_missing": _("The formula lacks inputs: %(codes)s."),
    "formula": _("Computed with the formula %(formula)s from its children's values for the period."),
    "no_inputs": _("None of its %(children)s children has a value for the period."),
    "zero_weights": _("Its children's weights add up to zero."),
    "combined": _("The %(method)s of %(used)s children (%(absent)s without a value)."),
    "in_range": _("The value is inside the allowed range."),
    "out_of_range": _("The value is outside the allowed range."),
    "no_target": _("There is no target for the period."),
    "thresholds": _(
        "Attainment of the target to date: at risk below %(at_risk_below)s%%, off track below %(off_track_below)s%%."
    ),
    "no_child_data": _("None of its children has data for the period."),
    "worst_of_children": _("It takes the worst status of its children."),
    "weighted_children": _("It takes the weighted score of its children's attainment."),
}


def reason_text(reason: dict) -> str:
    template = REASONS.get(reason.get("code", ""))
    if template is None:
        return ""
    params = {k: v for k, v in reason.items() if k != "code"}
    try:
        return str(template) % params if params else str(template).replace("%%", "%")
    except (KeyError, TypeError, ValueError):
        return str(template)


def _assessment_row(start: date, a: rollup.Assessment) -> dict:
    return {
        "period_start": start,
        "actual": a.actual,
        "target": a.target.value,
        "target_min": a.target.low,
        "target_max": a.target.high,
        "attainment": None if a.attainment is None else round(a.attainment, 2),
        "gap": a.gap,
        "status": a.status,
        "missing_inputs": a.missing,
        "reason": reason_text(a.reason.as_dict()),
    }


def node_progress(node: Node, *, first: date, last: date, as_of: date | None = None) -> dict:
    """Per period of the node (and over the whole range) its actual, target, attainment, gap,
    status and missing inputs; ``stale`` while a rollup is pending."""
    engine, _nodes = tree_engine(node.get_root(), as_of=as_of)
    spec = engine.specs[node.pk]
    fiscal = node.organisation.fiscal_year_start_month
    periods = [
        _assessment_row(start, engine.assess(node.pk, start, period_end(start, spec.frequency)))
        for start in period_starts(first, last, spec.frequency, fiscal)
    ]
    whole = _assessment_row(first, engine.assess(node.pk, first, last))
    whole.pop("period_start")
    return {
        "node": node.pk,
        "from": first,
        "to": last,
        "periods": periods,
        "to_date": whole,
        "stale": tree_is_stale(node),
    }


def node_explain(node: Node, *, period: date, as_of: date | None = None) -> dict:
    """Why the node has its status in the period that contains ``period``: inputs and rule."""
    engine, nodes = tree_engine(node.get_root(), as_of=as_of)
    by_id = {n.pk: n for n in nodes}
    spec = engine.specs[node.pk]
    start = period_start(period, spec.frequency, node.organisation.fiscal_year_start_month)
    assessment = engine.assess(node.pk, start, period_end(start, spec.frequency))
    row = _assessment_row(start, assessment)
    inputs = []
    for input_id, value, status in assessment.inputs:
        if input_id == node.pk:
            continue
        child = by_id[input_id]
        inputs.append(
            {
                "node": child.pk,
                "code": child.code,
                "name": child.name,
                "unit": child.unit,
                "value": value,
                "status": status,
            }
        )
    row["inputs"] = inputs
    row["rule"] = row.pop("reason")
    row["value_source"] = node.value_source
    row["stale"] = tree_is_stale(node)
    return row
