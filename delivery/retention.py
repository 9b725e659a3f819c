"""What the delivery app keeps past the retention period (RETENTION_HOURS): inbox items stay
(kind, links to the automation and run, read state, times) but their text, which is the
skill's output and names candidates, goes; delivery records keep status, attempts, HTTP
status and times, but not error texts, which quote what the receiving side answered (an
echoing receiver answers with the candidate's name)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from config.batching import in_batches
from delivery.models import Delivery, DeliveryAttempt, DeliveryChannel, Notification

REMOVED_BODY = "_This message was removed after the retention period._"
REMOVED_TITLE = "Result (removed after the retention period)"
REMOVED_ERROR = "Removed after the retention period."


def _cutoff(now: datetime | None) -> datetime:
    return (now or timezone.now()) - timedelta(hours=settings.RETENTION_HOURS)


def notifications_purge_expired(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Result items lose title and body (a result's title can name a candidate); alerts
    (about an automation or a channel, titled by their names) lose their body, which can quote
    an error text."""
    expired = Notification.objects.filter(created_at__lt=_cutoff(now)).exclude(
        body_markdown=REMOVED_BODY
    )

    def redact(pks: list[int]) -> int:
        rows = Notification.objects.filter(pk__in=pks)
        n = rows.filter(kind=Notification.Kind.RESULT).update(
            title=REMOVED_TITLE, body_markdown=REMOVED_BODY
        )
        return n + rows.exclude(kind=Notification.Kind.RESULT).update(body_markdown=REMOVED_BODY)

    return in_batches(expired, redact, batch_size=batch_size)


def deliveries_purge_expired(*, now: datetime | None = None, batch_size: int = 500) -> int:
    cutoff = _cutoff(now)
    done = in_batches(
        # A delivery's rows are updated without touching updated_at: go by its run's end.
        Delivery.objects.filter(run__finished_at__lt=cutoff).exclude(
            Q(last_error="") | Q(last_error=REMOVED_ERROR)
        ),
        lambda pks: Delivery.objects.filter(pk__in=pks).update(last_error=REMOVED_ERROR),
        batch_size=batch_size,
    )
    done += in_batches(
        DeliveryAttempt.objects.filter(started_at__lt=cutoff).exclude(
            Q(error="") | Q(error=REMOVED_ERROR)
        ),
        lambda pks: DeliveryAttempt.objects.filter(pk__in=pks).update(error=REMOVED_ERROR),
        batch_size=batch_size,
    )
    # A channel keeps its status (failing until fixed) but not the old answer's text.
    done += (
        DeliveryChannel.objects.filter(last_error_at__lt=cutoff)
        .exclude(Q(last_error="") | Q(last_error=REMOVED_ERROR))
        .update(last_error=REMOVED_ERROR)
    )
    return done


def delivery_purge_expired(*, now: datetime | None = None) -> int:
    """Everything the delivery app purges; returns rows changed."""
    return notifications_purge_expired(now=now) + deliveries_purge_expired(now=now)
