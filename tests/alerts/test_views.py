"""The inbox (issue 11 §4): the count in the header, the list, mark read, preferences."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from alerts.models import AlertPreference, Digest, Kind, Notice

pytestmark = pytest.mark.django_db


def _notice(user, organisation, node, period=date(2026, 9, 1), kind=Kind.REMINDER):
    return Notice.objects.create(
        organisation=organisation,
        user=user,
        kind=kind,
        node=node,
        period=period,
        params={"node": node.name, "frequency": "monthly", "period": period.isoformat()},
    )


@pytest.fixture
def member_client(member):
    client = Client()
    client.force_login(member)
    return client


def test_header_counts_unread_notices(member_client, member, organisation, small_tree):
    _root, kpi = small_tree
    _notice(member, organisation, kpi)
    _notice(member, organisation, kpi, period=date(2026, 8, 1))
    read = _notice(member, organisation, kpi, period=date(2026, 7, 1))
    read.read_at = read.created_at
    read.save()
    page = member_client.get(reverse("dashboards:home"), follow=True).content.decode()
    assert 'data-unread="2"' in page


def test_inbox_lists_the_users_notices_newest_first(member_client, member, colleague, organisation, small_tree):
    _root, kpi = small_tree
    _notice(member, organisation, kpi, period=date(2026, 8, 1))
    _notice(member, organisation, kpi, period=date(2026, 9, 1))
    _notice(colleague, organisation, kpi, period=date(2026, 7, 1))
    page = member_client.get(reverse("alerts:inbox")).content.decode()
    assert page.index("September 2026") < page.index("August 2026")
    assert "July 2026" not in page


def test_inbox_in_japanese(member_client, member, organisation, small_tree):
    _root, kpi = small_tree
    _notice(member, organisation, kpi)
    page = member_client.get(reverse("alerts:inbox"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "期間が終わる前に" in page


def test_inbox_escapes_node_names(member_client, member, organisation, small_tree):
    _root, kpi = small_tree
    kpi.name = "<b>x</b>"
    kpi.save()
    _notice(member, organisation, kpi)
    page = member_client.get(reverse("alerts:inbox")).content.decode()
    assert "&lt;b&gt;x&lt;/b&gt;" in page
    assert "<b>x</b>" not in page


def test_mark_one_read_and_open_it(member_client, member, organisation, small_tree):
    _root, kpi = small_tree
    notice = _notice(member, organisation, kpi)
    response = member_client.post(reverse("alerts:read", args=[notice.pk]), {"open": "1"})
    assert response.status_code == 302 and response.url == reverse("goals:my_actuals") + f"#kpi-{kpi.pk}"
    notice.refresh_from_db()
    assert notice.read_at is not None


def test_mark_all_read(member_client, member, colleague, organisation, small_tree):
    _root, kpi = small_tree
    _notice(member, organisation, kpi)
    _notice(member, organisation, kpi, period=date(2026, 8, 1))
    other = _notice(colleague, organisation, kpi)
    assert member_client.post(reverse("alerts:read_all")).status_code == 302
    assert not Notice.objects.filter(user=member, read_at__isnull=True).exists()
    other.refresh_from_db()
    assert other.read_at is None


def test_another_users_notice_is_404(member_client, colleague, organisation, small_tree):
    _root, kpi = small_tree
    notice = _notice(colleague, organisation, kpi)
    assert member_client.post(reverse("alerts:read", args=[notice.pk])).status_code == 404
    notice.refresh_from_db()
    assert notice.read_at is None


def test_mark_read_needs_post_and_csrf(member, organisation, small_tree):
    _root, kpi = small_tree
    notice = _notice(member, organisation, kpi)
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    assert client.get(reverse("alerts:read", args=[notice.pk])).status_code == 405
    assert client.post(reverse("alerts:read", args=[notice.pk])).status_code == 403
    assert client.post(reverse("alerts:read_all")).status_code == 403
    notice.refresh_from_db()
    assert notice.read_at is None


def test_inbox_needs_login(client):
    response = client.get(reverse("alerts:inbox"))
    assert response.status_code == 302 and "login" in response.url


def test_preferences_mute_kinds_and_choose_mail(member_client, member):
    assert member_client.get(reverse("alerts:preferences")).status_code == 200
    response = member_client.post(
        reverse("alerts:preferences"),
        {"wanted_kinds": [Kind.REMINDER, Kind.OVERDUE_ACTION], "digest": Digest.WEEKLY, "language": "ja"},
    )
    assert response.status_code == 302
    pref = AlertPreference.objects.get(user=member)
    assert sorted(pref.muted_kinds) == sorted([Kind.STATUS_CHANGE, Kind.ESCALATION])
    assert (pref.digest, pref.language) == (Digest.WEEKLY, "ja")
