"""HTTP for ATS APIs: the SSRF-safe outbound session (config/outbound.py: vetted, pinned
addresses, a total deadline, a size cap), and retries on 429 and 5xx that honour
Retry-After."""

from __future__ import annotations

import logging
import time
from typing import Any

import requests
from django.conf import settings

from config import outbound

logger = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class ApiSession:
    def __init__(self, *, auth: Any = None, headers: dict[str, str] | None = None) -> None:
        self.auth = auth
        self.session = outbound.new_session()
        self.session.headers["User-Agent"] = "Skillomatic-Automations"
        self.session.headers.update(headers or {})

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        waits = list(settings.ATS_API_BACKOFF_SECONDS)
        while True:
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
                raise ApiError(f"ATS URL refused: {exc}") from None
            except outbound.OutboundTooLarge as exc:
                raise ApiError(f"{method} {url}: {exc}") from None
            except requests.RequestException as exc:
                error = ApiError(f"{method} {url}: {type(exc).__name__}", retryable=True)
                retry_after = None
            else:
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
