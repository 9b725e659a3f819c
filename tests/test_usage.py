"""Usage per org and local day (automations/usage.py): what an admin reads to see what the
org ran, delivered, received and spent, beside the plan's limits."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from automations.models import AutomationRun
from automations.usage import MAX_DAYS, usage_for_org, usage_for_viewer
from delivery.models import Delivery, DeliveryChannel
from tests.factories import automation
from webhooks.models import AtsConnection, InboundEvent, WebhookRefusal

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")  # the factories' org zone
# "Now" for every test: noon on 2026-03-20 in New York.
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=NY)
TODAY = NOW.date()


def _run(auto, *, at: datetime, status="completed", trigger="schedule", **fields):
    run = AutomationRun.objects.create(
        automation=auto,
        organization=auto.organization,
        status=status,
        triggered_by=trigger,
        idempotency_key=f"test:{uuid.uuid4()}",
        scheduled_for=at,
        **fields,
    )
    # created_at is auto_now_add: set the time the test means.
    AutomationRun.objects.filter(pk=run.pk).update(created_at=at)
    run.created_at = at
    return run


def _channel(org, owner, kind):
    return DeliveryChannel.objects.create(
        organization=org, owner=owner, kind=kind, name=f"{kind} {uuid.uuid4().hex[:6]}"
    )


def _connection(org):
    return AtsConnection.objects.create(organization=org, provider="greenhouse", name="GH")


def _event(connection, *, at: datetime, status="processed", source="webhook"):
    event = InboundEvent.objects.create(
        connection=connection, delivery_id=str(uuid.uuid4()), status=status, source=source
    )
    InboundEvent.objects.filter(pk=event.pk).update(received_at=at)


def _refusal(connection, *, at: datetime, status_code=401):
    refusal = WebhookRefusal.objects.create(
        connection=connection, status_code=status_code, reason="bad signature"
    )
    WebhookRefusal.objects.filter(pk=refusal.pk).update(received_at=at)


def _day(usage, day: date) -> dict:
    return next(d for d in usage["days"] if d["date"] == day.isoformat())


def test_counts_by_status_trigger_channel_and_day(org, owner):
    auto = automation(org=org, owner=owner)
    yesterday = NOW - timedelta(days=1)
    done = _run(auto, at=NOW, input_tokens=1000, output_tokens=200, cost_usd=Decimal("0.0125"))
    _run(auto, at=NOW, status="failed", trigger="event", cost_usd=Decimal("0.0025"))
    _run(auto, at=NOW, status="skipped", trigger="manual")
    old = _run(auto, at=yesterday, trigger="poll", input_tokens=5, output_tokens=7)
    email, slack = _channel(org, owner, "email"), _channel(org, owner, "slack")
    Delivery.objects.create(run=done, channel=email, status="sent", attempts=1)
    Delivery.objects.create(run=done, channel=slack, status="failed", attempts=3, permanent=True)
    Delivery.objects.create(run=old, channel=slack, status="sent", attempts=2)
    connection = _connection(org)
    _event(connection, at=NOW)
    _event(connection, at=NOW, status="ignored", source="poll")
    _event(connection, at=yesterday)
    _refusal(connection, at=NOW)
    _refusal(connection, at=NOW, status_code=413)

    usage = usage_for_org(org=org, start=TODAY - timedelta(days=2), end=TODAY, now=NOW)

    assert usage["scope"] == "organization"
    assert [d["date"] for d in usage["days"]] == ["2026-03-18", "2026-03-19", "2026-03-20"]
    today = _day(usage, TODAY)
    assert today["runs"]["total"] == 3
    assert today["runs"]["by_status"] == {
        "pending": 0,
        "running": 0,
        "completed": 1,
        "failed": 1,
        "skipped": 1,
        "cancelled": 0,
    }
    assert today["runs"]["by_trigger"]["schedule"] == 1
    assert today["runs"]["by_trigger"]["event"] == 1
    assert today["runs"]["by_trigger"]["manual"] == 1
    assert today["llm"] == {
        "input_tokens": 1000,
        "output_tokens": 200,
        "cache_write_tokens": 0,
        "cache_read_tokens": 0,
        "cost_usd": "0.015000",
    }
    assert today["deliveries"]["total"] == 2
    assert today["deliveries"]["attempts"] == 4
    assert today["deliveries"]["by_channel"]["email"]["by_outcome"]["sent"] == 1
    assert today["deliveries"]["by_channel"]["slack"]["by_outcome"]["failed"] == 1
    assert today["deliveries"]["by_channel"]["teams"]["total"] == 0
    assert today["webhooks"]["received"] == 2
    assert today["webhooks"]["by_source"] == {"webhook": 1, "poll": 1}
    assert today["webhooks"]["by_status"]["ignored"] == 1
    assert today["webhooks"]["refused"] == 2
    assert today["webhooks"]["refused_by_status"] == {"401": 1, "413": 1}

    day_before = _day(usage, TODAY - timedelta(days=1))
    assert day_before["runs"]["by_trigger"]["poll"] == 1
    assert day_before["deliveries"]["by_channel"]["slack"]["by_outcome"]["sent"] == 1
    assert day_before["webhooks"]["received"] == 1
    assert _day(usage, TODAY - timedelta(days=2))["runs"]["total"] == 0

    totals = usage["totals"]
    assert totals["runs"]["total"] == 4
    assert totals["deliveries"]["total"] == 3
    assert totals["webhooks"]["received"] == 3
    assert totals["llm"] == {
        "input_tokens": 1005,
        "output_tokens": 207,
        "cache_write_tokens": 0,
        "cache_read_tokens": 0,
        "cost_usd": "0.015000",
    }


def test_a_run_late_in_the_evening_counts_on_that_local_day(org, owner):
    auto = automation(org=org, owner=owner)
    # 23:30 in New York on the 19th is 03:30 UTC on the 20th.
    late = datetime(2026, 3, 19, 23, 30, tzinfo=NY)
    _run(auto, at=late)
    # 00:10 local on the 20th: the next local day.
    _run(auto, at=datetime(2026, 3, 20, 0, 10, tzinfo=NY))
    usage = usage_for_org(org=org, start=date(2026, 3, 19), end=date(2026, 3, 20), now=NOW)
    assert _day(usage, date(2026, 3, 19))["runs"]["total"] == 1
    assert _day(usage, date(2026, 3, 20))["runs"]["total"] == 1
    # Counted in UTC days instead, both land on the 20th.
    in_utc = usage_for_org(
        org=org, start=date(2026, 3, 19), end=date(2026, 3, 20), tz="UTC", now=NOW
    )
    assert _day(in_utc, date(2026, 3, 20))["runs"]["total"] == 2


def test_the_range_edges_are_local_midnights(org, owner):
    auto = automation(org=org, owner=owner)
    _run(auto, at=datetime(2026, 3, 19, 23, 59, tzinfo=NY))  # before the range
    _run(auto, at=datetime(2026, 3, 21, 0, 0, tzinfo=NY))  # after it
    _run(auto, at=datetime(2026, 3, 20, 0, 0, tzinfo=NY))  # inside
    usage = usage_for_org(org=org, start=TODAY, end=TODAY, now=NOW)
    assert usage["totals"]["runs"]["total"] == 1


def test_another_orgs_rows_never_count(org, owner, other_org, other_org_admin):
    theirs = automation(org=other_org, owner=other_org_admin)
    run = _run(theirs, at=NOW, cost_usd=Decimal("1.5"))
    Delivery.objects.create(run=run, channel=_channel(other_org, other_org_admin, "email"))
    _event(_connection(other_org), at=NOW)
    usage = usage_for_viewer(user=other_org_admin, org=other_org, start=TODAY, end=TODAY, now=NOW)
    assert usage["totals"]["runs"]["total"] == 1
    # Org A's admin view shows none of it.
    mine = usage_for_org(org=org, start=TODAY, end=TODAY, now=NOW)
    assert mine["totals"]["runs"]["total"] == 0
    assert mine["totals"]["deliveries"]["total"] == 0
    assert mine["totals"]["webhooks"]["received"] == 0
    assert mine["totals"]["llm"]["cost_usd"] == "0.000000"


def test_another_orgs_admin_is_refused(org, other_org_admin, outsider):
    for user in (other_org_admin, outsider):
        with pytest.raises(PermissionDenied):
            usage_for_viewer(user=user, org=org, start=TODAY, end=TODAY, now=NOW)


def test_a_member_sees_their_own_automations_only(org, owner, member, org_admin):
    _run(automation(org=org, owner=owner), at=NOW, cost_usd=Decimal("0.5"))
    _run(automation(org=org, owner=member, name="Theirs"), at=NOW, cost_usd=Decimal("0.25"))
    _event(_connection(org), at=NOW)

    personal = usage_for_viewer(user=member, org=org, start=TODAY, end=TODAY, now=NOW)
    assert personal["scope"] == "personal"
    assert personal["totals"]["runs"]["total"] == 1
    assert personal["totals"]["llm"]["cost_usd"] == "0.250000"
    # The org's inbound webhooks and its use of the limits are the admins' to see.
    assert personal["totals"]["webhooks"] is None
    assert all(limit["used"] is None for limit in personal["limits"])
    assert {limit["key"] for limit in personal["limits"]} >= {"max_runs_per_day"}

    whole = usage_for_viewer(user=org_admin, org=org, start=TODAY, end=TODAY, now=NOW)
    assert whole["scope"] == "organization"
    assert whole["totals"]["runs"]["total"] == 2
    assert whole["totals"]["webhooks"]["received"] == 1


def test_limits_beside_todays_use(org, owner):
    org.plan = "free"
    org.save(update_fields=["plan"])
    auto = automation(org=org, owner=owner, trigger_type="event", event_type="ats.candidate.hired")
    _run(auto, at=NOW - timedelta(seconds=20), trigger="event")
    _run(auto, at=NOW - timedelta(seconds=10), trigger="event", status="running")
    _run(auto, at=NOW - timedelta(minutes=5), trigger="event")
    _run(auto, at=NOW, status="skipped")  # held back: did not use the daily cap
    _run(auto, at=NOW - timedelta(days=1))  # yesterday
    limits = {
        limit["key"]: limit
        for limit in usage_for_org(org=org, start=TODAY, end=TODAY, now=NOW)["limits"]
    }
    assert limits["max_runs_per_day"] == {
        "key": "max_runs_per_day",
        "label": "Runs today",
        "limit": 500,
        "used": 3,
    }
    assert limits["max_active_automations"]["limit"] == 5
    assert limits["max_active_automations"]["used"] == 1
    assert limits["max_concurrent_runs"]["used"] == 1
    assert limits["max_events_per_minute"]["used"] == 2


def test_the_range_is_bounded():
    with pytest.raises(ValidationError):
        usage_for_org(org=None, start=TODAY, end=TODAY - timedelta(days=1))
    with pytest.raises(ValidationError):
        usage_for_org(org=None, start=TODAY - timedelta(days=MAX_DAYS), end=TODAY)
    # Dates whose local midnights would overflow in UTC are refused, not a 500.
    with pytest.raises(ValidationError):
        usage_for_org(org=None, start=date(9999, 12, 31), end=date(9999, 12, 31))


def _fill(org, owner, *, days: int) -> None:
    auto = automation(org=org, owner=owner, name=f"Busy {days}")
    channel = _channel(org, owner, "in_app")
    connection = _connection(org)
    for n in range(days):
        at = NOW - timedelta(days=n)
        for status, trigger in (("completed", "schedule"), ("failed", "event")):
            run = _run(auto, at=at, status=status, trigger=trigger, cost_usd=Decimal("0.01"))
            Delivery.objects.create(run=run, channel=channel, status="sent", attempts=1)
        _event(connection, at=at)
        _refusal(connection, at=at)


@pytest.mark.parametrize("days", [1, 30])
def test_query_count_does_not_grow_with_days_or_rows(days, org, owner, django_assert_num_queries):
    _fill(org, owner, days=days)
    start = TODAY - timedelta(days=29)
    # Runs, deliveries, events, refusals; active automations, runs today, running now, the
    # busiest automation's last minute.
    with django_assert_num_queries(8):
        usage = usage_for_org(org=org, start=start, end=TODAY, now=NOW)
    assert usage["totals"]["runs"]["total"] == 2 * days
    assert usage["totals"]["deliveries"]["by_outcome"]["sent"] == 2 * days
    assert usage["totals"]["webhooks"]["refused"] == days
