"""/api/v1/orgs/<org>/notifications/: the caller's own inbox in the org (newest first,
`?unread=true` for the unread items), mark one read, mark all read. Reads through
delivery.selectors (`notifications_for_user`: the recipient only, not even an admin sees
another's inbox), writes through delivery.inbox."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from automations.api.base import ApiViewSet, OrgScoped
from automations.api.pagination import CursorPage
from delivery.inbox import notification_mark_read, notifications_mark_all_read
from delivery.models import Notification
from delivery.selectors import notification_get_for_user, notifications_for_user


class NotificationSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    automation = serializers.SerializerMethodField()
    run = serializers.SerializerMethodField()
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "title",
            "body_markdown",
            "automation",
            "run",
            "read",
            "read_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_automation(self, obj: Notification) -> str | None:
        automation = obj.automation
        return str(automation.public_id) if automation is not None else None

    def get_run(self, obj: Notification) -> str | None:
        run = obj.run
        return str(run.public_id) if run is not None else None

    def get_read(self, obj: Notification) -> bool:
        return obj.read_at is not None


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many items were unread and are now read.")


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(method="filter_unread", help_text="Only unread items.")

    class Meta:
        model = Notification
        fields = ["unread"]

    def filter_unread(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        return queryset.filter(read_at__isnull=True) if value else queryset


class NotificationPage(CursorPage):
    ordering = ("-created_at", "-id")


@extend_schema_view(
    list=extend_schema(summary="Your inbox in this org"),
    retrieve=extend_schema(summary="Get an inbox item"),
)
class NotificationViewSet(OrgScoped, ApiViewSet):
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    pagination_class = NotificationPage
    lookup_field = "public_id"
    lookup_url_kwarg = "public_id"
    http_method_names = ["get", "post", "options", "head"]
    queryset = Notification.objects.none()  # for the schema; get_queryset is the fetcher

    def get_queryset(self) -> QuerySet[Notification]:
        return notifications_for_user(user=self.request.user, org=self.org).select_related(
            "automation", "run"
        )

    def get_object(self) -> Notification:
        item = notification_get_for_user(user=self.request.user, public_id=self.kwargs["public_id"])
        if item.organization_id != self.org.pk:
            raise Http404("No such notification.")
        return item

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(NotificationSerializer(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(NotificationSerializer(self.get_object()).data)

    @extend_schema(summary="Mark it read", request=None, responses={200: NotificationSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = notification_mark_read(notification=self.get_object(), by=request.user)
        return Response(NotificationSerializer(self.get_queryset().get(pk=item.pk)).data)

    @extend_schema(summary="Mark all read", request=None, responses={200: MarkedSerializer})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        marked = notifications_mark_all_read(user=request.user, org=self.org)
        return Response(MarkedSerializer({"marked": marked}).data)
