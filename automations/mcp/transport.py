"""MCP's Streamable HTTP transport as one Django view at /mcp/, in stateless JSON-response mode.

The web server is WSGI (gunicorn with gevent), so no response stream is held open: each POST
carries one JSON-RPC message (or, on 2025-03-26, a batch) and is answered at once with
`Content-Type: application/json`, which the spec lets a server do; notifications and client
responses get 202 with no body. No Mcp-Session-Id is issued, so the client opens no GET stream
and sends no DELETE; both are 405.

Authentication is the API token only (`Authorization: Bearer sko_...`, the API's own rule in
accounts.api_tokens): the view is csrf_exempt precisely because no cookie is ever read, so a
page in a browser cannot act for a signed-in user. A missing or bad token is a 401 with
WWW-Authenticate and a JSON-RPC error body (which the SDK's client surfaces as the error). The
API's per-token rate limit applies (automations.api.throttling.TokenRateThrottle)."""

from __future__ import annotations

import json
import logging
from typing import Any

import mcp.types as types
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError as WireValidationError

from accounts.api_tokens import TokenError, api_token_authenticate
from automations.api.throttling import TokenRateThrottle
from automations.mcp.server import (
    DEFAULT_VERSION,
    SUPPORTED_VERSIONS,
    caller_for,
    handle_request,
    negotiate,
)

logger = logging.getLogger(__name__)

PROTOCOL_HEADER = "MCP-Protocol-Version"
WWW_AUTHENTICATE = 'Bearer realm="mcp"'
# One JSON-RPC message is small; a draft's text is at most 2,000 characters.
MAX_BODY_BYTES = 256 * 1024
MAX_BATCH = 20


def _error(status: int, code: int, message: str, *, data: Any = None, **headers: str):
    """A JSON-RPC error with no request id (the request was refused before it was read)."""
    error = types.ErrorData(code=code, message=message, data=data)
    body = types.JSONRPCError(jsonrpc="2.0", id=None, error=error).model_dump(
        mode="json", exclude_none=True
    )
    body["id"] = None  # JSON-RPC: an unknown id is null, not absent
    response = JsonResponse(body, status=status)
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return response


class _Throttled:
    """What TokenRateThrottle reads off a request: the user and the token."""

    def __init__(self, user, token) -> None:
        self.user = user
        self.auth = token


def _authenticate(request: HttpRequest):
    """(user, token) or a 401 response."""
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None, _error(
            401,
            types.INVALID_REQUEST,
            "Authentication required: send your Skillomatic API token as "
            "`Authorization: Bearer <token>` (make one under Settings > API tokens).",
            WWW_Authenticate=WWW_AUTHENTICATE,
        )
    try:
        return api_token_authenticate(raw.strip()), None
    except TokenError as exc:
        return None, _error(
            401,
            types.INVALID_REQUEST,
            exc.message,
            data={"code": f"token_{exc.code}"},
            WWW_Authenticate=f'{WWW_AUTHENTICATE}, error="invalid_token"',
        )


def _accepts_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    if not accept:
        return True
    kinds = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(kinds & {"application/json", "application/*", "*/*"})


def _version(request: HttpRequest) -> tuple[str | None, HttpResponse | None]:
    asked = request.headers.get(PROTOCOL_HEADER)
    if asked is None:
        return DEFAULT_VERSION, None
    if asked in SUPPORTED_VERSIONS:
        return asked, None
    # -32022 naming what we speak: the SDK's client then falls back to initialize.
    return None, _error(
        400,
        types.UNSUPPORTED_PROTOCOL_VERSION,
        f"Unsupported protocol version {asked[:40]!r}.",
        data={"supported": list(SUPPORTED_VERSIONS), "requested": asked[:40]},
    )


@csrf_exempt
def mcp_endpoint(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        # Stateless JSON mode: no server-to-client stream (GET), no session to end (DELETE).
        response = HttpResponse(status=405)
        response.headers["Allow"] = "POST"
        return response
    (auth, refusal) = _authenticate(request)
    if refusal is not None:
        return refusal
    user, token = auth
    throttle = TokenRateThrottle()
    if not throttle.allow_request(_Throttled(user, token), None):
        wait = int(throttle.wait() or 1)
        return _error(
            429, types.INTERNAL_ERROR, "Too many requests; slow down.", Retry_After=str(wait)
        )
    if not _accepts_json(request):
        return _error(406, types.INVALID_REQUEST, "This server answers application/json.")
    if request.content_type != "application/json":
        return _error(415, types.INVALID_REQUEST, "Send the JSON-RPC message as application/json.")
    try:
        body = request.body
    except RequestDataTooBig:
        return _error(413, types.INVALID_REQUEST, "That message is too large.")
    if len(body) > MAX_BODY_BYTES:
        return _error(413, types.INVALID_REQUEST, "That message is too large.")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, types.PARSE_ERROR, "Parse error: the body is not JSON.")
    header_version, refusal = _version(request)
    if refusal is not None:
        return refusal
    batch = isinstance(payload, list)
    if batch and (header_version != "2025-03-26" or not payload or len(payload) > MAX_BATCH):
        return _error(400, types.INVALID_REQUEST, "JSON-RPC batches are not accepted here.")
    caller = caller_for(user)
    answers = []
    for item in payload if batch else [payload]:
        try:
            message = types.jsonrpc_message_adapter.validate_python(item, by_name=False)
        except WireValidationError:
            answers.append(
                types.JSONRPCError(
                    jsonrpc="2.0",
                    id=None,
                    error=types.ErrorData(
                        code=types.INVALID_REQUEST, message="Not a JSON-RPC 2.0 message."
                    ),
                )
            )
            continue
        if not isinstance(message, types.JSONRPCRequest):
            continue  # a notification or a client's response: nothing to answer
        version = header_version
        if message.method == "initialize":
            # The handshake names its version in its params, not the header.
            version = negotiate((message.params or {}).get("protocolVersion"))
        answers.append(handle_request(message, caller=caller, version=version))
    if not answers:
        return HttpResponse(status=202)
    dumped = [a.model_dump(by_alias=True, mode="json", exclude_none=True) for a in answers]
    for answer, row in zip(answers, dumped, strict=True):
        if isinstance(answer, types.JSONRPCError) and answer.id is None:
            row["id"] = None  # JSON-RPC: an unknown id is null, not absent
    status = 200
    if not batch and isinstance(answers[0], types.JSONRPCError) and answers[0].id is None:
        status = 400
    return JsonResponse(dumped if batch else dumped[0], status=status, safe=False)
