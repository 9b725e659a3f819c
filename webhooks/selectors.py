"""Reads of ATS connections and their events, each scoped to what the caller may see.

Members of an organization may view its connections and events; only its admins may change
them (write=True); superusers see and change everything. Anyone else gets Http404: a foreign
row looks like no row at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection as db_connection
from django.db.models import JSONField, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KT

from accounts.models import Organization
from accounts.selectors import acts_as_operator, org_admin_q, org_member_q, row_get_for_user
from webhooks.models import AtsConnection, InboundEvent


def connections_for_user(
    *, user: AbstractBaseUser | AnonymousUser, write: bool = False
) -> QuerySet[AtsConnection]:
    connections = AtsConnection.objects.select_related("organization")
    if not acts_as_operator(user=user):
        rule = org_admin_q(user=user) if write else org_member_q(user=user)
        connections = connections.filter(rule)
    return connections.order_by("organization__name", "name", "pk")


def connection_get_for_user(
    *, user: AbstractBaseUser | AnonymousUser, public_id, write: bool = False
) -> AtsConnection:
    """Http404 for a connection of another org; PermissionDenied when a member asks to
    change one of their org's (only its admins may)."""
    return row_get_for_user(
        readable=connections_for_user(user=user),
        writable=connections_for_user(user=user, write=True),
        public_id=public_id,
        write=write,
        what="connection",
    )


def events_for_user(
    *,
    user: AbstractBaseUser | AnonymousUser,
    connection: AtsConnection | None = None,
    status: str | None = None,
) -> QuerySet[InboundEvent]:
    """Newest first. Without raw bodies: reading a list never loads what the receiver kept."""
    events = InboundEvent.objects.select_related("connection", "connection__organization").defer(
        "raw_body"
    )
    if not acts_as_operator(user=user):
        events = events.filter(org_member_q(user=user, org_field="connection__organization"))
    if connection is not None:
        events = events.filter(connection=connection)
    if status is not None:
        events = events.filter(status=status)
    return events.order_by("-received_at", "-pk")


def event_get_for_user(*, user: AbstractBaseUser | AnonymousUser, public_id) -> InboundEvent:
    """Events are read-only to every surface: Http404 for another org's."""
    return row_get_for_user(
        readable=events_for_user(user=user),
        writable=None,
        public_id=public_id,
        write=False,
        what="event",
    )


# -- what "why didn't it fire?" reads ---------------------------------------------------------


@dataclass(frozen=True)
class AtsActivity:
    """An org's connections (health only, never secrets) and its newest events, each with only
    what may be shown to anyone who may see one automation of the org: type, provider, source,
    times, status, error and this automation's entry of the match list. Never the event's body
    or the canonical event (candidate data)."""

    connections: list[dict]
    events: list[dict]


def _entry_of(automation_pk: int) -> RawSQL:
    """This automation's entry of `matches`, picked in the database: an org with thousands of
    event automations has that many entries per event, and only one is wanted."""
    if db_connection.vendor == "postgresql":
        return RawSQL(
            "jsonb_path_query_first(webhooks_inboundevent.matches, "
            "'$[*] ? (@.automation == $a)', jsonb_build_object('a', %s::bigint))",
            [automation_pk],
            output_field=JSONField(),
        )
    return RawSQL(
        "(SELECT j.value FROM json_each(webhooks_inboundevent.matches) AS j "
        "WHERE json_extract(j.value, '$.automation') = %s LIMIT 1)",
        [automation_pk],
        output_field=JSONField(),
    )


def ats_activity_for_automation(
    *, org: Organization, automation_pk: int, since: datetime | None, limit: int = 50
) -> AtsActivity:
    """The org's connections and its `limit` newest events received since `since`, with the
    automation's match entry. Two queries. The caller has checked that the user may see the
    automation (automations.selectors.automation_get_for_user): that is what lets a member
    who owns it see why the org's events did not fire it, and why nothing here shows what
    the events say about candidates."""
    connections = list(
        AtsConnection.objects.filter(organization=org)
        .order_by("created_at", "pk")
        .values(
            "pk",
            "public_id",
            "name",
            "provider",
            "mode",
            "created_at",
            "last_event_at",
            "last_error",
            "last_error_at",
        )
    )
    if not connections:
        return AtsActivity(connections=[], events=[])
    events = InboundEvent.objects.filter(connection_id__in=[c["pk"] for c in connections])
    if since is not None:
        events = events.filter(received_at__gte=since)
    rows = list(
        events.annotate(type=KT("event__type"), entry=_entry_of(automation_pk))
        .order_by("-received_at", "-pk")
        .values(
            "public_id",
            "connection_id",
            "source",
            "raw_type",
            "type",
            "status",
            "error",
            "received_at",
            "processed_at",
            "entry",
        )[:limit]
    )
    by_pk = {c["pk"]: c for c in connections}
    for row in rows:
        connection = by_pk[row.pop("connection_id")]
        row["provider"] = connection["provider"]
        row["connection_name"] = connection["name"]
    return AtsActivity(connections=connections, events=rows)
