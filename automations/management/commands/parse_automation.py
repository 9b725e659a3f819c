"""`manage.py parse_automation "TEXT" [--timezone TZ]`: the draft the plain-English parser
makes of TEXT, as one JSON object on stdout (the same parse the dashboard and MCP use). Text
it cannot understand: the message, what was understood and examples on stderr, exit status 2."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from automations.plain_english import NotUnderstood, parse


class Command(BaseCommand):
    help = "Turn a plain-English description into an automation draft (JSON)."

    def add_arguments(self, parser):
        parser.add_argument("text", help='e.g. "Every Monday at 9am, send me my pipeline"')
        parser.add_argument(
            "--timezone",
            default=None,
            help="IANA zone used unless the text names one (default: settings.TIME_ZONE or UTC)",
        )

    def handle(self, *args, text: str, timezone: str | None, **options):
        zone = timezone or getattr(settings, "TIME_ZONE", None) or "UTC"
        try:
            result = parse(text, time_zone=zone)
        except ValueError as exc:
            raise CommandError(
                f"{exc}; use an IANA name such as America/New_York.", returncode=2
            ) from None
        if isinstance(result, NotUnderstood):
            lines = [result.message]
            lines += [f"Understood: {part}" for part in result.understood]
            lines += ["Try, for example:"] + [f"  {example}" for example in result.examples]
            raise CommandError("\n".join(lines), returncode=2)
        self.stdout.write(json.dumps(result.to_json(), ensure_ascii=False))
