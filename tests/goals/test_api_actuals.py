"""REST API v1 for actuals (goals/apis.py): measurements, bulk entry, progress and explain.

The API uses today's real date, so every period here is in the past (April–September 2026) and
the windows are fixed (fiscal year 2026: 2026-04-01 .. 2027-03-31).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import yaml
from django.utils import timezone
from rest_framework.test import APIClient

from goals import actuals, services
from goals.models import Measurement, Node, PeriodLock
from goals.rollup import jobs
from tests.conftest import FY_END, FY_START, _api

MEASUREMENTS = "/api/v1/measurements/"
BULK = "/api/v1/measurements/bulk/"
APR, MAY, JUN, JUL, AUG, SEP = (date(2026, month, 1) for month in range(4, 10))
ENTERED_ON = date(2026, 11, 22)  # "today" for actuals saved through the service in a fixture


def url(node: Node, action: str) -> str:
    return f"/api/v1/nodes/{node.pk}/{action}/"


@pytest.fixture
def colleague_api(colleague) -> APIClient:
    return _api(colleague)


def _node(organisation, parent: Node | None, kind: str, code: str, owner, **fields) -> Node:
    defaults = {
        "name": code.replace("_", " ").title(),
        "unit": "",
        "start_date": FY_START,
        "deadline": FY_END,
        "frequency": "monthly",
        "value_source": "manual",
        "time_aggregation": "sum",
    }
    return Node.objects.create(
        organisation=organisation, parent=parent, kind=kind, code=code, owner=owner, **{**defaults, **fields}
    )


@pytest.fixture
def tree(organisation, manager, member, colleague) -> dict[str, Node]:
    """A hand-built tree, monthly, fiscal year 2026:

    revenue (KGI, ¥)
    └── sales (KSF, no number of its own: status from its children)
        ├── close_rate (KPI, %, formula contracts / appointments * 100, target 5%)
        │   ├── contracts (sub-KPI, 2 a month, owned by member)
        │   └── appointments (sub-KPI, 35 a month, owned by colleague)
        └── retention (KPI, %, target 90%, owned by member)
    """
    revenue = _node(organisation, None, "kgi", "revenue", manager, unit="JPY", target_value=Decimal("1000000"))
    sales = _node(organisation, revenue, "ksf", "sales", manager, start_date=None, deadline=None)
    close_rate = _node(
        organisation,
        sales,
        "kpi",
        "close_rate",
        manager,
        unit="%",
        target_value=Decimal("5"),
        value_source="formula",
        formula="contracts / appointments * 100",
        time_aggregation="average",
    )
    contracts = _node(organisation, close_rate, "sub_kpi", "contracts", member, unit="contracts", target_value=2)
    appointments = _node(
        organisation, close_rate, "sub_kpi", "appointments", colleague, unit="appointments", target_value=35
    )
    retention = _node(
        organisation, sales, "kpi", "retention", member, unit="%", target_value=90, time_aggregation="average"
    )
    return {n.code: n for n in (revenue, sales, close_rate, contracts, appointments, retention)}


def enter(user, node: Node, rows: list[tuple[date, str]]) -> None:
    """Save actuals through the service (every value with a note, in case it is off track)."""
    entries = [actuals.Entry(node, period, Decimal(value), "Noted.") for period, value in rows]
    actuals.measurements_upsert_bulk(membership=user.membership, entries=entries, today=ENTERED_ON)


@pytest.fixture
def first_quarter(tree, manager) -> dict[str, Node]:
    """April–June: contracts 2, 1, 1 out of 30, 40, 34 appointments; nothing from July on."""
    enter(manager, tree["contracts"], [(APR, "2"), (MAY, "1"), (JUN, "1")])
    enter(manager, tree["appointments"], [(APR, "30"), (MAY, "40"), (JUN, "34")])
    return tree


def row(node: Node, period: date, value: str, note: str = "") -> dict:
    return {"node": node.pk, "period_start": period.isoformat(), "value": value, "note": note}


# --- create = upsert ----------------------------------------------------------------------------


def test_member_enters_an_actual_for_their_node(member_api, member, tree):
    response = member_api.post(MEASUREMENTS, row(tree["contracts"], APR, "2"), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["node"], data["period_start"], Decimal(data["value"]), data["note"]) == (
        tree["contracts"].pk,
        "2026-04-01",
        2,
        "",
    )
    assert data["entered_by"] == member.pk
    measurement = Measurement.objects.get()
    assert (measurement.node, measurement.period_start, measurement.value) == (tree["contracts"], APR, 2)


def test_entering_the_same_period_again_replaces_the_value_and_keeps_the_old_one(member_api, member, tree):
    first = member_api.post(MEASUREMENTS, row(tree["contracts"], APR, "2"), format="json")
    second = member_api.post(MEASUREMENTS, row(tree["contracts"], APR, "3", "A late signature counted."), format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]

    measurement = Measurement.objects.get()
    assert (measurement.value, measurement.note) == (3, "A late signature counted.")
    history = list(measurement.history.order_by("history_date", "history_id"))
    assert [(h.history_type, h.value) for h in history] == [("+", 2), ("~", 3)]
    assert {h.history_user for h in history} == {member}


def test_manager_enters_for_any_node_of_the_organisation(manager_api, tree):
    response = manager_api.post(MEASUREMENTS, row(tree["appointments"], APR, "36"), format="json")
    assert response.status_code == 201, response.content


def test_a_note_is_kept_when_the_value_is_off_track(member_api, tree):
    response = member_api.post(
        MEASUREMENTS, row(tree["contracts"], APR, "0", "Two deals slipped to May; call them Monday."), format="json"
    )
    assert response.status_code == 201, response.content
    assert Measurement.objects.get().note == "Two deals slipped to May; call them Monday."


@pytest.mark.parametrize("own_start_date", [True, False])
def test_an_off_track_value_needs_a_note_without_a_start_date_too(manager_api, tree, own_start_date):
    """§1.6 of issue 9: retention (90% a month) under a KSF without dates; without a start date of
    its own it follows the KGI's window, and 10% still needs a note, in one entry and in bulk."""
    if not own_start_date:
        Node.objects.filter(pk=tree["retention"].pk).update(start_date=None)
    message = {"note": ["This value puts the KPI off track: say why and what happens next."]}
    response = manager_api.post(MEASUREMENTS, row(tree["retention"], APR, "10"), format="json")
    assert (response.status_code, response.json()) == (400, message)
    response = manager_api.post(BULK, {"rows": [row(tree["retention"], APR, "10")]}, format="json")
    assert (response.status_code, response.json()) == (400, {"rows": {"0": message}})
    assert not Measurement.objects.exists()


