"""Every trigger (schedule, event, poll, relative, manual, test, rerun) creates its runs here,
and nowhere else: `run_fire` one at a time, `runs_fire_bulk` for a herd of schedule slots.
Their idempotency keys come from automations/run_keys.py. Both admit runs through the caps of
automations/run_caps.py: a run held back is created `skipped` with the cap's reason."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from automations.dispatch import runs_send
from automations.models import Automation, AutomationRun
from automations.run_caps import admission_bulk, run_admission

logger = logging.getLogger(__name__)


def run_fire(
    *,
    automation: Automation,
    key: str,
    triggered_by: str,
    scheduled_for: datetime | None = None,
    trigger_data: dict[str, Any] | None = None,
    send: bool = True,
) -> tuple[AutomationRun, bool]:
    """Create the run for one trigger, once: (run, created). A second call with the same key
    returns the existing run. The message goes out after commit when the run is due now;
    a later `scheduled_for` is picked up by the scheduler when it comes."""
    now = timezone.now()
    scheduled_for = scheduled_for or now
    try:
        with transaction.atomic():
            held = run_admission(automation=automation, triggered_by=triggered_by, now=now)
            extra = (
                {
                    "status": AutomationRun.Status.SKIPPED,
                    "error_code": held.code,
                    "error_message": held.message,
                    "finished_at": now,
                }
                if held
                else {}
            )
            run = AutomationRun.objects.create(
                automation=automation,
                organization_id=automation.organization_id,
                idempotency_key=key,
                triggered_by=triggered_by,
                scheduled_for=scheduled_for,
                trigger_data=trigger_data or {},
                **extra,
            )
    except IntegrityError:
        existing = AutomationRun.objects.get(automation=automation, idempotency_key=key)
        logger.info("run %s already exists for key %s; not fired again", existing.pk, key)
        return existing, False
    if held:
        logger.info("run %s of automation %s held back: %s", run.pk, automation.pk, held.code)
    elif send and scheduled_for <= now:
        transaction.on_commit(lambda: runs_send([run.pk]))
    return run, True


def runs_fire_bulk(runs: list[AutomationRun]) -> None:
    """Insert the scheduler's runs for a batch of due rows in few statements; a run whose key
    exists already (another scheduler fired that slot) is skipped by the database. The
    scheduler sends them after commit (automations/dispatch.py). Runs over a cap are marked
    skipped first (two grouped counts for the whole batch)."""
    admission_bulk(runs, now=timezone.now())
    AutomationRun.objects.bulk_create(runs, ignore_conflicts=True, batch_size=1000)
