"""Polling ("virtual webhooks"): ask the ATS API what changed since the cursor, diff it
against the last state we saw, and emit the same canonical events a webhook would, into the
same pipeline. The first poll of a connection only records the current state."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.utils import timezone

from webhooks.ats_clients import api_client_for_connection
from webhooks.models import AtsConnection, InboundEvent, KnownApplication
from webhooks.providers.api import ProviderApi
from webhooks.providers.common import event

logger = logging.getLogger(__name__)

# Ask again for a little before the cursor: an ATS's clock and indexing may lag.
OVERLAP = timedelta(minutes=2)
# What Greenhouse's webhook calls the same change, so polled and pushed events look alike.
RAW_TYPES = {
    "greenhouse": {
        "ats.application.created": "new_candidate_application",
        "ats.candidate.stage_changed": "candidate_stage_change",
        "ats.candidate.hired": "hire_candidate",
        "ats.candidate.rejected": "reject_candidate",
    },
}


# A claimed connection is not due again for this long (or its interval, if longer), unless its
# poll ends sooner and sets the real next time: longer than any one poll takes, so two beats
# never poll one connection at once; a poll whose worker died is tried again after it.
CLAIM_LEASE = timedelta(minutes=10)


def connections_claim_due(*, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Claim the connections whose poll is due (polling or both mode), as
    `automations/scheduling/due.py` claims automations: FOR UPDATE SKIP LOCKED on
    PostgreSQL, a compare-and-set of `next_poll_at` elsewhere. Each claimed connection's
    `next_poll_at` moves past the lease, so a second caller (another beat) gets the others,
    never the same."""
    now = now or timezone.now()
    due = (
        AtsConnection.objects.filter(mode__in=[AtsConnection.Mode.POLLING, AtsConnection.Mode.BOTH])
        .exclude(next_poll_at__gt=now)
        .order_by("next_poll_at", "pk")
    )
    skip_locked = db_connection.features.has_select_for_update_skip_locked
    claimed: list[int] = []
    with transaction.atomic():
        if skip_locked:
            due = due.select_for_update(skip_locked=True)
        rows = list(due.values_list("pk", "next_poll_at", "poll_interval_seconds")[:limit])
        for pk, old, interval in rows:
            until = now + max(CLAIM_LEASE, _interval(interval))
            if skip_locked:
                won = AtsConnection.objects.filter(pk=pk).update(next_poll_at=until)
            else:
                # Compare-and-set: only the caller that moves next_poll_at off `old` owns it.
                same = {"next_poll_at__isnull": True} if old is None else {"next_poll_at": old}
                won = AtsConnection.objects.filter(pk=pk, **same).update(next_poll_at=until)
            if won:
                claimed.append(pk)
    return claimed


def _interval(seconds: object) -> timedelta:
    """The poll interval, bounded to what a timedelta and a database can hold."""
    try:
        return timedelta(seconds=min(max(int(seconds), 1), 366 * 24 * 3600))
    except (TypeError, ValueError, OverflowError):
        return timedelta(hours=1)


def _change(app: dict, known: KnownApplication | None) -> str | None:
    status = app.get("status") or "active"
    if known is None:
        return "ats.application.created"
    if status != known.status and status in ("hired", "rejected"):
        return f"ats.candidate.{status}"
    if (app.get("stage") or "") != known.stage:
        return "ats.candidate.stage_changed"
    return None


