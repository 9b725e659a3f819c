"""What the admin's and the dashboard's connection forms share: the URL an ATS posts to and
the write-only secret fields (never rendered back into a page, not even after a refused
save)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.urls import reverse

from webhooks.models import AtsConnection


def connection_webhook_url(connection: AtsConnection) -> str:
    """What to paste into the ATS: SITE_URL and the receiver's path for this connection."""
    return settings.SITE_URL + reverse(
        "ats-webhook", args=[connection.provider, connection.public_id]
    )


def write_only_field(label: str, help_text: str, *, max_length: int | None = None):
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        max_length=max_length,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=help_text,
    )
