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

from automations.audience import audience_user_ids
from automations.dispatch import runs_send
from automations.models import Automation, AutomationRun
from automations.run_caps import admission_bulk, run_admission
from automations.run_keys import member_key

logger = logging.getLogger(__name__)


def run_fire(
    *,
    automation: Automation,
    key: str,
    triggered_by: str,
    scheduled_for: datetime | None = None,
    trigger_data: dict[str, Any] | None = None,
    send: bool = True,
    for_user_id: int | None = None,
    fan_out: bool = True,
) -> tuple[AutomationRun, bool]:
    """Create the run for one trigger, once: (run, created). A second call with the same key
    returns the existing run. The message goes out after commit when the run is due now;
    a later `scheduled_for` is picked up by the scheduler when it comes.

    An org-wide automation (audience other than its owner) gets one run per member instead,
    each keyed `<key>:u<id>` (see runs_fire_for_members); the first member's run is returned,
    `created` if any member's run is new. `fan_out=False` (a test run) or `for_user_id` (a
    rerun of one member's run) make the one run only."""
    now = timezone.now()
    scheduled_for = scheduled_for or now
    if fan_out and for_user_id is None and automation.audience != Automation.Audience.OWNER:
        runs = runs_fire_for_members(
            automation=automation,
            key=key,
            triggered_by=triggered_by,
            scheduled_for=scheduled_for,
            trigger_data=trigger_data,
            send=send,
        )
        if runs:
            return runs[0][0], any(created for _run, created in runs)
        # Nobody to run it for (every chosen member left): one run for the owner, so the
        # history says it fired.
    if for_user_id is not None:
        key = member_key(key, for_user_id)
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
                for_user_id=for_user_id,
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


def runs_fire_for_members(
    *,
    automation: Automation,
    key: str,
    triggered_by: str,
    scheduled_for: datetime,
    trigger_data: dict[str, Any] | None = None,
    send: bool = True,
    user_ids: list[int] | None = None,
) -> list[tuple[AutomationRun, bool]]:
    """One run per member of the automation's audience (or `user_ids`) for the slot `key`,
    in one bulk insert: [(run, created)] in member order. A member whose run for this slot
    exists already (a replayed slot) is not given another: the unique key refuses it."""
    user_ids = audience_user_ids(automation) if user_ids is None else user_ids
    if not user_ids:
        return []
    keys = {user_id: member_key(key, user_id) for user_id in user_ids}
    existing = set(
        AutomationRun.objects.filter(
            automation=automation, idempotency_key__in=list(keys.values())
        ).values_list("idempotency_key", flat=True)
    )
    new_runs = [
        AutomationRun(
            automation=automation,
            organization_id=automation.organization_id,
            idempotency_key=keys[user_id],
            triggered_by=triggered_by,
            scheduled_for=scheduled_for,
            trigger_data=trigger_data or {},
            for_user_id=user_id,
        )
        for user_id in user_ids
        if keys[user_id] not in existing
    ]
    with transaction.atomic():
        # The same caps as every other run (each member's run counts).
        admission_bulk(new_runs, now=timezone.now())
        AutomationRun.objects.bulk_create(new_runs, ignore_conflicts=True, batch_size=1000)
    runs = {
        run.idempotency_key: run
        for run in AutomationRun.objects.filter(
            automation=automation, idempotency_key__in=list(keys.values())
        )
    }
    out = [(runs[keys[u]], keys[u] not in existing) for u in user_ids if keys[u] in runs]
    new_ids = [
        run.pk for run, created in out if created and run.status == AutomationRun.Status.PENDING
    ]
    if send and new_ids and scheduled_for <= timezone.now():
        transaction.on_commit(lambda: runs_send(new_ids))
    return out


def runs_fire_bulk(runs: list[AutomationRun]) -> None:
    """Insert the scheduler's runs for a batch of due rows in few statements; a run whose key
    exists already (another scheduler fired that slot) is skipped by the database. The
    scheduler sends them after commit (automations/dispatch.py). Runs over a cap are marked
    skipped first (two grouped counts for the whole batch)."""
    admission_bulk(runs, now=timezone.now())
    AutomationRun.objects.bulk_create(runs, ignore_conflicts=True, batch_size=1000)
