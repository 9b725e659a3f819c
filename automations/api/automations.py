"""/api/v1/orgs/<org>/automations/: list (filters), create, read, update, delete, and the
actions pause, resume, run-now, test, schedule-preview and why.

Reads go through automations.selectors (`automations_for_user`, `automation_get_for_user`);
writes through automations.services (and trial.py for tests, which never deliver). The body
goes to the services as it came (JSON is already typed): their one validation path answers,
keyed by field."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from automations import services
from automations.api.base import ApiViewSet, OrgScoped
from automations.api.errors import ApiError
from automations.api.idempotency import idempotent
from automations.api.serializers import (
    AutomationInputSerializer,
    AutomationPatchSerializer,
    AutomationSerializer,
    DiagnosisSerializer,
    PauseInputSerializer,
    RejectInputSerializer,
    RunSerializer,
    SchedulePreviewSerializer,
    TrialSerializer,
)
from automations.describe import trigger_words
from automations.diagnosis import automation_diagnosis
from automations.models import Automation
from automations.scheduling import cron
from automations.scheduling.preview import RULE, schedule_preview
from automations.selectors import automation_get_for_user, automations_for_user
from automations.trial import automation_test
from delivery.selectors import channels_for_user
from skills.models import Skill

# The fields a body may carry: exactly what the services accept.
INPUT_FIELDS = tuple(AutomationInputSerializer().fields)
MAX_PREVIEW = 20
MAX_Q = 200


class AutomationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Automation.Status.choices)
    trigger_type = django_filters.ChoiceFilter(choices=Automation.TriggerType.choices)
    skill = django_filters.CharFilter(field_name="skill__slug", max_length=80)
    owner = django_filters.CharFilter(
        field_name="owner__username", max_length=150, help_text="The owner's username."
    )
    q = django_filters.CharFilter(
        method="filter_q", max_length=MAX_Q, help_text="Part of the name."
    )

    class Meta:
        model = Automation
        fields = ["status", "trigger_type", "skill", "owner", "q"]

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.replace("\x00", "").strip()
        return queryset.filter(name__icontains=value) if value else queryset


def _body(request: Request) -> dict[str, Any]:
    """The JSON body as an object of known fields, else a 400 naming the strays."""
    data = request.data
    if not isinstance(data, dict):
        raise ApiError(400, "invalid", "The body must be a JSON object.")
    unknown = sorted(str(key) for key in data if key not in INPUT_FIELDS)
    if unknown:
        raise ApiError(
            400,
            "invalid",
            "Unknown fields in the body.",
            {key[:100]: ["Unknown field."] for key in unknown[:20]},
        )
    return dict(data)


def _with_rows(raw: dict[str, Any], *, request: Request, org) -> dict[str, Any]:
    """Ids and slugs to rows, for the services: the skill by slug (an unknown one becomes None,
    which the validation path names), channel ids among the channels the user may use."""
    out = dict(raw)
    if "skill" in out:
        slug = out["skill"]
        # No query for a slug no skill could have (too long, or with a NUL, which
        # PostgreSQL refuses in a text parameter): the validation then names the field.
        fits = isinstance(slug, str) and 0 < len(slug) <= 80 and "\x00" not in slug
        out["skill"] = Skill.objects.filter(slug=slug).first() if fits else None
    channels = out.get("channels")
    if isinstance(channels, list):
        usable = channels_for_user(user=request.user, org=org, write=True)
        resolved: list[Any] = []
        for spec in channels:
            if isinstance(spec, str):
                try:
                    channel = usable.filter(public_id=spec).first()
                except (ValidationError, ValueError):
                    channel = None
                if channel is None:
                    raise ValidationError({"channels": f"No channel {spec[:60]!r} you can use."})
                resolved.append(channel)
            else:
                resolved.append(spec)  # a shorthand dict (or junk the validation names)
        out["channels"] = resolved
    return out


def _conflict(exc: ValidationError) -> ApiError:
    """A service's refusal that is about the automation's state, not the input."""
    return ApiError(409, "conflict", " ".join(exc.messages))


@contextmanager
def _state_refusals_as_conflicts() -> Iterator[None]:
    """A service's refusal about the automation's state is a 409; one keyed by field (the
    plan's limits, a reject's reason) stays the input's 400."""
    try:
        yield
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            raise
        raise _conflict(exc) from None


COUNT = OpenApiParameter("count", OpenApiTypes.INT, description=f"1-{MAX_PREVIEW} (default 5)")
VIEWER_ZONE = OpenApiParameter(
    "viewer_zone", OpenApiTypes.STR, description="Also show each fire in this IANA zone."
)


