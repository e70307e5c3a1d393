"""Writes to the goals domain. Every form, API call, admin action and command goes through here.

Integrity under concurrency: django-mptt computes the nested-set columns (lft, rght, tree_id)
from the values it reads, so two concurrent writers in one tree can corrupt it, and two
concurrent new roots can pick the same tree_id. Every write below therefore runs in a
transaction that first locks the organisation's row (``SELECT … FOR UPDATE``), re-reads the
nodes it touches under that lock, and — for a new root, whose tree_id is global — also takes a
database-wide advisory lock on PostgreSQL. SQLite serialises writers by itself (the settings
open transactions IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from goals import library, selectors, smart
from goals.models import (
    Kind,
    Measurement,
    Membership,
    Node,
    Organisation,
    TargetOverride,
)
from goals.rollup import jobs, storage

# Fields a caller may set on a node (kind and parent are fixed at creation; parent via move).
EDITABLE_FIELDS = (
    "name",
    "description",
    "code",
    "owner",
    "unit",
    "direction",
    "baseline_value",
    "target_value",
    "target_min",
    "target_max",
    "start_date",
    "deadline",
    "frequency",
    "indicator_type",
    "weight",
    "value_source",
    "formula",
    "time_aggregation",
    "rationale",
    "target_scope",
    "at_risk_below",
    "off_track_below",
    "status_rule",
)
_ROOT_LOCK_KEY = 0x6B7069  # "kpi": one advisory lock id for allocating new tree_ids


def _lock_organisation(organisation_id: int) -> Organisation:
    return Organisation.objects.select_for_update().get(pk=organisation_id)


def _lock_new_root() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ROOT_LOCK_KEY])


def _raise_for(report: smart.SmartReport, extra: Mapping[str, list[str]] | None = None) -> None:
    errors: dict[str, list[str]] = {}
    for field, messages in report.errors_by_field().items():
        errors.setdefault(field or NON_FIELD_ERRORS, []).extend(messages)
    for field, messages in (extra or {}).items():
        errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _code_errors(node: Node, tree_id: int | None) -> dict[str, list[str]]:
    if node.code and (problem := smart.formulas.code_problem(node.code)):
        return {"code": [problem]}
    if tree_id is None or not node.code:
        return {}
    taken = Node.objects.filter(tree_id=tree_id, code=node.code).exclude(pk=node.pk).exists()
    if taken:
        return {"code": [_("The code %(code)s is already used in this tree.") % {"code": node.code}]}
    return {}


def _owner_errors(node: Node, organisation_id: int) -> dict[str, list[str]]:
    if node.owner_id is None:
        return {}
    in_org = get_user_model().objects.filter(pk=node.owner_id, membership__organisation_id=organisation_id)
    if not in_org.exists():
        return {"owner": [_("The owner must be a member of your organisation.")]}
    return {}


def _apply(node: Node, data: Mapping[str, Any]) -> None:
    unknown = set(data) - set(EDITABLE_FIELDS) - {"reporters"}
    if unknown:
        raise ValidationError({k: [_("This field cannot be set here.")] for k in sorted(unknown)})
    for key, value in data.items():
        if key == "reporters":
            continue  # many-to-many: set after saving, see _set_reporters
        if key == "owner":
            node.owner_id = value.pk if value is not None else None
        else:
            setattr(node, key, value)
    for text_field in ("name", "description", "code", "unit", "formula", "rationale"):
        setattr(node, text_field, (getattr(node, text_field) or "").strip())


def _reporter_errors(data: Mapping[str, Any], organisation_id: int) -> dict[str, list[str]]:
    reporters = data.get("reporters") or []
    outside = [u for u in reporters if not Membership.objects.filter(user=u, organisation_id=organisation_id).exists()]
    if outside:
        return {"reporters": [_("Everyone who enters actuals must be a member of your organisation.")]}
    return {}


def _set_reporters(node: Node, data: Mapping[str, Any]) -> None:
    if "reporters" in data:
        node.reporters.set(data["reporters"] or [])


def _field_errors(node: Node) -> dict[str, list[str]]:
    try:
        node.full_clean(
            exclude=["parent", "organisation", "owner", "lft", "rght", "tree_id", "level"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as error:
        return error.message_dict
    return {}


def node_check(*, organisation: Organisation, parent: Node | None, node: Node) -> smart.SmartReport:
    """The SMART report for a (possibly unsaved) node, plus the other save-blocking errors.

    Raises ValidationError with messages per field when the node cannot be saved.
    """
    field_errors = _field_errors(node)
    if parent is not None and parent.organisation_id != organisation.pk:
        field_errors["parent"] = [_("Choose a parent in your organisation.")]
    if parent is not None and parent.is_archived:
        field_errors["parent"] = [_("The parent is archived; restore it first.")]
    tree_id = parent.tree_id if parent is not None else (node.tree_id if node.pk else None)
    field_errors.update(_code_errors(node, tree_id))
    field_errors.update(_owner_errors(node, organisation.pk))
    if field_errors:
        # Field-level problems first: SMART rules assume well-formed values.
        raise ValidationError(field_errors)
    report = smart.check_node(node, selectors.node_smart_context(node, parent=parent))
    _raise_for(report)
    return report


def node_preview(
    *,
    organisation: Organisation,
    parent: Node | None,
    node: Node | None,
    kind: str,
    data: Mapping[str, Any],
) -> tuple[smart.SmartReport, dict[str, list[str]]]:
    """Check a node as it would be saved, without saving: for the live SMART panel.

    ``data`` has passed the form's type checks. Returns the SMART report and the messages of
    everything that would block saving.
    """
    if node is not None:
        candidate = Node.objects.get(pk=node.pk)
    else:
        candidate = Node(organisation=organisation, parent=parent, kind=kind)
    _apply(candidate, data)
    try:
        node_check(organisation=organisation, parent=parent, node=candidate)
    except ValidationError as error:
        errors = error.message_dict
    else:
        errors = {}
    report = smart.check_node(candidate, selectors.node_smart_context(candidate, parent=parent))
    return report, errors


@transaction.atomic
def node_create(
    *,
    organisation: Organisation,
    actor,
    kind: str,
    parent: Node | None,
    data: Mapping[str, Any],
) -> Node:
    organisation = _lock_organisation(organisation.pk)
    if parent is not None:
        # Re-read under the lock: mptt computes the new lft/rght from these values.
        parent = Node.objects.filter(organisation=organisation, pk=parent.pk).first()
        if parent is None:
            raise ValidationError({"parent": [_("Choose a parent in your organisation.")]})
    else:
        _lock_new_root()
    if kind not in Kind.values:
        raise ValidationError({"kind": [_("Unknown kind.")]})
    node = Node(organisation=organisation, parent=parent, kind=kind)
    _apply(node, data)
    if errors := _reporter_errors(data, organisation.pk):
        raise ValidationError(errors)
    node_check(organisation=organisation, parent=parent, node=node)
    node._history_user = actor
    node._change_reason = "created"
    node.save()
    _set_reporters(node, data)
    jobs.request_rollup(tree_id=node.tree_id)
    return node


@transaction.atomic
def node_update(*, node: Node, actor, data: Mapping[str, Any], reason: str = "") -> Node:
    _lock_organisation(node.organisation_id)
    node = Node.objects.select_related("parent").get(pk=node.pk)
    old_code = node.code
    _apply(node, data)
    if node.code != old_code:
        # A formula above names the old code: renaming would leave it pointing at nothing.
        formula_use = _formula_use_message(node, codes=[old_code])
        if formula_use:
            raise ValidationError({"code": [formula_use]})
    if errors := _reporter_errors(data, node.organisation_id):
        raise ValidationError(errors)
    node_check(organisation=node.organisation, parent=node.parent, node=node)
    node._history_user = actor
    node._change_reason = reason or "edited"
    node.save()
    _set_reporters(node, data)
    # A definition or target change can change every figure above it: rebuild the tree.
    jobs.request_rollup(tree_id=node.tree_id)
    return node


def _formula_use_message(
    node: Node, *, codes: Iterable[str] | None = None, staying_under: Node | None = None
) -> str | None:
    """Why ``node`` may not leave the formulas above it: an ancestor computes its value with a
    formula that names its code (or one of ``codes``: its subtree's, when the subtree leaves too).

    ``staying_under`` is a move's new parent: the formulas above it keep the node under them.
    """
    if node.parent_id is None:
        return None
    leaving = set(codes) if codes is not None else {node.code}
    formulas_above = Node.objects.filter(
        tree_id=node.tree_id, lft__lt=node.lft, rght__gt=node.rght, value_source="formula", is_archived=False
    )
    if staying_under is not None and staying_under.tree_id == node.tree_id:
        formulas_above = formulas_above.exclude(lft__lte=staying_under.lft, rght__gte=staying_under.rght)
    for above in formulas_above.order_by("-level"):
        try:
            used = sorted(leaving & smart.formulas.parse(above.formula).codes)
        except smart.formulas.FormulaError:
            continue
        if used:
            return _("%(parent)s computes its value with a formula that uses %(code)s; change that formula first.") % {
                "parent": above.name,
                "code": ", ".join(used),
            }
    return None


def _subtree_codes(node: Node) -> list[str]:
    return list(node.get_descendants(include_self=True).filter(is_archived=False).values_list("code", flat=True))


def move_targets(node: Node) -> list[Node]:
    """Active nodes of the organisation that ``node`` may be moved under."""
    allowed = smart.ALLOWED_PARENT_KINDS[node.kind]
    if not allowed:
        return []
    subtree = node.get_descendants(include_self=True).values("pk")
    return list(
        Node.objects.filter(organisation_id=node.organisation_id, kind__in=allowed, is_archived=False)
        .exclude(pk__in=subtree)
        .exclude(pk=node.parent_id)
        .order_by("tree_id", "lft")
    )


@transaction.atomic
def node_move(*, node: Node, actor, new_parent: Node, position: int | None = None) -> Node:
    organisation = _lock_organisation(node.organisation_id)
    node = Node.objects.select_related("parent").get(pk=node.pk)
    target = Node.objects.filter(organisation=organisation, pk=new_parent.pk).first()
    if target is None:
        raise ValidationError({"parent": [_("Choose a parent in your organisation.")]})
    if node.kind == Kind.KGI:
        raise ValidationError({"parent": [_("A KGI is the root of its tree and cannot be moved.")]})
    if target.is_archived:
        raise ValidationError({"parent": [_("The new parent is archived; restore it first.")]})
    old_tree_id = node.tree_id
    if target.tree_id == node.tree_id and node.lft <= target.lft and target.rght <= node.rght:
        raise ValidationError({"parent": [_("A node cannot move under itself or its own descendants.")]})
    if node.parent is not None and node.parent.pk != target.pk:
        formula_use = _formula_use_message(node, codes=_subtree_codes(node), staying_under=target)
        if formula_use:
            raise ValidationError({"parent": [formula_use]})
    if target.tree_id != node.tree_id:
        codes = list(node.get_descendants(include_self=True).values_list("code", flat=True))
        clash = sorted(Node.objects.filter(tree_id=target.tree_id, code__in=codes).values_list("code", flat=True))
        if clash:
            raise ValidationError(
                {"parent": [_("The destination tree already uses the codes %(codes)s.") % {"codes": ", ".join(clash)}]}
            )
    siblings = list(Node.objects.filter(parent=target, is_archived=False).exclude(pk=node.pk))
    inherited, dependants = selectors.window_context(node, parent=target)
    context = selectors.smart_context(
        node,
        parent=target,
        children=list(Node.objects.filter(parent=node, is_archived=False)),
        sibling_kpis=sum(1 for sibling in siblings if sibling.kind == Kind.KPI),
        inherited=inherited,
        dependant_windows=dependants,
    )
    # Its place, its unit, and the window it (or a descendant) would inherit there.
    blocking = _placement_errors(smart.check_node(node, context))
    if blocking:
        raise ValidationError({"parent": blocking})
    # The position is among the siblings people see, so archived ones are not counted.
    siblings = sorted(siblings, key=lambda sibling: sibling.lft)
    # move_to saves the node itself once the nested-set columns are rewritten (django-mptt's
    # move_node), and that save is the history entry: say who moved it and why beforehand.
    node._history_user = actor
    node._change_reason = "moved"
    if position is not None and 0 <= position < len(siblings):
        node.move_to(siblings[position], "left")
    else:
        node.move_to(target, "last-child")
    moved = Node.objects.get(pk=node.pk)
    for tree_id in {old_tree_id, moved.tree_id}:
        jobs.request_rollup(tree_id=tree_id)
    return moved


@transaction.atomic
def node_archive(*, node: Node, actor) -> Node:
    """Archive the node and its subtree. Their actuals and history stay."""
    _lock_organisation(node.organisation_id)
    node = Node.objects.select_related("parent").get(pk=node.pk)
    # Like a move or a delete, archiving takes the node and its subtree from under the formulas above.
    formula_use = _formula_use_message(node, codes=_subtree_codes(node))
    if formula_use:
        raise ValidationError({NON_FIELD_ERRORS: [formula_use]})
    now = timezone.now()
    for each in node.get_descendants(include_self=True).filter(is_archived=False):
        each.is_archived = True
        each.archived_at = now
        each._history_user = actor
        each._change_reason = "archived"
        each.save()
    node.refresh_from_db()
    jobs.request_rollup(tree_id=node.tree_id)
    return node


def _placement_errors(report: smart.SmartReport) -> list[str]:
    """The errors a node gets from where it sits — the kind and unit of its parent, the window it
    (or a descendant) inherits there — which a move or a restore must not bring about."""
    return [f.message for f in report.errors if f.field in ("parent", "unit") or f.rule == "T-window-length"]


@transaction.atomic
def node_restore(*, node: Node, actor) -> Node:
    """Restore the node and its subtree, checked as a move is: while it was archived its parent
    may have changed (another unit, "sum of children"), and a restore must not bring back a child
    the parent cannot combine."""
    _lock_organisation(node.organisation_id)
    node = Node.objects.select_related("parent").get(pk=node.pk)
    parent = node.parent
    if parent is not None and parent.is_archived:
        raise ValidationError({NON_FIELD_ERRORS: [_("Its parent is archived; restore the parent first.")]})
    parent_before = set()
    if parent is not None:
        parent_before = {f.message for f in selectors.nodes_smart_reports([parent])[parent.pk].errors}
    restored = []
    for each in node.get_descendants(include_self=True).filter(is_archived=True):
        each.is_archived = False
        each.archived_at = None
        each._history_user = actor
        each._change_reason = "restored"
        each.save()
        restored.append(each.pk)
    # Judged on the tree as it now stands; raising rolls the restore back with the transaction.
    checked = list(Node.objects.filter(pk__in=[*restored, *([parent.pk] if parent else [])]).order_by("lft"))
    reports = selectors.nodes_smart_reports(checked)
    problems = [message for pk in restored for message in _placement_errors(reports[pk])]
    if parent is not None:
        problems += [
            _("Restoring it would put %(parent)s in error: %(message)s") % {"parent": parent.name, "message": f.message}
            for f in reports[parent.pk].errors
            if f.message not in parent_before
        ]
    if problems:
        raise ValidationError({NON_FIELD_ERRORS: list(dict.fromkeys(problems))})
    node.refresh_from_db()
    jobs.request_rollup(tree_id=node.tree_id)
    return node


def node_can_delete(node: Node) -> bool:
    """Only an empty node — no children and no actuals — may be deleted; others are archived."""
    return not Node.objects.filter(parent=node).exists() and not Measurement.objects.filter(node=node).exists()


@transaction.atomic
def node_delete(*, node: Node, actor) -> None:
    _lock_organisation(node.organisation_id)
    node = Node.objects.select_related("parent").get(pk=node.pk)
    if not node_can_delete(node):
        raise ValidationError(
            {NON_FIELD_ERRORS: [_("Only an empty node (no children, no actuals) can be deleted; archive it instead.")]}
        )
    # As for a move away from the parent: its formula would name a child that no longer exists.
    formula_use = _formula_use_message(node)
    if formula_use:
        raise ValidationError({NON_FIELD_ERRORS: [formula_use]})
    node._history_user = actor
    node._change_reason = "deleted"
    tree_id = node.tree_id
    node.delete()
    jobs.request_rollup(tree_id=tree_id)


@transaction.atomic
def tree_create_from_template(
    *,
    organisation: Organisation,
    actor,
    template: library.TemplateNode,
    start_date,
    deadline,
    owners: Mapping[str, Any] | None = None,
) -> Node:
    """Create a whole tree from a template; all nodes pass the usual checks or none is created.

    ``owners`` maps a template's owner role (executive/manager/member) to a user; by default
    the actor owns every node and reassigns them afterwards.
    """

    organisation = _lock_organisation(organisation.pk)

    def create(item: library.TemplateNode, parent: Node | None) -> Node:
        data = {
            "name": str(item.name) if parent is not None else _free_tree_name(organisation, str(item.name)),
            "description": str(item.description),
            "rationale": str(item.rationale),
            "code": item.code,
            "owner": (owners or {}).get(item.owner_role, actor),
            "unit": item.unit,
            "direction": item.direction,
            "baseline_value": item.baseline_value,
            "target_value": item.target_value,
            "start_date": start_date if item.kind != Kind.KSF else None,
            "deadline": deadline if item.kind != Kind.KSF else None,
            "frequency": item.frequency,
            "indicator_type": item.indicator_type,
            "time_aggregation": item.time_aggregation,
            "weight": item.weight,
        }
        node = node_create(organisation=organisation, actor=actor, kind=item.kind, parent=parent, data=data)
        for child in item.children:
            create(child, node)
        return node

    return create(template, None)


def _free_tree_name(organisation: Organisation, name: str) -> str:
    """``name``, or ``name (2)``, ``name (3)``… when a tree of the organisation (archived ones
    too) already has it: a second tree from the same template must not pass for the first."""
    taken = set(Node.objects.filter(organisation=organisation, level=0).values_list("name", flat=True))
    most = Node._meta.get_field("name").max_length
    candidate, number = name, 2
    while candidate in taken:
        suffix = f" ({number})"
        candidate, number = name[: most - len(suffix)] + suffix, number + 1
    return candidate


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the target changes; the reason is kept in the history.")]})
    return reason


@transaction.atomic
def target_override_set(*, node: Node, actor, period: date, value, reason: str, today: date) -> TargetOverride:
    """Replace the phased default target of one period of the node."""
    reason = _check_reason(reason)
    _lock_organisation(node.organisation_id)
    node = Node.objects.select_related("organisation").get(pk=node.pk)
    periods = storage.tree_engine_periods(node, today=today)
    if period not in periods:
        raise ValidationError({"period": [_("Choose one of the node's periods.")]})
    if not node.target_value and node.direction != "maintain":
        raise ValidationError({"period": [_("Set a target for the node before overriding a period.")]})
    override = TargetOverride.objects.filter(node=node, period_start=period).first() or TargetOverride(
        node=node, period_start=period
    )
    override.value = value
    override.reason = reason
    override.changed_by = actor
    override._history_user = actor
    override._change_reason = reason
    override.save()
    jobs.request_rollup(tree_id=node.tree_id)
    return override


@transaction.atomic
def target_override_clear(*, node: Node, actor, period: date, reason: str) -> None:
    """Go back to the phased default for one period (the history keeps the override)."""
    reason = _check_reason(reason)
    _lock_organisation(node.organisation_id)
    override = TargetOverride.objects.filter(node=node, period_start=period).first()
    if override is None:
        raise ValidationError({"period": [_("That period has no override.")]})
    override._history_user = actor
    override._change_reason = reason
    override.delete()
    jobs.request_rollup(tree_id=node.tree_id)


def target_restate(*, node: Node, actor, data: Mapping[str, Any], reason: str) -> Node:
    """Change the node's baseline/target numbers with a reason; the old schedule stays in the
    node's history (each history entry has the numbers the schedule was phased from)."""
    allowed = {"baseline_value", "target_value", "target_min", "target_max", "deadline"}
    if set(data) - allowed:
        raise ValidationError({k: [_("This field cannot be restated here.")] for k in sorted(set(data) - allowed)})
    return node_update(node=node, actor=actor, data=data, reason=_check_reason(reason))


ORGANISATION_SETTINGS = ("fiscal_year_start_month", "members_see_team_attainment", "plan_tolerance_percent")


@transaction.atomic
def organisation_update(*, organisation: Organisation, data: Mapping[str, Any]) -> Organisation:
    """Change the organisation's settings (managers only; the view checks the role).

    A new first fiscal month moves every fiscal quarter and year, so each tree's stored rollup
    (its quarter and year columns) is recomputed.
    """
    if unknown := set(data) - set(ORGANISATION_SETTINGS):
        raise ValidationError({k: [_("This setting cannot be changed here.")] for k in sorted(unknown)})
    organisation = _lock_organisation(organisation.pk)
    old_month = organisation.fiscal_year_start_month
    for name, value in data.items():
        setattr(organisation, name, value)
    organisation.full_clean(exclude=["name"])
    organisation.save(update_fields=list(data))
    if organisation.fiscal_year_start_month != old_month:
        for tree_id in Node.objects.filter(organisation=organisation, level=0).values_list("tree_id", flat=True):
            jobs.request_rollup(tree_id=tree_id)
    return organisation
