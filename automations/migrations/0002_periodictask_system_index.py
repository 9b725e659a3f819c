"""AutomationScheduler's parent class loads the enabled PeriodicTasks that are not automation
records (the system tasks). Without an index that query reads every automation's record,
so its cost would grow with the number of automations."""

from django.db import migrations

INDEX = "automation_beat_system_tasks_idx"


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [
        migrations.RunSQL(
            f"CREATE INDEX {INDEX} ON django_celery_beat_periodictask (id) "
            "WHERE enabled AND task <> 'automations.fire_scheduled'",
            f"DROP INDEX {INDEX}",
        ),
    ]
