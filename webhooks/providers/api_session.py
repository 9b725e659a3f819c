"""The HTTP part every ATS API client shares: the SSRF-safe outbound session
(config/outbound.py: vetted, pinned addresses, a total deadline, a size cap), and retries on
429 and 5xx that honour Retry-After. One ApiSession per client, kept for the client's life
(webhooks/ats_clients.py reuses clients per process)."""

from __future__ import annotations

import logging
import time
from typing import Any

import requests
from django.conf import settings

from config import outbound
from webhooks.rate_limit import RateLimited, RateLimiter

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An ATS API call failed. `kind` says how, for whoever must explain it to a person:
    "refused" (the URL fails the outbound vetting), "timeout", "unreachable" (connection or
    network error), "http" (the ATS answered an error status, in `status`), "too_large",
    "bad_answer" (the ATS answered something its API does not send), "config" (no API key,
    no client for this provider), "rate_limited" (the key's rate limit would be passed: no
    token came within ATS_RATE_MAX_WAIT_SECONDS)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        kind: str = "http",
    ):
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.kind = kind


class ApiSession:
    def __init__(
        self,
        *,
        auth: Any = None,
        headers: dict[str, str] | None = None,
        retries: bool = True,
        rate: RateLimiter | None = None,
    ) -> None:
        self.auth = auth
        # The API key's token bucket, shared by every worker (webhooks/rate_limit.py).
        self.rate = rate
        # retries=False: one try only (a person waiting on "test connection").
        self.retries = retries
        self.session = outbound.new_session()
        self.session.headers["User-Agent"] = "Skillomatic-Automations"
        self.session.headers.update(headers or {})

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        waits = list(settings.ATS_API_BACKOFF_SECONDS) if self.retries else []
        while True:
            if self.rate is not None:
                try:
                    self.rate.take()  # every try, retries included: each is a request
                except RateLimited as exc:
                    raise ApiError(
                        f"{method} {url}: {exc}", retryable=True, kind="rate_limited"
                    ) from None
            try:
                response = outbound.request(
                    method,
                    url,
                    session=self.session,
                    auth=self.auth,
                    max_bytes=settings.OUTBOUND_ATS_MAX_RESPONSE_BYTES,
                    oversize="raise",
                    # A 3xx is an error for an API client, not a page to follow.
                    follow_redirects=False,
                    **kwargs,
                )
            except outbound.OutboundRefused as exc:
                raise ApiError(f"ATS URL refused: {exc}", kind="refused") from None
            except outbound.OutboundTooLarge as exc:
                raise ApiError(f"{method} {url}: {exc}", kind="too_large") from None
            except requests.RequestException as exc:
                kind = "timeout" if isinstance(exc, requests.Timeout) else "unreachable"
                error = ApiError(f"{method} {url}: {type(exc).__name__}", retryable=True, kind=kind)
                retry_after = None
            else:
                if self.rate is not None:
                    self.rate.learn(response.headers)
                if response.status_code < 300:
                    return response
                retryable = response.status_code == 429 or response.status_code >= 500
                error = ApiError(
                    f"{method} {url} answered {response.status_code}",
                    status=response.status_code,
                    retryable=retryable,
                )
                retry_after = outbound.parse_retry_after(response.headers.get("Retry-After"))
            if not error.retryable or not waits:
                raise error
            wait = waits.pop(0)
            if retry_after is not None:
                if retry_after > settings.ATS_API_MAX_RETRY_AFTER_SECONDS:
                    raise error
                wait = max(wait, retry_after)
            logger.info("%s; retrying in %.1f s", error, wait)
            time.sleep(wait)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)
