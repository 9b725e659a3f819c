"""End to end with real processes: celery worker and AutomationScheduler under celery beat,
the real broker (filesystem, or Redis when REDIS_URL is set), the test database (SQLite file,
or PostgreSQL), and an SMTP server on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from automations.firing import run_fire
from automations.maintenance import runs_reap_stuck, runs_sweep_pending
from automations.models import Automation, AutomationRun
from automations.run_keys import manual_key
from delivery.models import Notification
from tests.conftest import broker_down
from tests.factories import OrganizationFactory, automation
from tests.live import SmtpInbox, Stack, wait_for
from webhooks.sandbox_seed import seed_sandbox

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def smtp():
    inbox = SmtpInbox().start()
    yield inbox
    inbox.stop()


@pytest.fixture
def stack(celery_queue, smtp, tmp_path):
    live = Stack(queue=celery_queue, smtp_port=smtp.port, tmp=tmp_path)
    yield live
    live.stop()


@pytest.fixture
def org():
    org = OrganizationFactory(plan=Organization.Plan.PRO)
    seed_sandbox(org, now=timezone.now())
    return org


def status_of(run_id: int) -> str:
    return AutomationRun.objects.values_list("status", flat=True).get(pk=run_id)


def test_cron_automation_due_now_fires_once_runs_and_is_emailed(stack, smtp, org):
    auto = automation(
        org=org,
        cron_expression="0 9 * * 1",
        time_zone="America/Los_Angeles",
        channels=[{"kind": "email", "to": ["hiring.manager@example.test"]}, {"kind": "in_app"}],
    )
    due = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
    Automation.objects.filter(pk=auto.pk).update(next_run_at=due)  # its slot is now

    stack.worker()
    stack.beat()
    run = wait_for(
        lambda: AutomationRun.objects.filter(automation=auto, status="completed").first(),
        timeout=90,
        what="the run to complete",
        stack=stack,
    )
    assert run.idempotency_key == f"cron:{due.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    assert run.triggered_by == "schedule" and run.attempt == 1
    assert run.duration_ms is not None and run.duration_ms >= 0
    assert run.output_summary.startswith("4 open jobs")
    wait_for(lambda: smtp.messages, timeout=10, what="the email", stack=stack)
    (message,) = smtp.messages
    assert message.rcpt_tos == ["hiring.manager@example.test"]
    parsed = email.message_from_bytes(message.content, policy=email.policy.default)
    assert parsed["Subject"] == f"Pipeline report · {auto.name}"
    assert parsed.get_body(("html",)) is not None and parsed.get_body(("plain",)) is not None
    assert Notification.objects.filter(run=run, user=auto.owner).count() == 1

    time.sleep(3)  # several more beat ticks: the slot is not fired again
    assert AutomationRun.objects.filter(automation=auto).count() == 1
    assert len(smtp.messages) == 1
    auto.refresh_from_db()
    assert auto.next_run_at > timezone.now() and auto.last_run_at == run.started_at


def test_broker_down_at_fire_time_then_the_sweeper_sends_the_run(stack, org):
    auto = automation(org=org)
    stack.worker()
    with broker_down(), transaction.atomic():
        run, _ = run_fire(automation=auto, key=manual_key(), triggered_by="manual")
    time.sleep(2)
    run.refresh_from_db()
    assert run.status == "pending" and run.dispatched_at is None

    assert runs_sweep_pending() == 1
    wait_for(lambda: status_of(run.pk) == "completed", timeout=60, what="completion", stack=stack)
    assert Notification.objects.filter(run=run).count() == 1


def test_run_of_a_killed_worker_is_reaped_and_completes_on_another(stack, org):
    auto = automation(org=org, skill_slug="test-slow", params={"seconds": 60})
    stack.worker("doomed")
    with transaction.atomic():
        run, _ = run_fire(automation=auto, key=manual_key(), triggered_by="manual")
    wait_for(
        lambda: status_of(run.pk) == "running", timeout=60, what="the run to start", stack=stack
    )
    stack.kill("doomed")
    time.sleep(1)
    assert status_of(run.pk) == "running"  # nobody will ever finish it

    assert runs_reap_stuck(older_than_seconds=0) == 1
    run.refresh_from_db()
    assert run.status == "pending" and run.error_code == "worker_lost" and run.attempt == 1
    # The retry's time comes (backoff is a minute), and this time the skill is quick.
    Automation.objects.filter(pk=auto.pk).update(params={"seconds": 0})
    AutomationRun.objects.filter(pk=run.pk).update(scheduled_for=timezone.now())
    stack.worker("rescuer")
    assert runs_sweep_pending() == 1
    wait_for(lambda: status_of(run.pk) == "completed", timeout=60, what="completion", stack=stack)
    run.refresh_from_db()
    assert run.attempt == 2
