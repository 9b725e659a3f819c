"""/api/v1/orgs/<org>/events/: the org's inbound ATS events (webhook deliveries and polled
changes), newest first, filtered by connection, event type, status and received time; one
event with what became of it per automation (matched and its run, or why not).

Reads through webhooks.selectors (`events_for_user`: every member of the org) and, for the
automations named in the explanations, automations.selectors (only those the caller may see;
the others are only counted). Only org admins see the canonical event's candidate data.
Past the retention period (webhooks/retention.py) the payload and the reasons are gone: the
event says `redacted: true` and shows what is kept."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from automations.api.base import ApiViewSet, OrgScoped
from automations.api.fields import StrictCharField
from automations.api.filtering import UtcIsoDateTimeFilter
from automations.api.pagination import CursorPage
from automations.diagnosis import shown_reason
from automations.models import AutomationRun
from automations.selectors import automations_for_user
from webhooks.models import InboundEvent
from webhooks.retention import REDACTED, redact_event
from webhooks.selectors import event_get_for_user, events_for_user

REDACTED_REASON = "not shown: removed after the retention period"


def _event_of(obj: InboundEvent) -> dict:
    return obj.event if isinstance(obj.event, dict) else {}


class EventConnectionSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = StrictCharField()
    provider = StrictCharField()


class EventSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    connection = EventConnectionSerializer(read_only=True)
    type = serializers.SerializerMethodField(help_text="The canonical event type.")
    redacted = serializers.SerializerMethodField(
        help_text="Past the retention period: the payload and match reasons are removed."
    )

    class Meta:
        model = InboundEvent
        fields = [
            "id",
            "connection",
            "source",
            "type",
            "raw_type",
            "status",
            "redacted",
            "received_at",
            "processed_at",
        ]
        read_only_fields = fields

    def get_type(self, obj: InboundEvent) -> str:
        return str(_event_of(obj).get("type") or "")

    def get_redacted(self, obj: InboundEvent) -> bool:
        return bool(_event_of(obj).get(REDACTED))


class MatchAutomationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = StrictCharField()


class MatchSerializer(serializers.Serializer):
    automation = MatchAutomationSerializer()
    matched = serializers.BooleanField()
    reason = StrictCharField(allow_blank=True, help_text="Why it did not match.")
    run = serializers.UUIDField(allow_null=True, help_text="The run it fired (or moved).")
    cancelled_run = serializers.UUIDField(allow_null=True)


class EventDetailSerializer(EventSerializer):
    event = serializers.JSONField(
        source="event_payload",
        allow_null=True,
        help_text=(
            "The canonical event: in full for org admins until the retention period ends, "
            "then only its ids, types and times; members always see only those (no "
            "candidate data, as the dashboard shows them)."
        ),
    )
    error = StrictCharField()
    matches = MatchSerializer(many=True, source="match_explanations")
    other_automations = serializers.IntegerField(
        source="hidden_matches", help_text="Automations it was checked against you cannot see."
    )

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "event", "error", "matches", "other_automations"]
        read_only_fields = fields


class EventFilter(django_filters.FilterSet):
    connection = django_filters.UUIDFilter(
        field_name="connection__public_id", help_text="A connection's id."
    )
    event_type = django_filters.CharFilter(
        field_name="event__type", max_length=120, help_text="e.g. candidate.stage_changed"
    )
    status = django_filters.ChoiceFilter(choices=InboundEvent.Status.choices)
    received_since = UtcIsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_until = UtcIsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = InboundEvent
        fields = ["connection", "event_type", "status", "received_since", "received_until"]

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        value = self.form.cleaned_data.get("event_type")
        if isinstance(value, str) and "\x00" in value:  # no event type has one
            return queryset.none()
        return super().filter_queryset(queryset)


class EventPage(CursorPage):
    ordering = ("-received_at", "-id")


def _explain(event: InboundEvent, *, user: Any, org: Any) -> tuple[list[dict], int]:
    """Per automation the caller may see: matched (and the run) or why not. Reasons past the
    retention period are gone; a reason quoting a candidate's data is shown without it."""
    entries = (
        [m for m in (event.matches or []) if isinstance(m, dict)]
        if isinstance(event.matches, list)
        else []
    )
    pks = {m.get("automation") for m in entries if isinstance(m.get("automation"), int)}
    visible = {
        a.pk: a
        for a in automations_for_user(user=user, org=org)
        .filter(pk__in=pks)
        .only("pk", "public_id", "name")
    }
    run_pks = {
        m.get(key) for m in entries for key in ("run", "cancelled") if isinstance(m.get(key), int)
    }
    runs = dict(
        AutomationRun.objects.filter(pk__in=run_pks, automation_id__in=list(visible)).values_list(
            "pk", "public_id"
        )
    )
    redacted = bool(_event_of(event).get(REDACTED))
    out, hidden = [], 0
    for entry in entries:
        automation = visible.get(entry.get("automation"))
        if automation is None:
            hidden += 1
            continue
        matched = bool(entry.get("matched"))
        reason = ""
        if not matched:
            if entry.get("error"):
                reason = f"could not be matched: {entry['error']}"
            elif entry.get("reason"):
                reason = shown_reason(str(entry["reason"]))
            else:
                reason = REDACTED_REASON if redacted else "not matched"
        out.append(
            {
                "automation": {"id": automation.public_id, "name": automation.name},
                "matched": matched,
                "reason": reason,
                "run": runs.get(entry.get("run")),
                "cancelled_run": runs.get(entry.get("cancelled")),
            }
        )
    return out, hidden


@extend_schema_view(
    list=extend_schema(summary="List inbound ATS events"),
    retrieve=extend_schema(summary="Get an event and what became of it per automation"),
)
class EventViewSet(OrgScoped, ApiViewSet):
    serializer_class = EventSerializer
    filterset_class = EventFilter
    pagination_class = EventPage
    lookup_field = "public_id"
    lookup_url_kwarg = "public_id"
    http_method_names = ["get", "options", "head"]
    queryset = InboundEvent.objects.none()  # for the schema; get_queryset is the fetcher

    def get_queryset(self) -> QuerySet[InboundEvent]:
        return events_for_user(user=self.request.user).filter(connection__organization=self.org)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(EventSerializer(page, many=True).data)

    @extend_schema(responses={200: EventDetailSerializer})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        event = event_get_for_user(user=request.user, public_id=self.kwargs["public_id"])
        if event.connection.organization_id != self.org.pk:
            raise Http404("No such event.")
        matches, hidden = _explain(event, user=request.user, org=self.org)
        payload = None
        if event.event is not None:
            payload = _event_of(event)
            if not self.membership.is_admin:  # a member sees what the dashboard shows
                payload = {k: v for k, v in redact_event(payload).items() if k != REDACTED}
        event.event_payload = payload
        event.match_explanations = matches
        event.hidden_matches = hidden
        return Response(EventDetailSerializer(event).data)
