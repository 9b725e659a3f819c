"""`manage.py cron_preview "<expr>" --timezone TZ [--after ISO8601] [--count N]`: the next fire
times exactly as the scheduler computes them, one ISO-8601 time a line in that zone; a
plain-English description on stderr. Exit status 2 on a bad expression, zone or time."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand
from django.utils import timezone

from automations import cron


class Command(BaseCommand):
    help = "Print the next fire times of a cron expression in a time zone."

    def add_arguments(self, parser):
        parser.add_argument("expression", help="e.g. '0 9 * * 1' (quote it)")
        parser.add_argument("--timezone", default="UTC", help="IANA name, e.g. America/New_York")
        parser.add_argument(
            "--after", help="Start after this time (ISO 8601; without an offset, in --timezone)"
        )
        parser.add_argument("--count", type=int, default=5, help="How many times (1-1000)")

    def handle(
        self, *args, expression: str, timezone: str, after: str | None, count: int, **options
    ):
        try:
            expr = cron.normalize(expression)
            tz = cron.zone(timezone)
            start = self._start(after, tz)
        except (cron.CronError, ValueError) as exc:
            self.stderr.write(f"error: {exc}")
            sys.exit(2)
        if not 1 <= count <= 1000:
            self.stderr.write("error: --count must be between 1 and 1000")
            sys.exit(2)
        self.stderr.write(f"{cron.describe(expr)} ({timezone})")
        for fire in cron.fires(expr, timezone, start, count):
            self.stdout.write(fire.astimezone(tz).isoformat())

    @staticmethod
    def _start(after: str | None, tz: ZoneInfo) -> datetime:
        if not after:
            return timezone.now()
        try:
            parsed = datetime.fromisoformat(after)
        except ValueError:
            raise ValueError(
                f"--after {after!r} is not an ISO 8601 time, e.g. 2026-11-01T00:00:00-04:00"
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return parsed.astimezone(UTC)
