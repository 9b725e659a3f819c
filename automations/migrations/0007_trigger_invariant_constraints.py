"""Each trigger kind's invariants as check constraints (see Automation.Meta); 0006 made every
existing row valid first."""

from django.db import migrations, models
from django.db.models import Q

MAX_POLL_SECONDS = 30 * 24 * 3600
MAX_OFFSET_MINUTES = 30 * 24 * 60


class Migration(migrations.Migration):
    dependencies = [("automations", "0006_trigger_invariant_rows_valid")]

    operations = [
        migrations.AddConstraint(
            model_name="automation",
            constraint=models.CheckConstraint(
                condition=~Q(trigger_type="poll")
                | Q(
                    poll_interval_seconds__isnull=False, poll_interval_seconds__lte=MAX_POLL_SECONDS
                ),
                name="automation_poll_interval_max",
            ),
        ),
        migrations.AddConstraint(
            model_name="automation",
            constraint=models.CheckConstraint(
                condition=~Q(trigger_type__in=["event", "relative"]) | ~Q(event_type=""),
                name="automation_event_has_type",
            ),
        ),
        migrations.AddConstraint(
            model_name="automation",
            constraint=models.CheckConstraint(
                condition=~Q(trigger_type="relative")
                | Q(
                    offset_minutes__isnull=False,
                    offset_minutes__gte=-MAX_OFFSET_MINUTES,
                    offset_minutes__lte=MAX_OFFSET_MINUTES,
                ),
                name="automation_relative_offset_bounds",
            ),
        ),
    ]
