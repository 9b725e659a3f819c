"""In-app: a Notification in the owner's inbox."""

from __future__ import annotations

from delivery.message import OutgoingMessage
from delivery.models import Notification


def send(*, channel, message: OutgoingMessage) -> str:
    fields = {
        "organization_id": message.organization_id,
        "automation": message.automation,
        "kind": Notification.Kind.RESULT,
        "title": f"{message.title} · {message.automation_name}"[:300],
        "body_markdown": message.body_markdown,
    }
    if message.run is not None:
        # One inbox item per run and user, even if the run is delivered again.
        Notification.objects.update_or_create(run=message.run, user=channel.owner, defaults=fields)
    else:
        Notification.objects.create(user=channel.owner, **fields)
    return "added to the inbox"
