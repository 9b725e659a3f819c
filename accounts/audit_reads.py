"""Reading the audit log: who may see which events, the filters, and keyset pages.

The log is an org's governance record: its admins see all of it (and superusers, who operate
every org); members see none of it, as issue 13 says "the dashboard (admins)". Every surface
(the dashboard's /audit/ page, the admin, the API) reads it through `audit_events_for_user`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from accounts.models import AuditEvent, Organization
from accounts.selectors import acts_as_operator, is_org_admin, org_admin_q

PAGE_SIZE = 50
# The "person" filter's value for changes made by the system (no actor).
SYSTEM_ACTOR = "system"


def audit_events_visible(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[AuditEvent]:
    """Every event the user may read, across their orgs: those of the orgs they administer
    (all of them for an operator). The admin's list is built on this."""
    if acts_as_operator(user=user):
        return AuditEvent.objects.all()
    return AuditEvent.objects.filter(org_admin_q(user=user))


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    # A user's pk (as text), or SYSTEM_ACTOR for the system's own changes.
    actor: str = ""
    target_type: str = ""
    target_id: str = ""
    since: datetime | None = None
    until: datetime | None = None


def audit_events_for_user(
    *,
    user: AbstractBaseUser | AnonymousUser,
    org: Organization,
    filters: AuditFilter | None = None,
) -> QuerySet[AuditEvent]:
    """The org's events the user may read, filtered: all of them for its admins (and
    operators), none for anyone else. Unordered; `audit_page` orders and pages them."""
    admin = user.is_authenticated and is_org_admin(user=user, org=org)
    if not (admin or acts_as_operator(user=user)):
        return AuditEvent.objects.none()
    events = AuditEvent.objects.filter(organization=org)
    f = filters or AuditFilter()
    if f.action:
        # "automation" matches every automation.* action; a full name matches itself.
        events = events.filter(
            Q(action=f.action) | Q(action__startswith=f"{f.action}.")
            if "." not in f.action
            else Q(action=f.action)
        )
    if f.actor == SYSTEM_ACTOR:
        events = events.filter(actor__isnull=True)
    elif f.actor:
        events = (
            events.filter(actor_id=int(f.actor))
            if f.actor.isdigit() and len(f.actor) < 18
            else events.none()
        )
    if f.target_type:
        events = events.filter(target_type=f.target_type)
    if f.target_id:
        events = events.filter(target_id=f.target_id)
    if f.since is not None:
        events = events.filter(created_at__gte=f.since)
    if f.until is not None:
        events = events.filter(created_at__lt=f.until)
    return events


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    # The sort key of the last event shown when there are more, else None.
    next_key: list | None


def audit_page(
    events: QuerySet[AuditEvent], *, after: list | None = None, size: int = PAGE_SIZE
) -> AuditPage:
    """One page of `events`, newest first, after the key [created_at ISO, id] of the previous
    page's last event (a keyset range on the org's (created_at, id) index, never an OFFSET)."""
    if after is not None:
        try:
            created = datetime.fromisoformat(str(after[0]))
            pk = int(after[1])
        except (IndexError, TypeError, ValueError):
            created = None
        if created is not None:
            events = events.filter(created_at__lte=created).exclude(created_at=created, pk__gte=pk)
    rows = list(events.select_related("actor").order_by("-created_at", "-pk")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    last = rows[-1] if rows else None
    key = [last.created_at.isoformat(), last.pk] if more and last is not None else None
    return AuditPage(rows, key)
