"""Reads of the goals domain. Every read is scoped to the caller's organisation."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import Lag
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from goals import smart
from goals.models import (
    Kind,
    Measurement,
    Membership,
    Node,
    PeriodLock,
    RollupState,
)
from goals.periods import (
    inherited_window,
    period_start,
    period_starts,
    tree_windows,
    window_fits,
)
from goals.rollup import document, storage
from goals.rollup.plan import PlanCheck

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


def node_children(node: Node, *, include_archived: bool = False) -> list[Node]:
    """The node's children in tree order (active ones unless ``include_archived``)."""
    children = Node.objects.filter(parent_id=node.pk, organisation_id=node.organisation_id)
    if not include_archived:
        children = children.filter(is_archived=False)
    return list(children.select_related("owner").order_by("lft"))


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


@dataclass(frozen=True)
class FormulaScope:
    """The codes a formula node's formula is checked against (goals.smart.NodeContext)."""

    below: frozenset[str] = frozenset()
    above: frozenset[str] = frozenset()
    tree: frozenset[str] = frozenset()


def formula_scopes(
    items: Sequence[tuple[Node, Node | None]], *, whole_trees: Sequence[Node] | None = None
) -> list[FormulaScope]:
    """For each (node, parent) — the node saved or being created under ``parent`` — the codes
    under it, of it and above it, and in its whole tree; empty for a node without a formula.
    One query for them all (none if no node has a formula, or when ``whole_trees`` are the
    active nodes of their trees, already loaded)."""
    anchors = [(node if node.pk else parent) if node.value_source == "formula" else None for node, parent in items]
    tree_ids = {a.tree_id for a in anchors if a is not None and a.tree_id}
    trees: dict[int, tuple[list[int], list[tuple[int, int | None, int, str]]]] = {}
    if tree_ids:
        if whole_trees is not None:
            loaded = sorted(
                ((n.tree_id, n.pk, n.parent_id, n.lft, n.code) for n in whole_trees if n.tree_id in tree_ids),
                key=lambda row: (row[0], row[3]),
            )
        else:
            loaded = (
                Node.objects.filter(tree_id__in=tree_ids, is_archived=False)
                .order_by("tree_id", "lft")
                .values_list("tree_id", "pk", "parent_id", "lft", "code")
            )
        rows: dict[int, list[tuple[int, int | None, int, str]]] = defaultdict(list)
        for tree_id, pk, parent_id, lft, code in loaded:
            rows[tree_id].append((pk, parent_id, lft, code))
        # Per tree, once: its rows' lft (sorted), the rows, each row's parent and code by pk, and its codes.
        trees = {
            tree_id: (
                [r[2] for r in found],
                found,
                {pk: (parent_id, code) for pk, parent_id, _lft, code in found},
                frozenset(r[3] for r in found),
            )
            for tree_id, found in rows.items()
        }
    scopes = []
    for (node, _parent), anchor in zip(items, anchors, strict=True):
        if anchor is None:
            scopes.append(FormulaScope())
            continue
        lefts, rows, by_pk, codes = trees.get(anchor.tree_id, ([], [], {}, frozenset()))
        # The tree's codes but the node's stored one (it may be changing it).
        tree = codes - {by_pk[node.pk][1]} if node.pk in by_pk else set(codes)
        below: set[str] = set()
        if node.pk:
            below = {code for _pk, _p, _l, code in rows[bisect_right(lefts, node.lft) : bisect_left(lefts, node.rght)]}
        above = {node.code} if node.code else set()
        up = node.parent_id if node.pk else (anchor.pk if anchor is not node else None)
        while up is not None and up in by_pk:
            up, code = by_pk[up]
            above.add(code)
        scopes.append(FormulaScope(frozenset(below), frozenset(above), frozenset(tree | above)))
    return scopes


