from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_celery_beat.models import PeriodicTask

from accounts.models import Organization, validate_time_zone
from config.models import TimeStampedModel
from skills.models import Skill

# Bounds on a trigger's numbers: the validation path's rules and the check constraints below.
MIN_POLL_SECONDS = 60
# Polling less often than monthly is a schedule: use a cron trigger. Far inside the column's
# range (PositiveIntegerField, 2**31-1 on PostgreSQL) and inside what datetime can add.
MAX_POLL_SECONDS = 30 * 24 * 3600
# "N minutes before/after each interview": up to 30 days either way.
MAX_OFFSET_MINUTES = 30 * 24 * 60
MAX_RETRY_LIMIT = 10
DEFAULT_MAX_RUNS_PER_HOUR = 60


class Automation(TimeStampedModel):
    class TriggerType(models.TextChoices):
        CRON = "cron", "On a schedule"
        EVENT = "event", "On an ATS event"
        POLL = "poll", "By polling"
        RELATIVE = "relative", "Relative to an interview"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        REJECTED = "rejected", "Rejected"

    class Audience(models.TextChoices):
        OWNER = "owner", "The owner"
        MEMBERS = "members", "Chosen members"
        ALL_MEMBERS = "all_members", "Every member of the org"

    class CatchUp(models.TextChoices):
        LATEST = "latest", "Run once for the newest missed slot"
        SKIP = "skip", "Skip missed slots"
        ALL = "all", "Run every missed slot (at most 10)"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="automations"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="automations"
    )
    name = models.CharField(max_length=200)
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="automations")
    params = models.JSONField(default=dict, blank=True, help_text='e.g. {"days": 14}')

    trigger_type = models.CharField(max_length=10, choices=TriggerType.choices)
    cron_expression = models.CharField(
        max_length=120, blank=True, help_text="Five fields, e.g. '0 9 * * 1' for Mondays at 09:00."
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="IANA name; the schedule is read in this zone, e.g. America/Los_Angeles.",
    )
    periodic_task = models.OneToOneField(
        PeriodicTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="automation"
    )
    event_type = models.CharField(
        max_length=80, blank=True, help_text="e.g. ats.candidate.stage_changed"
    )
    event_filter = models.JSONField(
        default=dict, blank=True, help_text='e.g. {"stage.to": "Interview"}'
    )
    offset_minutes = models.IntegerField(
        null=True, blank=True, help_text="Minutes from the interview's start, e.g. -30."
    )
    poll_interval_seconds = models.PositiveIntegerField(null=True, blank=True)
    delivery_channels = models.ManyToManyField(
        "delivery.DeliveryChannel",
        blank=True,
        related_name="automations",
        help_text="Where results go; none means the owner's in-app inbox.",
    )

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    paused_reason = models.CharField(max_length=300, blank=True)
    catch_up = models.CharField(max_length=10, choices=CatchUp.choices, default=CatchUp.LATEST)
    retry_limit = models.PositiveSmallIntegerField(
        default=3, help_text="How many times a failed run is retried (0-10)."
    )
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # Runaway protection: runs held back past this many an hour are skipped with the reason.
    max_runs_per_hour = models.PositiveIntegerField(
        default=DEFAULT_MAX_RUNS_PER_HOUR, db_default=DEFAULT_MAX_RUNS_PER_HOUR
    )
    # Approvals: who approved or rejected it last, when, and the reason given.
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reviewed_automations",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=500, blank=True)
    # Org-wide automations: one run per member per slot, delivered to that member.
    # (db_default too: the benchmarks' bulk SQL inserts leave these columns out.)
    audience = models.CharField(
        max_length=12, choices=Audience.choices, default=Audience.OWNER, db_default="owner"
    )
    audience_members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="audience_automations"
    )

    class Meta:
        # The invariants of each trigger kind, held by the database as well as by
        # automations.validation, so no write that goes around the services (a bulk update,
        # a shell, a migration) can leave a row the scheduler or the matcher cannot use.
        constraints = [
            models.CheckConstraint(
                condition=~Q(trigger_type="cron") | ~Q(cron_expression=""),
                name="automation_cron_has_expression",
            ),
            models.CheckConstraint(
                condition=~Q(trigger_type="poll") | Q(poll_interval_seconds__gte=MIN_POLL_SECONDS),
                name="automation_poll_interval_min",
            ),
            # Not null as well: a NULL passes every CHECK, and the scheduler adds it to now.
            models.CheckConstraint(
                condition=~Q(trigger_type="poll")
                | Q(
                    poll_interval_seconds__isnull=False, poll_interval_seconds__lte=MAX_POLL_SECONDS
                ),
                name="automation_poll_interval_max",
            ),
            # Event automations match on event_type; relative ones are bound to an interview
            # event (ats.interview.scheduled unless told otherwise).
            models.CheckConstraint(
                condition=~Q(trigger_type__in=["event", "relative"]) | ~Q(event_type=""),
                name="automation_event_has_type",
            ),
            models.CheckConstraint(
                condition=~Q(trigger_type="relative")
                | Q(
                    offset_minutes__isnull=False,
                    offset_minutes__gte=-MAX_OFFSET_MINUTES,
                    offset_minutes__lte=MAX_OFFSET_MINUTES,
                ),
                name="automation_relative_offset_bounds",
            ),
            models.CheckConstraint(
                condition=Q(retry_limit__lte=MAX_RETRY_LIMIT), name="automation_retry_limit_max"
            ),
        ]
        indexes = [
            # The scheduler's only query on this table: active rows whose next_run_at has
            # come, oldest first (WHERE status='active' AND next_run_at <= now ORDER BY
            # next_run_at). Partial, so paused and event-driven rows cost nothing.
            models.Index(
                fields=["next_run_at"],
                name="automation_due_idx",
                condition=Q(status="active", next_run_at__isnull=False),
            ),
            # Plan limits count an org's active automations; lists filter by org and status.
            models.Index(fields=["organization", "status"], name="automation_org_status_idx"),
            # The dashboard's list: an org's automations by name, paged by (name, id).
            models.Index(fields=["organization", "name", "id"], name="automation_org_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class AutomationRun(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        CANCELLED = "cancelled", "Cancelled"

    class TriggeredBy(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        EVENT = "event", "ATS event"
        POLL = "poll", "Polling"
        RELATIVE = "relative", "Relative time"
        MANUAL = "manual", "Run now"
        TEST = "test", "Test"

    FINISHED = (Status.COMPLETED, Status.FAILED, Status.SKIPPED, Status.CANCELLED)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="runs")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    triggered_by = models.CharField(max_length=10, choices=TriggeredBy.choices)
    # Built only in automations/run_keys.py, whose docstring gives every format (cron:<slot>,
    # poll:<slot>, missed:..., event:<event public id or change key>, relative:..., manual:...).
    idempotency_key = models.CharField(max_length=200)
    scheduled_for = models.DateTimeField(help_text="Not run before this time (UTC).")
    dispatched_at = models.DateTimeField(
        null=True, blank=True, help_text="When its message was last sent to the workers."
    )
    trigger_data = models.JSONField(default=dict, blank=True)
    attempt = models.PositiveSmallIntegerField(default=0, help_text="Attempts started so far.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    output_summary = models.TextField(blank=True, help_text="Counts only, no personal data.")
    output_hash = models.CharField(max_length=64, blank=True)
    deliveries = models.JSONField(default=list, blank=True, help_text="Outcome per channel.")
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    # Slots missed while the scheduler was not running are not one row each (a minute
    # schedule down for a week would be 10,000): one `skipped` run with error code "missed"
    # stands for a whole spell of them and carries these three fields.
    missed_count = models.PositiveIntegerField(
        default=0,
        help_text="On a 'missed' summary run: how many schedule slots it stands for (none of "
        "them ran; the catch-up policy decided which newer slots did).",
    )
    missed_from = models.DateTimeField(
        null=True, blank=True, help_text="The oldest slot of the missed spell (UTC)."
    )
    missed_to = models.DateTimeField(
        null=True, blank=True, help_text="The newest slot of the missed spell (UTC)."
    )
    # LLM skills: what the model's work cost (zero for deterministic skills and fallbacks).
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cache_write_tokens = models.PositiveIntegerField(default=0, db_default=0)
    cache_read_tokens = models.PositiveIntegerField(default=0, db_default=0)
    cost_usd = models.DecimalField(max_digits=10, decimal_places=6, default=0)
    llm_model = models.CharField(max_length=80, blank=True, default="", db_default="")
    # Why an LLM skill's template made the result instead of the model ("llm_off",
    # "no_key", "budget_spent"); empty when it did not.
    fallback_reason = models.CharField(max_length=40, blank=True, default="", db_default="")
    # A rerun points at the run it repeats (and, when made in bulk, at its batch); the
    # original keeps its own outcome. SET_NULL: purging an original leaves its reruns.
    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns"
    )
    # Org-wide automations: the member this run is for (None: the automation's owner).
    for_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs_for",
    )
    rerun_batch = models.ForeignKey(
        "RerunBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )

    class Meta:
        constraints = [
            # One run per trigger: a second beat tick, a redelivered message or a replayed
            # webhook inserts the same key and is refused here.
            models.UniqueConstraint(
                fields=["automation", "idempotency_key"], name="run_automation_key_uniq"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["pending", "running", "completed", "failed", "skipped", "cancelled"]
                ),
                name="run_status_valid",
            ),
        ]
        indexes = [
            # Dispatch: pending runs not yet sent whose time has come
            # (WHERE status='pending' AND dispatched_at IS NULL AND scheduled_for <= now).
            models.Index(
                fields=["scheduled_for"],
                name="run_undispatched_due_idx",
                condition=Q(status="pending", dispatched_at__isnull=True),
            ),
            # The sweeper: pending runs whose message went out long ago and was never taken
            # (WHERE status='pending' AND dispatched_at < cutoff).
            models.Index(
                fields=["dispatched_at"], name="run_pending_sent_idx", condition=Q(status="pending")
            ),
            # The reaper: runs still running that started before the timeout.
            models.Index(
                fields=["started_at"], name="run_running_started_idx", condition=Q(status="running")
            ),
            # Run history of one automation, newest first.
            models.Index(fields=["automation", "-created_at"], name="run_automation_recent_idx"),
            # Purge: finished runs older than the retention period.
            models.Index(fields=["finished_at"], name="run_finished_idx"),
            # The org's run history, newest first, paged by the keyset (created_at, id)
            # (WHERE organization_id = ? AND (created_at, id) < cursor ORDER BY created_at
            # DESC, id DESC LIMIT 51): the dashboard's /runs/ at any depth.
            models.Index(fields=["organization", "-created_at", "-id"], name="run_org_recent_idx"),
            # The same history filtered by status ("failed runs this morning") or by trigger
            # kind: without these a rare status walks the org's whole history to fill a page.
            models.Index(
                fields=["organization", "status", "-created_at", "-id"],
                name="run_org_status_recent_idx",
            ),
            models.Index(
                fields=["organization", "triggered_by", "-created_at", "-id"],
                name="run_org_trigger_recent_idx",
            ),
            # /status and the metrics: failed runs in the last hour, without walking every
            # run that finished in it.
            models.Index(
                fields=["finished_at"], name="run_failed_recent_idx", condition=Q(status="failed")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.automation} {self.idempotency_key} ({self.status})"


class RerunBatch(TimeStampedModel):
    """Runs rerun together from one filter of the run history ("every failed run of Monday
    09:00-10:00"). Its progress is counted live from its runs (AutomationRun.rerun_batch),
    so it never disagrees with them."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="rerun_batches"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rerun_batches",
    )
    name = models.CharField(max_length=200)
    # The history filter it was made from (status, trigger, time range, automation), without
    # search text, which may name a candidate and is not kept.
    filters = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0, help_text="Reruns created.")

    def __str__(self) -> str:
        return self.name


class IdempotencyRecord(models.Model):
    """An API POST made with an Idempotency-Key: the first answer is kept and returned to a
    retry with the same key, so a retried create or run-now does not act twice. Kept 24 hours."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_records"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="idempotency_records"
    )
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization", "key"], name="idempotency_user_org_key_uniq"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"


class LlmMonthlySpend(models.Model):
    """An org's LLM spend in one calendar month (UTC), added to as each run finishes (so the
    budget check reads one row, not a month of runs), and whether its admins were told that
    the budget is spent (once a month)."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="llm_spend"
    )
    period = models.CharField(max_length=7, help_text="YYYY-MM (UTC).")
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cache_write_tokens = models.PositiveBigIntegerField(default=0)
    cache_read_tokens = models.PositiveBigIntegerField(default=0)
    runs = models.PositiveIntegerField(default=0)
    budget_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "period"], name="llm_spend_org_period_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.period}: ${self.cost_usd}"


# What a person typed is capped: the parser reads at most this much as one automation.
DRAFT_TEXT_MAX_LENGTH = 2000


class AutomationDraft(models.Model):
    """An automation described in plain English and understood, waiting for its author's
    Confirm (automations/drafts.py). Personal: only its own user may see or confirm it, and it
    is deleted once expired (the retention purge), confirmed or not."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="automation_drafts"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="automation_drafts"
    )
    text = models.CharField(max_length=DRAFT_TEXT_MAX_LENGTH, help_text="What they typed.")
    draft = models.JSONField(help_text="automations.plain_english.Draft.to_json()")
    # The zone the text was read in (the user's): a trigger other than cron takes it.
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_automation = models.ForeignKey(
        Automation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="automation_draft_expires_idx")]

    def __str__(self) -> str:
        return f"draft {self.public_id}"


