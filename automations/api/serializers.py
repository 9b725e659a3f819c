"""What the API shows of automations and runs, and the shapes it documents for input.

Input is NOT validated here: the body goes to the services' one validation path
(automations.validation via automations.services), so the API's messages are the dashboard's.
The input serializers only describe the body for the schema; automations/api/automations.py
checks the body is an object of known fields and turns ids into rows."""

from __future__ import annotations

from rest_framework import serializers

from automations.api.fields import StrictCharField
from automations.models import Automation, AutomationRun
from delivery.models import DeliveryChannel


class ChannelRefSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = DeliveryChannel
        fields = ["id", "name", "kind"]
        read_only_fields = fields


class AutomationSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    skill = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner = StrictCharField(source="owner.username", read_only=True)
    channels = ChannelRefSerializer(source="delivery_channels", many=True, read_only=True)

    class Meta:
        model = Automation
        fields = [
            "id",
            "name",
            "skill",
            "params",
            "trigger_type",
            "cron_expression",
            "time_zone",
            "event_type",
            "event_filter",
            "offset_minutes",
            "poll_interval_seconds",
            "channels",
            "catch_up",
            "retry_limit",
            "status",
            "paused_reason",
            "owner",
            "audience",
            "max_runs_per_hour",
            "next_run_at",
            "last_run_at",
            "consecutive_failures",
            "review_note",
            "reviewed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ChannelSpecSerializer(serializers.Serializer):
    """A shorthand channel: the owner's inbox ({"kind": "in_app"}) or email
    ({"kind": "email", "to": [...]}; empty `to`: the owner's own address)."""

    kind = serializers.ChoiceField(choices=["in_app", "email"])
    to = serializers.ListField(child=serializers.EmailField(), required=False)


class AutomationInputSerializer(serializers.Serializer):
    """The body of create (name, skill and trigger_type required) and of PATCH (any subset).
    `channels`: channel ids (of channels you may use) and/or shorthands; omitted on create:
    your inbox."""

    name = StrictCharField(max_length=200)
    skill = serializers.SlugField(help_text="A skill's slug, e.g. pipeline-report.")
    params = serializers.JSONField(required=False, help_text="The skill's parameters.")
    trigger_type = serializers.ChoiceField(choices=Automation.TriggerType.choices)
    cron_expression = StrictCharField(required=False, help_text="e.g. 0 9 * * 1")
    time_zone = StrictCharField(required=False, help_text="IANA, e.g. Europe/Paris")
    event_type = StrictCharField(required=False)
    event_filter = serializers.JSONField(required=False)
    offset_minutes = serializers.IntegerField(required=False, allow_null=True)
    poll_interval_seconds = serializers.IntegerField(required=False, allow_null=True)
    channels = serializers.ListField(
        child=serializers.JSONField(), required=False, help_text="Channel ids or shorthands."
    )
    catch_up = serializers.ChoiceField(choices=Automation.CatchUp.choices, required=False)
    retry_limit = serializers.IntegerField(required=False, min_value=0, max_value=10)


class AutomationPatchSerializer(AutomationInputSerializer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class PauseInputSerializer(serializers.Serializer):
    reason = StrictCharField(required=False, max_length=300, allow_blank=True)


class RejectInputSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=500, help_text="Why: its owner is told.")


class RunSerializer(serializers.ModelSerializer):
    """A run as lists and actions show it (the runs endpoints may show more)."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    automation = serializers.UUIDField(source="automation.public_id", read_only=True)
    cost_usd = serializers.DecimalField(
        max_digits=10,
        decimal_places=6,
        coerce_to_string=True,
        read_only=True,
        help_text="USD, a decimal string (no float rounding).",
    )
    fallback_reason = StrictCharField(
        read_only=True,
        allow_blank=True,
        help_text="Why the skill's template made the result instead of the model (llm_off, "
        "no_key, budget_spent); empty when it did not.",
    )

    class Meta:
        model = AutomationRun
        fields = [
            "id",
            "automation",
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
            # LLM skills' figures (zero and empty for deterministic skills).
            "llm_model",
            "input_tokens",
            "output_tokens",
            "cache_write_tokens",
            "cache_read_tokens",
            "cost_usd",
            "fallback_reason",
        ]
        read_only_fields = fields


class TrialSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    title = StrictCharField()
    body_html = StrictCharField(help_text="The result as HTML (escaped markdown).")
    summary = StrictCharField()
    empty = serializers.BooleanField()
    error = StrictCharField()
    error_code = StrictCharField()
    event_note = StrictCharField()
    run = RunSerializer(allow_null=True)


class PreviewFireSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    local = serializers.DateTimeField()
    viewer = serializers.DateTimeField()
    note = StrictCharField()


class SchedulePreviewSerializer(serializers.Serializer):
    trigger_words = StrictCharField()
    expression = StrictCharField(allow_blank=True)
    time_zone = StrictCharField()
    viewer_zone = StrictCharField()
    fires = PreviewFireSerializer(many=True)
    notes = serializers.ListField(child=StrictCharField())
    rule = StrictCharField()


class AdviceSerializer(serializers.Serializer):
    text = StrictCharField()
    url = StrictCharField()
    label = StrictCharField()


class FindingSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=["blocked", "warning", "ok"])
    title = StrictCharField()
    detail = StrictCharField()
    advice = AdviceSerializer(many=True)


class NextFireSerializer(serializers.Serializer):
    at = serializers.DateTimeField(allow_null=True)
    words = StrictCharField()


class FiringSerializer(serializers.Serializer):
    slot = serializers.DateTimeField(allow_null=True)
    outcome = StrictCharField()
    words = StrictCharField()
    run = serializers.UUIDField(source="run.public_id", allow_null=True, default=None)


class EventMissSerializer(serializers.Serializer):
    received_at = serializers.DateTimeField()
    type = StrictCharField()
    provider = StrictCharField()
    source = StrictCharField()
    status = StrictCharField()
    reason = StrictCharField()


class EventReportSerializer(serializers.Serializer):
    looked_at = serializers.IntegerField()
    matched = serializers.IntegerField()
    waiting = serializers.IntegerField()
    not_about_it = serializers.IntegerField()
    misses = EventMissSerializer(many=True)
    nothing_arrived = StrictCharField()
    since = serializers.DateTimeField(allow_null=True)


class LastFailureSerializer(serializers.Serializer):
    run = RunSerializer()
    advice = AdviceSerializer(many=True)


class DiagnosisSerializer(serializers.Serializer):
    """ "Why didn't it fire?": the automation's state, what blocks it, its expected and actual
    firings, and for event triggers what became of recent events."""

    blocked = serializers.BooleanField()
    trigger_words = StrictCharField()
    findings = FindingSerializer(many=True)
    next_fire = NextFireSerializer()
    firings = FiringSerializer(many=True)
    firings_note = StrictCharField()
    events = EventReportSerializer(allow_null=True)
    last_failure = LastFailureSerializer(allow_null=True)
