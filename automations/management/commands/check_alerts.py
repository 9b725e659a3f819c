"""`manage.py check_alerts`: evaluate the operations alerts now (automations/ops/alerts.py)
and list the open ones. Beats and workers already do this every ALERT_EVALUATE_SECONDS;
this is for a cron job where that is turned off, and for looking."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from automations.models import Alert
from automations.ops.alerts import alerts_evaluate


class Command(BaseCommand):
    help = "Evaluate the operations alerts now: open, remind, resolve; then list the open ones."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--list-only", action="store_true", help="List the open alerts without evaluating."
        )

    def handle(self, *args, list_only: bool = False, **options) -> None:
        if not list_only:
            result = alerts_evaluate()
            self.stdout.write(
                f"{result.opened} opened, {result.reminded} reminded, {result.resolved} resolved"
            )
        open_alerts = Alert.objects.filter(resolved_at=None).order_by("opened_at")
        for alert in open_alerts:
            scope = f"org {alert.organization_id}" if alert.organization_id else "site"
            self.stdout.write(
                f"OPEN {alert.rule} [{scope}] {alert.title} "
                f"(since {alert.opened_at:%Y-%m-%d %H:%M} UTC)"
            )
        if not open_alerts:
            self.stdout.write("No open alerts.")
