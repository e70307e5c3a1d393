"""The history of actuals (goals.selectors: measurement_value_history, node_value_history,
value_changes): every entered, replaced or removed value with who, when, before → after and the
note it then had (issue 10 §3)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import partial

import pytest
import yaml
from rest_framework.test import APIClient

from goals import actuals, selectors
from goals.models import Measurement, Node, Organisation
from goals.selectors import ValueChangeKind
from tests.conftest import _api, signed_in
from tests.dashboards.small_tree import APR, MAY, TODAY, saas_tree


@pytest.fixture
def tree(organisation, manager, executive, member):
    return saas_tree(organisation, manager, executive, member)


def enter(user, node, period: date, value: str, note: str = "Noted.") -> Measurement:
    return actuals.measurement_upsert(
        membership=user.membership, entry=actuals.Entry(node, period, Decimal(value), note), today=TODAY
    )


def rows(history) -> list[tuple]:
    return [(c.kind, c.period, c.before, c.after, c.who, c.note) for c in selectors.value_changes(history)]


def test_an_actual_entered_then_replaced_twice_lists_each_value_newest_first(tree, manager, member):
    node = tree["appointments"]
    measurement = enter(member, node, APR, "40", "First count.")
    enter(manager, node, APR, "42", "Two booked late.")
    enter(member, node, APR, "41", "One cancelled.")

    assert rows(selectors.measurement_value_history(measurement)) == [
        (ValueChangeKind.REPLACED, APR, Decimal("42"), Decimal("41"), member, "One cancelled."),
        (ValueChangeKind.REPLACED, APR, Decimal("40"), Decimal("42"), manager, "Two booked late."),
        (ValueChangeKind.CREATED, APR, None, Decimal("40"), member, "First count."),
    ]


def test_the_node_history_holds_every_period_and_the_period_filter_one(tree, manager, member):
    node = tree["appointments"]
    enter(member, node, APR, "40")
    enter(member, node, MAY, "30")
    enter(manager, node, APR, "44", "Recounted.")
    enter(manager, tree["new_contracts"], APR, "6")  # another node: not in this one's history

    everything = rows(selectors.node_value_history(node))
    assert [(kind, period, before, after) for kind, period, before, after, *_ in everything] == [
        (ValueChangeKind.REPLACED, APR, Decimal("40"), Decimal("44")),
        (ValueChangeKind.CREATED, MAY, None, Decimal("30")),
        (ValueChangeKind.CREATED, APR, None, Decimal("40")),
    ]
    # Any day of the period names it.
    april = rows(selectors.node_value_history(node, period=date(2026, 4, 17)))
    assert [(kind, before, after) for kind, _, before, after, *_ in april] == [
        (ValueChangeKind.REPLACED, Decimal("40"), Decimal("44")),
        (ValueChangeKind.CREATED, None, Decimal("40")),
    ]


def test_a_page_of_the_history_still_knows_the_value_before(tree, manager, member):
    """The value before comes from the whole history, not from the rows a limit kept."""
    node = tree["appointments"]
    enter(member, node, APR, "40")
    enter(manager, node, APR, "44")
    newest = selectors.value_changes(selectors.node_value_history(node)[:1])
    assert [(c.before, c.after) for c in newest] == [(Decimal("40"), Decimal("44"))]


def test_the_node_page_rows_are_capped_and_say_there_are_more(tree, member):
    node = tree["appointments"]
    for value in ("40", "41", "42"):
        enter(member, node, APR, value)
    changes, more = selectors.node_value_changes(node, limit=2)
    assert [(c.before, c.after) for c in changes] == [(Decimal("41"), Decimal("42")), (Decimal("40"), Decimal("41"))]
    assert more is True
    assert selectors.node_value_changes(node, limit=3)[1] is False


def test_a_removed_actual_stays_in_the_history(tree, member):
    node = tree["appointments"]
    measurement = enter(member, node, APR, "40")
    Measurement.objects.filter(pk=measurement.pk).get().delete()
    kinds = rows(selectors.node_value_history(node))
    assert [(kind, before, after) for kind, _, before, after, *_ in kinds] == [
        (ValueChangeKind.DELETED, Decimal("40"), None),
        (ValueChangeKind.CREATED, None, Decimal("40")),
    ]


def test_who_is_named_by_full_name_else_login(tree, member):
    change = selectors.value_changes(
        selectors.measurement_value_history(enter(member, tree["appointments"], APR, "40"))
    )
    assert change[0].who_name == "Worker"
    member.first_name = ""
    member.save()
    change = selectors.value_changes(selectors.measurement_value_history(Measurement.objects.get()))
    assert change[0].who_name == "worker"


# --- the API: GET /api/v1/measurements/{id}/history/ and /api/v1/nodes/{id}/value-history/ ------


def history_url(measurement: Measurement) -> str:
    return f"/api/v1/measurements/{measurement.pk}/history/"


def node_history_url(node) -> str:
    return f"/api/v1/nodes/{node.pk}/value-history/"


@pytest.fixture
def replaced(tree, manager, member) -> Measurement:
    """April's appointments: 40 entered by the team member, then 42 by the manager."""
    enter(member, tree["appointments"], APR, "40", "First count.")
    return enter(manager, tree["appointments"], APR, "42", "Two <b>booked</b> late.")


