"""What the run endpoints show: a run's detail with its deliveries and their attempts (the
dashboard's run page, automations/dashboard/run_page.py, read through the same
automations/run_reads.py), and a rerun batch with its progress.

Nothing secret: a channel is its id, name and kind (never its settings); an attempt is its
time, outcome, status code and error text, as the run page shows them. Trigger data and the
output summary can name candidates and are purged after the retention period; a purged run
says so (`purged`) rather than showing an empty object as if there had been none."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from automations.api.fields import StrictCharField
from automations.api.serializers import ChannelRefSerializer, RunSerializer
from automations.models import AutomationRun, RerunBatch
from delivery.models import Delivery, DeliveryAttempt


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    status_code = serializers.IntegerField(source="http_status", allow_null=True, read_only=True)

    class Meta:
        model = DeliveryAttempt
        fields = ["started_at", "duration_ms", "ok", "status_code", "error", "permanent"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    channel = ChannelRefSerializer(read_only=True)
    attempt_count = serializers.IntegerField(source="attempts", read_only=True)
    attempts = DeliveryAttemptSerializer(source="attempts_in_order", many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "channel",
            "status",
            "permanent",
            "attempt_count",
            "last_error",
            "sent_at",
            "attempts",
        ]
        read_only_fields = fields


class RetryStepSerializer(serializers.Serializer):
    attempt = serializers.IntegerField()
    at = serializers.DateTimeField()


class RetryScheduleSerializer(serializers.Serializer):
    steps = RetryStepSerializer(many=True)
    limit = serializers.IntegerField(help_text="Attempts in all: the first and the retries.")


class OutcomeSerializer(serializers.Serializer):
    """The run's own record of each channel's outcome (AutomationRun.deliveries)."""

    channel = StrictCharField()
    kind = StrictCharField(allow_blank=True)
    status = StrictCharField()
    permanent = serializers.BooleanField()
    error = StrictCharField(allow_blank=True)


class RunRefSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = AutomationRun
        fields = ["id", "status", "created_at"]
        read_only_fields = fields


class RunDetailSerializer(RunSerializer):
    """A run with what its page shows. Built from a dict made by the view (automations/api/
    runs.py `_detail`): the run's own fields plus the reads of automations/run_reads.py."""

    rerun_of = RunRefSerializer(allow_null=True, read_only=True)
    rerun_batch = serializers.UUIDField(
        source="rerun_batch.public_id", allow_null=True, default=None, read_only=True
    )
    trigger_data = serializers.SerializerMethodField()
    purged = serializers.SerializerMethodField(
        help_text="True once the trigger data and summary were purged (retention period)."
    )
    missed_count = serializers.IntegerField(read_only=True)
    missed_from = serializers.DateTimeField(allow_null=True, read_only=True)
    missed_to = serializers.DateTimeField(allow_null=True, read_only=True)
    outcomes = serializers.SerializerMethodField()
    deliveries = serializers.SerializerMethodField()
    retry = serializers.SerializerMethodField()
    reruns = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [
            *RunSerializer.Meta.fields,
            "rerun_of",
            "rerun_batch",
            "trigger_data",
            "purged",
            "missed_count",
            "missed_from",
            "missed_to",
            "outcomes",
            "deliveries",
            "retry",
            "reruns",
        ]
        read_only_fields = fields

    def _extra(self, name: str):
        return self.context["extra"][name]

    def get_purged(self, run: AutomationRun) -> bool:
        return bool(self._extra("purged"))

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_trigger_data(self, run: AutomationRun) -> dict:
        return {} if self._extra("purged") else (run.trigger_data or {})

    @extend_schema_field(OutcomeSerializer(many=True))
    def get_outcomes(self, run: AutomationRun) -> list[dict]:
        outcomes = run.deliveries if isinstance(run.deliveries, list) else []
        shown = []
        for item in outcomes:
            if not isinstance(item, dict):
                continue
            shown.append(
                {
                    "channel": str(item.get("channel", "")),
                    "kind": str(item.get("kind", "")),
                    "status": str(item.get("status", "")),
                    "permanent": bool(item.get("permanent", False)),
                    "error": str(item.get("error") or item.get("detail") or ""),
                }
            )
        return OutcomeSerializer(shown, many=True).data

    @extend_schema_field(DeliverySerializer(many=True))
    def get_deliveries(self, run: AutomationRun) -> list[dict]:
        return DeliverySerializer(self._extra("deliveries"), many=True).data

    @extend_schema_field(RetryScheduleSerializer(allow_null=True))
    def get_retry(self, run: AutomationRun) -> dict | None:
        retry = self._extra("retry")
        return None if retry is None else RetryScheduleSerializer(retry).data

    @extend_schema_field(RunRefSerializer(many=True))
    def get_reruns(self, run: AutomationRun) -> list[dict]:
        return RunRefSerializer(self._extra("reruns"), many=True).data


class RerunInputSerializer(serializers.Serializer):
    """A rerun takes no body."""


class BatchFiltersSerializer(serializers.Serializer):
    status = StrictCharField(allow_blank=True)
    triggered_by = StrictCharField(allow_blank=True)
    created_from = serializers.DateTimeField(allow_null=True)
    created_to = serializers.DateTimeField(allow_null=True)
    automation = serializers.UUIDField(allow_null=True)
    searched = serializers.BooleanField()


class BatchProgressSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="Pending or running.")
    done = serializers.IntegerField(help_text="Completed or skipped.")
    failed = serializers.IntegerField(help_text="Failed or cancelled.")
    finished = serializers.BooleanField(help_text="True once none is queued.")
    by_status = serializers.DictField(
        child=serializers.IntegerField(), help_text="The batch's runs counted by status."
    )


class RerunBatchSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    created_by = StrictCharField(
        source="created_by.username", allow_null=True, default=None, read_only=True
    )
    filters = BatchFiltersSerializer(read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = RerunBatch
        fields = ["id", "name", "filters", "total", "created_by", "created_at", "progress"]
        read_only_fields = fields

    @extend_schema_field(BatchProgressSerializer)
    def get_progress(self, batch: RerunBatch) -> dict:
        return BatchProgressSerializer(self.context["progress"][batch.pk]).data


class RerunBatchInputSerializer(serializers.Serializer):
    """The body of a bulk rerun: a name and the runs list's filters (all optional; at least
    one run must match, at most 10,000)."""

    name = StrictCharField(max_length=200)
    automation = serializers.UUIDField(required=False, help_text="An automation's id.")
    status = serializers.ChoiceField(choices=AutomationRun.Status.choices, required=False)
    triggered_by = serializers.ChoiceField(
        choices=AutomationRun.TriggeredBy.choices, required=False
    )
    created_since = serializers.DateTimeField(required=False, help_text="ISO 8601, inclusive.")
    created_until = serializers.DateTimeField(required=False, help_text="ISO 8601, exclusive.")
