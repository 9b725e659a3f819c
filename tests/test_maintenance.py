"""Sweeper, reaper and purge: nothing lost, nothing kept longer than it should be."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from automations.dispatch import runs_dispatch_due
from automations.engine import run_execute, run_fail_attempt
from automations.firing import run_fire
from automations.maintenance import runs_purge_expired, runs_reap_stuck, runs_sweep_pending
from automations.models import AutomationRun
from tests.conftest import broker_down
from tests.factories import automation

pytestmark = pytest.mark.django_db


def pending_run(auto, key="cron:1", **fields) -> AutomationRun:
    run, _ = run_fire(automation=auto, key=key, triggered_by="schedule", send=False)
    if fields:
        AutomationRun.objects.filter(pk=run.pk).update(**fields)
        run.refresh_from_db()
    return run


def test_broker_down_keeps_the_run_pending_and_the_sweeper_sends_it(celery_queue):
    auto = automation()
    run = pending_run(auto)
    with broker_down():
        assert runs_dispatch_due() == 0
    run.refresh_from_db()
    assert run.status == "pending" and run.dispatched_at is None
    assert runs_sweep_pending() == 1
    run.refresh_from_db()
    assert run.dispatched_at is not None


def test_sweeper_resends_a_run_whose_message_was_lost(celery_queue):
    auto = automation()
    long_ago = timezone.now() - timedelta(hours=1)
    run = pending_run(auto, dispatched_at=long_ago)
    just_sent = timezone.now() - timedelta(seconds=5)
    recent = pending_run(auto, key="cron:2", dispatched_at=just_sent)
    assert runs_sweep_pending() == 1
    run.refresh_from_db()
    recent.refresh_from_db()
    assert run.dispatched_at > long_ago
    assert recent.dispatched_at == just_sent  # still in the queue: left alone


def test_future_runs_are_not_sent_early(celery_queue):
    auto = automation()
    pending_run(auto, scheduled_for=timezone.now() + timedelta(minutes=5))
    assert runs_dispatch_due() == 0


def test_reaper_takes_back_a_run_whose_worker_died_and_it_then_completes(sandbox_org):
    auto = automation(org=sandbox_org)
    started = timezone.now() - timedelta(hours=1)
    run = pending_run(auto, status="running", started_at=started, attempt=1)
    assert runs_reap_stuck() == 1
    run.refresh_from_db()
    assert run.status == "pending" and run.error_code == "worker_lost"
    assert run.scheduled_for > timezone.now()
    AutomationRun.objects.filter(pk=run.pk).update(scheduled_for=timezone.now())
    assert run_execute(run_id=run.pk) == "completed"
    run.refresh_from_db()
    assert run.attempt == 2


def test_reaper_fails_a_run_out_of_retries():
    auto = automation(retry_limit=0)
    run = pending_run(
        auto, status="running", started_at=timezone.now() - timedelta(hours=1), attempt=1
    )
    runs_reap_stuck()
    run.refresh_from_db()
    assert run.status == "failed" and "stopped before it finished" in run.error_message


def test_reaper_leaves_runs_within_the_timeout_alone():
    auto = automation()
    run = pending_run(auto, status="running", started_at=timezone.now(), attempt=1)
    assert runs_reap_stuck() == 0
    run.refresh_from_db()
    assert run.status == "running"


def test_a_reaped_runs_late_worker_cannot_overwrite_the_new_state(sandbox_org):
    auto = automation(org=sandbox_org)
    run = pending_run(
        auto, status="running", started_at=timezone.now() - timedelta(hours=1), attempt=1
    )
    stale_copy = AutomationRun.objects.get(pk=run.pk)
    runs_reap_stuck()
    # Its worker, back late, records a final failure or a retry: neither lands.
    for retryable in (False, True):
        outcome = run_fail_attempt(
            run=stale_copy, code="late", message="late", retryable=retryable, deliveries=[]
        )
        assert outcome == "lost"
    run.refresh_from_db()
    assert run.status == "pending" and run.error_code != "late"


def test_purge_drops_old_summaries_and_trigger_data(settings):
    settings.RETENTION_HOURS = 24
    auto = automation()
    old = pending_run(
        auto,
        status="completed",
        output_summary="3 open jobs",
        output_hash="ab" * 32,
        trigger_data={"candidate": {"name": "Ana"}},
        finished_at=timezone.now() - timedelta(hours=25),
    )
    new = pending_run(
        auto,
        key="cron:2",
        status="completed",
        output_summary="4 open jobs",
        finished_at=timezone.now() - timedelta(hours=1),
    )
    assert runs_purge_expired() == 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.output_summary == "" and old.trigger_data == {}
    assert old.output_hash  # kept: it holds no personal data
    assert new.output_summary == "4 open jobs"


def test_embedded_broker_skips_a_corrupt_message_instead_of_dying(settings, tmp_path):
    """A publisher killed mid-write must not leave the worker a message that stops it."""
    from kombu import Connection

    from config.fs_transport import Transport

    folder = str(tmp_path)
    options = {
        "data_folder_in": folder,
        "data_folder_out": folder,
        "processed_folder": folder,
        "control_folder": folder,
    }
    with Connection("filesystem://", transport=Transport, transport_options=options) as conn:
        queue = conn.SimpleQueue("q")
        (tmp_path / "0_corrupt.q.msg").write_bytes(b'{"body": "trunc')  # as a crash leaves it
        queue.put({"ok": 1})
        message = queue.get(timeout=2)
        assert message.payload == {"ok": 1}
        message.ack()
        queue.close()
    assert not list(tmp_path.glob("*.partial"))
