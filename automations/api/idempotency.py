"""`Idempotency-Key` for POSTs that create or act (create, run now, ...): decorate the view
method with `@idempotent`.

- No header: the request runs as usual.
- First request with a key: an `IdempotencyRecord` (user, org, key) is written before the work,
  marked in flight; a 2xx answer is stored on it. A non-2xx answer deletes it, so the client
  can fix the request and retry with the same key.
- Retry with the same key, path and body: the stored status and body, with
  `Idempotent-Replayed: true`. Nothing runs again.
- Same key, another path or body: 422 `idempotency_key_reused`.
- Same key while the first is still running: 409 `idempotency_in_flight`.
- Records older than API_IDEMPOTENCY_HOURS count as absent and are purged by the retention
  task (automations.maintenance.idempotency_purge_expired).

The view must be OrgScoped (`self.org`)."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from automations.api.errors import ApiError
from automations.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = IdempotencyRecord._meta.get_field("key").max_length

# For the schema (automations/api/schema.py adds it to every @idempotent operation).
PARAMETER = OpenApiParameter(
    name=HEADER,
    type={
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        # Printable ASCII (what an HTTP header carries as text), not all spaces.
        "pattern": "^[ -~]*[!-~][ -~]*$",
    },
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (a UUID) to make a retried POST safe: the same key with the same "
        "body answers the first result again (header Idempotent-Replayed: true). Kept 24 h."
    ),
)


def _cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)


def _request_hash(request: Request) -> str:
    try:
        body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError, RecursionError):
        # Not plain JSON data: such a body never validates, and a refused answer is not kept.
        body = "<unrepresentable>"
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _key(request: Request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        raise ApiError(
            400,
            "invalid_idempotency_key",
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
        )
    return key


def _replay(record: IdempotencyRecord, *, request: Request, request_hash: str) -> Response:
    if record.path != request.path or record.request_hash != request_hash:
        raise ApiError(
            422,
            "idempotency_key_reused",
            f"This {HEADER} was used for another request; use a new key for a new request.",
        )
    if record.status_code is None:
        raise ApiError(
            409,
            "idempotency_in_flight",
            f"A request with this {HEADER} is still being processed; retry shortly.",
        )
    response = Response(record.response_body, status=record.status_code)
    response[REPLAYED_HEADER] = "true"
    return response


def idempotent(method: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate a view method (post, or a viewset action) of an OrgScoped view."""

    @functools.wraps(method)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = _key(request)
        if key is None:
            return method(view, request, *args, **kwargs)
        request_hash = _request_hash(request)
        scope = {"user": request.user, "organization": view.org, "key": key}
        # An expired record is no record: the key may be used afresh.
        IdempotencyRecord.objects.filter(**scope, created_at__lt=_cutoff()).delete()
        try:
            # Its own savepoint, committed before the work when not inside a transaction,
            # so a concurrent duplicate sees it in flight.
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    **scope, method=request.method, path=request.path, request_hash=request_hash
                )
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(**scope).first()
            if existing is None:  # purged between the two queries: treat as in flight
                raise ApiError(
                    409, "idempotency_in_flight", "Retry this request shortly."
                ) from None
            return _replay(existing, request=request, request_hash=request_hash)
        try:
            response = method(view, request, *args, **kwargs)
        except BaseException:
            record.delete()
            raise
        if 200 <= response.status_code < 300:
            # Stored as the client saw it (UUIDs and times as strings).
            body = json.loads(JSONRenderer().render(response.data) or b"null")
            record.status_code = response.status_code
            record.response_body = body
            record.save(update_fields=["status_code", "response_body"])
        else:
            record.delete()
        return response

    wrapper.idempotent = True  # type: ignore[attr-defined]
    return wrapper
