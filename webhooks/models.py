"""ATS connections and the events they send, and the sandbox provider's tables (a demo ATS
kept in our own database so every skill works without an external ATS)."""

from __future__ import annotations

import uuid

from django.db import models

from accounts.models import Organization
from config.fields import EncryptedJSONField
from config.models import TimeStampedModel


class SandboxJob(TimeStampedModel):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    department = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    stages = models.JSONField(default=list, help_text="Stage names in pipeline order.")
    opened_at = models.DateTimeField(null=True, blank=True)
    # Who the ATS says owns the job (recruiter, hiring manager): org-wide automations scope
    # each member's report to the jobs listing their address. Empty: nobody said.
    owner_emails = models.JSONField(
        default=list, blank=True, db_default=[], help_text="Recruiter / hiring team emails."
    )

    class Meta:
        constraints = [
            # seed_demo is idempotent by job name within an org.
            models.UniqueConstraint(
                fields=["organization", "name"], name="sandboxjob_org_name_uniq"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SandboxCandidate(TimeStampedModel):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    email = models.EmailField()
    source = models.CharField(max_length=80, blank=True)
    sourced_at = models.DateTimeField()
    headline = models.CharField(max_length=200, blank=True, default="", db_default="")
    # What the candidate wrote (resume text, answers): data for the LLM skills, never
    # instructions.
    profile_text = models.TextField(blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"], name="sandboxcandidate_org_email_uniq"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SandboxApplication(TimeStampedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REJECTED = "rejected", "Rejected"
        HIRED = "hired", "Hired"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    candidate = models.ForeignKey(SandboxCandidate, on_delete=models.CASCADE)
    job = models.ForeignKey(SandboxJob, on_delete=models.CASCADE)
    stage = models.CharField(max_length=120)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    applied_at = models.DateTimeField()
    last_activity_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["candidate", "job"], name="sandboxapp_candidate_job_uniq"
            ),
        ]
        indexes = [
            # Skills list an org's applications changed since a time (new-candidate alerts,
            # stale candidates): WHERE organization_id = ? AND last_activity_at >= ?.
            models.Index(
                fields=["organization", "last_activity_at"], name="sandboxapp_org_activity_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.candidate} for {self.job} ({self.stage})"


class SandboxInterview(TimeStampedModel):
    """A scheduled interview of a sandbox application (what the LLM skills read)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    application = models.ForeignKey(
        SandboxApplication, on_delete=models.CASCADE, related_name="interviews"
    )
    stage = models.CharField(max_length=120)
    title = models.CharField(max_length=200, blank=True)
    start_at = models.DateTimeField()
    end_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    # [{"name": ..., "email": ..., "feedback_submitted": bool}, ...]
    interviewers = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "start_at"], name="sandboxinterview_org_start")
        ]

    def __str__(self) -> str:
        return f"{self.title or self.stage} at {self.start_at:%Y-%m-%d %H:%M}"


class SandboxNote(TimeStampedModel):
    """A colleague's note on a sandbox candidate."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    candidate = models.ForeignKey(SandboxCandidate, on_delete=models.CASCADE, related_name="notes")
    author = models.CharField(max_length=200)
    body = models.TextField()
    written_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["candidate", "-written_at"], name="sandboxnote_candidate_recent")
        ]

    def __str__(self) -> str:
        return f"Note by {self.author} on {self.candidate}"


class AtsConnection(TimeStampedModel):
    """An organization's link to its ATS: how events arrive (signed webhooks, polling or
    both), the secrets to check and call it (encrypted), and its health."""

    class Provider(models.TextChoices):
        GREENHOUSE = "greenhouse", "Greenhouse"
        LEVER = "lever", "Lever"
        ASHBY = "ashby", "Ashby"
        WORKABLE = "workable", "Workable"
        ZOHO = "zoho", "Zoho Recruit"
        SMARTRECRUITERS = "smartrecruiters", "SmartRecruiters"

    class Mode(models.TextChoices):
        WEBHOOK = "webhook", "Webhooks"
        POLLING = "polling", "Polling"
        BOTH = "both", "Webhooks and polling"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="ats_connections"
    )
    provider = models.CharField(max_length=20, choices=Provider.choices)
    name = models.CharField(max_length=120)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.WEBHOOK)
    # Written only by webhooks/services.py (set, rotate), never shown after it is set.
    secrets = EncryptedJSONField(
        default=dict,
        blank=True,
        help_text='{"webhook_secret": ..., "api_key": ...} (encrypted; never shown again)',
    )
    secrets_rotated_at = models.DateTimeField(
        null=True, blank=True, help_text="When a secret or API key was last set or rotated."
    )
    base_url = models.URLField(
        blank=True, help_text="API base URL, e.g. https://harvest.greenhouse.io/v1"
    )
    region = models.CharField(max_length=40, blank=True, help_text="Zoho DC or Workable subdomain")
    poll_interval_seconds = models.PositiveIntegerField(default=900)
    poll_cursor = models.CharField(
        max_length=100, blank=True, help_text="ISO time of the last poll's start; empty: never."
    )
    next_poll_at = models.DateTimeField(null=True, blank=True)
    stage_names = models.JSONField(
        default=dict, blank=True, help_text="Stage id -> name cache (Lever sends ids only)."
    )
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.get_provider_display()})"


