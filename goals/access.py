"""Who may do what: the role checks and who may see whose attainment, for every view, the API,
the actuals and the dashboards."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from goals.models import Membership, Role
from goals.selectors import membership_for


def builds_trees(membership: Membership) -> bool:
    """Only managers build and change trees, and close and reopen months."""
    return membership.role == Role.MANAGER


def enters_actuals(membership: Membership) -> bool:
    """Members and managers log actuals; executives read the results but enter nothing."""
    return membership.role in (Role.MANAGER, Role.MEMBER)


def sees_whole_organisation(membership: Membership) -> bool:
    """Executives and managers read every tree's figures (the executive view)."""
    return membership.role in (Role.EXECUTIVE, Role.MANAGER)


def sees_manager_dashboard(membership: Membership) -> bool:
    """Managers chase their trees on the manager's dashboard; executives may read it."""
    return membership.role != Role.MEMBER


def sees_team_attainment(membership: Membership) -> bool:
    """Whether the caller sees the other team members' personal attainment: managers and
    executives always, team members when their organisation shares it."""
    return membership.role != Role.MEMBER or membership.organisation.members_see_team_attainment


def attainment_hidden_owners(membership: Membership) -> frozenset[int]:
    """The users whose personal attainment the caller may not see: for a team member, the other
    team members, unless the organisation lets members see each other's."""
    if sees_team_attainment(membership):
        return frozenset()
    others = Membership.objects.filter(organisation_id=membership.organisation_id, role=Role.MEMBER).exclude(
        user_id=membership.user_id
    )
    return frozenset(others.values_list("user_id", flat=True))


def request_membership(request) -> Membership | None:
    """The caller's membership, read once per request."""
    if not hasattr(request, "_kpitree_membership"):
        user = getattr(request, "user", None)
        request._kpitree_membership = membership_for(user) if user is not None else None
    return request._kpitree_membership


def membership_required(view):
    """Signed in *and* a member of an organisation; sets ``request.membership``."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        membership = request_membership(request)
        if membership is None:
            return render(request, "no_membership.html", status=403)
        request.membership = membership
        return view(request, *args, **kwargs)

    return wrapped


def manager_required(view):
    """Only managers build and change trees; executives and members read."""

    @membership_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not builds_trees(request.membership):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def actuals_required(view):
    """Members and managers log actuals; executives read the results but enter nothing."""

    @membership_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not enters_actuals(request.membership):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def attainment_visible(membership: Membership, node, *, hidden_owners: frozenset[int], reports: bool = False) -> bool:
    """Whether the caller may see the node's attainment (its actuals, statuses and progress).

    Team members see their own KPIs (owned, or entered as a reporter: ``reports``) and the shared
    goals owned by managers and executives; another team member's personal KPIs only when the
    organisation allows it (``hidden_owners`` from :func:`attainment_hidden_owners`).
    """
    if node.owner_id is None or node.owner_id not in hidden_owners:
        return True
    return node.owner_id == membership.user_id or reports


def node_attainment_visible(membership: Membership, node) -> bool:
    """:func:`attainment_visible` for one node, reading what it needs."""
    hidden = attainment_hidden_owners(membership)
    if node.owner_id not in hidden:
        return True
    return attainment_visible(
        membership, node, hidden_owners=hidden, reports=node.reporters.filter(pk=membership.user_id).exists()
    )
