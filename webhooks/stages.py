"""Completing an event with what the ATS did not send: stage names for Lever's stage ids
(from its API, cached on the connection) and `stage.from` from the last stage we saw for the
application, which is then updated."""

from __future__ import annotations

import logging

from webhooks.models import AtsConnection, KnownApplication

logger = logging.getLogger(__name__)

STAGE_TYPES = {
    "ats.candidate.stage_changed",
    "ats.candidate.hired",
    "ats.candidate.rejected",
    "ats.application.created",
}


def _stage_name(connection: AtsConnection, stage_id: str | None) -> str | None:
    if not stage_id:
        return None
    if stage_id not in connection.stage_names:
        try:
            from webhooks.api_clients import client_for_connection

            names = {s["id"]: s["name"] for s in client_for_connection(connection).list_stages()}
        except Exception as exc:  # keep the id; the event still flows
            logger.warning("connection %s: stage names unavailable (%s)", connection.pk, exc)
            return stage_id
        connection.stage_names = {**connection.stage_names, **names}
        AtsConnection.objects.filter(pk=connection.pk).update(stage_names=connection.stage_names)
    return connection.stage_names.get(stage_id, stage_id)


def complete_event(connection: AtsConnection, event: dict) -> dict:
    event = dict(event)
    stage = dict(event.get("stage") or {"from": None, "to": None})
    stage_ids = event.pop("_stage_ids", None)
    if stage_ids:
        stage["to"] = _stage_name(connection, stage_ids.get("to"))
        stage["from"] = _stage_name(connection, stage_ids.get("from"))
    app_id = (event.get("application") or {}).get("id")
    if app_id and event.get("type") in STAGE_TYPES:
        known = KnownApplication.objects.filter(
            connection=connection, application_id=app_id
        ).first()
        if stage["from"] is None and known is not None and known.stage != stage["to"]:
            stage["from"] = known.stage or None
        status = {"ats.candidate.hired": "hired", "ats.candidate.rejected": "rejected"}.get(
            event["type"], "active"
        )
        KnownApplication.objects.update_or_create(
            connection=connection,
            application_id=app_id,
            defaults={"stage": stage["to"] or (known.stage if known else ""), "status": status},
        )
    event["stage"] = stage
    return event
