"""The seed articles' tree with actuals entered through the service and rolled up on commit
(eager Celery), as of a fixed day, for the node page and monthly report tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import timezone

from goals import tasks
from goals.actuals import Entry, measurements_upsert_bulk
from goals.models import Node

TODAY = date(2026, 6, 20)
APR, MAY = date(2026, 4, 1), date(2026, 5, 1)
APPOINTMENTS_NOTE = "Two of five reps were on leave. Next: book demos from the webinar list."
REVENUE_NOTE = "A large customer downgraded. Next: an account review with its new CFO."

# April: the KGI just short of its target (at risk, no note), appointments far behind (off track,
# with a note). May: both ahead; the KGI's May note must not show in April's report.
ACTUALS = {
    "revenue": [(APR, "101000000", ""), (MAY, "104000000", REVENUE_NOTE)],
    "appointments": [(APR, "30", APPOINTMENTS_NOTE), (MAY, "40", "")],
}


def freeze_today(monkeypatch) -> None:
    """The views and the rollup read the clock; fix it (a fixed date, never "now")."""
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


def enter_actuals(tree_root: Node, membership, capture, actuals=ACTUALS) -> dict[str, Node]:
    """Save the actuals as a manager would; the rollup runs on commit. The tree by code."""
    nodes = {n.code: n for n in Node.objects.filter(tree_id=tree_root.tree_id)}
    entries = [
        Entry(node=nodes[code], period=period, value=Decimal(value), note=note)
        for code, rows in actuals.items()
        for period, value, note in rows
    ]
    # The run the tree's creation asked for (on_commit does not fire inside a test transaction);
    # until it has run, a save finds a run pending and enqueues none.
    tasks.rollup_tree(tree_root.pk)
    with capture(execute=True):
        measurements_upsert_bulk(membership=membership, entries=entries, today=TODAY)
    return nodes
