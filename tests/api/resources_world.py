"""Rows for the resource endpoints' tests (channels, connections, events, inbox items), made
through the services where one exists."""

from __future__ import annotations

from delivery.channel_services import channel_create
from delivery.models import Notification
from webhooks.models import InboundEvent
from webhooks.services import connection_create

CHANNEL_NAME = "Owner's hiring channel"
CONNECTION_NAME = "Acme Greenhouse"
NOTE_TITLE = "Owner's private result"


def event(connection, *, delivery_id: str = "d-1", matches=None, event=None) -> InboundEvent:
    return InboundEvent.objects.create(
        connection=connection,
        delivery_id=delivery_id,
        raw_type="candidate_stage_change",
        event=event
        if event is not None
        else {
            "type": "candidate.stage_changed",
            "candidate": {"id": "c1", "name": "Jane Candidate", "email": "jane@example.com"},
        },
        status=InboundEvent.Status.PROCESSED,
        matches=matches or [],
    )


def fill(world) -> None:
    people = world.people
    world.rows["channel"], _ = channel_create(
        org=world.org,
        owner=people["owner"],
        kind="email",
        name=CHANNEL_NAME,
        config={"to": ["hiring@example.com"]},
    )
    world.rows["their_channel"], _ = channel_create(
        org=world.other_org,
        owner=people["other_org_admin"],
        kind="email",
        name="Their channel",
        config={"to": []},
    )
    world.rows["connection"], _ = connection_create(
        org=world.org, by=people["org_admin"], provider="greenhouse", name=CONNECTION_NAME
    )
    world.rows["their_connection"], _ = connection_create(
        org=world.other_org, by=people["other_org_admin"], provider="greenhouse", name="Theirs"
    )
    world.rows["event"] = event(world.rows["connection"])
    world.rows["their_event"] = event(world.rows["their_connection"])
    world.rows["note"] = Notification.objects.create(
        organization=world.org, user=people["owner"], title=NOTE_TITLE
    )
    world.rows["their_note"] = Notification.objects.create(
        organization=world.other_org, user=people["other_org_admin"], title="Their note"
    )
