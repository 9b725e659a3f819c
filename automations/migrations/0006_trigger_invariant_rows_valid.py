"""Before each trigger kind's invariants become check constraints (0007, see
Automation.Meta), every row is made valid.

Rows written before the services refused such values (or written around them) would make
adding the constraints fail, so this data step first makes every row valid, and says so on the
row: each changed automation is PAUSED with a paused_reason naming what was changed, so
nothing runs on a value its owner did not choose until they look and resume.

- relative, empty event_type: gets ats.interview.scheduled, which the services have always
  stored for an empty one (not paused: nothing changes in how it runs);
- event, empty event_type: there is no type to guess, so it gets the placeholder
  "ats.unset", which matches no event (and the validation path refuses it on the next edit,
  so its owner must choose a real one), and is paused;
- relative, offset empty or beyond +-30 days: empty becomes 0 (what the matcher used), too
  far becomes the nearest bound; paused;
- poll, interval empty or over 30 days: empty becomes daily (allowed on every plan), too long
  becomes 30 days; paused.

Reversing leaves the rows as they are now. The constraints come in a migration of their own:
on PostgreSQL a table cannot be altered in the transaction that updated its rows while their
foreign-key checks are still pending ("pending trigger events")."""

from django.db import migrations

MAX_POLL_SECONDS = 30 * 24 * 3600
MAX_OFFSET_MINUTES = 30 * 24 * 60
PLACEHOLDER_EVENT_TYPE = "ats.unset"
REASON = "Paused by an upgrade (migration 0006): {what} Check it, then resume."


def make_rows_valid(apps, schema_editor):
    Automation = apps.get_model("automations", "Automation")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    rows = Automation.objects.using(schema_editor.connection.alias)

    rows.filter(trigger_type="relative", event_type="").update(event_type="ats.interview.scheduled")

    def pause(queryset, what: str, **values) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        if not ids:
            return
        rows.filter(pk__in=ids).update(
            status="paused",
            paused_reason=REASON.format(what=what)[:300],
            next_run_at=None,
            **values,
        )
        task_ids = rows.filter(pk__in=ids, periodic_task__isnull=False).values("periodic_task")
        PeriodicTask.objects.using(schema_editor.connection.alias).filter(pk__in=task_ids).update(
            enabled=False
        )

    pause(
        rows.filter(trigger_type="event", event_type=""),
        "it had no event type, so it can match no event; choose one.",
        event_type=PLACEHOLDER_EVENT_TYPE,
    )
    pause(
        rows.filter(trigger_type="relative", offset_minutes__isnull=True),
        "its offset was empty and is now 0 minutes (the interview's start).",
        offset_minutes=0,
    )
    pause(
        rows.filter(trigger_type="relative", offset_minutes__gt=MAX_OFFSET_MINUTES),
        f"its offset was over {MAX_OFFSET_MINUTES} minutes and is now {MAX_OFFSET_MINUTES}.",
        offset_minutes=MAX_OFFSET_MINUTES,
    )
    pause(
        rows.filter(trigger_type="relative", offset_minutes__lt=-MAX_OFFSET_MINUTES),
        f"its offset was under -{MAX_OFFSET_MINUTES} minutes and is now -{MAX_OFFSET_MINUTES}.",
        offset_minutes=-MAX_OFFSET_MINUTES,
    )
    pause(
        rows.filter(trigger_type="poll", poll_interval_seconds__isnull=True),
        "its poll interval was empty and is now daily (86400 seconds).",
        poll_interval_seconds=86400,
    )
    pause(
        rows.filter(trigger_type="poll", poll_interval_seconds__gt=MAX_POLL_SECONDS),
        f"its poll interval was over 30 days and is now {MAX_POLL_SECONDS} seconds.",
        poll_interval_seconds=MAX_POLL_SECONDS,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0005_drop_unused_event_match_index"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(make_rows_valid, migrations.RunPython.noop, elidable=False),
    ]
