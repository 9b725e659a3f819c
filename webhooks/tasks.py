"""Celery tasks for polling ATS connections: thin, by id, safe to run twice. (Draining stored
events fires automations, so its tasks live in automations/tasks.py, under their old names.)"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="webhooks.poll_connections")
def poll_connections() -> int:
    """Poll every connection in polling mode whose time has come, once: each is claimed
    before its message goes out, so two beats never send two polls of one connection."""
    from webhooks.polling import connections_claim_due

    claimed = connections_claim_due()
    for connection_id in claimed:
        poll_connection.delay(connection_id)
    return len(claimed)


@shared_task(name="webhooks.poll_connection")
def poll_connection(connection_id: int) -> int:
    from webhooks.models import AtsConnection
    from webhooks.polling import connection_poll, poll_failed
    from webhooks.providers.api_session import ApiError

    connection = AtsConnection.objects.filter(pk=connection_id).first()
    if connection is None:  # deleted since it was claimed
        return 0
    try:
        return connection_poll(connection=connection)
    except ApiError as exc:
        poll_failed(connection, exc)
        return 0
