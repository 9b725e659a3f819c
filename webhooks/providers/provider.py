"""What the registry holds for one ATS: its webhook adapter (verify, normalise) and its API
client class, declared once at the bottom of the provider's module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from webhooks.providers.api import ProviderApi
from webhooks.providers.common import Delivery, Request


@dataclass(frozen=True)
class Provider:
    name: str
    # Checks the signature (secret None: parse only, for manage.py ats_normalize) and parses;
    # SignatureError (401) or MalformedError (400).
    verify_and_parse: Callable[[Request, str | None], Delivery]
    # The canonical event (DESIGN.md) for a parsed delivery.
    normalize: Callable[[Delivery], dict]
    api: type[ProviderApi]
    # Whether the webhook secret is one we may make up (the ATS takes any value we paste in:
    # Greenhouse, Ashby, Zoho) or one the ATS issues (Lever's signature token, Workable's
    # account token, SmartRecruiters' generated key): only the first can be rotated here.
    we_choose_webhook_secret: bool
    success_status: int = 200
    methods: tuple[str, ...] = ("POST",)
    # A subscription handshake to answer before any signature check (SmartRecruiters):
    # the headers to echo, or None when the request is not one.
    handshake: Callable[[Request], dict[str, str] | None] | None = None
