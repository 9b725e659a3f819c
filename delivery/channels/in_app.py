"""In-app: a Notification in the owner's inbox."""

from __future__ import annotations

import uuid

from django.utils import timezone

from config import plain_sql
from delivery.message import OutgoingMessage
from delivery.models import Notification

# Updated when the run's item is already in that inbox (what update_or_create's defaults
# were); read_at and created_at stay as they were.
_REFRESHED = ("organization", "automation", "kind", "title", "body_markdown")


def send(*, channel, message: OutgoingMessage) -> str:
    fields = {
        "organization_id": message.organization_id,
        "automation_id": message.automation.pk if message.automation is not None else None,
        "kind": Notification.Kind.RESULT,
        "title": f"{message.title} · {message.automation_name}"[:300],
        "body_markdown": message.body_markdown,
    }
    if message.run is None:
        Notification.objects.create(user_id=channel.owner_id, **fields)
        return "added to the inbox"
    # One inbox item per run and user, even if the run is delivered again: one upsert on
    # the (run, user) unique index (partial: WHERE run_id IS NOT NULL), in place of
    # update_or_create's read, savepoint and insert.
    plain_sql.insert(
        Notification,
        [
            {
                "public_id": uuid.uuid4(),
                "user_id": channel.owner_id,
                "run_id": message.run.pk,
                "read_at": None,
                "created_at": timezone.now(),
                **fields,
            }
        ],
        suffix=plain_sql.Sql(plain_sql.cached(("in_app.upsert",), _upsert)),
    )
    return "added to the inbox"


def _upsert() -> str:
    refreshed = ", ".join(
        f"{plain_sql.column(Notification, n)} = excluded.{plain_sql.column(Notification, n)}"
        for n in _REFRESHED
    )
    run_col, user_col = (plain_sql.column(Notification, n) for n in ("run", "user"))
    return (
        f"ON CONFLICT ({run_col}, {user_col}) WHERE {run_col} IS NOT NULL DO UPDATE SET {refreshed}"
    )