@pytest.mark.parametrize(
    ("code", "period", "value", "field"),
    [
        ("contracts", APR, "abc", "value"),  # not a number
        ("contracts", APR, "", "value"),
        ("contracts", APR, "1.23456", "value"),  # more decimals than stored
        ("contracts", APR, "-1", "value"),  # negative where the unit forbids it
        ("retention", APR, "120", "value"),  # a percentage above 100
        ("retention", APR, "-5", "value"),
        ("contracts", date(2026, 3, 1), "2", "period_start"),  # before the KPI's window
        ("contracts", date(2027, 4, 1), "2", "period_start"),  # after its deadline
        ("contracts", date(2026, 4, 15), "2", "period_start"),  # not the start of a period
        ("close_rate", APR, "5", "node"),  # computed by a formula
        ("sales", APR, "5", "node"),  # a KSF without a number of its own
        ("contracts", APR, "0", "note"),  # off track without a note
    ],
)
def test_bad_input_is_400_per_field_and_saves_nothing(manager_api, tree, code, period, value, field):
    response = manager_api.post(MEASUREMENTS, row(tree[code], period, value), format="json")
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field], errors
    assert errors[field] and all(isinstance(message, str) for message in errors[field])
    assert not Measurement.objects.exists()


@pytest.mark.parametrize("period", ["9999-12-01", "0001-01-01"])
def test_a_period_outside_the_supported_dates_is_refused(manager_api, tree, period):
    """9999-12-01 was a 500 (its period end is in year 10000), in one entry and in bulk."""
    payload = {"node": tree["contracts"].pk, "period_start": period, "value": "1", "note": "Noted."}
    message = {"period_start": ["The period must lie between 1990-01-01 and 2100-12-31."]}

    response = manager_api.post(MEASUREMENTS, payload, format="json")
    assert (response.status_code, response.json()) == (400, message)
    response = manager_api.post(BULK, {"rows": [payload]}, format="json")
    assert (response.status_code, response.json()) == (400, {"rows": {"0": message}})
    assert not Measurement.objects.exists()


