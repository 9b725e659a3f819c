"""In-app: a Notification in the owner's inbox."""

from __future__ import annotations

from delivery.models import Notification


def send(*, result, channel: dict, run, automation) -> str:
    # One inbox item per run and user, even if the run is delivered again after a retry.
    Notification.objects.update_or_create(
        run=run,
        user=automation.owner,
        defaults={
            "organization_id": automation.organization_id,
            "automation": automation,
            "kind": Notification.Kind.RESULT,
            "title": f"{result.title} · {automation.name}"[:300],
            "body_markdown": result.body_markdown,
        },
    )
    return "added to the owner's inbox"
