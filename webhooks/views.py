"""`/webhooks/ats/<provider>/<connection_id>/`: thin; webhooks/intake.py decides."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from webhooks.intake import MAX_BODY_BYTES, inbound_receive, refuse
from webhooks.providers.common import Request


@csrf_exempt
def ats_webhook(request: HttpRequest, provider: str, connection_id: str) -> HttpResponse:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        # Refused before reading the body.
        answer = refuse(
            413, f"body over {MAX_BODY_BYTES} bytes", provider=provider, connection_id=connection_id
        )
    else:
        answer = inbound_receive(
            provider=provider,
            connection_id=connection_id,
            request=Request(
                body=request.body,
                headers=_headers(request.META),
                query=dict(request.GET.items()) if request.META.get("QUERY_STRING") else {},
                method=request.method,
            ),
            content_length=length or None,
        )
    # The answers are plain dicts of strings and booleans: the standard encoder is enough
    # (JsonResponse's DjangoJSONEncoder costs more than the rest of the response).
    response = HttpResponse(
        json.dumps(answer.body), content_type="application/json", status=answer.status
    )
    for name, value in answer.headers.items():
        response[name] = value
    if answer.status == 405:
        response["Allow"] = "POST"
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
