"""`manage.py cron_preview "<expr>" --timezone TZ [--after ISO8601] [--count N]`: the next fire
times exactly as the scheduler computes them, one ISO-8601 time a line in that zone; a
plain-English description on stderr. Exit status 2 and a one-line message (no traceback) on a
bad expression, zone, time or count."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from automations.scheduling import cron

MAX_COUNT = 1000


def _bad(message: str) -> CommandError:
    return CommandError(message, returncode=2)


class Command(BaseCommand):
    help = "Print the next fire times of a cron expression in a time zone."

    def add_arguments(self, parser):
        parser.add_argument("expression", help="e.g. '0 9 * * 1' (quote it)")
        parser.add_argument("--timezone", default="UTC", help="IANA name, e.g. America/New_York")
        parser.add_argument(
            "--after", help="Start after this time (ISO 8601; without an offset, in --timezone)"
        )
        # Parsed here, not by argparse's type=int, so every bad count gets the same message.
        parser.add_argument("--count", default="5", help=f"How many times (1-{MAX_COUNT})")

    def handle(self, *args, expression: str, timezone: str, after: str | None, count, **options):
        count = self._count(count)
        try:
            expr = cron.normalize(expression)
            tz = cron.zone(timezone)
            start = self._start(after, tz)
            fires = cron.fires(expr, timezone, start, count)
        except cron.CronError as exc:
            raise _bad(str(exc)) from None
        self.stderr.write(f"{cron.describe(expr)} ({timezone})")
        if len(fires) < count:
            self.stderr.write(f"only {len(fires)} fire time(s) before {cron.LATEST:%Y-%m-%d}")
        for fire in fires:
            self.stdout.write(fire.astimezone(tz).isoformat())

    @staticmethod
    def _count(raw) -> int:
        text = str(raw).strip()
        # isdecimal() alone accepts digits such as "²" or Arabic-Indic ones; ASCII only.
        if (
            not (text.isascii() and text.isdigit())
            or len(text) > 5
            or not 1 <= int(text) <= MAX_COUNT
        ):
            raise _bad(f"--count must be a whole number between 1 and {MAX_COUNT}")
        return int(text)

    @staticmethod
    def _start(after: str | None, tz: ZoneInfo) -> datetime:
        if not after:
            return timezone.now()
        try:
            parsed = datetime.fromisoformat(after)
        except ValueError:
            raise cron.CronError(
                f"--after {after[:60]!r} is not an ISO 8601 time, e.g. 2026-11-01T00:00:00-04:00"
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return cron.check_instant(parsed)
