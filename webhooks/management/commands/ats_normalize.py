"""`manage.py ats_normalize PROVIDER FILE [--secret S] [--header 'Name: value' ...]`: read a
raw webhook payload and print its canonical event as JSON. With --secret the signature is
verified exactly as the receiver does (exit 3 and the reason on failure). Exit 2 on a
malformed payload (deep nesting, huge numbers, a wrong type anywhere: the receiver's bounded
parser and typed reader) or an unknown provider. The same adapter code as the receiver."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from webhooks.providers.common import MalformedError, Request, SignatureError, body_hash
from webhooks.providers.registry import PROVIDERS


class Command(BaseCommand):
    help = "Normalise (and optionally verify) a raw ATS webhook payload."

    def add_arguments(self, parser):
        parser.add_argument("provider", help=", ".join(sorted(PROVIDERS)))
        parser.add_argument("file", help="the raw body, or - for standard input")
        parser.add_argument("--secret", help="verify with this webhook secret")
        parser.add_argument(
            "--header",
            action="append",
            default=[],
            help="'Name: value' (repeat), e.g. the signature header",
        )
        parser.add_argument(
            "--query",
            action="append",
            default=[],
            help="'name=value' query parameter (Zoho's token)",
        )

    def handle(
        self,
        *args,
        provider: str,
        file: str,
        secret: str | None,
        header: list[str],
        query: list[str],
        **options,
    ):
        adapter = PROVIDERS.get(provider)
        if adapter is None:
            self._exit(
                2, f"unknown provider {provider!r}; use one of {', '.join(sorted(PROVIDERS))}"
            )
        try:
            body = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
        except OSError as exc:
            self._exit(2, f"cannot read {file}: {exc.strerror}")
        headers = {}
        for item in header:
            name, sep, value = item.partition(":")
            if not sep:
                self._exit(2, f"--header {item!r} is not 'Name: value'")
            headers[name.strip().lower()] = value.strip()
        params = dict(item.partition("=")[::2] for item in query)
        request = Request(body=body, headers=headers, query=params)
        try:
            delivery = adapter.verify_and_parse(request, secret)
            if delivery.is_ping:
                self.stdout.write(json.dumps({"ping": True, "raw_type": delivery.raw_type}))
                return
            delivery.delivery_id = delivery.delivery_id or body_hash(body)
            event = adapter.normalize(delivery)
        except SignatureError as exc:
            self._exit(3, f"signature check failed: {exc}")
        except MalformedError as exc:
            self._exit(2, f"malformed payload: {exc}")
        event.pop("_stage_ids", None)
        self.stdout.write(json.dumps(event, indent=2, ensure_ascii=False))

    def _exit(self, code: int, message: str) -> None:
        self.stderr.write(f"error: {message}")
        sys.exit(code)
