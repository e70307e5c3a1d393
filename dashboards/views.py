from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from goals import selectors
from goals.access import membership_required
from goals.models import Kind, Role
from goals.smart import Level

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
    trees = selectors.organisation_trees(request.membership)
    return render(request, "dashboards/executive_home.html", {"trees": trees})


@membership_required
def manager_home(request: HttpRequest) -> HttpResponse:
    trees = selectors.organisation_trees(request.membership)
    open_findings = [
        (tree.root, node, finding)
        for tree in trees
        for node in tree.nodes
        for finding in tree.reports[node.pk].findings
        if finding.level != Level.PASS
    ]
    open_findings.sort(key=lambda item: (item[2].level != Level.ERROR, item[1].tree_id, item[1].lft))
    return render(
        request,
        "dashboards/manager_home.html",
        {"trees": trees, "open_findings": open_findings[:50], "open_count": len(open_findings)},
    )


@membership_required
def member_home(request: HttpRequest) -> HttpResponse:
    trees = selectors.organisation_trees(request.membership)
    mine = [
        (node, tree.reports[node.pk], tree.root)
        for tree in trees
        for node in tree.nodes
        if node.owner_id == request.user.pk and node.kind in (Kind.KGI, Kind.KPI, Kind.SUB_KPI)
    ]
    return render(request, "dashboards/member_home.html", {"mine": mine})
