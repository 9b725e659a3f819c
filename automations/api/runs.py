"""/api/v1/orgs/<org>/runs/ (list with filters, detail with deliveries, rerun) and
/api/v1/orgs/<org>/rerun-batches/ (bulk rerun by the same filters, its progress).

Reads go through the fetchers: `runs_filtered` (automations/run_search.py, over
`runs_for_user`: a member sees only the runs of automations they may see, as on the dashboard)
for lists, `run_get_for_user` for one run, `rerun_batch_get_for_user` for a batch; a run's
detail is the dashboard run page's reads (automations/run_reads.py). Writes go through
automations/reruns.py (`run_rerun`, `runs_rerun_bulk`), so a bulk rerun takes exactly the runs
the list shows for the same filters (those the user may rerun)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from automations.api.base import ApiViewSet, OrgScoped
from automations.api.errors import ApiError
from automations.api.filtering import UtcIsoDateTimeFilter, validated_only
from automations.api.idempotency import idempotent
from automations.api.run_serializers import (
    RerunBatchInputSerializer,
    RerunBatchSerializer,
    RunDetailSerializer,
)
from automations.api.serializers import RunSerializer
from automations.models import AutomationRun, RerunBatch
from automations.reruns import run_rerun, runs_rerun_bulk
from automations.run_reads import (
    DONE,
    FAILED,
    QUEUED,
    rerun_batch_get_for_user,
    rerun_batches_for_user,
    run_delivery_records,
    run_reruns,
    run_retry_schedule,
)
from automations.run_search import RunFilter, runs_filtered, search_window_start
from automations.selectors import automations_for_user, run_get_for_user, runs_for_user

UUID_PATH = r"[0-9a-fA-F-]{32,36}"
FILTER_KEYS = ("automation", "status", "triggered_by", "created_since", "created_until")


class RunListFilter(django_filters.FilterSet):
    """The runs list's filters (also the body of a bulk rerun). Validated here, applied by
    `runs_filtered` (see `run_filter_from`), so the list and the bulk rerun cannot differ."""

    automation = django_filters.UUIDFilter(method=validated_only, help_text="An automation's id.")
    status = django_filters.ChoiceFilter(
        choices=AutomationRun.Status.choices, method=validated_only
    )
    triggered_by = django_filters.ChoiceFilter(
        choices=AutomationRun.TriggeredBy.choices, method=validated_only
    )
    created_since = UtcIsoDateTimeFilter(
        method=validated_only, help_text="ISO 8601; runs created at or after this time."
    )
    created_until = UtcIsoDateTimeFilter(
        method=validated_only, help_text="ISO 8601; runs created before this time."
    )

    class Meta:
        model = AutomationRun
        fields = list(FILTER_KEYS)


def run_filter_from(data: Any, *, user, org) -> RunFilter:
    """The RunFilter of a query string or body, else a 400 naming the bad fields."""
    values: dict[str, str] = {}
    for key in FILTER_KEYS:
        value = data.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            raise ApiError(400, "invalid", "Bad filter.", {key: ["Enter text."]})
        values[key] = value
    form = RunListFilter(values, queryset=AutomationRun.objects.none()).form
    if not form.is_valid():
        raise ApiError(
            400,
            "invalid",
            "Bad filter.",
            {key: [str(m) for m in msgs] for key, msgs in form.errors.items()},
        )
    cleaned = form.cleaned_data
    start, end = cleaned.get("created_since"), cleaned.get("created_until")
    if start and end and end <= start:
        raise ApiError(
            400, "invalid", "Bad filter.", {"created_until": ["Must be after created_since."]}
        )
    automation = None
    if cleaned.get("automation"):
        automation = (
            automations_for_user(user=user, org=org).filter(public_id=cleaned["automation"]).first()
        )
        if automation is None:
            raise ApiError(400, "invalid", "Bad filter.", {"automation": ["No such automation."]})
    return RunFilter(
        status=cleaned.get("status") or "",
        triggered_by=cleaned.get("triggered_by") or "",
        created_from=start,
        created_to=end,
        automation=automation,
    )


@extend_schema_view(
    list=extend_schema(summary="List runs (newest first)"),
    retrieve=extend_schema(summary="Get a run with its deliveries and their attempts"),
)
class RunViewSet(OrgScoped, ApiViewSet):
    serializer_class = RunSerializer
    filterset_class = RunListFilter
    lookup_field = "public_id"
    lookup_url_kwarg = "public_id"
    lookup_value_regex = UUID_PATH
    http_method_names = ["get", "post", "options", "head"]
    queryset = AutomationRun.objects.none()  # for the schema; the views use the fetchers

    def get_queryset(self) -> QuerySet[AutomationRun]:
        return runs_for_user(user=self.request.user, org=self.org)

    def get_object(self) -> AutomationRun:
        run = run_get_for_user(user=self.request.user, public_id=self.kwargs["public_id"])
        if run.organization_id != self.org.pk:  # another org's (an operator's view)
            raise Http404("No such run.")
        return run

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        filters = run_filter_from(request.query_params, user=request.user, org=self.org)
        # Through the filter backend too, for its checks (a NUL, a typed filter sent empty);
        # RunListFilter's methods leave the rows to runs_filtered.
        runs = self.filter_queryset(
            runs_filtered(user=request.user, org=self.org, filters=filters)
            .select_related("automation")
            .only(*_LIST_COLUMNS)
        )
        page = self.paginate_queryset(runs)
        return self.get_paginated_response(RunSerializer(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(_detail(self.get_object(), user=request.user))

    @extend_schema(
        summary="Rerun (a new run now, same trigger data)",
        request=None,
        responses={202: RunSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def rerun(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        run = run_get_for_user(user=request.user, public_id=self.kwargs["public_id"], write=True)
        if run.organization_id != self.org.pk:
            raise Http404("No such run.")
        try:
            new = run_rerun(run=run, by=request.user)
        except ValidationError as exc:
            raise ApiError(409, "conflict", " ".join(exc.messages)) from None
        new.automation = run.automation
        return Response(RunSerializer(new).data, status=status.HTTP_202_ACCEPTED)


# What the list shows (RunSerializer), so a page never reads trigger data or summaries of
# runs it does not show in full.
_LIST_COLUMNS = (
    "public_id",
    "status",
    "triggered_by",
    "scheduled_for",
    "started_at",
    "finished_at",
    "duration_ms",
    "attempt",
    "output_summary",
    "error_code",
    "error_message",
    "created_at",
    "llm_model",
    "input_tokens",
    "output_tokens",
    "cache_write_tokens",
    "cache_read_tokens",
    "cost_usd",
    "fallback_reason",
    "automation__public_id",
)


def _detail(run: AutomationRun, *, user) -> dict:
    original = None
    if run.rerun_of_id is not None:
        original = (
            runs_for_user(user=user)
            .filter(pk=run.rerun_of_id)
            .only("public_id", "status", "created_at")
            .first()
        )
    run.rerun_of = original  # only if the viewer may see it
    extra = {
        "deliveries": run_delivery_records(run=run),
        "retry": run_retry_schedule(run=run),
        "reruns": run_reruns(run=run, user=user),
        "purged": run.finished_at is not None and run.finished_at < search_window_start(),
    }
    if run.rerun_batch_id is not None:
        run.rerun_batch = RerunBatch.objects.only("public_id").get(pk=run.rerun_batch_id)
    return RunDetailSerializer(run, context={"extra": extra}).data


def batch_progress(batch_ids: list[int]) -> dict[int, dict]:
    """Each batch's runs counted by status (one query): queued/done/failed as the dashboard's
    batch page counts them (automations/run_reads.py), and every status's count."""
    progress = {pk: {"queued": 0, "done": 0, "failed": 0, "by_status": {}} for pk in batch_ids}
    rows = (
        AutomationRun.objects.filter(rerun_batch_id__in=batch_ids)
        .order_by()
        .values("rerun_batch_id", "status")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        entry = progress[row["rerun_batch_id"]]
        entry["by_status"][row["status"]] = row["n"]
        for bucket, statuses in (("queued", QUEUED), ("done", DONE), ("failed", FAILED)):
            if row["status"] in statuses:
                entry[bucket] += row["n"]
    for entry in progress.values():
        entry["finished"] = entry["queued"] == 0
    return progress


@extend_schema_view(
    list=extend_schema(summary="List rerun batches (newest first)"),
    retrieve=extend_schema(summary="Get a rerun batch and its progress"),
)
class RerunBatchViewSet(OrgScoped, ApiViewSet):
    serializer_class = RerunBatchSerializer
    lookup_field = "public_id"
    lookup_url_kwarg = "public_id"
    lookup_value_regex = UUID_PATH
    http_method_names = ["get", "post", "options", "head"]
    queryset = RerunBatch.objects.none()
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[RerunBatch]:
        return rerun_batches_for_user(user=self.request.user).filter(organization=self.org)

    def _show(self, batches: list[RerunBatch]) -> Any:
        context = {"progress": batch_progress([b.pk for b in batches])}
        return RerunBatchSerializer(batches, many=True, context=context).data

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset().select_related("created_by"))
        return self.get_paginated_response(self._show(page))

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        batch = rerun_batch_get_for_user(user=request.user, public_id=self.kwargs["public_id"])
        if batch.organization_id != self.org.pk:
            raise Http404("No such rerun batch.")
        return Response(self._show([batch])[0])

    @extend_schema(
        summary="Rerun every run the filters match (at most 10,000), as one batch",
        request=RerunBatchInputSerializer,
        responses={201: RerunBatchSerializer},
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = request.data
        if not isinstance(body, dict):
            raise ApiError(400, "invalid", "The body must be a JSON object.")
        unknown = sorted(str(key)[:100] for key in body if key not in ("name", *FILTER_KEYS))
        if unknown:
            raise ApiError(
                400,
                "invalid",
                "Unknown fields in the body.",
                {key: ["Unknown field."] for key in unknown[:20]},
            )
        name = body.get("name", "")
        if not isinstance(name, str):
            raise ApiError(400, "invalid", "Bad name.", {"name": ["Enter text."]})
        filters = run_filter_from(body, user=request.user, org=self.org)
        batch = runs_rerun_bulk(
            user=request.user, org=self.org, filters=filters, name=name.replace("\x00", "")
        )
        batch = self.get_queryset().select_related("created_by").get(pk=batch.pk)
        return Response(self._show([batch])[0], status=status.HTTP_201_CREATED)
