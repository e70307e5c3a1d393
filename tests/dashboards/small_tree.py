"""A small tree with a few actuals, rolled up as of a fixed day, for the manager's and the
member's dashboard tests (the dashboards read the clock: ``freeze_today`` fixes it)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import timezone

from goals import services
from goals.library import SAAS_REVENUE_TREE
from goals.models import Measurement, Node, RollupSeries
from goals.rollup import jobs

TODAY = date(2026, 6, 20)
APR, MAY, JUN = date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)
MAY_WINDOW = {"period": "month", "month": "2026-05"}

# May 2026: appointments far behind with no note (the one a manager must chase), upsell revenue
# far behind *with* a note, the rest near their targets; nothing at all for the other KPIs.
ACTUALS = {
    "appointments": [(APR, "40", ""), (MAY, "10", "")],
    "new_contracts": [(APR, "6", ""), (MAY, "10", "")],
    "close_rate": [(MAY, "20", "")],
    "role_plays": [(MAY, "4", "")],
    "upsell_revenue": [(MAY, "100000", "The feature shipped late; two deals slipped to June.")],
}


def freeze_today(monkeypatch) -> None:
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


def saas_tree(organisation, manager, executive, member) -> dict[str, Node]:
    """The seed articles' tree with each node owned by the role the template names, by code."""
    root = services.tree_create_from_template(
        organisation=organisation,
        actor=manager,
        template=SAAS_REVENUE_TREE,
        start_date=date(2026, 4, 1),
        deadline=date(2027, 3, 31),
        owners={"executive": executive, "manager": manager, "member": member},
    )
    return {n.code: n for n in Node.objects.filter(tree_id=root.tree_id)}


def store_actuals(tree: dict[str, Node], actuals=ACTUALS) -> None:
    """Write the actuals as an import would and roll the tree up as of ``TODAY``."""
    Measurement.objects.bulk_create(
        Measurement(node=tree[code], period_start=period, value=Decimal(value), note=note)
        for code, rows in actuals.items()
        for period, value, note in rows
    )
    jobs.tree_rollup(root_id=tree["revenue"].pk, as_of=TODAY)


def stored(node: Node, period: date) -> dict:
    """The stored rollup of the node for one of its periods, as a dict of columns."""
    series = RollupSeries.objects.get(node=node).series
    index = series["period"].index(period.isoformat())
    return {name: series[name][index] for name in ("actual", "target", "attainment", "gap", "status", "missing")}