def smart_context(
    node: Node,
    *,
    parent: Node | None,
    children: Sequence[Node],
    scope: FormulaScope | None = None,
    sibling_kpis: int = 0,
    history: tuple[Decimal, ...] = (),
    inherited: tuple[date | None, date | None] = (None, None),
    dependant_windows: tuple[tuple[str, str, date | None, date | None], ...] = (),
    plan: PlanCheck | None = None,
) -> smart.NodeContext:
    """Build the SMART context from already-loaded neighbours (no queries).

    ``sibling_kpis``: how many of the parent's other active children are KPIs. A count, not the
    siblings themselves: the one rule about siblings (at most three KPIs under a KSF) needs no
    more, and a KSF may have thousands of children. ``inherited`` is the (start, deadline) its
    ancestors give it and ``dependant_windows`` its descendants' windows that follow its dates
    (see :func:`window_context`).
    """
    if node.kind == Kind.KSF:
        kpis = sum(1 for c in children if c.kind == Kind.KPI)
    elif node.kind == Kind.KPI and parent is not None and parent.kind == Kind.KSF:
        kpis = 1 + sibling_kpis
    else:
        kpis = 0
    return smart.NodeContext(
        parent_kind=parent.kind if parent else None,
        parent_value_source=parent.value_source if parent else None,
        parent_unit=parent.unit if parent else "",
        parent_deadline=parent.deadline if parent else None,
        descendant_codes=scope.below if scope else frozenset(),
        above_codes=scope.above if scope else frozenset(),
        tree_codes=scope.tree if scope else frozenset(),
        child_units=tuple(c.unit for c in children),
        kpis_under_ksf=kpis,
        history=history,
        inherited_start=inherited[0],
        inherited_deadline=inherited[1],
        dependant_windows=dependant_windows,
        plan=plan,
    )


def window_context(
    node: Node, *, parent: Node | None
) -> tuple[tuple[date | None, date | None], tuple[tuple[str, str, date | None, date | None], ...]]:
    """The window ``node`` inherits under ``parent`` and the windows of its active descendants
    that take a date from it, with the node's dates as they are being saved (two queries)."""
    inherited: tuple[date | None, date | None] = (None, None)
    if parent is not None and parent.pk:
        inherited = storage.node_window(parent)
    if not node.pk:
        return inherited, ()
    windows = {node.pk: inherited_window(node.start_date, node.deadline, inherited)}
    dependants = []
    rows = (
        node.get_descendants()
        .filter(is_archived=False)
        .order_by("lft")
        .values_list("pk", "parent_id", "start_date", "deadline", "code", "frequency")
    )
    for pk, parent_id, start, deadline, code, frequency in rows:
        windows[pk] = inherited_window(start, deadline, windows.get(parent_id, (None, None)))
        if start is None or deadline is None:
            dependants.append((code, frequency, *windows[pk]))
    return inherited, tuple(dependants)


def node_smart_context(node: Node, *, parent: Node | None) -> smart.NodeContext:
    """SMART context for a single (possibly unsaved or edited) node, read from the database.

    The siblings are counted, not loaded: adding a child to a wide KSF must not read every child.
    """
    children: list[Node] = []
    history: tuple[Decimal, ...] = ()
    if node.pk:
        children = list(Node.objects.filter(parent_id=node.pk, is_archived=False))
        history = history_by_node([node.pk]).get(node.pk, ())
    sibling_kpis = 0
    if parent is not None and parent.pk and node.kind == Kind.KPI and parent.kind == Kind.KSF:
        others = Node.objects.filter(parent_id=parent.pk, is_archived=False, kind=Kind.KPI).exclude(pk=node.pk)
        sibling_kpis = others.count()
    inherited, dependants = window_context(node, parent=parent)
    return smart_context(
        node,
        parent=parent,
        children=children,
        scope=formula_scopes([(node, parent)])[0],
        sibling_kpis=sibling_kpis,
        history=history,
        inherited=inherited,
        dependant_windows=dependants,
        plan=storage.nodes_plan_checks([node]).get(node.pk),
    )


