"""The automation's django-celery-beat record: one PeriodicTask (a CrontabSchedule carrying
the time zone, or an IntervalSchedule), kept in step with the automation by the services, in
their transaction. The records are for operators and the admin; AutomationScheduler fires
automations from `next_run_at` and leaves these records to nobody else."""

from __future__ import annotations

import json

from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from automations.models import Automation

FIRE_TASK = "automations.fire_scheduled"


def periodic_task_sync(*, automation: Automation) -> None:
    """Create, update or remove the automation's PeriodicTask to match it."""
    schedule_fields: dict = {"crontab": None, "interval": None}
    if automation.trigger_type == Automation.TriggerType.CRON:
        minute, hour, dom, month, dow = automation.cron_expression.split(" ")
        schedule_fields["crontab"], _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_month=dom,
            month_of_year=month,
            day_of_week=dow,
            timezone=automation.time_zone,
        )
    elif automation.trigger_type == Automation.TriggerType.POLL:
        schedule_fields["interval"], _ = IntervalSchedule.objects.get_or_create(
            every=automation.poll_interval_seconds, period=IntervalSchedule.SECONDS
        )
    else:
        periodic_task_remove(automation=automation)
        return

    task = automation.periodic_task or PeriodicTask(name=f"automation:{automation.public_id}")
    task.task = FIRE_TASK
    task.kwargs = json.dumps({"automation_id": automation.pk})
    task.enabled = automation.status == Automation.Status.ACTIVE
    task.description = f"{automation.name} ({automation.organization.name})"
    for field, value in schedule_fields.items():
        setattr(task, field, value)
    # Don't bump django-celery-beat's global "schedule changed" marker: AutomationScheduler
    # fires automations from next_run_at and leaves these records out of its schedule, so a
    # user's edit must not make every beat reload its (system) schedule.
    task.no_changes = True
    task.save()
    if automation.periodic_task_id != task.pk:
        automation.periodic_task = task
        automation.save(update_fields=["periodic_task", "updated_at"])


def periodic_task_remove(*, automation: Automation) -> None:
    task = automation.periodic_task
    if task is None:
        return
    automation.periodic_task = None
    automation.save(update_fields=["periodic_task", "updated_at"])
    task.delete()