def test_a_note_is_at_most_2000_characters_as_on_the_form(manager_api, tree):
    payload = row(tree["contracts"], APR, "2", "x" * 2001)
    response = manager_api.post(MEASUREMENTS, payload, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["note"]
    response = manager_api.post(BULK, {"rows": [payload]}, format="json")
    assert response.status_code == 400
    assert list(response.json()["rows"]["0"]) == ["note"]

    payload["note"] = "x" * 2000
    assert manager_api.post(MEASUREMENTS, payload, format="json").status_code == 201


def test_a_future_period_is_refused(manager_api, tree):
    Node.objects.filter(pk=tree["contracts"].pk).update(deadline=date(2099, 12, 31))
    response = manager_api.post(MEASUREMENTS, row(tree["contracts"], date(2099, 1, 1), "2"), format="json")
    assert response.status_code == 400
    assert response.json() == {"period_start": ["The period has not started yet."]}


def test_a_quarter_is_locked_when_all_its_months_are_in_one_entry_and_in_bulk(manager_api, organisation, tree):
    """§2.3 of issue 9: closing April locked the April–June quarter."""
    Node.objects.filter(pk=tree["contracts"].pk).update(frequency="quarterly")
    PeriodLock.objects.create(organisation=organisation, month=APR, reason="Closed.")
    assert manager_api.post(MEASUREMENTS, row(tree["contracts"], APR, "6", "Noted."), format="json").status_code == 201
    for month in (MAY, JUN):
        PeriodLock.objects.create(organisation=organisation, month=month, reason="Closed.")
    message = ["April 2026 to June 2026 are locked; ask a manager to reopen one of them."]
    response = manager_api.post(MEASUREMENTS, row(tree["contracts"], APR, "7", "Noted."), format="json")
    assert (response.status_code, response.json()) == (400, {"period_start": message})
    response = manager_api.post(BULK, {"rows": [row(tree["contracts"], APR, "7", "Noted.")]}, format="json")
    assert (response.status_code, response.json()) == (400, {"rows": {"0": {"period_start": message}}})
    assert Measurement.objects.get().value == 6


def test_a_locked_period_is_refused(manager_api, organisation, tree):
    PeriodLock.objects.create(organisation=organisation, month=MAY, reason="Closed for the board meeting.")
    response = manager_api.post(MEASUREMENTS, row(tree["contracts"], MAY, "2"), format="json")
    assert response.status_code == 400
    assert "locked" in response.json()["period_start"][0]
    assert manager_api.post(MEASUREMENTS, row(tree["contracts"], JUN, "2"), format="json").status_code == 201


@pytest.mark.parametrize("missing", ["node", "period_start", "value"])
def test_required_fields(manager_api, tree, missing):
    payload = row(tree["contracts"], APR, "2")
    del payload[missing]
    response = manager_api.post(MEASUREMENTS, payload, format="json")
    assert response.status_code == 400
    assert missing in response.json()


# --- who may enter --------------------------------------------------------------------------------


def test_member_may_not_enter_another_members_node(member_api, tree):
    response = member_api.post(MEASUREMENTS, row(tree["appointments"], APR, "30"), format="json")
    assert response.status_code == 403
    assert not Measurement.objects.exists()


def test_member_named_as_reporter_may_enter(member_api, member, tree):
    tree["appointments"].reporters.add(member)
    response = member_api.post(MEASUREMENTS, row(tree["appointments"], APR, "36"), format="json")
    assert response.status_code == 201, response.content


def test_executive_reads_but_may_not_enter(executive_api, tree, first_quarter):
    assert executive_api.post(MEASUREMENTS, row(tree["contracts"], JUL, "2"), format="json").status_code == 403
    assert executive_api.post(BULK, {"rows": [row(tree["contracts"], JUL, "2")]}, format="json").status_code == 403
    assert executive_api.get(MEASUREMENTS).json()["count"] == 6
    assert executive_api.get(url(tree["close_rate"], "progress")).status_code == 200
    assert executive_api.get(url(tree["close_rate"], "explain"), {"period": "2026-04-01"}).status_code == 200
    assert Measurement.objects.count() == 6


def test_another_organisations_node_is_a_bad_node_id(outsider_api, tree):
    foreign = outsider_api.post(MEASUREMENTS, row(tree["contracts"], APR, "2"), format="json")
    missing = outsider_api.post(MEASUREMENTS, {**row(tree["contracts"], APR, "2"), "node": 999_999}, format="json")
    assert foreign.status_code == missing.status_code == 400
    # The same answer as for an id that does not exist: nothing tells the node is there.
    assert foreign.json()["node"] == [m.replace("999999", str(tree["contracts"].pk)) for m in missing.json()["node"]]
    bulk = outsider_api.post(BULK, {"rows": [row(tree["contracts"], APR, "2")]}, format="json")
    assert bulk.status_code == 400
    assert list(bulk.json()["rows"]["0"]) == ["node"]
    assert not Measurement.objects.exists()


def test_another_organisations_node_is_404_for_reads(outsider_api, first_quarter):
    node = first_quarter["close_rate"]
    assert outsider_api.get(url(node, "progress")).status_code == 404
    assert outsider_api.get(url(node, "explain"), {"period": "2026-04-01"}).status_code == 404
    assert outsider_api.get(MEASUREMENTS, {"node": first_quarter["contracts"].pk}).status_code == 404
    assert outsider_api.get(MEASUREMENTS, {"tree": first_quarter["revenue"].pk}).status_code == 404
    assert outsider_api.get(MEASUREMENTS).json()["count"] == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", MEASUREMENTS), ("post", MEASUREMENTS), ("post", BULK), ("get", "progress"), ("get", "explain")],
)
def test_unauthenticated_requests_are_refused(tree, method, path):
    if not path.startswith("/"):
        path = url(tree["close_rate"], path)
    assert getattr(APIClient(), method)(path).status_code in (401, 403)


