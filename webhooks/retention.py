"""Raw webhook bodies are kept only for the retention period."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from webhooks.models import InboundEvent


def inbound_purge_expired(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(hours=settings.RETENTION_HOURS)
    return InboundEvent.objects.filter(received_at__lt=cutoff, raw_body__isnull=False).update(
        raw_body=None
    )
