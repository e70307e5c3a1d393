"""goals.rollup.columns computes exactly the documents TreeRollup.series gives, node by node."""

from __future__ import annotations

import json
from datetime import date

import pytest

from goals.dev.trees import tree_generate
from goals.rollup import columns, storage
from goals.rollup.engine import NodeSpec, TreeRollup

TODAY = date(2026, 11, 20)


def _by_engine(engine: TreeRollup, ids) -> dict[int, dict]:
    return {node_id: json.loads(json.dumps(engine.series(node_id))) for node_id in ids}


def _by_columns(engine: TreeRollup, ids) -> dict[int, dict]:
    columnar = columns.ColumnarRollup(engine, ids)
    assert columnar.applies()
    return {node_id: json.loads(document) for node_id, document in columnar.documents()}


@pytest.mark.parametrize(("nodes", "periods", "seed"), [(40, 6, 1), (150, 8, 2), (300, 14, 3), (90, 24, 4)])
def test_columns_equal_the_engine_on_synthetic_trees(organisation, nodes, periods, seed):
    tree = tree_generate(organisation=organisation, nodes=nodes, periods=periods, today=TODAY, seed=seed)
    engine, tree_nodes = storage.tree_engine(tree.root, as_of=TODAY)
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
    engine, tree_nodes = storage.tree_engine(saas_tree, as_of=as_of)
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
    return NodeSpec(id=id, parent_id=parent, code=code, kind=kw.pop("kind", "kpi"), **kw)


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
    engine = TreeRollup(EDGE_SPECS, EDGE_POINTS, as_of=as_of, fiscal_start_month=4, overrides=EDGE_OVERRIDES)
    ids = [s.id for s in EDGE_SPECS]

    assert _by_columns(engine, ids) == _by_engine(engine, ids)


def test_a_tree_of_mixed_frequencies_is_computed_node_by_node(saas_tree):
    engine, tree_nodes = storage.tree_engine(saas_tree, as_of=TODAY)
    ids = [n.pk for n in tree_nodes]

    assert not columns.ColumnarRollup(engine, ids).applies()
    documents = dict(columns.tree_documents(engine, ids))
    assert {k: json.loads(v) for k, v in documents.items()} == _by_engine(engine, ids)


# Values near a float's limit: a formula that overflows (to infinity, or NaN from inf - inf), a
# sum of children that does, and a finite value whose attainment does. Each is no data with the
# reason "overflow" in both engines, and the documents hold no NaN or Infinity.
OVERFLOW_SPECS = [
    _spec(1, None, "kgi", kind="kgi", value_source="sum", target=1.0),
    _spec(2, 1, "big", value_source="formula", formula="a * 1e308 * 10", target=1.0),
    _spec(3, 2, "a", target=1.0),
    _spec(4, 1, "huge", value_source="formula", formula="1e308 * 1e308 * b - 1e308 * 1e308 * b", target=1.0),
    _spec(5, 4, "b", target=1.0),
    _spec(6, 1, "near", value_source="formula", formula="c * 1.5e308", target=0.001),
    _spec(7, 6, "c", target=1.0),
    _spec(8, 1, "twice", value_source="sum", target=1.0),
    _spec(9, 8, "x", value_source="formula", formula="c2 * 1e308", target=1.0),
    _spec(10, 9, "c2", target=1.0),
    _spec(11, 8, "y", value_source="formula", formula="c3 * 1e308", target=1.0),
    _spec(12, 11, "c3", target=1.0),
    _spec(13, 1, "weighted", value_source="weighted_average", weight=1.0, target=1.0),
    _spec(14, 13, "w", value_source="formula", formula="c4 * 1e308", weight=1e10, target=1.0),
    _spec(15, 14, "c4", target=1.0),
]
OVERFLOW_POINTS = {
    node_id: {date(2026, 4, 1): 1.0, date(2026, 5, 1): 1.2, date(2026, 6, 1): 0.5} for node_id in (3, 5, 7, 10, 12, 15)
}


def test_both_engines_report_an_overflow_as_no_data_with_the_reason():
    engine = TreeRollup(OVERFLOW_SPECS, OVERFLOW_POINTS, as_of=date(2026, 6, 15), fiscal_start_month=4)
    ids = [s.id for s in OVERFLOW_SPECS]

    by_columns = _by_columns(engine, ids)

    assert by_columns == _by_engine(engine, ids)
    for node_id in (2, 4, 8, 13):  # no value at all: the formula or the sum overflowed
        april = by_columns[node_id]
        assert (april["actual"][0], april["status"][0], april["reason"][0]) == (None, "no_data", "overflow")
    # 1.5e308 is a number, but not as a percentage of 0.001: shown, not judged.
    assert by_columns[6]["actual"][0] == 1.5e308
    assert (by_columns[6]["attainment"][0], by_columns[6]["status"][0]) == (None, "no_data")
    assert by_columns[6]["reason"][0] == "overflow"
    assert by_columns[3]["status"][0] == "on_track"  # the inputs themselves are judged as usual
    documents = dict(columns.tree_documents(engine, ids))
    assert not any(word in text for text in documents.values() for word in ("NaN", "Infinity"))


def test_a_node_whose_window_cannot_be_computed_is_an_error_and_the_tree_goes_on():
    specs = [
        _spec(1, None, "kgi", kind="kgi", value_source="sum", target=10.0),
        _spec(2, 1, "ok", target=5.0),
        _spec(3, 1, "open_ended", target=5.0, deadline=date(9999, 12, 31)),
    ]
    points = {2: {date(2026, 4, 1): 6.0}, 3: {date(2026, 4, 1): 7.0}}
    engine = TreeRollup(specs, points, as_of=date(2026, 4, 15), fiscal_start_month=4)

    documents = {k: json.loads(v) for k, v in columns.tree_documents(engine, [1, 2, 3])}

    assert documents[3]["error"] == {
        "code": "window_unsupported",
        "start": "2026-04-01",
        "deadline": "9999-12-31",
        "frequency": "monthly",
    }
    assert documents[3]["period"] == [] and documents[3]["year"]["period"] == []
    assert documents[2]["status"][0] == "on_track"
    # The KGI adds up what it has: the broken child counts as no data.
    assert documents[1]["actual"][0] == 6.0
    assert "error" not in documents[1]


def test_a_fault_in_the_columns_falls_back_to_the_engine(monkeypatch):
    engine = TreeRollup(EDGE_SPECS, EDGE_POINTS, as_of=date(2026, 5, 15), fiscal_start_month=4)
    ids = [s.id for s in EDGE_SPECS]

    def broken(self, *args, **kwargs):
        raise RuntimeError("unforeseen")

    monkeypatch.setattr(columns.ColumnarRollup, "_judge", broken)

    documents = {k: json.loads(v) for k, v in columns.tree_documents(engine, ids)}

    assert documents == _by_engine(engine, ids)