# --- bulk -----------------------------------------------------------------------------------------


def test_bulk_saves_every_row(member_api, tree):
    rows = [row(tree["contracts"], APR, "2"), row(tree["contracts"], MAY, "2"), row(tree["retention"], APR, "92")]
    response = member_api.post(BULK, {"rows": rows}, format="json")
    assert response.status_code == 201, response.content
    saved = response.json()["rows"]
    assert [(r["node"], r["period_start"], Decimal(r["value"])) for r in saved] == [
        (tree["contracts"].pk, "2026-04-01", 2),
        (tree["contracts"].pk, "2026-05-01", 2),
        (tree["retention"].pk, "2026-04-01", 92),
    ]
    assert Measurement.objects.count() == 3


def test_bulk_replaces_existing_values(manager_api, manager, tree):
    enter(manager, tree["contracts"], [(APR, "1")])
    response = manager_api.post(BULK, {"rows": [row(tree["contracts"], APR, "2")]}, format="json")
    assert response.status_code == 201
    measurement = Measurement.objects.get()
    assert measurement.value == 2
    assert [h.value for h in measurement.history.order_by("history_date", "history_id")] == [1, 2]


def test_bulk_is_all_or_none(manager_api, tree):
    rows = [
        row(tree["contracts"], APR, "2"),
        row(tree["contracts"], MAY, "-1"),  # negative
        row(tree["appointments"], APR, "36"),
        row(tree["contracts"], date(2026, 3, 1), "2"),  # before the window
        row(tree["close_rate"], APR, "5"),  # computed
    ]
    response = manager_api.post(BULK, {"rows": rows}, format="json")
    assert response.status_code == 400
    errors = response.json()["rows"]
    assert {index: list(fields) for index, fields in errors.items()} == {
        "1": ["value"],
        "3": ["period_start"],
        "4": ["node"],
    }
    assert not Measurement.objects.exists()


def test_bulk_type_errors_are_per_row_too(manager_api, tree):
    rows = [row(tree["contracts"], APR, "2"), row(tree["contracts"], MAY, "lots"), {"node": tree["contracts"].pk}]
    response = manager_api.post(BULK, {"rows": rows}, format="json")
    assert response.status_code == 400
    errors = response.json()["rows"]
    assert list(errors) == ["1", "2"]
    assert list(errors["1"]) == ["value"]
    assert set(errors["2"]) == {"period_start", "value"}
    assert not Measurement.objects.exists()


def test_bulk_row_for_another_members_node_is_a_row_error(member_api, tree):
    rows = [row(tree["contracts"], APR, "2"), row(tree["appointments"], APR, "30")]
    response = member_api.post(BULK, {"rows": rows}, format="json")
    assert response.status_code == 400
    assert list(response.json()["rows"]) == ["1"]
    assert list(response.json()["rows"]["1"]) == ["node"]
    assert not Measurement.objects.exists()


@pytest.mark.parametrize("payload", [{}, {"rows": []}, {"rows": "all of them"}, [{"node": 1}]])
def test_bulk_needs_a_list_of_rows(manager_api, tree, payload):
    response = manager_api.post(BULK, payload, format="json")
    assert response.status_code == 400
    assert "rows" in response.json()


# --- list -----------------------------------------------------------------------------------------


def test_list_filters_by_node_tree_and_period_range(manager_api, manager, organisation, first_quarter):
    tree = first_quarter
    other_root = _node(organisation, None, "kgi", "margin", manager, unit="%", target_value=15)
    enter(manager, other_root, [(APR, "12")])

    everything = manager_api.get(MEASUREMENTS).json()
    assert everything["count"] == 7
    assert set(everything["results"][0]) == {"id", "node", "period_start", "value", "note", "entered_by", "entered_at"}

    by_node = manager_api.get(MEASUREMENTS, {"node": tree["contracts"].pk}).json()
    assert [(r["period_start"], Decimal(r["value"])) for r in by_node["results"]] == [
        ("2026-04-01", 2),
        ("2026-05-01", 1),
        ("2026-06-01", 1),
    ]
    assert manager_api.get(MEASUREMENTS, {"tree": tree["revenue"].pk}).json()["count"] == 6
    assert manager_api.get(MEASUREMENTS, {"tree": other_root.pk}).json()["count"] == 1

    ranged = manager_api.get(MEASUREMENTS, {"tree": tree["revenue"].pk, "from": "2026-05-01", "to": "2026-05-31"})
    assert {(r["node"], r["period_start"]) for r in ranged.json()["results"]} == {
        (tree["contracts"].pk, "2026-05-01"),
        (tree["appointments"].pk, "2026-05-01"),
    }
    assert manager_api.get(MEASUREMENTS, {"from": "2026-06-01"}).json()["count"] == 2