class ProcessHeartbeat(models.Model):
    """A beat or worker process saying it is alive (automations/ops/heartbeats.py). In the
    database, not in Redis, so /status and the alerts see a dead beat while Redis is down
    too. One row per process (hostname:pid); a worker deletes its own on a warm shutdown and
    the retention purge deletes rows not seen for a day. The row named LEASE_NAME is not a
    process: its last_seen_at is the alert evaluator's lease (one evaluation a minute, by
    whichever process takes it)."""

    class Kind(models.TextChoices):
        BEAT = "beat", "Beat"
        WORKER = "worker", "Worker"
        LEASE = "lease", "Lease"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=200, unique=True, help_text="hostname:pid")
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["kind", "-last_seen_at"], name="heartbeat_kind_recent_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


class Alert(models.Model):
    """Something wrong that somebody must hear about (automations/ops/alerts.py): open while
    its condition lasts, told once when it opens, reminded every ALERT_REMIND_HOURS while it
    lasts, told once more when it resolves. At most one open alert per (rule, key), so
    several evaluators at once (beat, workers) open it once. Its title and detail name the
    automation, channel or connection by the name its owner gave it, never a candidate."""

    class Rule(models.TextChoices):
        MISSED_SLOT = "missed_slot", "Scheduled run did not start"
        BEAT_SILENT = "beat_silent", "Scheduler not running"
        BACKLOG_GROWING = "backlog_growing", "Runs waiting for a worker"
        CHANNEL_FAILING = "channel_failing", "Channel failing"
        CONNECTION_SILENT = "connection_silent", "ATS connection silent"
        CONNECTION_REFUSING = "connection_refusing", "ATS deliveries refused"

    rule = models.CharField(max_length=30, choices=Rule.choices)
    # What it is about: "automation:<pk>", "channel:<pk>", "connection:<pk>", "site".
    key = models.CharField(max_length=100)
    # None: about the whole site (the beat, the workers), told to the site's staff.
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    opened_at = models.DateTimeField()
    last_notified_at = models.DateTimeField(null=True, blank=True)
    reminders = models.PositiveIntegerField(default=0)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "key"], name="alert_open_uniq", condition=Q(resolved_at=None)
            )
        ]
        indexes = [
            # Open alerts (the evaluator, /status, the dashboard's banner): few rows.
            models.Index(
                fields=["organization"], name="alert_open_idx", condition=Q(resolved_at=None)
            ),
            # The retention purge: resolved alerts older than a while.
            models.Index(fields=["resolved_at"], name="alert_resolved_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.key}"
