"""Completing an event with what the ATS did not send, in two parts that run at different
times (automations/triggers/drain.py):

- `stage_names_resolve`: stage names for Lever's stage ids, from its API (cached on the
  connection). A network call, so it runs outside any transaction.
- `known_state_apply`: `stage.from` from the last stage we saw for the application, which is
  then updated, and the event's change key. Database only, inside the event's short
  transaction, with the application's row locked.

`complete_event` does both, for callers that need no such split.
"""

from __future__ import annotations

import logging

from django.db import transaction

from webhooks.models import AtsConnection, KnownApplication

logger = logging.getLogger(__name__)

STAGE_TYPES = {
    "ats.candidate.stage_changed",
    "ats.candidate.hired",
    "ats.candidate.rejected",
    "ats.application.created",
}
INTERVIEW_TYPES = {"ats.interview.scheduled", "ats.interview.cancelled"}


def _stage_name(
    connection: AtsConnection, stage_id: str | None, unavailable: set[int] | None
) -> str | None:
    if not stage_id:
        return None
    if stage_id not in connection.stage_names:
        if unavailable is not None and connection.pk in unavailable:
            return stage_id  # the API already failed for this connection in this drain
        try:
            from webhooks.ats_clients import api_client_for_connection

            client = api_client_for_connection(connection)
            if not client.LISTS_STAGES:
                return stage_id  # this ATS sends names, or has no stage list to ask
            names = {s["id"]: s["name"] for s in client.list_stages()}
        except Exception as exc:  # keep the id; the event still flows
            logger.warning("connection %s: stage names unavailable (%s)", connection.pk, exc)
            if unavailable is not None:
                unavailable.add(connection.pk)
            return stage_id
        connection.stage_names = {**connection.stage_names, **names}
        # A single autocommit UPDATE: the cache is shared by every worker and costs nothing
        # to write twice.
        AtsConnection.objects.filter(pk=connection.pk).update(stage_names=connection.stage_names)
    return connection.stage_names.get(stage_id, stage_id)


def stage_names_resolve(
    connection: AtsConnection, event: dict, *, unavailable: set[int] | None = None
) -> dict:
    """The event with Lever's stage ids turned into names (may call the ATS API: never call
    it inside a transaction). `unavailable` collects connections whose API failed, so one
    drain asks a failing API once, not once per event."""
    event = dict(event)
    stage = dict(event.get("stage") or {"from": None, "to": None})
    stage_ids = event.pop("_stage_ids", None)
    if isinstance(stage_ids, dict) and stage_ids:
        stage["to"] = _stage_name(connection, stage_ids.get("to"), unavailable)
        stage["from"] = _stage_name(connection, stage_ids.get("from"), unavailable)
    event["stage"] = stage
    return event


def known_state_apply(connection: AtsConnection, event: dict) -> tuple[dict, str]:
    """(event with `stage.from` filled, change key). Writes the application's known state:
    call it inside the event's transaction."""
    event = dict(event)
    stage = dict(event.get("stage") or {"from": None, "to": None})
    event.pop("_stage_ids", None)
    app_id = (event.get("application") or {}).get("id")
    key = ""
    if app_id and event.get("type") in STAGE_TYPES:
        # Locked: two workers completing two events of one application take turns, so each
        # sees the other's stage and the change count never skips or repeats.
        known = (
            KnownApplication.objects.select_for_update()
            .filter(connection=connection, application_id=app_id)
            .first()
        )
        if stage["from"] is None and known is not None and known.stage != stage["to"]:
            stage["from"] = known.stage or None
        status = {"ats.candidate.hired": "hired", "ats.candidate.rejected": "rejected"}.get(
            event["type"], "active"
        )
        new_stage = stage["to"] or (known.stage if known else "")
        if known is None:
            known = KnownApplication.objects.create(
                connection=connection,
                application_id=app_id,
                stage=new_stage,
                status=status,
                changes=1,
            )
        elif (known.stage, known.status) != (new_stage, status):
            known.stage, known.status, known.changes = new_stage, status, known.changes + 1
            known.save(update_fields=["stage", "status", "changes", "updated_at"])
        key = change_key_for_application(app_id, known)
    elif event.get("type") in INTERVIEW_TYPES:
        interview = event.get("interview") or {}
        if interview.get("id"):
            key = (
                f"interview:{interview['id']}:{event['type'].rsplit('.', 1)[-1]}:"
                f"{interview.get('start_at') or ''}"
            )
    elif event.get("type") == "ats.candidate.created":
        candidate_id = (event.get("candidate") or {}).get("id")
        if candidate_id:
            key = f"candidate:{candidate_id}:created"
    event["stage"] = stage
    return event, key[:200]


def change_key_for_application(app_id: str, known: KnownApplication) -> str:
    """What one change of an application is called, whichever source reported it.

    Why the change count and not the event's time or the stage transition alone: the webhook
    and the poll of one change carry different times (Lever's triggeredAt against the
    opportunity's updatedAt; a poll sees a change minutes later) and, whichever comes second,
    a different `stage.from` (the first already moved the known stage). The count of changes
    of the known (stage, status) is the same for both, because the second report of a change
    finds it already applied and leaves the count alone; a real move back and forth (Screen ->
    Interview -> Screen -> Interview) counts up and gets a new key every time."""
    return f"app:{app_id}:{known.changes}:{known.stage}:{known.status}"


def complete_event(connection: AtsConnection, event: dict) -> dict:
    """Both parts at once: the network part first, then the known state in a transaction of
    its own (or the caller's)."""
    event = stage_names_resolve(connection, event)
    with transaction.atomic():
        return known_state_apply(connection, event)[0]