def test_list_is_paginated(manager_api, first_quarter):
    # (A member would not see the colleague's appointments: tests/goals/test_attainment_visibility.py.)
    data = manager_api.get(MEASUREMENTS, {"limit": 2, "offset": 2}).json()
    assert data["count"] == 6
    assert len(data["results"]) == 2
    assert data["next"] and data["previous"]


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-13-01"},
        {"to": "last week"},
        {"from": "0001-01-01"},
        {"to": "9999-12-31"},
        {"node": "first"},
        {"tree": "9223372036854775808"},
        {"limit": "501"},
        {"offset": "-1"},
    ],
)
def test_list_bad_parameters_are_400(manager_api, tree, params):
    response = manager_api.get(MEASUREMENTS, params)
    assert response.status_code == 400
    assert list(response.json()) == list(params)


# --- progress -------------------------------------------------------------------------------------


def test_progress_per_month_and_over_the_quarter(manager_api, first_quarter):
    response = manager_api.get(url(first_quarter["close_rate"], "progress"), {"from": "2026-04-01", "to": "2026-06-30"})
    assert response.status_code == 200
    data = response.json()
    assert (data["node"], data["from"], data["to"]) == (first_quarter["close_rate"].pk, "2026-04-01", "2026-06-30")
    assert [p["period_start"] for p in data["periods"]] == ["2026-04-01", "2026-05-01", "2026-06-01"]
    assert [p["actual"] for p in data["periods"]] == pytest.approx([2 / 30 * 100, 1 / 40 * 100, 1 / 34 * 100])
    assert [p["target"] for p in data["periods"]] == [5, 5, 5]
    assert [p["status"] for p in data["periods"]] == ["on_track", "off_track", "off_track"]
    assert [p["missing_inputs"] for p in data["periods"]] == [0, 0, 0]

    quarter = data["to_date"]
    # A ratio of the quarter's sums (4 contracts out of 104 appointments), not the mean of the
    # monthly rates (which would be 4.04%).
    assert quarter["actual"] == pytest.approx(4 / 104 * 100)
    assert round(quarter["actual"], 2) == 3.85
    assert quarter["target"] == 5
    assert quarter["attainment"] == 76.9  # 76.92…% with one decimal, as the pages show it
    assert quarter["gap"] == pytest.approx(4 / 104 * 100 - 5)
    assert quarter["status"] == "off_track"
    assert quarter["missing_inputs"] == 0
    assert "period_start" not in quarter
    assert all(isinstance(quarter[k], float) for k in ("actual", "target", "attainment", "gap"))


def test_progress_range_holds_the_periods_the_pages_count_in_it(manager_api, first_quarter):
    # One rule with the pages (goals.periods.period_anchor): a month belongs to a range that holds
    # its first day, so from mid-April the rows and the figures to date are May and June, together.
    for code, expected in (("close_rate", 2 / 74 * 100), ("contracts", 2)):
        data = manager_api.get(url(first_quarter[code], "progress"), {"from": "2026-04-15", "to": "2026-06-30"}).json()
        assert data["from"] == "2026-04-15"
        assert [p["period_start"] for p in data["periods"]] == ["2026-05-01", "2026-06-01"]
        assert data["to_date"]["actual"] == pytest.approx(expected)


def test_progress_of_a_flow_sums_the_months(manager_api, first_quarter):
    data = manager_api.get(
        url(first_quarter["contracts"], "progress"), {"from": "2026-04-01", "to": "2026-06-30"}
    ).json()
    assert data["to_date"]["actual"] == 4
    assert data["to_date"]["target"] == 6
    assert data["to_date"]["gap"] == -2
    assert data["to_date"]["attainment"] == 66.7


def test_missing_months_show_as_missing_not_zero(manager_api, first_quarter):
    data = manager_api.get(url(first_quarter["close_rate"], "progress"), {"from": "2026-04-01", "to": "2026-07-31"})
    july = data.json()["periods"][-1]
    assert july["period_start"] == "2026-07-01"
    assert (july["actual"], july["attainment"], july["gap"], july["status"]) == (None, None, None, "no_data")
    assert july["missing_inputs"] == 2  # neither contracts nor appointments were entered
    assert "appointments" in july["reason"] and "contracts" in july["reason"]
    assert data.json()["to_date"]["missing_inputs"] == 2


def test_a_division_by_zero_is_no_data_with_a_reason(manager_api, manager, first_quarter):
    enter(manager, first_quarter["contracts"], [(AUG, "0")])
    enter(manager, first_quarter["appointments"], [(AUG, "0")])
    data = manager_api.get(url(first_quarter["close_rate"], "progress"), {"from": "2026-08-01", "to": "2026-08-31"})
    august = data.json()["periods"][0]
    assert (august["actual"], august["status"]) == (None, "no_data")
    assert august["reason"]


