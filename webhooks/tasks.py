"""Celery tasks for inbound events: thin, by id, safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from webhooks.pipeline import inbound_drain, inbound_process


@shared_task(name="webhooks.process_inbound_event")
def process_inbound_event(event_id: int) -> str:
    return inbound_process(event_id=event_id)


@shared_task(name="webhooks.drain_inbound_events")
def drain_inbound_events() -> int:
    return inbound_drain()


@shared_task(name="webhooks.sweep_received_events")
def sweep_received_events() -> int:
    """Events still waiting (no scheduler was running to wake the workers)."""
    return inbound_drain()


@shared_task(name="webhooks.poll_connections")
def poll_connections() -> int:
    """Poll every connection in polling mode whose time has come."""
    from webhooks.models import AtsConnection

    now = timezone.now()
    due = AtsConnection.objects.filter(
        mode__in=[AtsConnection.Mode.POLLING, AtsConnection.Mode.BOTH]
    ).exclude(next_poll_at__gt=now)
    for connection_id in due.values_list("pk", flat=True)[:100]:
        poll_connection.delay(connection_id)
    return due.count()


@shared_task(name="webhooks.poll_connection")
def poll_connection(connection_id: int) -> int:
    from webhooks.api_http import ApiError
    from webhooks.models import AtsConnection
    from webhooks.polling import connection_poll

    connection = AtsConnection.objects.get(pk=connection_id)
    try:
        return connection_poll(connection=connection)
    except ApiError as exc:
        AtsConnection.objects.filter(pk=connection_id).update(
            last_error=str(exc),
            last_error_at=timezone.now(),
            next_poll_at=timezone.now() + timedelta(seconds=connection.poll_interval_seconds),
        )
        return 0