def test_the_api_lists_a_measurements_changes_newest_first(manager_api, manager, member, replaced):
    response = manager_api.get(history_url(replaced))
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["count"] == 2
    newest, first = data["results"]
    assert {key: newest[key] for key in newest if key != "changed_at"} == {
        "measurement": replaced.pk,
        "node": replaced.node_id,
        "period_start": "2026-04-01",
        "change": "replaced",
        "changed_by": manager.pk,
        "changed_by_name": "Boss",
        "before": "40.0000",
        "after": "42.0000",
        "note": "Two <b>booked</b> late.",
    }
    assert (first["change"], first["before"], first["after"], first["changed_by"]) == (
        "created",
        None,
        "40.0000",
        member.pk,
    )
    assert newest["changed_at"] >= first["changed_at"]


def test_the_api_pages_the_history(manager_api, replaced):
    data = manager_api.get(history_url(replaced), {"limit": 1, "offset": 0}).json()
    assert (data["count"], len(data["results"]), data["results"][0]["before"]) == (2, 1, "40.0000")
    assert manager_api.get(history_url(replaced), {"limit": 0}).status_code == 400


def test_the_node_history_of_the_api_filters_by_period(manager_api, member, tree, replaced):
    enter(member, tree["appointments"], MAY, "30")
    assert manager_api.get(node_history_url(tree["appointments"])).json()["count"] == 3
    april = manager_api.get(node_history_url(tree["appointments"]), {"period": "2026-04-20"}).json()
    assert [(r["period_start"], r["change"]) for r in april["results"]] == [
        ("2026-04-01", "replaced"),
        ("2026-04-01", "created"),
    ]
    assert manager_api.get(node_history_url(tree["appointments"]), {"period": "April"}).status_code == 400


@pytest.mark.parametrize("role", ["executive", "member"])
def test_every_role_reads_the_history_of_what_it_may_see(request, role, replaced):
    client = request.getfixturevalue(f"{role}_api")
    assert client.get(history_url(replaced)).status_code == 200
    assert client.get(node_history_url(replaced.node)).status_code == 200


def test_another_organisations_actual_is_404(outsider_api, replaced):
    assert outsider_api.get(history_url(replaced)).status_code == 404
    assert outsider_api.get(node_history_url(replaced.node)).status_code == 404
    assert outsider_api.get("/api/v1/measurements/999999/history/").status_code == 404


def test_a_colleagues_personal_kpi_history_is_403_unless_shared_or_reported(
    organisation, tree, manager, member, colleague, replaced
):
    """The history holds the values: the same rule as the figures (goals.access)."""
    Node.objects.filter(pk=replaced.node_id).update(owner=colleague)
    member_api = _api(member)
    assert member_api.get(history_url(replaced)).status_code == 403
    assert member_api.get(node_history_url(replaced.node)).status_code == 403
    replaced.node.reporters.add(member)
    assert member_api.get(history_url(replaced)).status_code == 200
    replaced.node.reporters.remove(member)
    Organisation.objects.filter(pk=organisation.pk).update(members_see_team_attainment=True)
    assert member_api.get(history_url(replaced)).status_code == 200