def test_progress_defaults_to_the_window_start_until_today(manager_api, first_quarter):
    last = min(timezone.localdate(), FY_END)  # today, or the deadline once it has passed
    for code in ("close_rate", "sales"):  # the KSF has no dates: it follows its KGI's window
        data = manager_api.get(url(first_quarter[code], "progress")).json()
        assert (data["from"], data["to"]) == ("2026-04-01", last.isoformat())
        assert data["periods"][0]["period_start"] == "2026-04-01"
    data = manager_api.get(url(first_quarter["close_rate"], "progress"), {"to": "2026-05-31"}).json()
    assert [p["period_start"] for p in data["periods"]] == ["2026-04-01", "2026-05-01"]


def test_ksf_takes_its_status_from_its_children(manager_api, manager, first_quarter):
    enter(manager, first_quarter["retention"], [(APR, "95"), (MAY, "95"), (JUN, "95")])
    data = manager_api.get(url(first_quarter["sales"], "progress"), {"from": "2026-04-01", "to": "2026-06-30"}).json()
    quarter = data["to_date"]
    assert quarter["actual"] is None  # no number of its own
    # Weighted score of close rate (76.9%) and retention (105.6%), weights 1 and 1: 91.2%.
    assert quarter["attainment"] == 91.2
    assert quarter["status"] == "at_risk"


def test_attainment_is_given_as_the_pages_show_it_and_judge_it(manager_api, manager, tree):
    # 1.799 of 2 is 89.95%: shown (one decimal, half up) as 90.0% and judged on that, at risk
    # (off track below 90). With two decimals the API said 89.95 beside "at risk".
    enter(manager, tree["contracts"], [(APR, "1.799")])
    april = {"from": "2026-04-01", "to": "2026-04-30"}
    data = manager_api.get(url(tree["contracts"], "progress"), april).json()
    for row in (data["periods"][0], data["to_date"]):
        assert (row["attainment"], row["status"]) == (90.0, "at_risk")
    explained = manager_api.get(url(tree["contracts"], "explain"), {"period": "2026-04-01"}).json()
    assert (explained["attainment"], explained["status"]) == (90.0, "at_risk")


def test_per_node_thresholds_set_through_the_node_api_decide_the_status(manager_api, first_quarter):
    node = first_quarter["close_rate"]
    quarter = {"from": "2026-04-01", "to": "2026-06-30"}
    assert manager_api.get(url(node, "progress"), quarter).json()["to_date"]["status"] == "off_track"  # 76.9%
    response = manager_api.patch(
        f"/api/v1/nodes/{node.pk}/", {"at_risk_below": "80", "off_track_below": "70"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["at_risk_below"], response.json()["off_track_below"]) == ("80.00", "70.00")
    assert manager_api.get(url(node, "progress"), quarter).json()["to_date"]["status"] == "at_risk"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-02-30"}, "from"),
        ({"to": "tomorrow"}, "to"),
        ({"from": "2026-06-01", "to": "2026-05-31"}, "to"),  # from after to
    ],
)
def test_progress_bad_dates_are_400(manager_api, tree, params, field):
    response = manager_api.get(url(tree["close_rate"], "progress"), params)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        # Outside the supported dates: year 10000 was a 500, 0001-01-01 a 5.5 MB answer.
        ({"to": "9999-12-31"}, {"to": ["Give a date between 1990-01-01 and 2100-12-31."]}),
        ({"from": "0001-01-01"}, {"from": ["Give a date between 1990-01-01 and 2100-12-31."]}),
        # Outside the node's window (fiscal year 2026).
        ({"to": "2000-01-01"}, {"to": ["The range ends before the KPI starts (2026-04-01)."]}),
        ({"from": "2027-04-01"}, {"from": ["The range starts after the KPI's deadline (2027-03-31)."]}),
    ],
)
def test_progress_refuses_a_range_outside_the_dates_and_the_window(manager_api, tree, params, message):
    response = manager_api.get(url(tree["close_rate"], "progress"), params)
    assert response.status_code == 400
    assert response.json() == message


def test_progress_range_holds_at_most_the_periods_of_a_window(manager_api, tree):
    """A daily KPI from 0001-01-01 kept a worker busy past 30 s: at most 1,100 days a request."""
    Node.objects.filter(pk=tree["retention"].pk).update(frequency="daily")
    path = url(tree["retention"], "progress")

    response = manager_api.get(path, {"from": "2023-12-01", "to": "2026-12-04"})
    assert response.status_code == 200, response.content
    assert len(response.json()["periods"]) == 1100

    response = manager_api.get(path, {"from": "2023-11-30", "to": "2026-12-04"})
    assert response.status_code == 400
    assert response.json() == {"from": ["A range may hold at most 1100 periods (Daily); this one holds 1101."]}


