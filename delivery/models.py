from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Organization
from config.fields import EncryptedJSONField
from config.models import TimeStampedModel


class Notification(models.Model):
    """An item in a user's in-app inbox: a delivered result, or an alert about an automation."""

    class Kind(models.TextChoices):
        RESULT = "result", "Result"
        ALERT = "alert", "Alert"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.RESULT)
    title = models.CharField(max_length=300)
    body_markdown = models.TextField(blank=True)
    automation = models.ForeignKey(
        "automations.Automation", null=True, blank=True, on_delete=models.SET_NULL
    )
    run = models.ForeignKey(
        "automations.AutomationRun", null=True, blank=True, on_delete=models.SET_NULL
    )
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Delivering a run twice (a retried delivery) leaves one inbox item per user.
            models.UniqueConstraint(
                fields=["run", "user"],
                name="notification_run_user_uniq",
                condition=Q(run__isnull=False),
            ),
        ]
        indexes = [
            # The inbox: a user's newest items first.
            models.Index(fields=["user", "-created_at"], name="notification_inbox_idx"),
            # The unread badge: COUNT(*) WHERE user_id=? AND read_at IS NULL.
            models.Index(
                fields=["user"], name="notification_unread_idx", condition=Q(read_at=None)
            ),
        ]

    def __str__(self) -> str:
        return self.title


class DeliveryChannel(TimeStampedModel):
    """Where results go: reusable across a user's automations. The config (recipients,
    webhook URLs, signing secrets) is encrypted at rest."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        SLACK = "slack", "Slack"
        TEAMS = "teams", "Microsoft Teams"
        WEBHOOK = "webhook", "Webhook"
        IN_APP = "in_app", "In-app inbox"

    class Status(models.TextChoices):
        OK = "ok", "OK"
        FAILING = "failing", "Failing"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delivery_channels"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=120)
    config = EncryptedJSONField(
        default=dict,
        blank=True,
        help_text='email: {"to": [...]} (empty: the owner); slack/teams: {"url": ...}; '
        'webhook: {"url": ..., "secret": "whsec_..."}',
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OK)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A user's channels are picked by name in the builder.
            models.UniqueConstraint(
                fields=["organization", "owner", "name"], name="channel_owner_name_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class Delivery(TimeStampedModel):
    """One run's result going to one channel; one DeliveryAttempt per try."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        # Recorded (and committed) just before a channel send, so that a worker that dies
        # after the channel accepted the message leaves evidence of it.
        ATTEMPTING = "attempting", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        # A send was interrupted after it started, to a channel that cannot tell a repeat
        # from a new message (email, Slack, Teams): it may have been delivered, so it is
        # reported and never sent again.
        UNCERTAIN = "uncertain", "May have been delivered"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    run = models.ForeignKey(
        "automations.AutomationRun", on_delete=models.CASCADE, related_name="delivery_records"
    )
    channel = models.ForeignKey(
        DeliveryChannel, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    permanent = models.BooleanField(default=False, help_text="Failed for good; not retried.")
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempt_started_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the send now in progress began (status 'attempting'); a send that "
        "never finished (the worker died) keeps it.",
    )

    class Meta:
        constraints = [
            # A retried run delivers again only to the channels that have not had it yet.
            models.UniqueConstraint(fields=["run", "channel"], name="delivery_run_channel_uniq"),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} to {self.channel} ({self.status})"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    ok = models.BooleanField()
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    permanent = models.BooleanField(default=False)

    class Meta:
        indexes = [
            # A delivery's attempts in order (the run page).
            models.Index(fields=["delivery", "started_at"], name="attempt_delivery_time_idx"),
        ]

    def __str__(self) -> str:
        return f"attempt at {self.started_at:%H:%M:%S} ({'ok' if self.ok else 'failed'})"


class EmailSuppression(models.Model):
    """An address that unsubscribed from one email channel: the channel no longer sends to
    it. Only a hash of the address is kept (sha256 of the lowercased address), which is all
    the channel needs to recognise it among its recipients."""

    channel = models.ForeignKey(
        DeliveryChannel, on_delete=models.CASCADE, related_name="email_suppressions"
    )
    address_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Unsubscribing twice (a mail client's one-click POST, then the page's button)
            # leaves one row.
            models.UniqueConstraint(
                fields=["channel", "address_hash"], name="email_suppression_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.address_hash[:12]}… unsubscribed from {self.channel}"