def tree_smart_reports(
    nodes: Sequence[Node], *, plans: Mapping[int, PlanCheck] | None = None
) -> dict[int, smart.SmartReport]:
    """SMART reports for the active nodes of whole trees, with one extra query (the
    actuals' history), and when it holds computed nodes up to three more for their plan checks
    (goals.rollup.storage.nodes_plan_checks: their overrides, the organisation, and ancestors
    the list lacks).

    Linear in the number of nodes: each parent's KPIs are counted once, not once per child
    (a KSF with 2,000 children made that four million steps).
    """
    by_id = {n.pk: n for n in nodes}
    children: dict[int | None, list[Node]] = defaultdict(list)
    kpis_under: Counter[int | None] = Counter()
    for n in nodes:
        children[n.parent_id].append(n)
        if n.kind == Kind.KPI:
            kpis_under[n.parent_id] += 1
    history = history_by_node(list(by_id))
    # Each node's window as the rollup resolves it (nodes come in tree order, parents first).
    windows = tree_windows((n.pk, n.parent_id, n.start_date, n.deadline) for n in nodes)
    scopes = dict(
        zip(by_id, formula_scopes([(n, by_id.get(n.parent_id)) for n in nodes], whole_trees=nodes), strict=True)
    )
    if plans is None:
        plans = storage.nodes_plan_checks(nodes, loaded=nodes)
    reports = {}
    for n in nodes:
        parent = by_id.get(n.parent_id)
        context = smart_context(
            n,
            parent=parent,
            children=children[n.pk],
            scope=scopes[n.pk],
            sibling_kpis=kpis_under[n.parent_id] - (n.kind == Kind.KPI) if parent else 0,
            history=history.get(n.pk, ()),
            inherited=windows.get(n.parent_id, (None, None)),
            plan=plans.get(n.pk),
        )
        reports[n.pk] = smart.check_node(n, context)
    return reports


def nodes_smart_reports(
    nodes: Sequence[Node], *, include_archived: bool = False, plans: Mapping[int, PlanCheck] | None = None
) -> dict[int, smart.SmartReport]:
    """SMART reports of some nodes, each checked within its tree as :func:`tree_smart_reports`
    checks the tree's active nodes (all of them with ``include_archived``) plus these nodes —
    reading only their parents, their children and a count of their sibling KPIs.

    At most three queries whatever the size of the tree (and up to three more for the plan
    checks of computed nodes, storage.nodes_plan_checks): reading one KPI under a KSF of 2,000
    children loaded and checked the whole tree before.
    """
    if not nodes:
        return {}
    wanted = {n.pk: n for n in nodes}
    ids = list(wanted)
    parent_ids = {n.parent_id for n in nodes if n.parent_id is not None} - set(wanted)
    parents: dict[int, Node] = dict(wanted)
    children: dict[int, list[Node]] = defaultdict(list)
    neighbours = Node.objects.filter(Q(pk__in=list(parent_ids)) | Q(parent_id__in=ids)).exclude(pk__in=ids)
    for other in neighbours if include_archived else neighbours.filter(is_archived=False):
        if other.pk in parent_ids:
            parents[other.pk] = other
        if other.parent_id in wanted:
            children[other.parent_id].append(other)
    for n in nodes:
        if n.parent_id in wanted:
            children[n.parent_id].append(n)
    # The rule "at most three KPIs under a KSF" needs the number of a KPI's sibling KPIs. The
    # children of the nodes asked for are loaded above; those of other KSFs are counted.
    kpis_under: Counter[int] = Counter(
        {p: sum(1 for child in children[p] if child.kind == Kind.KPI) for p in wanted if wanted[p].kind == Kind.KSF}
    )
    outside = {
        n.parent_id
        for n in nodes
        if n.kind == Kind.KPI
        and n.parent_id in parent_ids
        and n.parent_id in parents
        and parents[n.parent_id].kind == Kind.KSF
    }
    if outside:
        counted = Node.objects.filter(parent_id__in=list(outside), kind=Kind.KPI).exclude(pk__in=ids)
        if not include_archived:
            counted = counted.filter(is_archived=False)
        kpis_under.update(dict(counted.order_by().values_list("parent_id").annotate(Count("pk"))))
        kpis_under.update(n.parent_id for n in nodes if n.kind == Kind.KPI and n.parent_id in outside)
    history = history_by_node(ids)
    windows = storage.nodes_windows([p for p in parents.values() if p.pk in parent_ids or p.pk in wanted])
    scopes = dict(zip(ids, formula_scopes([(n, parents.get(n.parent_id)) for n in nodes]), strict=True))
    if plans is None:
        plans = storage.nodes_plan_checks(nodes)
    reports = {}
    for n in nodes:
        parent = parents.get(n.parent_id) if n.parent_id is not None else None
        context = smart_context(
            n,
            parent=parent,
            children=children[n.pk],
            scope=scopes[n.pk],
            sibling_kpis=kpis_under[n.parent_id] - (n.kind == Kind.KPI) if parent else 0,
            history=history.get(n.pk, ()),
            inherited=windows.get(n.parent_id, (None, None)),
            plan=plans.get(n.pk),
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
    field: str = ""


@dataclass
class NodeChange:
    when: object
    who: object
    reason: str
    changes: list[FieldChange]
    reason_code: str = ""


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
    # A node inserted in bulk (generate_tree) has no history yet.
    for newer, older in zip(records, [*records[1:], None][: len(records)], strict=True):
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
                field=c.field,
            )
            for c in delta
            if c.field not in ("archived_at",)
        ]
        out.append(
            NodeChange(
                when=record.history_date,
                who=record.history_user,
                reason=_CHANGE_REASONS.get(
                    record.history_change_reason or "",
                    record.history_change_reason or record.get_history_type_display(),
                ),
                changes=fields,
                reason_code=record.history_change_reason or "",
            )
        )
    return out


