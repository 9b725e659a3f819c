"""Usage per org and local day: runs by status and trigger, deliveries by channel kind and
outcome, inbound webhook deliveries (and refusals), LLM tokens and cost, and the plan's limits
with what is used of each now. One read for the API, the admin's usage page and the
dashboard's tile and /usage/ page, so the three show the same numbers.

Each call makes a fixed handful of GROUP BY queries (one per kind of row plus one per limit),
whatever the number of days or rows: the buckets are filled in Python from the grouped rows.

Days are the org's local calendar days (`Organization.time_zone`), bucketed in the database
(`TruncDate(..., tzinfo=)`, on PostgreSQL and SQLite alike), so a run at 23:30 local time
counts on that local day whatever its UTC date.

What counts on a day:
- a run on the local day it was created (fired), whatever happened to it later; a relative
  run created ahead of its time counts on the day it was created;
- a delivery on its run's day (the day's runs and what they delivered; this is also what the
  index on runs serves: deliveries have no org column of their own);
- an inbound event on the day it was received; a refusal likewise (refusals are kept only
  for the retention period, so older days show none);
- tokens and cost on their run's day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Organization
from accounts.plans import limits_for
from accounts.selectors import acts_as_operator, is_org_admin, membership_get
from automations.models import AutomationRun
from automations.selectors import active_automation_count
from delivery.models import Delivery, DeliveryChannel
from webhooks.models import InboundEvent, WebhookRefusal

# The longest range one call reads: a quarter. Longer asks are refused, not truncated, so a
# total never silently covers less than the caller asked for.
MAX_DAYS = 92

_EARLIEST, _LATEST = 2000, 2999

SCOPE_ORG = "organization"
SCOPE_PERSONAL = "personal"

RUN_STATUSES = tuple(AutomationRun.Status.values)
RUN_TRIGGERS = tuple(AutomationRun.TriggeredBy.values)
CHANNEL_KINDS = tuple(DeliveryChannel.Kind.values)
DELIVERY_OUTCOMES = tuple(Delivery.Status.values)
EVENT_SOURCES = tuple(InboundEvent.Source.values)
EVENT_STATUSES = tuple(InboundEvent.Status.values)
# Runs that used the daily cap: a run held back (skipped) or cancelled before it ran did not.
_USED_A_RUN = ~Q(status__in=[AutomationRun.Status.SKIPPED, AutomationRun.Status.CANCELLED])


def usage_range_check(*, start: date, end: date) -> None:
    """ValidationError unless start <= end and the range is at most MAX_DAYS days."""
    if not isinstance(start, date) or not isinstance(end, date):
        raise ValidationError("Give the range as two dates.", code="invalid")
    if start.year < _EARLIEST or end.year > _LATEST:
        # Far dates would overflow turning local midnights into UTC; no usage is there.
        raise ValidationError(f"Give dates between {_EARLIEST} and {_LATEST}.", code="invalid")
    if end < start:
        raise ValidationError("The range ends before it starts.", code="invalid")
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationError(f"Ask for at most {MAX_DAYS} days at a time.", code="range_too_long")


def local_today(*, org: Organization, now: datetime | None = None) -> date:
    """Today's date in the org's time zone."""
    return (now or timezone.now()).astimezone(ZoneInfo(org.time_zone)).date()


def usage_for_viewer(
    *,
    user: AbstractBaseUser | AnonymousUser,
    org: Organization,
    start: date,
    end: date,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Usage as `user` may see it: the whole org's for its admins (and superusers, who operate
    every org), a personal view for a plain member (the runs of their own automations, what
    those delivered and cost; no inbound webhooks, which belong to the org's connections, and
    the plan's limits without the org's use of them), PermissionDenied for anyone else.

    Members get a personal view rather than a refusal: a recruiter's own LLM cost and failed
    deliveries are theirs to watch, and it shows exactly the runs `runs_for_user` already
    shows them, nothing of their colleagues'."""
    if acts_as_operator(user=user) or is_org_admin(user=user, org=org):
        return usage_for_org(org=org, start=start, end=end, now=now)
    if user.is_authenticated and user.is_active and membership_get(user=user, org=org):
        return usage_for_org(org=org, start=start, end=end, owner=user, now=now)
    raise PermissionDenied(f"Only members of {org.name} can see its usage.")


