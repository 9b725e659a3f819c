"""/api/v1/orgs/<org>/connections/: ATS connections, for the org's admins only (a member gets
403, as the dashboard's page says only admins manage them; another org's is a 404): CRUD,
`POST .../rotate` (a new webhook signing secret, shown once in that answer only) and
`POST .../test` (one API call to the ATS with the stored key).

Reads through webhooks.selectors, writes through webhooks.services. Secrets are write-only:
`webhook_secret` and `api_key` are accepted on create and PATCH and never shown again
(`webhook_secret_set`, `api_key_set` say whether one is stored); a secret the service
generates (create without one, rotate) is shown in that one answer (`new_webhook_secret`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import org_admin_require
from automations.api.base import ApiViewSet, OrgScoped
from automations.api.channels import body_of
from automations.api.fields import StrictCharField
from automations.api.idempotency import idempotent
from automations.api.pagination import CursorPage
from webhooks import services
from webhooks.connection_forms import connection_webhook_url
from webhooks.models import AtsConnection
from webhooks.selectors import connection_get_for_user, connections_for_user

SECRET_FIELDS = ("webhook_secret", "api_key")
CREATE_FIELDS = ("provider", "name", *services.EDITABLE[1:], *SECRET_FIELDS)
PATCH_FIELDS = (*services.EDITABLE, *SECRET_FIELDS)


class ConnectionSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    # Text, not a URI: it is empty for providers with a fixed API address.
    base_url = StrictCharField(read_only=True)
    webhook_url = serializers.SerializerMethodField(help_text="Paste this into the ATS.")
    webhook_secret_set = serializers.SerializerMethodField()
    api_key_set = serializers.SerializerMethodField()

    class Meta:
        model = AtsConnection
        fields = [
            "id",
            "provider",
            "name",
            "mode",
            "base_url",
            "region",
            "poll_interval_seconds",
            "webhook_url",
            "webhook_secret_set",
            "api_key_set",
            "secrets_rotated_at",
            "last_event_at",
            "last_error_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_webhook_url(self, obj: AtsConnection) -> str:
        return connection_webhook_url(obj)

    def get_webhook_secret_set(self, obj: AtsConnection) -> bool:
        return bool((obj.secrets or {}).get("webhook_secret"))

    def get_api_key_set(self, obj: AtsConnection) -> bool:
        return bool((obj.secrets or {}).get("api_key"))


class ConnectionShownOnceSerializer(ConnectionSerializer):
    new_webhook_secret = StrictCharField(
        allow_null=True, help_text="A generated webhook secret: shown in this answer only."
    )

    class Meta(ConnectionSerializer.Meta):
        fields = [*ConnectionSerializer.Meta.fields, "new_webhook_secret"]
        read_only_fields = fields


class ConnectionInputSerializer(serializers.Serializer):
    provider = serializers.ChoiceField(choices=AtsConnection.Provider.choices)
    name = StrictCharField(max_length=120)
    mode = serializers.ChoiceField(choices=AtsConnection.Mode.choices, required=False)
    base_url = StrictCharField(required=False)
    region = StrictCharField(required=False)
    poll_interval_seconds = serializers.IntegerField(required=False)
    webhook_secret = StrictCharField(required=False, help_text="Write-only.")
    api_key = StrictCharField(required=False, help_text="Write-only.")


class ConnectionPatchSerializer(ConnectionInputSerializer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["provider"]
        for field in self.fields.values():
            field.required = False


class ConnectionTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    kind = StrictCharField()
    message = StrictCharField()


class ConnectionPage(CursorPage):
    ordering = ("-created_at", "-id")


@extend_schema_view(
    list=extend_schema(summary="List ATS connections (org admins)"),
    retrieve=extend_schema(summary="Get an ATS connection"),
    destroy=extend_schema(summary="Delete an ATS connection with its events"),
)
class ConnectionViewSet(OrgScoped, ApiViewSet):
    serializer_class = ConnectionSerializer
    pagination_class = ConnectionPage
    filter_backends: list = []
    lookup_field = "public_id"
    lookup_url_kwarg = "public_id"
    http_method_names = ["get", "post", "patch", "delete", "options", "head"]
    queryset = AtsConnection.objects.none()  # for the schema; get_queryset is the fetcher

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Admins only, for every endpoint: a member is told so (403), before any row is read.
        org_admin_require(user=request.user, org=self.org)

    def get_queryset(self) -> QuerySet[AtsConnection]:
        return connections_for_user(user=self.request.user, write=True).filter(
            organization=self.org
        )

    def get_object(self) -> AtsConnection:
        connection = connection_get_for_user(
            user=self.request.user, public_id=self.kwargs["public_id"], write=True
        )
        if connection.organization_id != self.org.pk:
            raise Http404("No such connection.")
        return connection

    def _show(self, connection: AtsConnection, *, code: int = 200, secret: Any = False):
        data = dict(ConnectionSerializer(AtsConnection.objects.get(pk=connection.pk)).data)
        if secret is not False:
            data["new_webhook_secret"] = secret
        response = Response(data, status=code)
        if secret:
            response["Cache-Control"] = "no-store"  # shown once: nobody keeps a copy
        return response

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ConnectionSerializer(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._show(self.get_object())

    @extend_schema(
        summary="Connect an ATS",
        request=ConnectionInputSerializer,
        responses={201: ConnectionShownOnceSerializer},
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = body_of(request, CREATE_FIELDS, shape=ConnectionInputSerializer)
        connection, generated = services.connection_create(
            org=self.org,
            by=request.user,
            provider=body.pop("provider", ""),
            name=body.pop("name", ""),
            webhook_secret=body.pop("webhook_secret", None) or None,
            api_key=body.pop("api_key", None) or None,
            **body,
        )
        return self._show(connection, code=status.HTTP_201_CREATED, secret=generated)

    @extend_schema(
        summary="Change an ATS connection or set its secrets",
        request=ConnectionPatchSerializer,
        responses={200: ConnectionSerializer},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        connection = self.get_object()
        body = body_of(request, PATCH_FIELDS, shape=ConnectionPatchSerializer, partial=True)
        secrets = {key: body.pop(key) for key in SECRET_FIELDS if key in body}
        with transaction.atomic():  # all of it or none of it
            if body:
                connection = services.connection_update(
                    connection=connection, by=request.user, **body
                )
            if secrets:
                connection = services.connection_set_secrets(
                    connection=connection, by=request.user, **secrets
                )
        return self._show(connection)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.connection_delete(connection=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Rotate the webhook signing secret (the new one is shown once)",
        request=None,
        responses={200: ConnectionShownOnceSerializer},
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        connection = self.get_object()
        secret = services.connection_rotate_webhook_secret(connection=connection, by=request.user)
        return self._show(connection, secret=secret)

    @extend_schema(
        summary="Test the connection (one API call)",
        request=None,
        responses={200: ConnectionTestSerializer},
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        outcome = services.connection_test(connection=self.get_object(), by=request.user)
        return Response(
            ConnectionTestSerializer(
                {"ok": outcome.ok, "kind": outcome.kind, "message": outcome.message}
            ).data
        )
