"""The member's pages for actuals (goals/views.py): "My KPIs", the grid, and closing months.

The views take today from the clock, so the tree here runs from six months before the current
month to six months after it, and periods are picked relative to today.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from goals import actuals, services, tasks
from goals.forms import ActualForm, ActualValueField, grid_rows
from goals.library import SAAS_REVENUE_TREE
from goals.models import Measurement, Node, PeriodLock
from goals.periods import add_months, month_label, period_start
from goals.rollup import storage
from tests.conftest import signed_in

D = Decimal


@pytest.fixture
def this_month() -> date:
    return timezone.localdate().replace(day=1)


@pytest.fixture
def tree(organisation, manager, executive, member, this_month) -> Node:
    """The SaaS tree with each node owned by the role the template names (the member owns
    appointments, leads approached, role-plays, feature adoption, webinars, …)."""
    return services.tree_create_from_template(
        organisation=organisation,
        actor=manager,
        template=SAAS_REVENUE_TREE,
        start_date=add_months(this_month, -6),
        deadline=date.fromordinal(add_months(this_month, 6).toordinal() - 1),
        owners={"executive": executive, "manager": manager, "member": member},
    )


@pytest.fixture
def nodes(tree) -> dict[str, Node]:
    return {n.code: n for n in Node.objects.filter(tree_id=tree.tree_id)}


@pytest.fixture
def member_client(member) -> Client:
    return signed_in(member)


def form_data(node: Node, period: date, value: str, note: str = "") -> dict[str, str]:
    prefix = f"kpi{node.pk}"
    return {f"{prefix}-period": period.isoformat(), f"{prefix}-value": value, f"{prefix}-note": note}


def target(node: Node, period: date) -> float:
    return storage.period_targets([(node, period)], node.organisation, today=timezone.localdate())[(node.pk, period)]


def text(response) -> str:
    return response.content.decode()


def card_for(response, node: Node):
    return next(card for card in response.context["cards"] if card.row.node.pk == node.pk)


# --- "My KPIs": what each role sees --------------------------------------------------------------


def test_member_sees_the_kpis_they_own_or_report(member_client, member, nodes, this_month):
    nodes["repeat_rate"].reporters.add(member)  # owned by the manager; the member also enters it
    response = member_client.get("/actuals/")
    assert response.status_code == 200
    listed = {card.row.node.code for card in response.context["cards"]}
    assert listed == {
        "appointments",
        "leads_approached",
        "role_plays",
        "feature_adoption",
        "webinars",
        "reactivation_calls",
        "reactivation_emails",
        "repeat_rate",
    }
    card = card_for(response, nodes["appointments"])
    assert card.row.period == this_month
    assert card.form["period"].value() == this_month
    assert card.row.target == pytest.approx(target(nodes["appointments"], this_month))
    assert card.row.status == "no_data"
    page = text(response)
    assert f'href="/nodes/{nodes["appointments"].pk}/"' in page
    assert "No data" in page
    # No actual yet: the sparkline draws only the target path, and says so in words.
    assert card.figure.actual_paths == [] and card.figure.target_path
    assert "no actual" in page
    # The member's nav leads here.
    assert '<a href="/actuals/">My KPIs</a>' in page


def test_each_row_shows_last_value_target_status_and_a_sparkline(member_client, member, nodes, this_month):
    appointments = nodes["appointments"]
    last_month = add_months(this_month, -1)
    for months_ago, value in [(3, "40"), (2, "44"), (1, "47")]:
        entry = actuals.Entry(node=appointments, period=add_months(this_month, -months_ago), value=D(value))
        actuals.measurement_upsert(membership=member.membership, entry=entry, today=timezone.localdate())
    tasks.rollup_tree(appointments.get_root().pk)
    response = member_client.get("/actuals/")
    card = card_for(response, appointments)
    assert card.row.last.value == D("47")
    assert card.row.last.period_start == last_month
    assert card.row.current is None
    assert [v for _p, v, _t in card.row.recent][-4:] == [D("40"), D("44"), D("47"), None]
    # The current month has no actual yet: no data; last month's status is stored.
    assert card.row.status == "no_data"
    assert len(card.figure.actual_paths) == 1
    page = text(response)
    svg = re.search(rf'<svg class="sparkline".*?aria-labelledby="spark-{appointments.pk}".*?</svg>', page, re.S)
    assert svg is not None
    title = re.search(r"<title[^>]*>(.*?)</title>", svg.group(0), re.S).group(1)
    assert "47 appointments" in title and "no actual" in title


def test_manager_sees_every_hand_entered_number_and_filters_by_tree(manager_client, nodes, other_tree, organisation):
    response = manager_client.get("/actuals/")
    codes = {card.row.node.code for card in response.context["cards"]}
    # Every node but the three KSFs (which have no number of their own).
    assert codes == {n.code for n in nodes.values() if n.kind != "ksf"}
    assert '<a href="/actuals/">Actuals</a>' in text(response)
    root = nodes["revenue"]
    second = services.tree_create_from_template(
        organisation=organisation,
        actor=root.owner,
        template=SAAS_REVENUE_TREE,
        start_date=root.start_date,
        deadline=root.deadline,
    )
    both = manager_client.get("/actuals/")
    assert len(both.context["cards"]) == 24
    one = manager_client.get(f"/actuals/?tree={second.pk}")
    assert {card.row.node.tree_id for card in one.context["cards"]} == {second.tree_id}
    # Another organisation's tree is not found.
    assert manager_client.get(f"/actuals/?tree={other_tree.pk}").status_code == 404


def _two_more_trees(nodes, organisation) -> list[Node]:
    root = nodes["revenue"]
    return [
        services.tree_create_from_template(
            organisation=organisation,
            actor=root.owner,
            template=SAAS_REVENUE_TREE,
            start_date=root.start_date,
            deadline=root.deadline,
        )
        for _ in range(2)
    ]


def test_a_manager_pages_through_the_cards(manager_client, manager, nodes, organisation):
    # A manager's page drew every hand-entered number of the organisation: 1,900 cards took 9.6 s.
    _two_more_trees(nodes, organisation)
    listed = list(actuals.entry_nodes(manager.membership))
    assert len(listed) == 36

    first = manager_client.get("/actuals/")
    second = manager_client.get("/actuals/?page=2")

    assert [card.row.node.pk for card in first.context["cards"]] == [n.pk for n in listed[:25]]
    assert [card.row.node.pk for card in second.context["cards"]] == [n.pk for n in listed[25:]]
    assert "1–25 of 36" in text(first) and 'href="?page=2" rel="next"' in text(first)
    assert "26–36 of 36" in text(second) and 'href="?page=1" rel="prev"' in text(second)
    # A page number that is not one shows the first or the last page.
    assert manager_client.get("/actuals/?page=x").context["cards"][0].row.node.pk == listed[0].pk
    assert manager_client.get("/actuals/?page=9").context["cards"][0].row.node.pk == listed[25].pk


def test_one_page_needs_no_pager_and_the_pager_keeps_the_tree(manager_client, manager, nodes, organisation):
    root = nodes["revenue"]
    assert 'rel="next"' not in text(manager_client.get("/actuals/"))
    for i in range(20):  # 12 + 20 numbers in one tree: two pages of it
        services.node_create(
            organisation=organisation,
            actor=manager,
            kind="sub_kpi",
            parent=nodes["appointments"],
            data={
                "name": f"{i} calls a month",
                "code": f"calls_{i}",
                "owner": manager,
                "unit": "calls",
                "baseline_value": D("10"),
                "target_value": D("12"),
                "start_date": root.start_date,
                "deadline": root.deadline,
                "rationale": "Calls make appointments.",
            },
        )

    response = manager_client.get(f"/actuals/?tree={root.pk}&page=2")

    assert len(response.context["cards"]) == 32 - 25
    assert f'href="?tree={root.pk}&amp;page=1" rel="prev"' in text(response)


def test_saving_returns_to_the_page_that_holds_the_card(manager_client, manager, nodes, organisation, this_month):
    _two_more_trees(nodes, organisation)
    last = list(actuals.entry_nodes(manager.membership))[-1]

    saved = manager_client.post(f"/actuals/{last.pk}/", form_data(last, this_month, "40", "Fine"))
    refused = manager_client.post(f"/actuals/{last.pk}/", form_data(last, this_month, "forty"))

    assert saved.status_code == 302
    assert saved["Location"] == f"/actuals/?page=2#kpi-{last.pk}"
    # A refused value is shown on the card's own page, with what was typed.
    assert refused.status_code == 200
    assert last.pk in {card.row.node.pk for card in refused.context["cards"]}
    assert 'value="forty"' in text(refused)


def test_executive_reads_but_never_enters(executive, nodes, this_month):
    client = signed_in(executive)
    assert client.get("/actuals/").status_code == 403
    assert client.get("/actuals/grid/").status_code == 403
    response = client.post(f"/actuals/{nodes['revenue'].pk}/", form_data(nodes["revenue"], this_month, "1"))
    assert response.status_code == 403
    assert not Measurement.objects.exists()
    assert '<a href="/actuals/">' not in text(client.get("/executive/"))


def test_outsider_gets_404_for_another_organisations_kpi(outsider, nodes, this_month, other_tree):
    client = signed_in(outsider)
    appointments = nodes["appointments"]
    response = client.post(f"/actuals/{appointments.pk}/", form_data(appointments, this_month, "48"))
    assert response.status_code == 404
    page = text(client.get("/actuals/"))
    assert "50 appointments a month" in page  # its own organisation's copy of the template …
    assert f"/nodes/{appointments.pk}/" not in page  # … never Acme's
    assert not Measurement.objects.exists()


def test_signed_out_visitors_are_sent_to_log_in(client, nodes):
    response = client.get("/actuals/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_member_may_not_post_for_another_members_kpi(member_client, nodes, this_month):
    upsell = nodes["upsell_revenue"]  # owned by the manager
    response = member_client.post(f"/actuals/{upsell.pk}/", form_data(upsell, this_month, "600000"))
    assert response.status_code == 403
    assert not Measurement.objects.exists()


# --- the form: saving, and every bad input keeps what was typed ----------------------------------


def test_saving_an_actual_redirects_back_with_a_message(member_client, member, nodes, this_month):
    appointments = nodes["appointments"]
    response = member_client.post(
        f"/actuals/{appointments.pk}/", form_data(appointments, this_month, "1,048", "A good month")
    )
    assert response.status_code == 302
    assert response["Location"] == f"/actuals/#kpi-{appointments.pk}"
    saved = Measurement.objects.get(node=appointments, period_start=this_month)
    assert (saved.value, saved.note, saved.entered_by) == (D("1048"), "A good month", member)
    page = text(member_client.get(response["Location"]))
    # Inside the test transaction the rollup waits for the commit: the message says so.
    assert "Saved 1,048 appointments for" in page
    assert "The status is being recomputed" in page
    assert "New actuals are being rolled up" in page
    # The form now shows the saved value for the current period.
    assert 'value="1048"' in page


@pytest.mark.django_db(transaction=True)
def test_the_message_shows_the_new_status_once_rolled_up(eager_rollups, member_client, nodes, this_month):
    # Outside a test transaction on_commit fires and eager Celery rolls the tree up at once.
    appointments = nodes["appointments"]
    value = str(round(target(appointments, this_month)))
    response = member_client.post(
        f"/actuals/{appointments.pk}/", form_data(appointments, this_month, value), follow=True
    )
    page = text(response)
    assert "Status: On track." in page
    assert card_for(response, appointments).row.status == "on_track"
    assert "New actuals are being rolled up" not in page


@pytest.mark.parametrize(
    ("code", "value", "month_offset", "field", "message"),
    [
        ("appointments", "abc", 0, "value", "Enter a number."),
        ("appointments", "-3", 0, "value", "appointments cannot be negative."),
        ("feature_adoption", "120", 0, "value", "A percentage must be between 0 and 100."),
        ("appointments", "48", 1, "period", "The period has not started yet."),
        ("appointments", "48", -7, "period", "The period is before the KPI starts"),
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_nothing_is_lost(
    member_client, nodes, this_month, code, value, month_offset, field, message
):
    node = nodes[code]
    period = add_months(this_month, month_offset)
    response = member_client.post(f"/actuals/{node.pk}/", form_data(node, period, value, "Typed by hand"))
    assert response.status_code == 200
    form = card_for(response, node).form
    assert any(message in str(error) for error in form.errors[field])
    page = text(response)
    # Everything typed is shown again: the value, the note and the chosen period.
    assert f'value="{value}"' in page
    assert "Typed by hand</textarea>" in page
    assert re.search(rf'<option value="{period.isoformat()}"[^>]*selected', page)
    assert not Measurement.objects.exists()


def test_a_locked_month_is_refused_on_the_form(manager, member_client, nodes, this_month):
    last_month = add_months(this_month, -1)
    actuals.period_lock(membership=manager.membership, month=last_month, reason="Closed", today=timezone.localdate())
    appointments = nodes["appointments"]
    response = member_client.post(f"/actuals/{appointments.pk}/", form_data(appointments, last_month, "48"))
    # The message names the month as the form's option does: "October 2026", not "2026-10".
    assert f"{month_label(last_month)} is locked; ask a manager to reopen it." in text(response)
    assert f"{month_label(last_month)} (locked)" in text(response)


def test_a_computed_node_is_refused_with_the_reason(manager_client, nodes, this_month):
    kgi = nodes["revenue"]
    Node.objects.filter(pk=kgi.pk).update(value_source="sum")
    response = manager_client.post(f"/actuals/{kgi.pk}/", form_data(kgi, this_month, "100"))
    assert response.status_code == 200
    page = text(response)
    assert "This number is computed from its children (Sum of children)" in page
    assert "Nothing was saved for" in page
    assert not Measurement.objects.exists()


def test_an_off_track_value_needs_a_note(member_client, nodes, this_month):
    appointments = nodes["appointments"]
    low = str(round(target(appointments, this_month) / 2))
    response = member_client.post(f"/actuals/{appointments.pk}/", form_data(appointments, this_month, low))
    assert response.status_code == 200
    assert "This value puts the KPI off track: say why and what happens next." in text(response)
    assert f'value="{low}"' in text(response)
    response = member_client.post(
        f"/actuals/{appointments.pk}/", form_data(appointments, this_month, low, "Two reps were ill; re-booking.")
    )
    assert response.status_code == 302
    assert Measurement.objects.get(node=appointments).note == "Two reps were ill; re-booking."


@pytest.mark.parametrize("own_start_date", [True, False])
def test_an_off_track_value_needs_a_note_on_the_form_and_the_grid_without_a_start_date(
    member_client, nodes, this_month, own_start_date
):
    """§1.6 of issue 9: a KPI that inherits its window from its KGI was never asked for a note."""
    appointments = nodes["appointments"]
    low = str(round(target(appointments, this_month) / 4))
    if not own_start_date:
        Node.objects.filter(pk=appointments.pk).update(start_date=None)
    message = "This value puts the KPI off track: say why and what happens next."
    response = member_client.post(f"/actuals/{appointments.pk}/", form_data(appointments, this_month, low))
    assert response.status_code == 200
    assert message in text(response)
    page = member_client.get("/actuals/grid/")
    response = grid_post(member_client, page, **{grid_name(appointments, this_month): low})
    assert response.context["form"].errors[f"note-{appointments.pk}"][0].endswith(message)
    assert not Measurement.objects.exists()


@pytest.mark.parametrize(("typed", "number"), [("1,200", "1200"), ("１２０", "120"), (" 3.5 ", "3.5"), ("¥5", None)])
def test_numbers_are_read_as_people_type_them(typed, number):
    field = ActualValueField(max_digits=20, decimal_places=4)
    if number is None:
        with pytest.raises(ValidationError, match="Enter a number"):
            field.clean(typed)
    else:
        assert field.clean(typed) == D(number)


# --- the grid: several KPIs × periods, all or nothing ---------------------------------------------


def grid_name(node: Node, period: date) -> str:
    return f"v-{node.pk}-{period.isoformat()}"


def grid_post(client, response, **changes) -> dict[str, str]:
    """What the grid posts unchanged (every prefilled value), plus ``changes``."""
    form = response.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(changes)
    return client.post("/actuals/grid/", data)


def test_grid_is_prefilled_with_the_last_periods(member_client, member, nodes, this_month):
    appointments = nodes["appointments"]
    actuals.measurement_upsert(
        membership=member.membership,
        entry=actuals.Entry(node=appointments, period=add_months(this_month, -1), value=D("47.5")),
        today=timezone.localdate(),
    )
    response = member_client.get("/actuals/grid/")
    assert response.status_code == 200
    form = response.context["form"]
    assert form[grid_name(appointments, add_months(this_month, -1))].value() == "47.5"
    assert form[grid_name(appointments, this_month)].value() == ""
    assert grid_name(appointments, add_months(this_month, -3)) not in form.fields  # three periods only
    assert response.context["headers"] == ["2 periods ago", "Previous period", "Current period"]
    assert grid_name(nodes["upsell_revenue"], this_month) not in form.fields  # not the member's


def test_grid_saves_all_or_nothing_and_keeps_every_typed_value(member_client, nodes, this_month):
    appointments, adoption = nodes["appointments"], nodes["feature_adoption"]
    last_month = add_months(this_month, -1)
    page = member_client.get("/actuals/grid/")
    changes = {
        grid_name(appointments, last_month): "47",
        grid_name(appointments, this_month): "49",
        grid_name(adoption, this_month): "140",
    }
    response = grid_post(member_client, page, **changes)
    assert response.status_code == 200
    assert not Measurement.objects.exists()
    form = response.context["form"]
    assert form.errors == {grid_name(adoption, this_month): ["A percentage must be between 0 and 100."]}
    body = text(response)
    assert "Nothing was saved: please correct the cells marked below." in body
    for value in ("47", "49", "140"):
        assert f'value="{value}"' in body

    changes[grid_name(adoption, this_month)] = "34"
    response = grid_post(member_client, page, **changes)
    assert response.status_code == 302
    saved = dict(Measurement.objects.values_list("node__code", "value").filter(period_start=this_month))
    assert saved == {"appointments": D("49"), "feature_adoption": D("34")}
    assert Measurement.objects.count() == 3
    assert "Saved 3 actuals." in text(member_client.get("/actuals/grid/"))


def test_grid_marks_every_bad_cell_in_one_round(member_client, nodes, this_month):
    appointments, adoption = nodes["appointments"], nodes["feature_adoption"]
    page = member_client.get("/actuals/grid/")
    response = grid_post(
        member_client,
        page,
        **{grid_name(appointments, this_month): "abc", grid_name(adoption, this_month): "-4"},
    )
    assert response.context["form"].errors == {
        grid_name(appointments, this_month): ["Enter a number."],
        grid_name(adoption, this_month): ["A percentage must be between 0 and 100."],
    }
    assert not Measurement.objects.exists()


def test_grid_asks_for_a_note_on_the_row_of_an_off_track_value(member_client, nodes, this_month):
    appointments = nodes["appointments"]
    low = str(round(target(appointments, this_month) / 2))
    page = member_client.get("/actuals/grid/")
    response = grid_post(member_client, page, **{grid_name(appointments, this_month): low})
    note_errors = response.context["form"].errors[f"note-{appointments.pk}"]
    assert note_errors[0].endswith("This value puts the KPI off track: say why and what happens next.")
    response = grid_post(
        member_client, page, **{grid_name(appointments, this_month): low, f"note-{appointments.pk}": "Ill; re-booking."}
    )
    assert response.status_code == 302
    assert Measurement.objects.get(node=appointments).note == "Ill; re-booking."


def test_grid_refuses_to_empty_a_cell_and_says_when_nothing_changed(member_client, member, nodes, this_month):
    appointments = nodes["appointments"]
    actuals.measurement_upsert(
        membership=member.membership,
        entry=actuals.Entry(node=appointments, period=this_month, value=D("48")),
        today=timezone.localdate(),
    )
    page = member_client.get("/actuals/grid/")
    response = grid_post(member_client, page, **{grid_name(appointments, this_month): ""})
    assert response.context["form"].errors == {
        grid_name(appointments, this_month): ["An entered actual cannot be emptied here; type the corrected value."]
    }
    response = grid_post(member_client, page)
    assert response.status_code == 302
    assert "Nothing to save: no value was changed." in text(member_client.get("/actuals/grid/"))
    assert Measurement.history.count() == 1  # nothing was written again


def test_grid_a_locked_cell_is_read_only_and_refused_if_changed(manager, member_client, nodes, this_month):
    last_month = add_months(this_month, -1)
    actuals.period_lock(membership=manager.membership, month=last_month, today=timezone.localdate())
    appointments = nodes["appointments"]
    page = member_client.get("/actuals/grid/")
    assert page.context["form"][grid_name(appointments, last_month)].field.widget.attrs["readonly"] is True
    response = grid_post(member_client, page, **{grid_name(appointments, last_month): "50"})
    assert (
        "is locked; ask a manager to reopen it."
        in response.context["form"].errors[grid_name(appointments, last_month)][0]
    )


def test_locking_a_quarters_first_month_leaves_it_open_on_the_form_and_the_grid(
    manager, member_client, nodes, this_month
):
    """§2.3 of issue 9: the pages marked the quarter locked (and refused it) once its first
    month was closed; it is locked when all three months are."""
    Node.objects.filter(pk=nodes["appointments"].pk).update(frequency="quarterly")
    appointments = Node.objects.get(pk=nodes["appointments"].pk)
    quarter = period_start(this_month, "quarterly", appointments.organisation.fiscal_year_start_month)
    actuals.period_lock(membership=manager.membership, month=quarter, reason="Closed", today=timezone.localdate())

    page = member_client.get("/actuals/grid/")
    assert "readonly" not in page.context["form"][grid_name(appointments, quarter)].field.widget.attrs
    card = card_for(member_client.get("/actuals/"), appointments)
    assert "(locked)" not in dict(card.form.fields["period"].widget.choices)[quarter.isoformat()]

    response = member_client.post(
        f"/actuals/{appointments.pk}/", form_data(appointments, quarter, "150", "Two reps were ill.")
    )
    assert response.status_code == 302
    assert Measurement.objects.get(node=appointments, period_start=quarter).value == D("150")


@pytest.mark.parametrize(
    ("frequency", "period", "locked", "expected"),
    [
        ("monthly", date(2026, 10, 1), {date(2026, 10, 1)}, True),
        ("quarterly", date(2026, 10, 1), {date(2026, 10, 1)}, False),
        ("quarterly", date(2026, 10, 1), {date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)}, True),
        ("weekly", date(2026, 9, 28), {date(2026, 9, 1)}, False),  # its Thursday is 1 October
        ("weekly", date(2026, 9, 28), {date(2026, 10, 1)}, True),
    ],
)
def test_the_form_and_the_grid_mark_a_period_locked_as_the_service_refuses_it(frequency, period, locked, expected):
    node = Node(pk=1, name="Calls", unit="calls", frequency=frequency)
    lock = {"locked": frozenset(locked), "fiscal_start_month": 4}
    assert (
        actuals.period_locked(period=period, frequency=frequency, fiscal_start_month=4, locked_months=frozenset(locked))
        is expected
    )
    label = dict(ActualForm(node=node, periods=[period], **lock).fields["period"].widget.choices)[period.isoformat()]
    assert label.endswith("(locked)") is expected
    (row,) = grid_rows([node], {node.pk: [period]}, {}, **lock)
    assert row.cells[0].locked is expected


# --- closing months --------------------------------------------------------------------------------


def test_manager_locks_and_reopens_a_month_with_a_reason(manager_client, manager, this_month):
    last_month = add_months(this_month, -1)
    response = manager_client.post(
        "/actuals/locks/", {"action": "lock", "lock-month": last_month.isoformat(), "lock-reason": "Board pack sent"}
    )
    assert response.status_code == 302
    lock = PeriodLock.objects.get()
    assert (lock.month, lock.is_locked, lock.changed_by) == (last_month, True, manager)

    response = manager_client.post(
        "/actuals/locks/", {"action": "reopen", "reopen-month": last_month.isoformat(), "reopen-reason": ""}
    )
    assert response.status_code == 200
    assert response.context["reopen_form"].errors == {
        "reason": ["Say why the month is reopened; the reason is kept in its history."]
    }
    assert PeriodLock.objects.get().is_locked

    response = manager_client.post(
        "/actuals/locks/",
        {"action": "reopen", "reopen-month": last_month.isoformat(), "reopen-reason": "A late invoice"},
        follow=True,
    )
    assert not PeriodLock.objects.get().is_locked
    page = text(response)
    assert "is open again." in page
    history = re.search(r'<table class="data lock-history">.*?</table>', page, re.S).group(0)
    assert history.index("A late invoice") < history.index("Board pack sent")
    assert history.count("Boss") == 2  # who, for both records
    assert "Reopened" in history and "Locked" in history


def test_locking_a_month_twice_or_a_future_month_is_refused(manager_client, this_month):
    manager_client.post("/actuals/locks/", {"action": "lock", "lock-month": this_month.isoformat()})
    response = manager_client.post("/actuals/locks/", {"action": "lock", "lock-month": this_month.isoformat()})
    assert response.context["lock_form"].errors == {"month": [f"{month_label(this_month)} is already locked."]}
    future = add_months(this_month, 1)
    response = manager_client.post("/actuals/locks/", {"action": "lock", "lock-month": future.isoformat()})
    assert "has not started yet" in response.context["lock_form"].errors["month"][0]


@pytest.mark.parametrize("role", ["member", "executive"])
def test_only_managers_open_the_locks_page(request, role, this_month):
    client = signed_in(request.getfixturevalue(role))
    assert client.get("/actuals/locks/").status_code == 403
    response = client.post("/actuals/locks/", {"action": "lock", "lock-month": this_month.isoformat()})
    assert response.status_code == 403
    assert not PeriodLock.objects.exists()


def test_outsider_locks_only_its_own_organisation(outsider, organisation, this_month):
    signed_in(outsider).post("/actuals/locks/", {"action": "lock", "lock-month": this_month.isoformat()})
    assert not PeriodLock.objects.filter(organisation=organisation).exists()
    assert PeriodLock.objects.get().organisation == outsider.membership.organisation


# --- the member's home leads to the form -----------------------------------------------------------


def test_member_home_links_to_the_actuals_pages(member_client, nodes):
    page = text(member_client.get("/member/"))
    assert 'href="/actuals/"' in page
    assert 'href="/actuals/grid/"' in page


@pytest.mark.parametrize("url", ["/actuals/", "/actuals/grid/"])
def test_the_pages_need_the_same_queries_whatever_the_number_of_kpis(manager_client, nodes, organisation, url):
    manager_client.get(url)  # warm up: session and translations
    with CaptureQueriesContext(connection) as one_tree:
        manager_client.get(url)
    root = nodes["revenue"]
    services.tree_create_from_template(
        organisation=organisation,
        actor=root.owner,
        template=SAAS_REVENUE_TREE,
        start_date=root.start_date,
        deadline=root.deadline,
    )
    with CaptureQueriesContext(connection) as two_trees:
        response = manager_client.get(url)
    assert response.status_code == 200
    assert len(two_trees) == len(one_tree)
