"""Reads of ATS connections and their events, each scoped to what the caller may see.

Members of an organization may view its connections and events; only its admins may change
them (write=True); superusers see and change everything. Anyone else gets Http404: a foreign
row looks like no row at all."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection as db_connection
from django.db.models import Count, F, Func, IntegerField, JSONField, OuterRef, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KT
from django.utils import timezone

from accounts.models import Organization
from accounts.selectors import acts_as_operator, org_admin_q, org_member_q, row_get_for_user
from webhooks.models import AtsConnection, InboundEvent, WebhookRefusal


def events_waiting() -> dict[str, int]:
    """For /metrics: stored events not yet processed, by status (both always present)."""
    waiting = [InboundEvent.Status.RECEIVED, InboundEvent.Status.PROCESSING]
    counts = dict(
        InboundEvent.objects.filter(status__in=waiting)
        .values_list("status")
        .annotate(count=Count("pk"))
        .values_list("status", "count")
    )
    return {str(status): counts.get(status, 0) for status in waiting}


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


# -- health: what an org admin sees of their connections (the dashboard's connection pages) ----

HEALTH_WINDOW = timedelta(hours=24)
COUNT_CAP = 10_000
WAITING = (InboundEvent.Status.RECEIVED, InboundEvent.Status.PROCESSING)
RECENT = 20


def connections_with_health_for_user(
    *, user: AbstractBaseUser | AnonymousUser, org: Organization
) -> QuerySet[AtsConnection]:
    """The org's connections the user may change (its admins'), each with its latest refused
    delivery (last_refusal_at, _status, _reason): one index probe per connection
    (refusal_conn_recent_idx), in the same query."""
    # Ordered as the index is (connection first, though it is fixed here): ordered by time
    # alone, PostgreSQL walks refusal_received_idx through every connection's rows instead.
    latest = WebhookRefusal.objects.filter(connection=OuterRef("pk")).order_by(
        "connection", "-received_at"
    )
    return (
        connections_for_user(user=user, write=True)
        .filter(organization=org)
        .defer("secrets", "stage_names")
        .annotate(
            last_refusal_at=Subquery(latest.values("received_at")[:1]),
            last_refusal_status=Subquery(latest.values("status_code")[:1]),
            last_refusal_reason=Subquery(latest.values("reason")[:1]),
        )
    )


@dataclass
class Deliveries:
    """One connection's last 24 h: stored webhook deliveries by processing status, changes
    found by polling, and refused deliveries by status code (as recorded: at most a few a
    minute per code, see webhooks/refusals.py)."""

    accepted: Counter = field(default_factory=Counter)
    polled: int = 0
    refused: Counter = field(default_factory=Counter)
    # More events than COUNT_CAP in the window: the event counts are of the latest only.
    capped: bool = False

    @property
    def accepted_total(self) -> int:
        return sum(self.accepted.values())

    @property
    def refused_total(self) -> int:
        return sum(self.refused.values())

    # Lists, not the Counters: a template's `counter.items` would look up the key "items".
    @property
    def accepted_by_status(self) -> list[tuple[str, int]]:
        """(how it went, count): "waiting" for events not processed yet."""
        shown: Counter = Counter()
        for status, n in self.accepted.items():
            shown["waiting" if status in WAITING else status] += n
        return sorted(shown.items())

    @property
    def refused_by_status(self) -> list[tuple[int, int]]:
        return sorted(self.refused.items())


def deliveries_last_day(
    *, connections: Sequence[AtsConnection], now: datetime | None = None
) -> dict[int, Deliveries]:
    """Per connection pk (of connections the caller already fetched for the user): two
    aggregate queries whatever the number of connections or rows, each bounded by the window
    (inbound_received_idx; refusal_conn_recent_idx)."""
    since = (now or timezone.now()) - HEALTH_WINDOW
    pks = [c.pk for c in connections]
    out = {pk: Deliveries() for pk in pks}
    if not pks:
        return out
    # Counted over the latest COUNT_CAP events of the window at most (a walk down
    # inbound_received_idx): a busy ATS sends ~100k a day, and counting them all costs more
    # than the page may. Over the cap the counts say "at least".
    latest = (
        InboundEvent.objects.filter(connection_id__in=pks, received_at__gte=since)
        .order_by("-received_at")
        .values_list("connection_id", "source", "status")[:COUNT_CAP]
    )
    # Grouped around the limited scan itself (the ORM cannot group a sliced query, and
    # `pk IN (limited subquery)` makes PostgreSQL scan the whole table for the join).
    inner, params = latest.query.sql_with_params()
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT connection_id, source, status, COUNT(*) "
            f"FROM ({inner}) AS recent GROUP BY connection_id, source, status",
            params,
        )
        events = cursor.fetchall()
    counted = 0
    for pk, source, status, n in events:
        counted += n
        if source == InboundEvent.Source.POLL:
            out[pk].polled += n
        else:
            out[pk].accepted[status] += n
    if counted >= COUNT_CAP:
        for deliveries in out.values():
            deliveries.capped = True
    refusals = (
        WebhookRefusal.objects.filter(connection_id__in=pks, received_at__gte=since)
        .values_list("connection_id", "status_code")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for pk, status_code, n in refusals:
        out[pk].refused[status_code] += n
    return out


def refusals_recent_for_user(
    *, user: AbstractBaseUser | AnonymousUser, connection: AtsConnection, limit: int = RECENT
) -> list[WebhookRefusal]:
    """The connection's latest refused deliveries, newest first; only for its org's admins."""
    refusals = WebhookRefusal.objects.filter(connection=connection)
    if not acts_as_operator(user=user):
        refusals = refusals.filter(org_admin_q(user=user, org_field="connection__organization"))
    return list(refusals.order_by("connection", "-received_at", "-pk")[:limit])


class _MatchCount(Func):
    """How many entries of an event's `matches` list fired a run (matched=True), counted in
    the database: the list has one entry per event automation of the org, far too much to
    load for a table of recent deliveries."""

    output_field = IntegerField()

    def __init__(self) -> None:
        super().__init__(F("matches"))

    def as_sql(self, compiler, connection, **extra):  # SQLite
        template = (
            "(SELECT count(*) FROM json_each(%(expressions)s) "
            "WHERE json_extract(value, '$.matched') = 1)"
        )
        return super().as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        template = (
            "(SELECT count(*) FROM jsonb_array_elements(CASE WHEN jsonb_typeof(%(expressions)s)"
            " = 'array' THEN %(expressions)s ELSE '[]'::jsonb END) AS m "
            "WHERE m->>'matched' = 'true')"
        )
        return super().as_sql(compiler, connection, template=template, **extra)


def events_recent_for_user(
    *, user: AbstractBaseUser | AnonymousUser, connection: AtsConnection, limit: int = RECENT
) -> list[InboundEvent]:
    """The connection's latest stored deliveries, newest first, with only what a table of
    them shows: type, times, status, source and how many automations they fired
    (`matched`). Never the body, the headers or the canonical event's candidate fields."""
    events = (
        events_for_user(user=user, connection=connection)
        .select_related(None)
        .only("public_id", "connection_id", "raw_type", "source", "status", "received_at")
        .annotate(event_type=KT("event__type"), matched=_MatchCount())
    )
    return list(events[:limit])
