"""Make a personal API token for a user from the command line and print it (once): for
operators and scripted setups (CI's schemathesis run). People make theirs in the dashboard."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.api_tokens import api_token_create


class Command(BaseCommand):
    help = "Make an API token for USERNAME and print it. It cannot be shown again."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="What uses the token.")
        parser.add_argument("--days", type=int, default=None, help="Expiry (default 90).")

    def handle(self, *args, username: str, name: str, days: int | None, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        try:
            _token, raw = api_token_create(user=user, name=name, expires_in_days=days)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError("; ".join(getattr(exc, "messages", [str(exc)]))) from exc
        self.stdout.write(raw)