def usage_for_org(
    *,
    org: Organization,
    start: date,
    end: date,
    tz: ZoneInfo | str | None = None,
    owner: AbstractBaseUser | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The org's usage from `start` to `end` (local dates, both included, at most MAX_DAYS),
    as plain JSON-ready data. Not access-checked: callers that serve a user go through
    `usage_for_viewer`. `tz`: the zone whose days are counted (default the org's).
    `owner`: only the runs of that user's automations (the personal view).

    Returns::

        {
          "organization": {"public_id": "<uuid>", "name": "...", "plan": "free"},
          "scope": "organization" | "personal",
          "time_zone": "Europe/Paris",
          "start": "2026-11-03", "end": "2026-12-02",      # ISO dates
          "days": [                                        # every day, oldest first
            {"date": "2026-11-03", ...one "bucket"...},
          ],
          "totals": {...one "bucket" over the whole range...},
          "limits": [
            {"key": "max_runs_per_day", "label": "Runs today", "limit": 500, "used": 12},
            ...                                            # limit None: unlimited;
          ],                                               # used None: not shown (personal)
        }

    where a bucket is::

        {
          "runs": {"total": 7,
                   "by_status": {"pending": 0, "running": 0, "completed": 5, "failed": 1,
                                 "skipped": 1, "cancelled": 0},
                   "by_trigger": {"schedule": 4, "event": 2, "poll": 0, "relative": 0,
                                  "manual": 1, "test": 0}},
          "deliveries": {"total": 6, "attempts": 7,
                         "by_outcome": {"pending": 0, "attempting": 0, "sent": 5,
                                        "failed": 1, "uncertain": 0},
                         "by_channel": {"email": {"total": 3, "by_outcome": {...}}, ...}},
          "webhooks": {"received": 9,                      # None in the personal view
                       "by_source": {"webhook": 8, "poll": 1},
                       "by_status": {"received": 0, "processing": 0, "processed": 8, ...},
                       "refused": 2, "refused_by_status": {"401": 2}},
          "llm": {"input_tokens": 1200, "output_tokens": 300, "cache_write_tokens": 0,
                  "cache_read_tokens": 0, "cost_usd": "0.012000"},
        }

    Every status, trigger, channel kind and outcome is present (zero when none), so tables and
    API clients need no defaults. cost_usd is a decimal string (no float rounding)."""
    usage_range_check(start=start, end=end)
    zone = ZoneInfo(tz) if isinstance(tz, str) else (tz or ZoneInfo(org.time_zone))
    now = now or timezone.now()
    since = datetime.combine(start, time.min, tzinfo=zone)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    personal = owner is not None

    buckets = {day: _bucket(personal=personal) for day in days}
    totals = _bucket(personal=personal)

    # Served by run_org_recent_idx (organization, -created_at, -id): a range of one org's
    # runs, grouped.
    runs = AutomationRun.objects.filter(
        organization=org, created_at__gte=since, created_at__lt=until
    )
    if personal:
        runs = runs.filter(automation__owner=owner)
    run_rows = (
        runs.annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day", "status", "triggered_by")
        .annotate(
            n=Count("pk"),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
            cache_write_tokens=Sum("cache_write_tokens"),
            cache_read_tokens=Sum("cache_read_tokens"),
            cost=Sum("cost_usd"),
        )
        .order_by()
    )
    for row in run_rows:
        for bucket in _targets(buckets, totals, row["day"]):
            _add_runs(bucket, row)

    # Deliveries of those same runs (the unique (run, channel) index joins them).
    deliveries = Delivery.objects.filter(
        run__organization=org, run__created_at__gte=since, run__created_at__lt=until
    )
    if personal:
        deliveries = deliveries.filter(run__automation__owner=owner)
    delivery_rows = (
        deliveries.annotate(day=TruncDate("run__created_at", tzinfo=zone))
        .values("day", "channel__kind", "status")
        .annotate(n=Count("pk"), attempts=Sum("attempts"))
        .order_by()
    )
    for row in delivery_rows:
        for bucket in _targets(buckets, totals, row["day"]):
            _add_delivery(bucket, row)

    if not personal:
        # Served by inbound_connection_received_idx (connection, received_at), per connection.
        event_rows = (
            InboundEvent.objects.filter(
                connection__organization=org, received_at__gte=since, received_at__lt=until
            )
            .annotate(day=TruncDate("received_at", tzinfo=zone))
            .values("day", "source", "status")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for row in event_rows:
            for bucket in _targets(buckets, totals, row["day"]):
                _add_event(bucket, row)
        # Served by refusal_conn_recent_idx (connection, -received_at).
        refusal_rows = (
            WebhookRefusal.objects.filter(
                connection__organization=org, received_at__gte=since, received_at__lt=until
            )
            .annotate(day=TruncDate("received_at", tzinfo=zone))
            .values("day", "status_code")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for row in refusal_rows:
            for bucket in _targets(buckets, totals, row["day"]):
                _add_refusal(bucket, row)

    return {
        "organization": {"public_id": str(org.public_id), "name": org.name, "plan": org.plan},
        "scope": SCOPE_PERSONAL if personal else SCOPE_ORG,
        "time_zone": str(zone.key),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "days": [{"date": day.isoformat(), **_finish(buckets[day])} for day in days],
        "totals": _finish(totals),
        "limits": plan_limits_in_use(org=org, now=now, zone=zone, with_use=not personal),
    }


def plan_limits_in_use(
    *, org: Organization, now: datetime, zone: ZoneInfo, with_use: bool = True
) -> list[dict[str, Any]]:
    """The plan's limits, each with what the org uses of it now (`with_use=False`: the limits
    only). One query per limit shown with its use.

    - active automations: those active now;
    - runs today: runs created since local midnight that were not held back (skipped) or
      cancelled;
    - concurrent runs: runs running now;
    - matching events a minute: the most event-triggered runs any one automation got in the
      last minute (the storm guard's measure, as near as the runs show it)."""
    limits = limits_for(org)
    used: dict[str, int | None] = dict.fromkeys(
        (
            "max_active_automations",
            "max_runs_per_day",
            "max_concurrent_runs",
            "max_events_per_minute",
        )
    )
    if with_use:
        midnight = datetime.combine(now.astimezone(zone).date(), time.min, tzinfo=zone)
        used["max_active_automations"] = active_automation_count(org=org)
        # run_org_recent_idx: today's slice of the org's runs.
        used["max_runs_per_day"] = AutomationRun.objects.filter(
            _USED_A_RUN, organization=org, created_at__gte=midnight
        ).count()
        # run_org_status_recent_idx (organization, status, ...).
        used["max_concurrent_runs"] = AutomationRun.objects.filter(
            organization=org, status=AutomationRun.Status.RUNNING
        ).count()
        # run_org_trigger_recent_idx (organization, triggered_by, -created_at, ...).
        busiest = (
            AutomationRun.objects.filter(
                organization=org,
                triggered_by=AutomationRun.TriggeredBy.EVENT,
                created_at__gte=now - timedelta(minutes=1),
            )
            .values("automation")
            .annotate(n=Count("pk"))
            .order_by("-n")
            .values_list("n", flat=True)
            .first()
        )
        used["max_events_per_minute"] = busiest or 0
    return [
        {
            "key": "max_active_automations",
            "label": "Active automations",
            "limit": limits.max_active_automations,
            "used": used["max_active_automations"],
        },
        {
            "key": "max_runs_per_day",
            "label": "Runs today",
            "limit": limits.max_runs_per_day,
            "used": used["max_runs_per_day"],
        },
        {
            "key": "max_concurrent_runs",
            "label": "Runs at once",
            "limit": limits.max_concurrent_runs,
            "used": used["max_concurrent_runs"],
        },
        {
            "key": "max_events_per_minute",
            "label": "Matching events a minute (one automation)",
            "limit": limits.max_events_per_minute,
            "used": used["max_events_per_minute"],
        },
    ]


# -- buckets ----------------------------------------------------------------------------------


def _bucket(*, personal: bool) -> dict[str, Any]:
    return {
        "runs": {
            "total": 0,
            "by_status": dict.fromkeys(RUN_STATUSES, 0),
            "by_trigger": dict.fromkeys(RUN_TRIGGERS, 0),
        },
        "deliveries": {
            "total": 0,
            "attempts": 0,
            "by_outcome": dict.fromkeys(DELIVERY_OUTCOMES, 0),
            "by_channel": {
                kind: {"total": 0, "by_outcome": dict.fromkeys(DELIVERY_OUTCOMES, 0)}
                for kind in CHANNEL_KINDS
            },
        },
        "webhooks": None
        if personal
        else {
            "received": 0,
            "by_source": dict.fromkeys(EVENT_SOURCES, 0),
            "by_status": dict.fromkeys(EVENT_STATUSES, 0),
            "refused": 0,
            "refused_by_status": {},
        },
        "llm": {
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_write_tokens": 0,
            "cache_read_tokens": 0,
            "cost_usd": Decimal(0),
        },
    }


def _targets(buckets: dict, totals: dict, day: date | None) -> Iterable[dict]:
    bucket = buckets.get(day)
    # A row can only fall outside the days at a zone edge the database and Python disagree
    # on; it still counts in the totals rather than vanishing.
    return (totals,) if bucket is None else (bucket, totals)


def _inc(counts: dict, key: str, n: int) -> None:
    counts[key] = counts.get(key, 0) + n


def _add_runs(bucket: dict, row: dict) -> None:
    runs, n = bucket["runs"], row["n"]
    runs["total"] += n
    _inc(runs["by_status"], row["status"], n)
    _inc(runs["by_trigger"], row["triggered_by"], n)
    llm = bucket["llm"]
    llm["input_tokens"] += row["input_tokens"] or 0
    llm["output_tokens"] += row["output_tokens"] or 0
    llm["cache_write_tokens"] += row["cache_write_tokens"] or 0
    llm["cache_read_tokens"] += row["cache_read_tokens"] or 0
    llm["cost_usd"] += Decimal(row["cost"] or 0)


def _add_delivery(bucket: dict, row: dict) -> None:
    deliveries, n = bucket["deliveries"], row["n"]
    deliveries["total"] += n
    deliveries["attempts"] += row["attempts"] or 0
    _inc(deliveries["by_outcome"], row["status"], n)
    channel = deliveries["by_channel"].setdefault(
        row["channel__kind"], {"total": 0, "by_outcome": dict.fromkeys(DELIVERY_OUTCOMES, 0)}
    )
    channel["total"] += n
    _inc(channel["by_outcome"], row["status"], n)


def _add_event(bucket: dict, row: dict) -> None:
    webhooks, n = bucket["webhooks"], row["n"]
    webhooks["received"] += n
    _inc(webhooks["by_source"], row["source"], n)
    _inc(webhooks["by_status"], row["status"], n)


def _add_refusal(bucket: dict, row: dict) -> None:
    webhooks, n = bucket["webhooks"], row["n"]
    webhooks["refused"] += n
    _inc(webhooks["refused_by_status"], str(row["status_code"]), n)


def _finish(bucket: dict) -> dict:
    # Decimal to a fixed-point string: JSON-ready, and no float rounding of money.
    llm = bucket["llm"]
    llm["cost_usd"] = f"{llm['cost_usd'].quantize(Decimal('0.000001')):f}"
    return bucket
