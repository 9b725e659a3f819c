from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Organization


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
