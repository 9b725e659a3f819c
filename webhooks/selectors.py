"""Reads of ATS connections and their events, each scoped to what the caller may see.

Members of an organization may view its connections and events; only its admins may change
them (write=True); superusers see and change everything. Anyone else gets Http404: a foreign
row looks like no row at all."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

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
