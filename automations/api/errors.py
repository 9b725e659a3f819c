"""One error format for every 4xx the API gives:

    {"error": {"code": "invalid", "message": "...", "fields": {"name": ["..."]}}}

`api_exception_handler` (settings REST_FRAMEWORK) turns DRF's exceptions and Django's own
(the ValidationError, PermissionDenied and Http404 the services and fetchers raise) into it;
`api_not_found` answers an unknown URL under /api/ the same way; `api_error` builds one by hand.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

# DRF's exception class -> our stable code (the rest use the exception's default_code).
_CODES: dict[type[Exception], str] = {
    exceptions.ParseError: "parse_error",
    exceptions.ValidationError: "invalid",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}
_DEFAULT_MESSAGES = {
    "invalid": "The request has invalid fields.",
}


class ApiError(exceptions.APIException):
    """An error with our own code and status, for views and helpers: raise
    ApiError(409, "idempotency_in_flight", "...")."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.message = message
        self.fields = fields or {}


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def api_error(
    status_code: int, code: str, message: str, fields: dict[str, list[str]] | None = None
) -> Response:
    """An error Response in the one format (for a view that answers an error itself)."""
    return Response(error_body(code, message, fields), status=status_code)


def _flatten(detail: Any) -> list[str]:
    """DRF's nested ErrorDetail lists/dicts as flat strings."""
    if isinstance(detail, dict):
        return [
            f"{key}: {message}" if key != NON_FIELD_ERRORS else message
            for key, value in detail.items()
            for message in _flatten(value)
        ]
    if isinstance(detail, list | tuple):
        return [message for item in detail for message in _flatten(item)]
    return [str(detail)]


def _fields_from_drf(detail: Any) -> tuple[str, dict[str, list[str]]]:
    """(message, fields) from a DRF ValidationError's detail."""
    if isinstance(detail, dict):
        fields: dict[str, list[str]] = {}
        messages: list[str] = []
        for key, value in detail.items():
            flat = _flatten(value)
            if key in (NON_FIELD_ERRORS, "non_field_errors"):
                messages.extend(flat)
            else:
                fields[str(key)] = flat
        return (" ".join(messages) or _DEFAULT_MESSAGES["invalid"]), fields
    return " ".join(_flatten(detail)) or _DEFAULT_MESSAGES["invalid"], {}


def _fields_from_django(exc: DjangoValidationError) -> tuple[str, dict[str, list[str]]]:
    """A service's ValidationError: `message_dict` to fields (NON_FIELD_ERRORS to the
    message), plain messages to the message."""
    if hasattr(exc, "error_dict"):
        fields = {key: list(value) for key, value in exc.message_dict.items()}
        general = fields.pop(NON_FIELD_ERRORS, [])
        return (" ".join(general) or _DEFAULT_MESSAGES["invalid"]), fields
    return " ".join(exc.messages) or _DEFAULT_MESSAGES["invalid"], {}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """REST_FRAMEWORK's EXCEPTION_HANDLER. DRF's own handler runs first for the headers it
    sets (WWW-Authenticate, Retry-After) and its transaction rollback; the body is ours."""
    if isinstance(exc, DjangoValidationError):
        message, fields = _fields_from_django(exc)
        exc = ApiError(status.HTTP_400_BAD_REQUEST, "invalid", message, fields)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, ObjectDoesNotExist):
        # A row read moments ago and deleted by another request before this one wrote
        # (services lock with config.rows, which says so; this catches any other read).
        exc = exceptions.NotFound("That no longer exists.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API error: a 500, reported as one
    if isinstance(exc, ApiError):
        code, message, fields = exc.error_code, exc.message, exc.fields
    elif isinstance(exc, exceptions.ValidationError):
        code = "invalid"
        message, fields = _fields_from_drf(exc.detail)
    else:
        code = _CODES.get(type(exc)) or next(
            (value for cls, value in _CODES.items() if isinstance(exc, cls)),
            str(getattr(exc, "default_code", "error")),
        )
        # A specific code the raiser gave (token_revoked, token_expired, ...) wins over the
        # class's generic one.
        given = getattr(exc.detail, "code", None)
        if isinstance(given, str) and given != getattr(exc, "default_code", None):
            code = given
        message, fields = " ".join(_flatten(exc.detail)), {}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        message = f"Too many requests. Try again in {int(exc.wait) + 1} s."
    response.data = error_body(code, message, fields)
    return response


# Exempt: it changes nothing, and a POST to a mistyped API URL should hear "no such endpoint"
# in the API's format, not the CSRF middleware's HTML page.
@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any URL under /api/ that no endpoint has: the format's 404, not the dashboard's page."""
    return JsonResponse(error_body("not_found", f"No API endpoint at {request.path}."), status=404)
