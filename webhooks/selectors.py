"""Reads of ATS connections and their events, each scoped to what the caller may see.

Members of an organization may view its connections and events; only its admins may change
them (write=True); superusers see and change everything. Anyone else gets Http404: a foreign
row looks like no row at all."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from accounts.selectors import admin_organizations_for_user, organizations_for_user
from webhooks.models import AtsConnection, InboundEvent


def _org_ids(user: AbstractBaseUser | AnonymousUser, *, write: bool) -> QuerySet:
    orgs = admin_organizations_for_user(user=user) if write else organizations_for_user(user=user)
    return orgs.values("pk")


def _sees_all(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def connections_for_user(
    *, user: AbstractBaseUser | AnonymousUser, write: bool = False
) -> QuerySet[AtsConnection]:
    connections = AtsConnection.objects.select_related("organization")
    if not _sees_all(user):
        connections = connections.filter(organization__in=_org_ids(user, write=write))
    return connections.order_by("organization__name", "name", "pk")


def connection_get_for_user(
    *, user: AbstractBaseUser | AnonymousUser, public_id, write: bool = False
) -> AtsConnection:
    try:
        found = connections_for_user(user=user, write=write).filter(public_id=public_id).first()
    except (ValueError, TypeError, ValidationError):  # not a UUID
        found = None
    if found is None:
        raise Http404("No such connection.")
    return found


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
    if not _sees_all(user):
        events = events.filter(connection__organization__in=_org_ids(user, write=False))
    if connection is not None:
        events = events.filter(connection=connection)
    if status is not None:
        events = events.filter(status=status)
    return events.order_by("-received_at", "-pk")


def event_get_for_user(*, user: AbstractBaseUser | AnonymousUser, public_id) -> InboundEvent:
    try:
        found = events_for_user(user=user).filter(public_id=public_id).first()
    except (ValueError, TypeError, ValidationError):
        found = None
    if found is None:
        raise Http404("No such event.")
    return found
