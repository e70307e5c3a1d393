"""A formula may name any node under it (issue 10 §1, docs/rollup.md §1): the KGI = sessions ×
cvr × aov over KPIs that sit under different KSFs, written before those KPIs exist (top down).

Built through the API as a manager would; the figures are checked against the engine, the
columnar rebuild, the incremental path and a hand computation.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from goals.models import Measurement, Node, RollupChange, RollupSeries
from goals.rollup import columns, jobs, storage

NODES = "/api/v1/nodes/"
TODAY = date(2026, 7, 15)


def _node(api, **data) -> dict:
    response = api.post(NODES, data, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _kpi(api, parent: dict, code: str, unit: str, target: str, **extra) -> dict:
    return _node(
        api,
        kind="kpi",
        parent=parent["id"],
        name=f"{code} a month",
        code=code,
        unit=unit,
        direction="increase",
        baseline_value="1",
        target_value=target,
        start_date="2026-04-01",
        deadline="2027-03-31",
        frequency="monthly",
        indicator_type="leading",
        rationale="It drives the sales of the shop.",
        **extra,
    )


@pytest.fixture
def shop(manager_api, manager):
    """EC sales = sessions × conversion × order value, the KGI written first."""
    kgi = _node(
        manager_api,
        kind="kgi",
        name="EC sales ¥120M this fiscal year",
        code="sales",
        owner=manager.pk,
        unit="¥",
        direction="increase",
        baseline_value="100000000",
        target_value="120000000",
        start_date="2026-04-01",
        deadline="2027-03-31",
        frequency="monthly",
        indicator_type="lagging",
        value_source="formula",
        formula="sessions * cvr * aov",
        time_aggregation="sum",
        rationale="The board's goal for the shop.",
    )
    return kgi


def _smart_rules(node: dict) -> set[str]:
    return {f["rule"] for f in node["smart"]["findings"]}


def test_a_kgi_formula_written_before_its_kpis_waits_for_them(manager_api, shop):
    # Saved with a warning, not refused: a top-down build names what it will create.
    assert "M-formula-waiting" in _smart_rules(shop)
    message = next(f["message"] for f in shop["smart"]["findings"] if f["rule"] == "M-formula-waiting")
    assert message.startswith("Waiting for: aov, cvr, sessions.")

    jobs.tree_rollup(root_id=shop["id"], as_of=TODAY, full=True)
    stored = RollupSeries.objects.get(node_id=shop["id"]).series
    assert set(stored["reason"]) == {"formula_waiting"}
    assert set(stored["status"]) == {"no_data"}


def test_the_kgi_is_computed_from_kpis_under_different_ksfs(manager_api, manager, shop):
    traffic = _node(manager_api, kind="ksf", parent=shop["id"], name="More visitors", code="traffic")
    buying = _node(manager_api, kind="ksf", parent=shop["id"], name="More buyers, bigger baskets", code="buying")
    sessions = _kpi(manager_api, traffic, "sessions", "sessions", "50000", owner=manager.pk)
    cvr = _kpi(manager_api, buying, "cvr", "ratio", "0.02", owner=manager.pk, time_aggregation="average")
    aov = _kpi(manager_api, buying, "aov", "¥", "10000", owner=manager.pk, time_aggregation="average")
    kgi = manager_api.get(f"{NODES}{shop['id']}/").json()
    assert not {"M-formula-waiting", "M-formula-codes", "M-formula-cycle"} & _smart_rules(kgi)

    for node, values in ((sessions, (40000, 45000)), (cvr, ("0.02", "0.025")), (aov, (9000, 10000))):
        for month, value in zip((date(2026, 4, 1), date(2026, 5, 1)), values, strict=True):
            Measurement.objects.create(node_id=node["id"], period_start=month, value=value)
    jobs.tree_rollup(root_id=shop["id"], as_of=TODAY, full=True)

    stored = RollupSeries.objects.get(node_id=shop["id"]).series
    april, may = stored["period"].index("2026-04-01"), stored["period"].index("2026-05-01")
    # By hand: 40,000 × 0.02 × 9,000 = ¥7.2M; 45,000 × 0.025 × 10,000 = ¥11.25M.
    assert stored["actual"][april] == pytest.approx(7_200_000)
    assert stored["actual"][may] == pytest.approx(11_250_000)
    # A flow formula's fiscal year is the sum of its months; June is missing in all three inputs.
    assert stored["year"]["actual"][0] == pytest.approx(18_450_000)
    assert stored["missing"][stored["period"].index("2026-06-01")] == 3

    # The per-node engine, the columnar rebuild and storage agree.
    root = Node.objects.get(pk=shop["id"])
    engine, nodes = storage.tree_engine(root, as_of=TODAY)
    expected = {n.pk: json.loads(json.dumps(engine.series(n.pk))) for n in nodes}
    columnar = columns.ColumnarRollup(engine, [n.pk for n in nodes])
    assert columnar.applies()
    assert {pk: json.loads(text) for pk, text in columnar.documents()} == expected
    assert {r.node_id: r.series for r in RollupSeries.objects.filter(node__tree_id=root.tree_id)} == expected

    # One new actual deep under a KSF reaches the KGI through the incremental path.
    Measurement.objects.create(node_id=sessions["id"], period_start=date(2026, 6, 1), value=50000)
    Measurement.objects.create(node_id=cvr["id"], period_start=date(2026, 6, 1), value="0.02")
    Measurement.objects.create(node_id=aov["id"], period_start=date(2026, 6, 1), value=10000)
    for node in (sessions, cvr, aov):
        RollupChange.objects.create(root=root, node_id=node["id"])
    loaded = storage.tree_engine_around(root, [sessions["id"], cvr["id"], aov["id"]], as_of=TODAY)
    assert loaded is not None  # computed around the change, not rebuilt
    jobs.tree_rollup(root_id=root.pk, as_of=TODAY)
    stored = RollupSeries.objects.get(node_id=shop["id"]).series
    assert stored["actual"][stored["period"].index("2026-06-01")] == pytest.approx(10_000_000)
    engine, nodes = storage.tree_engine(root, as_of=TODAY)
    assert stored == json.loads(json.dumps(engine.series(root.pk)))


def test_codes_outside_the_subtree_or_above_it_are_refused(manager_api, manager, shop):
    traffic = _node(manager_api, kind="ksf", parent=shop["id"], name="More visitors", code="traffic")
    buying = _node(manager_api, kind="ksf", parent=shop["id"], name="More buyers", code="buying")
    _kpi(manager_api, traffic, "sessions", "sessions", "50000", owner=manager.pk)
    aov = _kpi(manager_api, buying, "aov", "¥", "10000", owner=manager.pk, time_aggregation="average")

    # A KSF's formula over a KPI under another KSF: out of its reach.
    response = manager_api.patch(
        f"{NODES}{buying['id']}/", {"value_source": "formula", "formula": "sessions * aov"}, format="json"
    )
    assert response.status_code == 400
    assert "not under this node" in response.json()["formula"][0]

    # A formula over its own ancestor: it would depend on itself.
    response = manager_api.patch(
        f"{NODES}{aov['id']}/", {"value_source": "formula", "formula": "sales / 100"}, format="json"
    )
    assert response.status_code == 400
    assert "would depend on itself" in response.json()["formula"][0]
    assert Node.objects.get(pk=aov["id"]).value_source == "manual"


def test_a_node_a_formula_above_uses_cannot_leave_it(manager_api, manager, shop):
    traffic = _node(manager_api, kind="ksf", parent=shop["id"], name="More visitors", code="traffic")
    buying = _node(manager_api, kind="ksf", parent=shop["id"], name="More buyers", code="buying")
    sessions = _kpi(manager_api, traffic, "sessions", "sessions", "50000", owner=manager.pk)

    # Archiving the KSF would take "sessions" from under the KGI's formula.
    response = manager_api.post(f"{NODES}{traffic['id']}/archive/", {}, format="json")
    assert response.status_code == 400
    assert "EC sales ¥120M this fiscal year computes its value with a formula that uses sessions" in str(
        response.json()
    )
    # Renaming its code would leave the formula pointing at nothing.
    response = manager_api.patch(f"{NODES}{sessions['id']}/", {"code": "visits"}, format="json")
    assert response.status_code == 400
    # Moving it to another KSF under the same KGI keeps it under the formula: allowed.
    response = manager_api.post(f"{NODES}{sessions['id']}/move/", {"parent": buying["id"]}, format="json")
    assert response.status_code == 200, response.json()
    assert Node.objects.get(pk=sessions["id"]).parent_id == buying["id"]
