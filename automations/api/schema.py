"""The OpenAPI schema's shared parts: every operation documents its error answers (one
`ErrorResponse` component), and every @idempotent one its Idempotency-Key header.

Regenerate the checked-in file with `make openapi` (manage.py spectacular --file
docs/openapi.yaml --validate); tests/api/test_schema.py fails when it drifts."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from automations.api import idempotency
from automations.api.fields import StrictCharField


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Personal API tokens (accounts.api_auth) as the schema's `bearerAuth` scheme, so
    clients and schemathesis know to send `Authorization: Bearer <token>`."""

    target_class = "accounts.api_auth.TokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token, made on the dashboard's profile page.",
        }


class ErrorDetailSerializer(serializers.Serializer):
    code = StrictCharField(help_text="A stable machine-readable code, e.g. `invalid`.")
    message = StrictCharField(help_text="What went wrong, for people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=StrictCharField()),
        help_text="Per input field, its messages (empty when the error is not about a field).",
    )


class ErrorResponseSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()

    class Meta:
        ref_name = "ErrorResponse"


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorResponseSerializer, description=description)


ALWAYS = {
    "401": _error("Not signed in, or the token is missing, expired or revoked."),
    "403": _error("Signed in, but not allowed to do this."),
    "404": _error("No such resource (or the organization is not yours)."),
    "405": _error("Method not allowed."),
    "406": _error("Only application/json can be answered."),
    "429": _error("Rate limit reached; see Retry-After."),
}
WITH_INPUT = {
    "400": _error("Invalid input (per-field messages in `fields`) or malformed JSON."),
    "415": _error("The body must be application/json."),
}
IDEMPOTENT = {
    "409": _error("A request with this Idempotency-Key is still in flight."),
    "422": _error("This Idempotency-Key was used for a different request."),
}


class ApiAutoSchema(AutoSchema):
    def _handler(self) -> Any:
        action = getattr(self.view, "action", None)
        return getattr(self.view, action or self.method.lower(), None)

    def _is_idempotent(self) -> bool:
        return bool(getattr(self._handler(), "idempotent", False))

    def get_override_parameters(self) -> list:
        params = list(super().get_override_parameters())
        if self._is_idempotent():
            params.append(idempotency.PARAMETER)
        return params

    def _get_response_bodies(self, direction: str = "response") -> dict:
        responses = super()._get_response_bodies(direction)
        errors = dict(ALWAYS)
        takes_query = any(
            getattr(p, "location", None) == "query" for p in self.get_override_parameters()
        )
        if (
            self.method in ("POST", "PUT", "PATCH")
            or self._get_filter_parameters()
            or self._get_paginator()
            or takes_query
        ):
            errors.update(WITH_INPUT)
        if self._is_idempotent():
            errors.update(IDEMPOTENT)
        for code, response in sorted(errors.items()):
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code)
        return responses
