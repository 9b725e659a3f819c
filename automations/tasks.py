"""Celery tasks: thin, take ids, call a service, safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from automations import engine, maintenance
from automations.dispatch import runs_dispatch_due
from automations.models import Automation
from automations.scheduling.due import fire_batch
from automations.triggers.drain import inbound_drain


@shared_task(name="automations.execute_run")
def execute_run(run_id: int) -> str:
    return engine.run_execute(run_id=run_id)


@shared_task(name="automations.sweep_pending_runs")
def sweep_pending_runs() -> int:
    return maintenance.runs_sweep_pending()


@shared_task(name="automations.reap_stuck_runs")
def reap_stuck_runs() -> int:
    return maintenance.runs_reap_stuck()


@shared_task(name="automations.purge_expired_data")
def purge_expired_data() -> int:
    return maintenance.purge_expired_data()


@shared_task(name="automations.fire_scheduled")
def fire_scheduled(automation_id: int) -> int:
    """What an automation's PeriodicTask record names. AutomationScheduler never sends it (it
    fires from next_run_at); if the stock DatabaseScheduler is used instead, this fires the
    automation's due slot through the same idempotent path, so nothing runs twice."""
    if not Automation.objects.filter(pk=automation_id, status=Automation.Status.ACTIVE).exists():
        return 0
    stats = fire_batch(
        now=timezone.now(),
        batch_size=1,
        grace=timedelta(seconds=settings.SCHEDULER_MISFIRE_GRACE_SECONDS),
        only_ids=[automation_id],
    )
    runs_dispatch_due()
    return stats.fired


# Draining stored ATS events: named under webhooks. because PeriodicTask rows and queued
# messages use these names (the drain moved to automations/triggers/, which fires runs).
@shared_task(name="webhooks.drain_inbound_events")
def drain_inbound_events() -> int:
    return inbound_drain()


@shared_task(name="webhooks.sweep_received_events")
def sweep_received_events() -> int:
    """Events still waiting (no scheduler was running to wake the workers), and events whose
    worker died after claiming them (given back once their claim is older than the lease)."""
    return inbound_drain()