def test_the_history_needs_a_login(replaced):
    assert APIClient().get(history_url(replaced)).status_code in (401, 403)


def test_the_history_is_read_only(manager_api, replaced):
    assert manager_api.post(history_url(replaced), {}, format="json").status_code == 405


def test_the_schema_documents_the_history(manager_api):
    schema = yaml.safe_load(manager_api.get("/api/v1/schema/").content)
    assert "get" in schema["paths"]["/api/v1/measurements/{id}/history/"]
    assert "get" in schema["paths"]["/api/v1/nodes/{id}/value-history/"]
    change = schema["components"]["schemas"]["ValueChange"]["properties"]
    assert {"period_start", "change", "changed_at", "changed_by", "changed_by_name", "before", "after", "note"} <= set(
        change
    )


# --- the node page's "Value history" ---------------------------------------------------------------


def node_page_html(user, node) -> str:
    response = signed_in(user).get(f"/nodes/{node.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def value_history_of(html: str) -> str:
    assert 'id="value-history-title"' in html
    return html.split('id="value-history-title"')[1].split("</section>")[0]


def test_the_node_page_shows_each_replaced_value_with_its_unit_who_when_and_note(manager, member, tree, replaced):
    section = value_history_of(node_page_html(manager, tree["appointments"]))
    rows = section.split('<tr class="value-change')[1:]
    assert len(rows) == 2
    assert "April 2026" in rows[0]
    assert "40 appointments → 42 appointments" in rows[0]
    assert "Boss" in rows[0]
    # The note is the user's text: escaped, never markup.
    assert "Two &lt;b&gt;booked&lt;/b&gt; late." in rows[0]
    assert "<b>booked</b>" not in section
    assert "Entered: 40 appointments" in rows[1] and "Worker" in rows[1] and "First count." in rows[1]


def test_the_node_page_formats_money_as_the_rest_of_the_page(manager, tree):
    enter(manager, tree["upsell_revenue"], APR, "1200000")
    enter(manager, tree["upsell_revenue"], APR, "1250000")
    section = value_history_of(node_page_html(manager, tree["upsell_revenue"]))
    assert "¥1,200,000 → ¥1,250,000" in section


def test_the_node_page_says_when_it_shows_only_the_latest_changes(manager, tree, monkeypatch):
    for value in ("40", "41", "42"):
        enter(manager, tree["appointments"], APR, value)
    monkeypatch.setattr(selectors, "node_value_changes", partial(selectors.node_value_changes, limit=2))
    section = value_history_of(node_page_html(manager, tree["appointments"]))
    assert "Showing the latest 2 changes." in section
    assert section.count('<tr class="value-change') == 2


def test_the_node_page_hides_a_colleagues_value_history(organisation, member, colleague, tree, replaced):
    Node.objects.filter(pk=replaced.node_id).update(owner=colleague)
    html = node_page_html(member, tree["appointments"])
    assert 'id="value-history-title"' not in html
    assert "Two &lt;b&gt;booked" not in html


def test_the_node_page_value_history_is_in_japanese(manager, tree, replaced):
    client = signed_in(manager)
    client.cookies["django_language"] = "ja"
    html = client.get(f"/nodes/{tree['appointments'].pk}/").content.decode()
    section = value_history_of(html)
    assert "実績値の履歴" in html and "Value history" not in html
    assert "入力：40 appointments" in section and "Actual (before → after)" not in section


def test_the_node_page_shows_a_removed_actual(manager, tree):
    Measurement.objects.get(pk=enter(manager, tree["appointments"], APR, "40").pk).delete()
    section = value_history_of(node_page_html(manager, tree["appointments"]))
    assert "Removed: 40 appointments" in section