@dataclass(frozen=True)
class RollupFailure:
    """The last run of a tree's rollup raised (goals.tasks.rollup_tree): when and why."""

    root: Node
    failed_at: object
    reason: str


def rollup_failures(organisation_id: int, tree_ids: Sequence[int]) -> list[RollupFailure]:
    """The trees among ``tree_ids`` whose last rollup failed, in tree order, in one query."""
    states = (
        RollupState.objects.filter(
            root__organisation_id=organisation_id, root__tree_id__in=list(tree_ids), failed_at__isnull=False
        )
        .select_related("root")
        .order_by("root__tree_id")
    )
    return [RollupFailure(state.root, state.failed_at, state.failure) for state in states]


def rollup_failures_seen(membership, tree_ids: Sequence[int]) -> list[RollupFailure]:
    """:func:`rollup_failures` as a page shows them: to managers only (who can fix the cause)."""
    if not membership.can_edit_trees:
        return []
    return rollup_failures(membership.organisation_id, tree_ids)


def child_kind(parent: Node) -> str:
    """The kind of a node added under ``parent``: KGI → KSF → KPI → sub-KPI."""
    return {Kind.KGI: Kind.KSF, Kind.KSF: Kind.KPI}.get(parent.kind, Kind.SUB_KPI)


def measurement_list(
    *,
    membership: Membership,
    node: Node | None = None,
    tree: Node | None = None,
    first: date | None = None,
    last: date | None = None,
) -> QuerySet[Measurement]:
    """The organisation's actuals in tree order, optionally of one node or tree and a period range."""
    measurements = Measurement.objects.filter(node__organisation_id=membership.organisation_id)
    if node is not None:
        measurements = measurements.filter(node=node)
    if tree is not None:
        measurements = measurements.filter(node__tree_id=tree.tree_id)
    if first is not None:
        measurements = measurements.filter(period_start__gte=first)
    if last is not None:
        measurements = measurements.filter(period_start__lte=last)
    return measurements.order_by("node__tree_id", "node__lft", "period_start")