def test_progress_default_range_keeps_its_latest_periods(manager_api, tree):
    """A window longer than a request may hold (saved before windows were bounded) still has a
    default range — the fiscal year to date, as for a node without a window (SMART refuses such a
    window and the rollup reports it) — never a 400 for a request without parameters."""
    Node.objects.filter(pk=tree["retention"].pk).update(
        frequency="daily", start_date=date(1990, 1, 1), deadline=date(2100, 12, 31)
    )
    response = manager_api.get(url(tree["retention"], "progress"))
    assert response.status_code == 200, response.content
    periods = response.json()["periods"]
    assert 1 <= len(periods) <= 366
    assert periods[-1]["period_start"] == timezone.localdate().isoformat()


def test_progress_defaults_to_the_deadline_once_it_has_passed(manager_api, tree):
    Node.objects.filter(pk=tree["retention"].pk).update(deadline=date(2026, 6, 30))
    data = manager_api.get(url(tree["retention"], "progress")).json()
    assert (data["from"], data["to"]) == ("2026-04-01", "2026-06-30")
    assert [p["period_start"] for p in data["periods"]] == ["2026-04-01", "2026-05-01", "2026-06-01"]


@pytest.mark.parametrize("action", ["progress", "explain"])
def test_an_archived_node_has_no_figures_409(manager_api, manager, tree, action):
    """The rollup leaves archived nodes out; asking for their figures was a 500 (KeyError)."""
    services.node_archive(node=tree["retention"], actor=manager)
    response = manager_api.get(url(tree["retention"], action), {"period": "2026-05-01"})
    assert response.status_code == 409
    assert response.json() == {"detail": "This node is archived: restore it to see its figures."}


def test_progress_is_stale_until_the_rollup_has_run(manager_api, member_api, tree):
    path = url(tree["close_rate"], "progress")
    assert manager_api.get(path).json()["stale"] is False

    # Saving an actual asks for a rollup (the task runs after the commit; not in this test).
    assert member_api.post(MEASUREMENTS, row(tree["contracts"], APR, "2"), format="json").status_code == 201
    assert manager_api.get(path).json()["stale"] is True
    assert manager_api.get(url(tree["close_rate"], "explain"), {"period": "2026-04-01"}).json()["stale"] is True

    jobs.tree_rollup(root_id=tree["revenue"].pk, as_of=timezone.localdate())
    assert manager_api.get(path).json()["stale"] is False


# --- explain --------------------------------------------------------------------------------------


def test_explain_lists_the_inputs_and_the_rule(manager_api, first_quarter):
    response = manager_api.get(url(first_quarter["close_rate"], "explain"), {"period": "2026-05-17"})
    assert response.status_code == 200
    data = response.json()
    assert data["period_start"] == "2026-05-01"  # any day names its period
    assert data["actual"] == pytest.approx(2.5)
    assert (data["target"], data["status"], data["value_source"]) == (5, "off_track", "formula")
    assert data["attainment"] == pytest.approx(50)
    assert [(i["code"], i["value"], i["status"]) for i in data["inputs"]] == [
        ("contracts", 1, "off_track"),  # 1 of 2
        ("appointments", 40, "on_track"),  # 40 of 35
    ]
    assert {"node", "name", "unit"} <= set(data["inputs"][0])
    assert "off track below 90.0%" in data["rule"]


def test_explain_a_ksf_names_its_children(manager_api, first_quarter):
    data = manager_api.get(url(first_quarter["sales"], "explain"), {"period": "2026-04-01"}).json()
    assert [i["code"] for i in data["inputs"]] == ["close_rate", "retention"]
    assert [i["status"] for i in data["inputs"]] == ["on_track", "no_data"]
    assert data["rule"] == "It takes the weighted score of its children's attainment."


def test_explain_a_worst_of_ksf_names_the_child_it_takes_its_status_from(manager_api, first_quarter):
    Node.objects.filter(pk=first_quarter["sales"].pk).update(status_rule="worst")
    data = manager_api.get(url(first_quarter["sales"], "explain"), {"period": "2026-04-01"}).json()
    assert data["rule"] == (
        "It takes the status and attainment of its worst child, close_rate, judged on that child's "
        "thresholds; its own thresholds are not used."
    )


def test_explain_a_month_without_data(manager_api, first_quarter):
    data = manager_api.get(url(first_quarter["close_rate"], "explain"), {"period": "2026-07-01"}).json()
    assert (data["actual"], data["status"], data["missing_inputs"]) == (None, "no_data", 2)
    assert [i["value"] for i in data["inputs"]] == [None, None]
    assert "contracts" in data["rule"]


