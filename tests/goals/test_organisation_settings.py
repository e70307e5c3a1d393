"""The organisation settings page (goals/views.py organisation_settings) and its service
(goals/services.py organisation_update): the first fiscal month and whether team members see
each other's attainment. Managers only."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from goals import services
from goals.models import Organisation, RollupState
from tests.conftest import signed_in

URL = "/settings/"


def test_team_attainment_is_private_by_default(organisation):
    assert organisation.members_see_team_attainment is False
    field = Organisation._meta.get_field("members_see_team_attainment")
    assert str(field.verbose_name) == "team members see each other's attainment"
    assert field.help_text


def test_the_manager_sees_the_current_settings(manager, organisation):
    response = signed_in(manager).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Settings of Acme" in html
    assert '<option value="4" selected>April</option>' in html
    assert 'name="members_see_team_attainment"' in html
    assert "checked" not in html.split('name="members_see_team_attainment"')[1].split(">")[0]


def test_the_manager_shares_team_attainment(manager, organisation):
    client = signed_in(manager)
    response = client.post(URL, {"fiscal_year_start_month": "4", "members_see_team_attainment": "on"})
    assert response.status_code == 302 and response["Location"] == URL
    organisation.refresh_from_db()
    assert organisation.members_see_team_attainment is True
    assert "settings are saved" in client.get(URL).content.decode()
    # An unticked box turns it off again.
    client.post(URL, {"fiscal_year_start_month": "4"})
    organisation.refresh_from_db()
    assert organisation.members_see_team_attainment is False


def test_a_new_fiscal_month_recomputes_every_tree(manager, organisation, saas_tree):
    RollupState.objects.update(stale_since=None)
    response = signed_in(manager).post(URL, {"fiscal_year_start_month": "1"})
    assert response.status_code == 302
    organisation.refresh_from_db()
    assert organisation.fiscal_year_start_month == 1
    assert RollupState.objects.get(root=saas_tree).stale_since is not None


def test_the_same_fiscal_month_leaves_the_figures_alone(manager, organisation, saas_tree):
    RollupState.objects.update(stale_since=None)
    signed_in(manager).post(URL, {"fiscal_year_start_month": "4", "members_see_team_attainment": "on"})
    assert RollupState.objects.get(root=saas_tree).stale_since is None


def test_a_bad_month_is_refused_and_the_input_shown_again(manager, organisation):
    response = signed_in(manager).post(URL, {"fiscal_year_start_month": "13", "members_see_team_attainment": "on"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Not saved" in html
    assert "Select a valid choice" in html
    assert "checked" in html.split('name="members_see_team_attainment"')[1].split(">")[0]
    organisation.refresh_from_db()
    assert (organisation.fiscal_year_start_month, organisation.members_see_team_attainment) == (4, False)


@pytest.mark.parametrize("role", ["executive", "member"])
def test_only_managers_change_the_settings(request, role, organisation):
    client = signed_in(request.getfixturevalue(role))
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"fiscal_year_start_month": "1", "members_see_team_attainment": "on"}).status_code == 403
    organisation.refresh_from_db()
    assert (organisation.fiscal_year_start_month, organisation.members_see_team_attainment) == (4, False)


def test_a_manager_changes_only_their_own_organisation(outsider, organisation, other_organisation):
    signed_in(outsider).post(URL, {"fiscal_year_start_month": "1", "members_see_team_attainment": "on"})
    organisation.refresh_from_db()
    other_organisation.refresh_from_db()
    assert (organisation.fiscal_year_start_month, organisation.members_see_team_attainment) == (4, False)
    assert (other_organisation.fiscal_year_start_month, other_organisation.members_see_team_attainment) == (1, True)


def test_anonymous_visitors_log_in_first(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_manager_dashboard_links_to_the_settings(manager, organisation):
    assert f'href="{URL}"' in signed_in(manager).get("/manager/").content.decode()


def test_the_service_refuses_other_fields(organisation):
    with pytest.raises(ValidationError) as error:
        services.organisation_update(organisation=organisation, data={"name": "Renamed"})
    assert "name" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.organisation_update(organisation=organisation, data={"fiscal_year_start_month": 0})
    assert "fiscal_year_start_month" in error.value.message_dict
    organisation.refresh_from_db()
    assert (organisation.name, organisation.fiscal_year_start_month) == ("Acme", 4)


# --- the plan check's tolerance ------------------------------------------------------------------


def test_the_plan_tolerance_is_five_percent_by_default(manager, organisation):
    assert organisation.plan_tolerance_percent == 5
    html = signed_in(manager).get(URL).content.decode()
    assert 'name="plan_tolerance_percent"' in html
    assert 'value="5.00"' in html.split('name="plan_tolerance_percent"')[1].split(">")[0]


@pytest.mark.parametrize(("typed", "saved"), [("10", 10), ("0", 0), ("100", 100), ("2.5", 2.5), ("", 5)])
def test_the_manager_sets_the_plan_tolerance(manager, organisation, typed, saved):
    organisation.plan_tolerance_percent = 7
    organisation.save()
    response = signed_in(manager).post(URL, {"fiscal_year_start_month": "4", "plan_tolerance_percent": typed})
    assert response.status_code == 302
    organisation.refresh_from_db()
    assert organisation.plan_tolerance_percent == saved


@pytest.mark.parametrize("typed", ["-1", "100.01", "150", "lots"])
def test_a_plan_tolerance_outside_0_to_100_is_refused(manager, organisation, typed):
    response = signed_in(manager).post(URL, {"fiscal_year_start_month": "4", "plan_tolerance_percent": typed})
    assert response.status_code == 200
    assert "Not saved" in response.content.decode()
    organisation.refresh_from_db()
    assert organisation.plan_tolerance_percent == 5


def test_the_service_refuses_a_plan_tolerance_over_100(organisation):
    with pytest.raises(ValidationError) as error:
        services.organisation_update(organisation=organisation, data={"plan_tolerance_percent": 101})
    assert "plan_tolerance_percent" in error.value.message_dict