def measurement_get(membership: Membership, pk: int) -> Measurement:
    """The actual, or 404 when it does not exist *or belongs to another organisation*."""
    try:
        return Measurement.objects.select_related("node").get(node__organisation_id=membership.organisation_id, pk=pk)
    except (Measurement.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def measurement_exists(*, node: Node, period: date) -> bool:
    return Measurement.objects.filter(node=node, period_start=period).exists()


# --- value history: who entered, replaced or removed which actual, and when ------------------------


class ValueChangeKind(models.TextChoices):
    CREATED = "created", _("Entered")
    REPLACED = "replaced", _("Replaced")
    DELETED = "deleted", _("Deleted")


_VALUE_CHANGE_KINDS = {"+": ValueChangeKind.CREATED, "~": ValueChangeKind.REPLACED, "-": ValueChangeKind.DELETED}
# The node page shows the latest changes of a node's actuals; the API pages through all of them.
VALUE_HISTORY_LIMIT = 50


@dataclass(frozen=True)
class ValueChange:
    """One recorded change of an actual: the value before and after it, and the note it then had."""

    measurement_id: int
    node_id: int
    period: date
    kind: ValueChangeKind
    when: datetime
    who: object  # the user, or None (an import without a user, a deleted account)
    before: Decimal | None  # None when the actual was first entered
    after: Decimal | None  # None when it was removed
    note: str

    @property
    def who_id(self) -> int | None:
        return getattr(self.who, "pk", None)

    @property
    def who_name(self) -> str:
        """Full name, else login name; empty for nobody (as the pages' ``person`` filter)."""
        if self.who is None:
            return ""
        return self.who.get_full_name() or self.who.username


def _value_history(records: QuerySet) -> QuerySet:
    """Historical actuals with the value each one replaced (``before``), newest first.

    The previous value is the previous record *of the same actual*, computed by the database
    over every record the filter keeps, before a page or a limit cuts them: the first change on
    a page still knows its value before.
    """
    previous = Window(
        Lag("value"),
        partition_by=[F("id")],
        order_by=[F("history_date").asc(), F("history_id").asc()],
    )
    return records.annotate(before=previous).select_related("history_user").order_by("-history_date", "-history_id")


def value_changes(records) -> list[ValueChange]:
    """Rows of :func:`measurement_value_history` / :func:`node_value_history` (or a page of them)."""
    out = []
    for record in records:
        kind = _VALUE_CHANGE_KINDS[record.history_type]
        out.append(
            ValueChange(
                measurement_id=record.id,
                node_id=record.node_id,
                period=record.period_start,
                kind=kind,
                when=record.history_date,
                who=record.history_user,
                before=record.value if kind == ValueChangeKind.DELETED else record.before,
                after=None if kind == ValueChangeKind.DELETED else record.value,
                note=record.note,
            )
        )
    return out


def measurement_value_history(measurement: Measurement) -> QuerySet:
    """Every change of one actual, newest first (turn into rows with :func:`value_changes`)."""
    return _value_history(Measurement.history.filter(id=measurement.pk))


def node_value_history(node: Node, *, period: date | None = None) -> QuerySet:
    """Every change of the node's actuals, newest first; with ``period`` (any day of one of the
    node's periods) only that period's actual. Actuals removed since stay in it."""
    records = Measurement.history.filter(node_id=node.pk)
    if period is not None:
        start = period_start(period, node.frequency, node.organisation.fiscal_year_start_month)
        records = records.filter(period_start=start)
    return _value_history(records)


def node_value_changes(node: Node, *, limit: int = VALUE_HISTORY_LIMIT) -> tuple[list[ValueChange], bool]:
    """The node page's "Value history": the latest ``limit`` changes, and whether there are more."""
    rows = value_changes(node_value_history(node)[: limit + 1])
    return rows[:limit], len(rows) > limit


# --- actuals: the "My KPIs" page, the grid and the month locks ---------------------------------

SPARKLINE_PERIODS = 12


@dataclass
class ActualsRow:
    """One KPI on the "My KPIs" page: where it stands in the current period and lately."""

    node: Node
    period: date | None  # the period preselected in the form (None before the KPI starts)
    periods: list[date]  # every period open for entry up to today, newest first
    last: Measurement | None  # the actual of the latest period that has one
    current: Measurement | None  # the actual of ``period``, if entered
    target: float | None
    status: str
    attainment: float | None
    recent: list[tuple[date, Decimal | None, float | None]]  # (period, actual, target), oldest first
    stale: bool
    tree_name: str = ""


def entry_periods(node: Node, *, today: date, fiscal_start_month: int) -> list[date]:
    """The node's periods from its start up to today (and its deadline), newest first."""
    if not window_fits(node.start_date, node.deadline, node.frequency):
        # A window SMART refuses (written before the rule): nothing to enter until it is fixed;
        # the rollup reports the node as an error.
        return []
    current = period_start(today, node.frequency, fiscal_start_month)
    last = min(current, node.deadline) if node.deadline else current
    if node.start_date:
        first = node.start_date
    else:
        # Without a start date the window is open: offer about a year of periods.
        first = date.fromordinal(max(1, today.toordinal() - 366))
    starts = period_starts(first, last, node.frequency, fiscal_start_month)
    return starts[::-1]


def actuals_rows(membership: Membership, nodes: Sequence[Node], *, today: date) -> list[ActualsRow]:
    """Rows for the "My KPIs" page, in a fixed number of queries however many KPIs there are."""
    fiscal = membership.organisation.fiscal_year_start_month
    ids = [n.pk for n in nodes]
    measurements: dict[int, dict[date, Measurement]] = defaultdict(dict)
    for m in Measurement.objects.filter(node_id__in=ids).order_by("period_start"):
        measurements[m.node_id][m.period_start] = m
    series = storage.nodes_documents(ids)
    stale_trees = set(
        RollupState.objects.filter(
            stale_since__isnull=False, root__organisation_id=membership.organisation_id
        ).values_list("root__tree_id", flat=True)
    )
    roots = dict(
        Node.objects.filter(organisation_id=membership.organisation_id, level=0).values_list("tree_id", "name")
    )
    periods = {n.pk: entry_periods(n, today=today, fiscal_start_month=fiscal) for n in nodes}
    recent = {n.pk: periods[n.pk][:SPARKLINE_PERIODS][::-1] for n in nodes}
    targets = storage.period_targets(
        [(n, p) for n in nodes for p in recent[n.pk]], membership.organisation, today=today
    )
    rows = []
    for node in nodes:
        own = measurements.get(node.pk, {})
        period = periods[node.pk][0] if periods[node.pk] else None
        status, attainment = document.status_at(series.get(node.pk, {}), period) if period else ("no_data", None)
        rows.append(
            ActualsRow(
                node=node,
                period=period,
                periods=periods[node.pk],
                last=own[max(own)] if own else None,
                current=own.get(period) if period else None,
                target=targets.get((node.pk, period)) if period else None,
                status=status,
                attainment=attainment,
                recent=[(p, own[p].value if p in own else None, targets.get((node.pk, p))) for p in recent[node.pk]],
                stale=node.tree_id in stale_trees,
                tree_name=roots.get(node.tree_id, ""),
            )
        )
    return rows


def period_lock_history(membership: Membership, *, limit: int = 100) -> list:
    """Every lock and reopening of the organisation's months, newest first, with who and why."""
    return list(
        PeriodLock.history.filter(organisation_id=membership.organisation_id)
        .select_related("history_user")
        .order_by("-history_date", "-history_id")[:limit]
    )


def measurements_since(node_ids: Sequence[int], *, since: date) -> dict[tuple[int, date], Measurement]:
    """The actuals of the nodes from ``since`` on, by (node id, period)."""
    return {
        (m.node_id, m.period_start): m
        for m in Measurement.objects.filter(node_id__in=list(node_ids), period_start__gte=since)
    }


def period_locks_in_force(membership: Membership) -> list[PeriodLock]:
    """The organisation's locked months, newest first."""
    return list(
        PeriodLock.objects.filter(organisation_id=membership.organisation_id, is_locked=True)
        .select_related("changed_by")
        .order_by("-month")
    )


def reported_by(user_id: int, node_ids: Sequence[int]) -> frozenset[int]:
    """Which of the nodes the user enters actuals for as a reporter, in one query."""
    through = Node.reporters.through
    return frozenset(
        through.objects.filter(user_id=user_id, node_id__in=list(node_ids)).values_list("node_id", flat=True)
    )
