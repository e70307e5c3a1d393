"""goals.rollup_columns computes exactly the documents TreeRollup.series gives, node by node."""

from __future__ import annotations

import json
from datetime import date

import pytest

from goals import rollup, rollup_columns, selectors
from goals.synthetic import tree_generate

TODAY = date(2026, 11, 20)


def _by_engine(engine: rollup.TreeRollup, ids) -> dict[int, dict]:
    return {node_id: json.loads(json.dumps(engine.series(node_id))) for node_id in ids}


def _by_columns(engine: rollup.TreeRollup, ids) -> dict[int, dict]:
    columnar = rollup_columns.ColumnarRollup(engine, ids)
    assert columnar.applies()
    return {node_id: json.loads(document) for node_id, document in columnar.documents()}


@pytest.mark.parametrize(("nodes", "periods", "seed"), [(40, 6, 1), (150, 8, 2), (300, 14, 3), (90, 24, 4)])
def test_columns_equal_the_engine_on_synthetic_trees(organisation, nodes, periods, seed):
    tree = tree_generate(organisation=organisation, nodes=nodes, periods=periods, today=TODAY, seed=seed)
    engine, tree_nodes = selectors.tree_engine(tree.root, as_of=TODAY)
    ids = [n.pk for n in tree_nodes]

    by_columns = _by_columns(engine, ids)
    by_engine = _by_engine(engine, ids)

    differing = [(n, list(_diff(by_columns[n], by_engine[n]))) for n in ids if by_columns[n] != by_engine[n]]
    assert not differing, differing[-3:]


@pytest.mark.parametrize("as_of", [date(2026, 3, 31), date(2026, 4, 1), date(2026, 9, 15), date(2027, 6, 1)])
def test_columns_equal_the_engine_on_the_saas_tree(saas_tree, as_of):
    from goals.models import Measurement, Node

    # One grid for the whole tree: the template's daily sub-KPI becomes monthly.
    Node.objects.filter(tree_id=saas_tree.tree_id).update(frequency="monthly")
    for i, node in enumerate(Node.objects.filter(tree_id=saas_tree.tree_id, value_source="manual")):
        for month in range(4, 4 + (i % 7)):
            Measurement.objects.create(node=node, period_start=date(2026, month, 1), value=10 + i * month)
    engine, tree_nodes = selectors.tree_engine(saas_tree, as_of=as_of)
    ids = [n.pk for n in tree_nodes]

    assert _by_columns(engine, ids) == _by_engine(engine, ids)


def _diff(a: dict, b: dict, path=""):
    for key in a:
        if isinstance(a[key], dict):
            yield from _diff(a[key], b[key], f"{path}{key}.")
        elif a[key] != b[key]:
            yield f"{path}{key}", a[key], b[key]


def _spec(id, parent, code, **kw):
    kw.setdefault("start", date(2026, 4, 1))
    kw.setdefault("deadline", date(2027, 3, 31))
    return rollup.NodeSpec(id=id, parent_id=parent, code=code, kind=kw.pop("kind", "kpi"), **kw)


EDGE_SPECS = [
    _spec(1, None, "kgi", kind="kgi", value_source="formula", formula="a / b * 100", target=20.0, baseline=10.0),
    _spec(2, 1, "a", value_source="sum", target=50.0, direction="decrease"),
    _spec(3, 2, "a1", target=30.0, baseline=-10.0, time_aggregation="average"),
    _spec(4, 2, "a2", target=-5.0, time_aggregation="last"),
    _spec(5, 1, "b", value_source="weighted_average", target=10.0, target_scope="whole_window"),
    _spec(6, 5, "b1", weight=0.0, direction="maintain", target_min=2.0, target_max=8.0),
    _spec(7, 5, "b2", weight=0.0, direction="maintain", target_max=4.0),
    _spec(8, 1, "ksf", kind="ksf", value_source="min", status_rule="worst"),
    _spec(9, 8, "c1", direction="maintain", target_min=0.0),
    _spec(10, 8, "c2", value_source="max"),
    _spec(11, 1, "ksf2", kind="ksf", value_source="sum"),
    _spec(12, 11, "d1", target=0.0),
    _spec(13, 11, "d2", weight=0.0),
    _spec(14, 11, "d3", kind="ksf", weight=2.0),
    _spec(
        15, 1, "e", value_source="formula", formula="abs(a1 - 3) + avg(a2, 1) + min(2, 3) + max(1, 1) / 0", target=1.0
    ),
    _spec(16, 1, "f", value_source="formula", formula="a1 +", target=1.0),
]
EDGE_POINTS = {
    3: {date(2026, 4, 1): 10.0, date(2026, 5, 1): -3.5, date(2026, 7, 1): 0.0, date(2026, 9, 1): 40.0},
    4: {date(2026, 4, 1): -2.0, date(2026, 6, 1): -9.0, date(2026, 8, 1): 0.0, date(2027, 1, 1): 3.0},
    6: {date(2026, 4, 1): 1.0, date(2026, 5, 1): 5.0, date(2026, 6, 1): 9.5, date(2026, 10, 1): 8.0},
    7: {date(2026, 4, 1): 3.0, date(2026, 5, 1): 4.5, date(2026, 6, 1): 0.0},
    9: {date(2026, 4, 1): -1.0, date(2026, 5, 1): 0.0, date(2026, 6, 1): 0.3},
    12: {date(2026, 4, 1): -1.0, date(2026, 5, 1): 0.0, date(2026, 6, 1): 0.1},
    13: {date(2026, 4, 1): 7.0},
    14: {date(2026, 5, 1): 7.0},
}
EDGE_OVERRIDES = {3: {date(2026, 5, 1): 12.5}, 6: {date(2026, 6, 1): 9.0}, 7: {date(2026, 5, 1): 5.0}}


@pytest.mark.parametrize("as_of", [date(2026, 1, 1), date(2026, 5, 15), date(2026, 10, 31), date(2027, 5, 1)])
def test_columns_equal_the_engine_on_every_rule(as_of):
    engine = rollup.TreeRollup(EDGE_SPECS, EDGE_POINTS, as_of=as_of, fiscal_start_month=4, overrides=EDGE_OVERRIDES)
    ids = [s.id for s in EDGE_SPECS]

    assert _by_columns(engine, ids) == _by_engine(engine, ids)


def test_a_tree_of_mixed_frequencies_is_computed_node_by_node(saas_tree):
    engine, tree_nodes = selectors.tree_engine(saas_tree, as_of=TODAY)
    ids = [n.pk for n in tree_nodes]

    assert not rollup_columns.ColumnarRollup(engine, ids).applies()
    documents = dict(rollup_columns.tree_documents(engine, ids))
    assert {k: json.loads(v) for k, v in documents.items()} == _by_engine(engine, ids)