class KnownApplication(models.Model):
    """The last stage and status seen for one application, to fill `stage.from` (most ATSs
    send only the new stage) and to diff polled data into events."""

    connection = models.ForeignKey(AtsConnection, on_delete=models.CASCADE)
    application_id = models.CharField(max_length=100)
    stage = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=40, blank=True)
    # How many times the (stage, status) pair has changed: one change seen twice (by the
    # webhook and by the poll of a connection in `both` mode) leaves it as it was, so the
    # change key built from it (webhooks/stages.py) is the same from both sources, while a
    # genuine move back and forth counts up and fires again.
    changes = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "application_id"], name="knownapp_connection_app_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.stage}"


class InboundEvent(models.Model):
    """One delivery from an ATS (webhook) or one change found by polling."""

    class Source(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        POLL = "poll", "Polling"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        # Claimed by a worker (claimed_at); given back when the claim is older than the lease
        # (a worker killed mid-drain), see automations/triggers/drain.py.
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of its own: the unique (connection, delivery_id) below serves lookups by
    # connection, and every index is written on each accepted delivery. (Ranges of one
    # connection's events by time use inbound_conn_received_idx.)
    connection = models.ForeignKey(
        AtsConnection, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    # db_default on every column the receiver's INSERT leaves out (webhooks/event_store.py
    # names its columns; tests/test_event_store.py checks this holds for every field).
    source = models.CharField(
        max_length=10, choices=Source.choices, default=Source.WEBHOOK, db_default=Source.WEBHOOK
    )
    # The provider's delivery id, or "sha256:<hash of the body>" when it sends none.
    delivery_id = models.CharField(max_length=200)
    raw_type = models.CharField(max_length=120, blank=True)
    raw_body = models.BinaryField(
        null=True, blank=True, help_text="Purged after the retention period."
    )
    headers = models.JSONField(default=dict, blank=True)
    event = models.JSONField(null=True, blank=True, help_text="The canonical event.")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.RECEIVED, db_default=Status.RECEIVED
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_id = models.UUIDField(null=True, blank=True, editable=False)
    # What changed, the same whichever source saw it (webhooks/stages.py): dedupes one change
    # seen by both the webhook and the poll of a connection in `both` mode.
    change_key = models.CharField(max_length=200, blank=True, db_default="")
    error = models.TextField(blank=True, db_default="")
    matches = models.JSONField(
        default=list,
        db_default=models.Value([], output_field=models.JSONField()),
        blank=True,
        help_text="Per automation: matched (run id) or why not.",
    )
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A redelivered webhook (or an already seen polled change) is stored once.
            models.UniqueConstraint(
                fields=["connection", "delivery_id"], name="inbound_connection_delivery_uniq"
            ),
        ]
        indexes = [
            # Purge of raw bodies past the retention period.
            models.Index(fields=["received_at"], name="inbound_received_idx"),
            # Usage per org and day (automations/usage.py): WHERE connection_id IN (the
            # org's connections) AND received_at in a range of days, grouped by day.
            # Without it the count walks every org's events of those days.
            models.Index(fields=["connection", "received_at"], name="inbound_conn_received_idx"),
            # The table is the queue: workers claim events waiting to be processed, oldest
            # first (WHERE status='received' ORDER BY received_at FOR UPDATE SKIP LOCKED).
            models.Index(
                fields=["received_at"],
                name="inbound_pending_idx",
                condition=models.Q(status="received"),
            ),
            # Claims older than the lease are given back (WHERE status='processing' AND
            # claimed_at < cutoff).
            models.Index(
                fields=["claimed_at"],
                name="inbound_processing_idx",
                condition=models.Q(status="processing"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.connection} {self.raw_type} ({self.status})"


class WebhookRefusal(models.Model):
    """A delivery the receiver refused for a known connection (401 bad signature, 400
    malformed, 409 wrong mode, 413 too large, ...): its status and the reason it answered,
    for the connection's health. Never the body, the query string or a header: the reasons
    of webhooks/intake.py name what was wrong, not what was sent.

    Written only by webhooks/refusals.py, at most a few a minute per connection and status
    (a flood of bad deliveries cannot fill the table), and deleted after the retention
    period (webhooks/retention.py)."""

    connection = models.ForeignKey(
        AtsConnection, on_delete=models.CASCADE, related_name="refusals", db_index=False
    )
    status_code = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=300)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # The connection page's recent refusals and the health counts of the last 24 h:
            # WHERE connection_id IN (...) AND received_at >= ? ORDER BY received_at DESC.
            # The only index: the cap keeps the table small, so the purge past the retention
            # period (WHERE received_at < cutoff) scans it, and a second index on received_at
            # only lures the planner into walking every connection's rows for the above.
            models.Index(fields=["connection", "-received_at"], name="refusal_conn_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.connection_id}: {self.status_code} {self.reason}"


class RateBucket(models.Model):
    """One ATS API key's token bucket (webhooks/rate_limit.py), shared by every worker when
    there is no Redis: `tokens` left at `stamp` (Unix seconds). Keyed by a hash of provider,
    base URL and API key (never the key itself); one small row per key in use. Updated by
    compare-and-set on `version`, which works alike on SQLite and PostgreSQL."""

    key = models.CharField(max_length=64, primary_key=True)
    tokens = models.FloatField()
    stamp = models.FloatField()
    version = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key[:12]}: {self.tokens:.1f}"
