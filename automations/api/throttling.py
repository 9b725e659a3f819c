"""Rate limits: per API token (per user when signed in by session) and per org in the URL,
counted in the shared cache (CACHES: Redis when REDIS_URL is set), so every web process
counts the same requests. The rates are read from settings on each request
(API_RATE_PER_TOKEN, API_RATE_PER_ORG), so tests can lower them.

A refused request is a 429 in the error format with Retry-After; every answer carries
RateLimit-Limit / RateLimit-Remaining / RateLimit-Reset for the tighter of the two limits
(ApiView.finalize_response adds them from `request.rate_limits`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class _CountingThrottle(SimpleRateThrottle):
    setting_name = ""

    def get_rate(self) -> str | None:
        return getattr(settings, self.setting_name, None)

    def __init__(self) -> None:
        # SimpleRateThrottle reads THROTTLE_RATES at import; ours come from settings, now.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def allow_request(self, request: Request, view: Any) -> bool:
        allowed = super().allow_request(request, view)
        if self.rate is not None and getattr(self, "key", None) is not None:
            remaining = max(0, self.num_requests - len(self.history))
            reset = int(self.duration - (self.now - self.history[-1])) if self.history else 0
            limits = getattr(request, "rate_limits", None)
            if limits is None:
                limits = request.rate_limits = []
            limits.append((self.num_requests, remaining, max(reset, 0)))
        return allowed


class TokenRateThrottle(_CountingThrottle):
    """Per API token (request.auth's pk), else per user."""

    scope = "token"
    setting_name = "API_RATE_PER_TOKEN"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None  # anonymous requests are refused before this (IsAuthenticated)
        token_pk = getattr(request.auth, "pk", None)
        ident = f"t{token_pk}" if token_pk is not None else f"u{request.user.pk}"
        return f"api-throttle:token:{ident}"


class OrgRateThrottle(_CountingThrottle):
    """Per org in the URL (resolved, and membership checked, before throttling: an outsider
    cannot spend another org's budget)."""

    scope = "org"
    setting_name = "API_RATE_PER_ORG"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        org = getattr(view, "org", None)
        if org is None:
            return None
        return f"api-throttle:org:{org.pk}"
