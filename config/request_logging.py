"""Binds a request id to every log line written while a request is handled, and the signed-in
user's id once authentication has run. The org id is bound where the dashboard and the API
resolve the caller's workplace (they live above config, see config.logs.bind)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

from config import logs

HEADER = "X-Request-ID"
# An incoming id is kept only if it cannot smuggle anything into a log line or a header.
_VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_for(incoming: str | None) -> str:
    if incoming and _VALID_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Cleared at both ends: a worker thread or greenlet serves many requests. The end is
        # request_finished (below), not here: Django writes the 4xx/5xx line (django.request)
        # after the middleware returns, and that line must carry the ids too.
        logs.clear()
        request_id = request_id_for(request.headers.get(HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        logs.bind(request_id=request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response

    def process_view(self, request: HttpRequest, *_args: object, **_kwargs: object) -> None:
        # Runs after every middleware's request phase, so AuthenticationMiddleware has set
        # request.user (an id only: never the username or email).
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            logs.bind(user_id=user.pk)
        return None


def _clear_after_request(**_kwargs: object) -> None:
    logs.clear()


request_finished.connect(_clear_after_request, dispatch_uid="config.request_logging.clear")
