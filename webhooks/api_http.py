"""HTTP for ATS APIs: timeouts, the SSRF guard, and retries on 429 and 5xx that honour
Retry-After."""

from __future__ import annotations

import logging
import time
from typing import Any

import requests
from django.conf import settings

from delivery import outbound

logger = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class ApiSession:
    def __init__(self, *, auth: Any = None, headers: dict[str, str] | None = None) -> None:
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.auth = auth
        self.session.headers.update(headers or {})
        self.session.headers.setdefault("User-Agent", "Skillomatic-Automations")

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            outbound.check_url(url)
        except outbound.OutboundRefused as exc:
            raise ApiError(f"ATS URL refused: {exc}") from None
        waits = list(settings.ATS_API_BACKOFF_SECONDS)
        timeout = (settings.OUTBOUND_CONNECT_TIMEOUT, settings.OUTBOUND_READ_TIMEOUT)
        while True:
            try:
                response = self.session.request(
                    method, url, timeout=timeout, allow_redirects=False, **kwargs
                )
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