@extend_schema_view(
    list=extend_schema(summary="List automations"),
    retrieve=extend_schema(summary="Get an automation"),
    destroy=extend_schema(summary="Delete an automation and its run history"),
)
class AutomationViewSet(OrgScoped, ApiViewSet):
    serializer_class = AutomationSerializer
    filterset_class = AutomationFilter
    lookup_field = "public_id"
    lookup_url_kwarg = "public_id"
    http_method_names = ["get", "post", "patch", "delete", "options", "head"]
    queryset = Automation.objects.none()  # for the schema; get_queryset is the fetcher

    def get_queryset(self) -> QuerySet[Automation]:
        return (
            automations_for_user(user=self.request.user, org=self.org)
            .select_related("skill", "owner")
            .prefetch_related("delivery_channels")
        )

    def get_object(self) -> Automation:
        automation = automation_get_for_user(
            user=self.request.user, public_id=self.kwargs["public_id"]
        )
        if automation.organization_id != self.org.pk:  # another org's (an operator's view)
            raise Http404("No such automation.")
        return automation

    def _show(self, automation: Automation, *, code: int = 200) -> Response:
        fresh = self.get_queryset().get(pk=automation.pk)
        return Response(AutomationSerializer(fresh).data, status=code)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(AutomationSerializer(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._show(self.get_object())

    @extend_schema(
        summary="Create an automation",
        request=AutomationInputSerializer,
        responses={201: AutomationSerializer},
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raw = _with_rows(_body(request), request=request, org=self.org)
        automation = services.automation_create(
            org=self.org,
            owner=request.user,
            name=raw.pop("name", ""),
            skill=raw.pop("skill", None),
            trigger_type=raw.pop("trigger_type", ""),
            **raw,
        )
        return self._show(automation, code=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change an automation",
        request=AutomationPatchSerializer,
        responses={200: AutomationSerializer},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        automation = self.get_object()
        raw = _with_rows(_body(request), request=request, org=self.org)
        automation = services.automation_update(automation=automation, by=request.user, **raw)
        return self._show(automation)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.automation_delete(automation=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Pause", request=PauseInputSerializer, responses={200: AutomationSerializer}
    )
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        automation = self.get_object()
        body = request.data if isinstance(request.data, dict) else None
        if body is None or set(body) - {"reason"}:
            raise ApiError(400, "invalid", 'The body is {"reason": "..."} (optional).')
        reason = body.get("reason", "")
        if not isinstance(reason, str):
            raise ApiError(400, "invalid", "Enter text.", {"reason": ["Enter text."]})
        reason = reason.replace("\x00", "").strip()[:300] or (
            f"Paused by {request.user.get_username()} through the API"
        )
        try:
            automation = services.automation_pause(
                automation=automation, by=request.user, reason=reason
            )
        except ValidationError as exc:
            raise _conflict(exc) from None
        return self._show(automation)

    @extend_schema(
        summary="Approve (org admins)",
        description="Start an automation that waits for approval; its owner is told.",
        request=None,
        responses={200: AutomationSerializer},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        automation = self.get_object()
        with _state_refusals_as_conflicts():
            automation = services.automation_approve(automation=automation, by=request.user)
        return self._show(automation)

    @extend_schema(
        summary="Reject with a reason (org admins)",
        description="Refuse an automation that waits for approval; its owner is told why.",
        request=RejectInputSerializer,
        responses={200: AutomationSerializer},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        automation = self.get_object()
        body = request.data if isinstance(request.data, dict) else None
        if body is None or set(body) - {"reason"}:
            raise ApiError(400, "invalid", 'The body is {"reason": "..."}.')
        reason = body.get("reason", "")
        if not isinstance(reason, str):
            raise ApiError(400, "invalid", "Enter text.", {"reason": ["Enter text."]})
        with _state_refusals_as_conflicts():
            automation = services.automation_reject(
                automation=automation, by=request.user, reason=reason
            )
        return self._show(automation)

    @extend_schema(summary="Resume", request=None, responses={200: AutomationSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        automation = self.get_object()
        with _state_refusals_as_conflicts():
            automation = services.automation_resume(automation=automation, by=request.user)
        return self._show(automation)

    @extend_schema(summary="Run now", request=None, responses={202: RunSerializer})
    @action(detail=True, methods=["post"], url_path="run-now")
    @idempotent
    def run_now(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        automation = self.get_object()
        try:
            run = services.automation_run_now(automation=automation, by=request.user)
        except ValidationError as exc:
            raise _conflict(exc) from None
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Test run (runs the skill now; delivers nothing)",
        request=None,
        responses={200: TrialSerializer},
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        trial = automation_test(automation=self.get_object(), by=request.user)
        return Response(TrialSerializer(trial).data)

    @extend_schema(
        summary="The next fires of its schedule",
        parameters=[COUNT, VIEWER_ZONE],
        responses={200: SchedulePreviewSerializer},
    )
    @action(detail=True, methods=["get"], url_path="schedule-preview")
    def schedule_preview(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        automation = self.get_object()
        raw_count = request.query_params.get("count", "5")
        if not raw_count.isdigit() or not 1 <= int(raw_count) <= MAX_PREVIEW:
            raise ApiError(400, "invalid", "Bad count.", {"count": [f"Enter 1 to {MAX_PREVIEW}."]})
        viewer = request.query_params.get("viewer_zone", "")[:64].replace("\x00", "")
        out = {
            "trigger_words": trigger_words(automation),
            "expression": "",
            "time_zone": automation.time_zone,
            "viewer_zone": viewer or automation.time_zone,
            "fires": [],
            "notes": [],
            "rule": RULE,
        }
        if automation.trigger_type == Automation.TriggerType.CRON:
            try:
                preview = schedule_preview(
                    automation.cron_expression,
                    automation.time_zone,
                    viewer or automation.time_zone,
                    timezone.now(),
                    count=int(raw_count),
                )
            except cron.CronError as exc:  # a row saved before a rule changed
                raise ApiError(409, "bad_schedule", str(exc)) from None
            out.update(
                expression=preview.expression,
                viewer_zone=preview.viewer_zone,
                fires=preview.fires,
                notes=preview.notes,
            )
        return Response(SchedulePreviewSerializer(out).data)

    @extend_schema(summary="Why didn't it fire?", responses={200: DiagnosisSerializer})
    @action(detail=True, methods=["get"])
    def why(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        diagnosis = automation_diagnosis(automation=self.get_object())
        return Response(DiagnosisSerializer(diagnosis).data)
