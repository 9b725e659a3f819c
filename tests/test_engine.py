"""Executing runs: the claim, the outcome, retries with backoff, auto-pause."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.models import Organization
from automations import services
from automations.engine import run_execute
from automations.firing import run_fire
from automations.models import Automation, AutomationRun
from automations.run_keys import manual_key
from delivery.models import Notification
from tests.factories import automation, skill
from webhooks.models import SandboxCandidate

pytestmark = pytest.mark.django_db


def fire(auto: Automation, key: str | None = None, by=AutomationRun.TriggeredBy.SCHEDULE):
    run, created = run_fire(automation=auto, key=key or manual_key(), triggered_by=by, send=False)
    assert created
    return run


def test_completed_run_records_outcome_and_delivers(sandbox_org):
    auto = automation(org=sandbox_org, channels=[{"kind": "in_app"}, {"kind": "email", "to": []}])
    run = fire(auto)
    assert run_execute(run_id=run.pk) == "completed"
    run.refresh_from_db()
    assert run.status == "completed" and run.attempt == 1
    assert run.duration_ms is not None and run.finished_at >= run.started_at
    assert "open jobs" in run.output_summary and len(run.output_hash) == 64
    assert [d["status"] for d in run.deliveries] == ["sent", "sent"]
    note = Notification.objects.get(run=run)
    assert note.user == auto.owner and "Pipeline report" in note.title
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [auto.owner.email]
    auto.refresh_from_db()
    assert auto.last_run_at == run.started_at and auto.consecutive_failures == 0


def test_summary_has_no_personal_data(sandbox_org):
    auto = automation(org=sandbox_org, skill_slug="stale-candidates", params={"days": 1})
    run = fire(auto)
    run_execute(run_id=run.pk)
    run.refresh_from_db()
    for cand in SandboxCandidate.objects.filter(organization=sandbox_org):
        assert cand.name not in run.output_summary
        assert cand.email not in run.output_summary
    body = Notification.objects.get(run=run).body_markdown
    assert any(c.name in body for c in SandboxCandidate.objects.filter(organization=sandbox_org))


def test_redelivered_message_for_a_finished_run_does_nothing(sandbox_org):
    auto = automation(org=sandbox_org, channels=[{"kind": "in_app"}, {"kind": "email", "to": []}])
    run = fire(auto)
    run_execute(run_id=run.pk)
    assert run_execute(run_id=run.pk) == "not-claimed"
    assert Notification.objects.filter(run=run).count() == 1
    assert len(mail.outbox) == 1


def test_same_key_fires_once():
    auto = automation()
    first, created = run_fire(automation=auto, key="cron:x", triggered_by="schedule", send=False)
    again, created_again = run_fire(
        automation=auto, key="cron:x", triggered_by="schedule", send=False
    )
    assert created and not created_again and first.pk == again.pk


def test_run_not_yet_due_is_not_claimed():
    auto = automation()
    run, _ = run_fire(
        automation=auto,
        key="relative:1",
        triggered_by="relative",
        scheduled_for=timezone.now() + timedelta(minutes=30),
        send=False,
    )
    assert run_execute(run_id=run.pk) == "not-claimed"
    run.refresh_from_db()
    assert run.status == "pending" and run.attempt == 0


def test_failing_skill_retries_with_backoff_then_fails_with_its_error():
    auto = automation(skill_slug="test-fails", retry_limit=3)
    run = fire(auto)
    now = timezone.now()
    delays = []
    for attempt in range(1, 5):
        with time_machine.travel(now, tick=False):
            outcome = run_execute(run_id=run.pk)
        run.refresh_from_db()
        assert run.attempt == attempt and run.error_code == "ats_unavailable"
        if attempt <= 3:
            assert outcome == "pending" and run.dispatched_at is None
            delays.append((run.scheduled_for - now) / timedelta(minutes=1))
            # Not before its time...
            with time_machine.travel(run.scheduled_for - timedelta(seconds=30), tick=False):
                assert run_execute(run_id=run.pk) == "not-claimed"
            now = run.scheduled_for  # ...but at it.
        else:
            assert outcome == "failed"
    assert delays == [1, 2, 4]
    assert run.status == "failed"
    assert run.error_message == "The ATS answered 503 Service Unavailable."
    auto.refresh_from_db()
    assert auto.consecutive_failures == 1 and auto.status == "active"


def test_permanent_error_is_not_retried(settings):
    # An LLM skill in an org that chose "fail" when no key is configured: retrying cannot help.
    settings.ANTHROPIC_API_KEY = ""
    auto = automation(skill_slug="interview-prep", retry_limit=3)
    Organization.objects.filter(pk=auto.organization_id).update(llm_when_unavailable="fail")
    run = fire(auto)
    assert run_execute(run_id=run.pk) == "failed"
    run.refresh_from_db()
    assert run.attempt == 1 and run.error_code == "llm_no_key"
    assert "no Anthropic API key" in run.error_message and "Nothing was sent" in run.error_message


def test_crashing_skill_records_the_exception():
    auto = automation(skill_slug="test-crashes", retry_limit=0)
    run = fire(auto)
    assert run_execute(run_id=run.pk) == "failed"
    run.refresh_from_db()
    assert run.error_code == "skill_crashed" and run.error_message == "RuntimeError: boom"


def test_third_failed_run_in_a_row_pauses_and_tells_the_owner(django_capture_on_commit_callbacks):
    auto = automation(skill_slug="test-fails", retry_limit=0)
    for i in range(3):
        run = fire(auto, key=f"cron:{i}")
        with django_capture_on_commit_callbacks(execute=True):
            assert run_execute(run_id=run.pk) == "failed"
        auto.refresh_from_db()
        assert auto.consecutive_failures == i + 1
        expected = "paused" if i == 2 else "active"
        assert auto.status == expected
    assert "3 failed runs in a row" in auto.paused_reason
    assert "503 Service Unavailable" in auto.paused_reason
    assert auto.next_run_at is None
    alert = Notification.objects.get(user=auto.owner, kind=Notification.Kind.ALERT)
    assert "paused" in alert.title.lower() and "503" in alert.body_markdown
    assert len(mail.outbox) == 1 and "paused" in mail.outbox[0].subject.lower()
    assert "503 Service Unavailable" in mail.outbox[0].body


def test_success_resets_the_failure_count(sandbox_org):
    auto = automation(org=sandbox_org, skill_slug="test-fails", retry_limit=0)
    for i in range(2):
        run_execute(run_id=fire(auto, key=f"cron:{i}").pk)
    services.automation_update(
        automation=auto, by=auto.owner, skill=skill("pipeline-report"), params={}
    )
    run_execute(run_id=fire(auto, key="cron:ok").pk)
    auto.refresh_from_db()
    assert auto.consecutive_failures == 0 and auto.status == "active"


def test_scheduled_run_of_a_paused_automation_is_cancelled_but_run_now_works(sandbox_org):
    auto = automation(org=sandbox_org)
    scheduled = fire(auto, key="cron:1")
    services.automation_pause(automation=auto, by=auto.owner)
    assert run_execute(run_id=scheduled.pk) == "cancelled"
    scheduled.refresh_from_db()
    assert scheduled.error_code == "automation_not_active"
    manual = fire(auto, by=AutomationRun.TriggeredBy.MANUAL)
    assert run_execute(run_id=manual.pk) == "completed"


def test_one_failing_channel_does_not_stop_the_other(sandbox_org, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    auto = automation(org=sandbox_org, channels=[{"kind": "email", "to": []}, {"kind": "in_app"}])
    run = fire(auto)
    # The mail server may come back: the run is retried later, for the email only.
    assert run_execute(run_id=run.pk) == "pending"
    run.refresh_from_db()
    email, in_app = run.deliveries
    assert email["status"] == "failed" and "could not be reached" in email["error"]
    assert not email["permanent"] and email["attempts"] == 3
    assert in_app["status"] == "sent"
    assert Notification.objects.filter(run=run).exists()


def test_candidate_names_are_escaped_in_html_email(sandbox_org):
    SandboxCandidate.objects.filter(organization=sandbox_org).update(name="<script>x</script>")
    auto = automation(
        org=sandbox_org,
        skill_slug="stale-candidates",
        params={"days": 1},
        channels=[{"kind": "email", "to": ["hm@example.test"]}],
    )
    run_execute(run_id=fire(auto).pk)
    html = mail.outbox[0].alternatives[0][0]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<script>x</script>" in mail.outbox[0].body  # plain text shows the name as is


def test_poll_automation_delivers_only_what_is_new(sandbox_org):
    auto = automation(
        org=sandbox_org,
        trigger_type="poll",
        poll_interval_seconds=900,
        skill_slug="stale-candidates",
        params={"days": 1},
    )
    first = fire(auto, key="poll:1", by=AutomationRun.TriggeredBy.POLL)
    assert run_execute(run_id=first.pk) == "completed"
    second = fire(auto, key="poll:2", by=AutomationRun.TriggeredBy.POLL)
    assert run_execute(run_id=second.pk) == "completed"
    second.refresh_from_db()
    assert second.deliveries == [] and "Nothing new" in second.output_summary
    assert Notification.objects.filter(automation=auto).count() == 1