def connection_poll(*, connection: AtsConnection, now: datetime | None = None) -> int:
    """Poll once; returns how many new events were stored."""
    now = now or timezone.now()
    connection = AtsConnection.objects.get(pk=connection.pk)  # the cursor as stored now
    client = api_client_for_connection(connection)
    first = not connection.poll_cursor
    since = None if first else datetime.fromisoformat(connection.poll_cursor) - OVERLAP
    apps = client.list_applications(updated_since=since)
    interviews = (
        client.list_scheduled_interviews(updated_since=since)
        if client.LISTS_INTERVIEWS and not first
        else []
    )
    known = {
        k.application_id: k
        for k in KnownApplication.objects.filter(
            connection=connection, application_id__in=[a["id"] for a in apps]
        )
    }
    emitted: list[InboundEvent] = []
    candidates: dict[str, dict] = {}
    for app in apps:
        before = known.get(app["id"])
        if first:
            KnownApplication.objects.update_or_create(
                connection=connection,
                application_id=app["id"],
                defaults={"stage": app.get("stage") or "", "status": app.get("status") or ""},
            )
            continue
        type_ = _change(app, before)
        if type_ is None:
            continue
        candidate = _candidate(client, app.get("candidate_id"), candidates)
        raw_type = RAW_TYPES.get(connection.provider, {}).get(type_, type_)
        # Which change of this application this is: the same state reached again later
        # (Screen -> Interview -> Screen -> Interview) is a new change with a new id, while a
        # change polled again before its event was processed keeps its id and is stored once.
        # The count of changes applied (KnownApplication.changes) says that; the ATS's
        # updated_at would not (it also moves for a note or an email on the application).
        changes = before.changes if before else 0
        delivery_id = f"poll:{app['id']}:{changes}:{app.get('stage')}:{app.get('status')}"
        canonical = event(
            type=type_,
            raw_type=raw_type,
            provider=connection.provider,
            delivery_id=delivery_id,
            occurred_at=app.get("updated_at"),
            candidate=candidate,
            application={
                "id": app["id"],
                "job_id": app.get("job_id"),
                "job_name": app.get("job_name"),
            },
            stage_to=app.get("stage"),
            stage_from=(before.stage or None) if before else None,
        )
        emitted += _store(connection, delivery_id, raw_type, canonical)
    for interview in interviews:
        cancelled = interview.get("status") in ("cancelled", "canceled")
        type_ = "ats.interview.cancelled" if cancelled else "ats.interview.scheduled"
        # With the ATS's updated_at where it has one: booked, cancelled and booked again at
        # the same time is three changes.
        delivery_id = (
            f"poll:interview:{interview['id']}:{interview.get('start_at')}:{type_}"
            f"{':' + interview['updated_at'] if interview.get('updated_at') else ''}"
        )
        canonical = event(
            type=type_,
            raw_type=type_,
            provider=connection.provider,
            delivery_id=delivery_id,
            occurred_at=interview.get("updated_at"),
            application={"id": interview.get("application_id")},
            interview={"id": interview["id"], "start_at": interview.get("start_at")},
        )
        emitted += _store(connection, delivery_id, type_, canonical)
    AtsConnection.objects.filter(pk=connection.pk).update(
        poll_cursor=now.isoformat(),
        last_error="",
        next_poll_at=now + _interval(connection.poll_interval_seconds),
    )
    logger.info(
        "polled %s: %d application(s) changed, %d new event(s)%s",
        connection,
        len(apps),
        len(emitted),
        " (first poll: state recorded)" if first else "",
    )
    return len(emitted)


def poll_failed(connection: AtsConnection, exc: Exception) -> None:
    """Record the failure; the next poll comes at the usual interval."""
    now = timezone.now()
    AtsConnection.objects.filter(pk=connection.pk).update(
        last_error=str(exc)[:1000],
        last_error_at=now,
        next_poll_at=now + _interval(connection.poll_interval_seconds),
    )


def _candidate(client: ProviderApi, candidate_id: str | None, cache: dict) -> dict:
    if not candidate_id:
        return {}
    if candidate_id not in cache and client.GETS_CANDIDATE:
        cache[candidate_id] = client.get_candidate(candidate_id)
    return cache.get(candidate_id) or {"id": candidate_id}


def _store(connection, delivery_id: str, raw_type: str, canonical: dict) -> list[InboundEvent]:
    try:
        with transaction.atomic():
            stored = InboundEvent.objects.create(
                connection=connection,
                source=InboundEvent.Source.POLL,
                delivery_id=delivery_id[:200],
                raw_type=raw_type[:120],
                event=canonical,
            )
    except IntegrityError:
        return []  # seen by an earlier poll
    return [stored]
