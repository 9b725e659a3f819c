"""`/webhooks/ats/<provider>/<connection_id>/`: thin; webhooks/intake.py decides.

The view only reads the request safely: a Content-Length that is not a plain number is 400
(Django's own `request.body` would raise ValueError on it), one over the limit is 413 before
anything is read, and a body that turns out larger, a broken upload or too many query
parameters are refused with their status instead of an exception."""

from __future__ import annotations

import json

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.http.request import UnreadablePostError
from django.views.decorators.csrf import csrf_exempt

from config.metrics import WEBHOOK_DELIVERIES
from webhooks.intake import MAX_BODY_BYTES, Answer, inbound_receive, refuse
from webhooks.providers.common import Request
from webhooks.providers.registry import PROVIDERS


@csrf_exempt
def ats_webhook(request: HttpRequest, provider: str, connection_id: str) -> HttpResponse:
    response = _receive(request, provider, connection_id)
    # Only a provider we know names a series: any other path segment is "unknown", so a
    # caller cannot make up label values by the thousand.
    WEBHOOK_DELIVERIES.labels(
        provider=provider if provider in PROVIDERS else "unknown",
        status=str(response.status_code),
    ).inc()
    return response


def _receive(request: HttpRequest, provider: str, connection_id: str) -> HttpResponse:
    where = {"provider": provider, "connection_id": connection_id}
    raw_length = request.META.get("CONTENT_LENGTH") or ""
    if raw_length and not (raw_length.isascii() and raw_length.isdigit()):
        return _response(refuse(400, "Content-Length is not a number of bytes", **where))
    length = int(raw_length or 0)
    if length > MAX_BODY_BYTES:
        # Refused before reading the body.
        return _response(refuse(413, f"body over {MAX_BODY_BYTES} bytes", **where))
    try:
        body = request.body
        query = dict(request.GET.items()) if request.META.get("QUERY_STRING") else {}
    except RequestDataTooBig:
        return _response(refuse(413, f"body over {MAX_BODY_BYTES} bytes", **where))
    except TooManyFieldsSent:
        return _response(refuse(400, "too many query parameters", **where))
    except UnreadablePostError:
        return _response(refuse(400, "the body could not be read", **where))
    answer = inbound_receive(
        provider=provider,
        connection_id=connection_id,
        request=Request(
            body=body, headers=_headers(request.META), query=query, method=request.method
        ),
        content_length=length or None,
    )
    return _response(answer)


def _response(answer: Answer) -> HttpResponse:
    # The answers are plain dicts of strings and booleans: the standard encoder is enough
    # (JsonResponse's DjangoJSONEncoder costs more than the rest of the response).
    response = HttpResponse(
        json.dumps(answer.body), content_type="application/json", status=answer.status
    )
    for name, value in answer.headers.items():
        response[name] = value
    return response


def _headers(meta: dict) -> dict[str, str]:
    """The request's headers by lower-case name, read straight from the WSGI environ (Django's
    `request.headers` parses every name again on each access)."""
    headers = {
        name[5:].replace("_", "-").lower(): value
        for name, value in meta.items()
        if name.startswith("HTTP_")
    }
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if meta.get(name):
            headers[name.replace("_", "-").lower()] = meta[name]
    return headers
