"""E-mail of alerts (issue 11 §4): immediate and digests, in the recipient's language, user text
escaped in HTML and plain in text; each notice e-mailed once."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core import mail

from alerts import services
from alerts.models import AlertPreference, Digest, Kind, Notice

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 9, 28, 6, 0, tzinfo=UTC)
MONDAY, TUESDAY = date(2026, 9, 28), date(2026, 9, 29)


def _notice(user, organisation, node, *, period=date(2026, 9, 1), kind=Kind.REMINDER, **params):
    return Notice.objects.create(
        organisation=organisation,
        user=user,
        kind=kind,
        node=node,
        period=period,
        params={"node": node.name, "frequency": "monthly", "period": period.isoformat(), **params},
    )


@pytest.fixture
def recipient(member):
    member.email = "worker@example.com"
    member.save()
    return member


def test_immediate_sends_one_mail_per_alert_once(organisation, small_tree, recipient):
    _root, kpi = small_tree
    AlertPreference.objects.create(user=recipient, digest=Digest.IMMEDIATE)
    _notice(recipient, organisation, kpi)
    _notice(recipient, organisation, kpi, period=date(2026, 8, 1), after=True)
    assert services.send_immediate(now=NOW) == 2
    assert services.send_immediate(now=NOW) == 0
    assert len(mail.outbox) == 2
    assert [m.to for m in mail.outbox] == [["worker@example.com"]] * 2


def test_daily_digest_gathers_the_notices_not_yet_emailed(organisation, small_tree, recipient):
    _root, kpi = small_tree
    _notice(recipient, organisation, kpi)  # no preference: the daily digest
    _notice(recipient, organisation, kpi, period=date(2026, 8, 1), after=True)
    assert services.send_digests(today=TUESDAY, now=NOW) == 1
    assert services.send_digests(today=TUESDAY, now=NOW) == 0
    (message,) = mail.outbox
    assert "2" in message.subject
    assert "September 2026" in message.body or "Sep" in message.body
    assert message.body.count("Leads") == 2
    assert not Notice.objects.filter(emailed_at__isnull=True).exists()


def test_weekly_digest_waits_for_monday_and_none_never_mails(organisation, small_tree, recipient, colleague):
    _root, kpi = small_tree
    colleague.email = "mate@example.com"
    colleague.save()
    AlertPreference.objects.create(user=recipient, digest=Digest.WEEKLY)
    AlertPreference.objects.create(user=colleague, digest=Digest.NONE)
    _notice(recipient, organisation, kpi)
    _notice(colleague, organisation, kpi)
    assert services.send_digests(today=TUESDAY, now=NOW) == 0
    assert services.send_digests(today=MONDAY, now=NOW) == 1
    assert [m.to for m in mail.outbox] == [["worker@example.com"]]


def test_mail_in_the_recipients_language(organisation, small_tree, recipient):
    _root, kpi = small_tree
    AlertPreference.objects.create(user=recipient, digest=Digest.IMMEDIATE, language="ja")
    _notice(recipient, organisation, kpi, period=date(2026, 8, 1), after=True)
    services.send_immediate(now=NOW)
    (message,) = mail.outbox
    assert "まだ入力されていません" in message.body
    assert "まだ入力されていません" in message.alternatives[0][0]


def test_mail_in_english_by_default(organisation, small_tree, recipient):
    _root, kpi = small_tree
    AlertPreference.objects.create(user=recipient, digest=Digest.IMMEDIATE)
    _notice(recipient, organisation, kpi, period=date(2026, 8, 1), after=True)
    services.send_immediate(now=NOW)
    (message,) = mail.outbox
    assert "is still missing" in message.body
    assert "http://localhost:8000/actuals/" in message.body


def test_user_text_is_escaped_in_html_and_plain_in_text(organisation, small_tree, recipient):
    _root, kpi = small_tree
    kpi.name = "<b>x</b> & co"
    kpi.save()
    AlertPreference.objects.create(user=recipient, digest=Digest.IMMEDIATE)
    _notice(recipient, organisation, kpi)
    services.send_immediate(now=NOW)
    (message,) = mail.outbox
    html = message.alternatives[0][0]
    assert "&lt;b&gt;x&lt;/b&gt; &amp; co" in html
    assert "<b>x</b>" not in html
    assert "<b>x</b> & co" in message.body
    assert "&lt;" not in message.body


def test_no_mail_without_an_address(organisation, small_tree, member):
    _root, kpi = small_tree
    _notice(member, organisation, kpi)
    assert services.send_digests(today=TUESDAY, now=NOW) == 0
    assert mail.outbox == []


def test_the_beat_job_writes_and_mails_once(organisation, small_tree, recipient, monkeypatch):
    from alerts import tasks

    AlertPreference.objects.create(user=recipient, digest=Digest.IMMEDIATE)
    monkeypatch.setattr(tasks.timezone, "localdate", lambda: date(2026, 9, 28))
    tasks.run_rules()
    tasks.run_rules()
    assert len(mail.outbox) == Notice.objects.filter(user=recipient).count() > 0


def test_a_failed_send_is_tried_again_next_run(organisation, small_tree, recipient, monkeypatch):
    import smtplib

    from django.core.mail.backends.locmem import EmailBackend

    _root, kpi = small_tree
    _notice(recipient, organisation, kpi)

    def refuse(self, messages):
        raise smtplib.SMTPServerDisconnected("down")

    with monkeypatch.context() as patched:
        patched.setattr(EmailBackend, "send_messages", refuse)
        assert services.send_digests(today=TUESDAY, now=NOW) == 0
    assert Notice.objects.filter(emailed_at__isnull=True).count() == 1
    assert services.send_digests(today=TUESDAY, now=NOW) == 1
    assert len(mail.outbox) == 1


def test_the_beat_schedule_names_registered_tasks(settings):
    from kpitree.celery import app

    for name in ("alerts-run-rules", "alerts-send-digests"):
        assert settings.CELERY_BEAT_SCHEDULE[name]["task"] in app.tasks