@pytest.mark.parametrize("params", [{}, {"period": ""}, {"period": "May 2026"}, {"period": "2026-05-32"}])
def test_explain_needs_a_period(manager_api, tree, params):
    response = manager_api.get(url(tree["close_rate"], "explain"), params)
    assert response.status_code == 400
    assert "period" in response.json()


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("9999-12-31", "Give a date between 1990-01-01 and 2100-12-31."),  # was a 500
        ("0001-01-01", "Give a date between 1990-01-01 and 2100-12-31."),
        ("2000-01-01", "The period is before the KPI starts (2026-04-01)."),
        ("2027-04-01", "The period is after the KPI's deadline (2027-03-31)."),
    ],
)
def test_explain_refuses_a_period_outside_the_dates_and_the_window(manager_api, tree, period, message):
    response = manager_api.get(url(tree["close_rate"], "explain"), {"period": period})
    assert response.status_code == 400
    assert response.json() == {"period": [message]}


# --- schema ---------------------------------------------------------------------------------------


def test_openapi_schema_lists_the_actuals_paths(manager_api):
    schema = yaml.safe_load(manager_api.get("/api/v1/schema/").content)
    assert {"get", "post"} <= set(schema["paths"]["/api/v1/measurements/"])
    assert "post" in schema["paths"]["/api/v1/measurements/bulk/"]
    for path in ("/api/v1/nodes/{id}/progress/", "/api/v1/nodes/{id}/explain/"):
        assert "get" in schema["paths"][path]
    progress = schema["components"]["schemas"]["NodeProgress"]["properties"]
    assert {"from", "to", "periods", "to_date", "stale"} <= set(progress)


@pytest.mark.parametrize("node_id", ["float", True, "3.5", [1], {"id": 1}])
def test_a_node_id_that_is_not_an_integer_is_400(manager_api, tree, node_id):
    contracts = tree["contracts"]
    # 3.5 would otherwise be read as node 3, and true as node 1.
    value = contracts.pk + 0.5 if node_id == "float" else node_id

    response = manager_api.post(MEASUREMENTS, {**row(contracts, APR, "2"), "node": value}, format="json")

    assert response.status_code == 400
    assert "node" in response.json()
    assert not Measurement.objects.exists()


@pytest.mark.parametrize(
    ("formula", "reason"),
    [
        ("contracts * 1e308 * 10", "too large to compute"),
        ("1e308 * 1e308 * contracts / appointments", "too large to compute"),
        # Written before the parser refused it: the node says why, the rest is computed.
        ("contracts * 1" + "0" * 400, "cannot be computed"),
    ],
)
def test_a_formula_that_overflows_is_no_data_in_progress_and_explain(manager_api, first_quarter, formula, reason):

    Node.objects.filter(pk=first_quarter["close_rate"].pk).update(formula=formula)
    jobs.tree_rollup(root_id=first_quarter["revenue"].pk, as_of=timezone.localdate())

    for node in (first_quarter["close_rate"], first_quarter["sales"], first_quarter["revenue"]):
        progress = manager_api.get(url(node, "progress"), {"from": "2026-04-01", "to": "2026-06-30"})
        explain = manager_api.get(url(node, "explain"), {"period": "2026-04-01"})
        assert progress.status_code == explain.status_code == 200
        for response in (progress, explain):
            assert "Infinity" not in response.content.decode() and "NaN" not in response.content.decode()
    april = manager_api.get(url(first_quarter["close_rate"], "explain"), {"period": "2026-04-01"}).json()
    assert (april["actual"], april["status"]) == (None, "no_data")
    assert reason in april["rule"]
    # Its inputs are still judged.
    contracts = manager_api.get(url(first_quarter["contracts"], "explain"), {"period": "2026-04-01"}).json()
    assert contracts["status"] == "on_track"


def test_progress_counts_a_week_across_two_months_once(manager_api, organisation, manager, member):
    # Team A's weekly tickets (issue 9 §2.1): the API's October + November is what was entered,
    # and the children's Novembers add up to the parent's (a week belongs to its Thursday's month).
    weekly = {"frequency": "weekly", "start_date": date(2026, 9, 28), "deadline": date(2026, 12, 27)}
    team = _node(organisation, None, "kgi", "team_a", manager, target_value=500, value_source="sum", **weekly)
    first = _node(organisation, team, "kpi", "first_line", member, target_value=250, **weekly)
    second = _node(organisation, team, "kpi", "second_line", member, target_value=250, **weekly)
    enter(manager, first, [(date(2026, 10, 19), "110"), (date(2026, 10, 26), "120"), (date(2026, 11, 2), "130")])
    enter(manager, second, [(date(2026, 10, 26), "160"), (date(2026, 11, 9), "170")])

    def to_date(node: Node, first_day: str, last_day: str) -> float | None:
        data = manager_api.get(url(node, "progress"), {"from": first_day, "to": last_day}).json()
        return data["to_date"]["actual"]

    october = to_date(team, "2026-10-01", "2026-10-31")
    november = to_date(team, "2026-11-01", "2026-11-30")
    assert (october, november) == (110 + 120 + 160, 130 + 170)
    assert october + november == 110 + 120 + 130 + 160 + 170
    assert to_date(first, "2026-11-01", "2026-11-30") + to_date(second, "2026-11-01", "2026-11-30") == november
