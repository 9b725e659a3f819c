"""Governance for org admins: the approvals queue (`/approvals/`; approve and reject are
actions on the automation), the audit log (`/audit-events/`) and usage (`/usage/`).

Approvals and the audit log are the org's admins' (a member gets 403, as on the dashboard);
usage is the whole org's for admins and a personal view for a member
(automations.usage.usage_for_viewer)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.audit_reads import SYSTEM_ACTOR, AuditFilter, audit_events_for_user
from accounts.models import AuditEvent
from accounts.selectors import org_admin_require
from automations.api.base import ApiView, ApiViewSet, OrgScoped
from automations.api.errors import ApiError
from automations.api.fields import StrictCharField
from automations.api.filtering import UtcIsoDateTimeFilter, validated_only
from automations.approval_policy import flagged
from automations.models import Automation
from automations.selectors import automations_for_user
from automations.usage import usage_for_viewer

USAGE_DEFAULT_DAYS = 30


class PendingAutomationSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    owner = StrictCharField(source="owner.username", read_only=True)
    skill = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    why = serializers.SerializerMethodField(help_text="What the org's policy flagged.")

    class Meta:
        model = Automation
        fields = ["id", "name", "owner", "skill", "trigger_type", "why", "created_at", "updated_at"]
        read_only_fields = fields

    def get_why(self, automation: Automation) -> str:
        return flagged(automation=automation)


class ApprovalViewSet(OrgScoped, mixins.ListModelMixin, ApiViewSet):
    """Automations waiting for an admin's approval, oldest first. Approve or reject each
    with POST .../automations/<id>/approve/ or .../reject/ {"reason": "..."}."""

    serializer_class = PendingAutomationSerializer
    ordering = ("created_at", "id")
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[Automation]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return Automation.objects.none()
        org_admin_require(user=self.request.user, org=self.org)
        return (
            automations_for_user(user=self.request.user, org=self.org)
            .filter(status=Automation.Status.PENDING_APPROVAL)
            .select_related("owner", "skill", "organization")
        )


class AuditEventSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    actor = StrictCharField(source="actor_label", read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "surface",
            "action",
            "target_type",
            "target_id",
            "target_label",
            "changes",
            "note",
        ]
        read_only_fields = fields


class AuditEventFilter(django_filters.FilterSet):
    """Checked here (types, lengths); applied by accounts.audit_reads, the log's one reader."""

    action = django_filters.CharFilter(
        method=validated_only,
        max_length=40,
        help_text='"automation.pause", or "automation" for all.',
    )
    actor = django_filters.CharFilter(
        method=validated_only, max_length=150, help_text=f'A username, or "{SYSTEM_ACTOR}".'
    )
    target_type = django_filters.CharFilter(method=validated_only, max_length=40)
    target_id = django_filters.CharFilter(method=validated_only, max_length=64)
    since = UtcIsoDateTimeFilter(method=validated_only)
    until = UtcIsoDateTimeFilter(method=validated_only)

    class Meta:
        model = AuditEvent
        fields = ["action", "actor", "target_type", "target_id", "since", "until"]


class AuditEventViewSet(OrgScoped, mixins.ListModelMixin, ApiViewSet):
    """The org's audit log, newest first: every change anyone made, from which surface,
    with the changed fields (never a secret's value). Org admins only."""

    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter

    def get_queryset(self) -> QuerySet[AuditEvent]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return AuditEvent.objects.none()
        org_admin_require(user=self.request.user, org=self.org)
        form = AuditEventFilter(self.request.query_params, queryset=AuditEvent.objects.none())
        if not form.is_valid():
            return AuditEvent.objects.none()  # filter_queryset answers the 400
        data = form.form.cleaned_data
        actor = (data.get("actor") or "").replace("\x00", "")
        if actor and actor != SYSTEM_ACTOR:
            member = self.org.memberships.filter(user__username=actor).values_list(
                "user_id", flat=True
            )
            actor = str(member.first() or 0)
        filters = AuditFilter(
            action=(data.get("action") or "").replace("\x00", ""),
            actor=actor,
            target_type=(data.get("target_type") or "").replace("\x00", ""),
            target_id=(data.get("target_id") or "").replace("\x00", ""),
            since=data.get("since"),
            until=data.get("until"),
        )
        return audit_events_for_user(user=self.request.user, org=self.org, filters=filters)


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ApiError(
            400, "invalid", "Give dates as YYYY-MM-DD.", {name: ["Give a date as YYYY-MM-DD."]}
        ) from None


class UsageView(OrgScoped, ApiView):
    @extend_schema(
        summary="Usage by day",
        description=(
            "Per day (the org's local days): runs by status and trigger, deliveries by "
            "channel and outcome, webhook deliveries, LLM tokens and cost, with totals and "
            "the plan's limits beside what is used of them. Admins see the whole org; a "
            f"member sees their own automations'. Default: the last {USAGE_DEFAULT_DAYS} days; "
            "at most 92."
        ),
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATE, description="First day (YYYY-MM-DD)."),
            OpenApiParameter("end", OpenApiTypes.DATE, description="Last day (YYYY-MM-DD)."),
        ],
        responses={200: OpenApiTypes.OBJECT},
        operation_id="usage_retrieve",
        tags=["usage"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        today = timezone.localdate(timezone=_zone(self.org.time_zone))
        end = _day(request.query_params.get("end"), "end") or today
        start = _day(request.query_params.get("start"), "start") or (
            end - timedelta(days=USAGE_DEFAULT_DAYS - 1)
        )
        return Response(usage_for_viewer(user=request.user, org=self.org, start=start, end=end))


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
