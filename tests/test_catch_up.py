"""Catch-up after downtime of any length: `latest` fires the newest due slot, `all` the newest
CATCH_UP_ALL_MAX, `skip` none that is missed; the missed slots become one summary run with
their count and span, however many there are, and planning never walks them one by one."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from automations.models import Automation, AutomationRun
from automations.scheduling import cron
from automations.scheduling.due import automations_fire_due, fire_batch
from automations.scheduling.slots import CATCH_UP_ALL_MAX, plan_slots
from tests.factories import automation

GRACE = timedelta(minutes=5)
NOW = datetime(2026, 11, 23, 17, 0, 30, tzinfo=UTC)  # 30 s after a minute slot


def runs(auto: Automation) -> list[AutomationRun]:
    return list(AutomationRun.objects.filter(automation=auto).order_by("scheduled_for"))


def down_since(auto: Automation, since: datetime) -> None:
    Automation.objects.filter(pk=auto.pk).update(next_run_at=since)


@pytest.mark.django_db
def test_minute_schedule_down_a_week_latest_fires_the_newest_slot_once():
    auto = automation(cron_expression="* * * * *", time_zone="Europe/Berlin", catch_up="latest")
    since = datetime(2026, 11, 16, 17, 0, tzinfo=UTC)
    down_since(auto, since)
    with time_machine.travel(NOW, tick=False):
        started = time.perf_counter()
        stats = automations_fire_due()
        elapsed = time.perf_counter() - started
    newest = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    pending = [r for r in runs(auto) if r.status == "pending"]
    assert [r.scheduled_for for r in pending] == [newest]
    assert pending[0].idempotency_key == "cron:2026-11-23T17:00:00Z"
    (summary,) = [r for r in runs(auto) if r.status == "skipped"]
    assert len(runs(auto)) == 2  # not thousands of rows
    assert summary.error_code == "missed"
    assert summary.missed_count == 7 * 24 * 60  # every due slot but the one that fired
    assert summary.missed_from == since
    assert summary.missed_to == newest - timedelta(minutes=1)
    assert "10080 slots missed" in summary.error_message and "'latest'" in summary.error_message
    assert stats.fired == 1 and stats.missed == 7 * 24 * 60
    auto.refresh_from_db()
    assert auto.next_run_at == newest + timedelta(minutes=1)
    assert elapsed < 2


@pytest.mark.django_db
def test_all_fires_the_newest_slots_in_order_and_counts_the_rest():
    auto = automation(cron_expression="* * * * *", time_zone="UTC", catch_up="all")
    down_since(auto, datetime(2026, 11, 16, 17, 0, tzinfo=UTC))
    with time_machine.travel(NOW, tick=False):
        automations_fire_due()
    newest = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    pending = [r.scheduled_for for r in runs(auto) if r.status == "pending"]
    assert pending == [newest - timedelta(minutes=i) for i in reversed(range(CATCH_UP_ALL_MAX))]
    (summary,) = [r for r in runs(auto) if r.status == "skipped"]
    assert summary.missed_count == 7 * 24 * 60 + 1 - CATCH_UP_ALL_MAX
    assert summary.missed_to == newest - timedelta(minutes=CATCH_UP_ALL_MAX)


@pytest.mark.django_db
def test_skip_after_downtime_fires_nothing_and_counts_every_slot():
    auto = automation(cron_expression="0 * * * *", time_zone="America/New_York", catch_up="skip")
    since = datetime(2026, 10, 1, 0, 0, tzinfo=UTC)
    down_since(auto, since)
    back = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)  # half an hour after the last slot
    with time_machine.travel(back, tick=False):
        automations_fire_due()
    (summary,) = runs(auto)
    # Every real hour from Oct 1 00:00 to Nov 23 17:00 UTC (the fall-back day included).
    assert summary.status == "skipped"
    assert summary.missed_count == (back - since) // timedelta(hours=1) + 1
    assert summary.missed_to == datetime(2026, 11, 23, 17, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_poll_every_minute_down_a_month_fires_the_newest_poll_slot():
    auto = automation(trigger_type="poll", poll_interval_seconds=60, catch_up="latest")
    since = datetime(2026, 10, 23, 17, 0, 10, tzinfo=UTC)
    down_since(auto, since)
    with time_machine.travel(NOW, tick=False):
        automations_fire_due()
    slots = (NOW - since) // timedelta(seconds=60) + 1
    newest = since + (slots - 1) * timedelta(seconds=60)
    pending = [r for r in runs(auto) if r.status == "pending"]
    assert [r.idempotency_key for r in pending] == [f"poll:{newest:%Y-%m-%dT%H:%M:%SZ}"]
    (summary,) = [r for r in runs(auto) if r.status == "skipped"]
    assert summary.missed_count == slots - 1 and summary.missed_from == since
    auto.refresh_from_db()
    assert auto.next_run_at == newest + timedelta(seconds=60)


@pytest.mark.django_db
def test_a_spell_planned_twice_is_recorded_once():
    """A second scheduler that planned from the same next_run_at inserts the same keys."""
    auto = automation(cron_expression="*/5 * * * *", time_zone="UTC", catch_up="latest")
    since = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    for _ in range(2):
        down_since(auto, since)
        with time_machine.travel(NOW, tick=False):
            fire_batch(now=NOW, batch_size=10, grace=GRACE)
    assert sorted(r.status for r in runs(auto)) == ["pending", "skipped"]


def brute_force(auto: Automation, now: datetime) -> list[datetime]:
    """Every due slot, walked one by one (only for short spans)."""
    slots = [auto.next_run_at]
    if auto.trigger_type == Automation.TriggerType.POLL:
        step = timedelta(seconds=auto.poll_interval_seconds)
        while slots[-1] + step <= now:
            slots.append(slots[-1] + step)
        return slots
    for fire in cron.iter_fires(auto.cron_expression, auto.time_zone, auto.next_run_at):
        if fire > now:
            break
        slots.append(fire)
    return slots


EXPRESSIONS = [
    "* * * * *",
    "*/7 * * * *",
    "30 1 * * *",
    "0 2 * * *",
    "15 */2 * * *",
    "0 9 * * 1-5",
    "0 0 L * *",
    "0 12 * * 5#2",
    "5 1,2,3 * * *",
    "*/15 0-3 * * 0",
    "0 9 1 * 1",
]
ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kolkata",
]


@pytest.mark.parametrize("seed", range(6))
def test_the_plan_matches_walking_every_slot(seed):
    """Jumping and counting give exactly what a slot-by-slot walk gives, across DST changes,
    for every policy."""
    rnd = random.Random(seed)
    for _ in range(40):
        expression = rnd.choice(EXPRESSIONS)
        zone = rnd.choice(ZONES)
        start = datetime(2026, rnd.choice([3, 4, 9, 10, 11]), rnd.randint(1, 28), tzinfo=UTC)
        first = cron.next_fire(expression, zone, start + timedelta(minutes=rnd.randint(0, 1440)))
        span_days = 5 if expression.startswith("*") else 40
        now = first + timedelta(
            minutes=rnd.randint(0, span_days * 1440), seconds=rnd.randint(0, 59)
        )
        policy = rnd.choice(["latest", "all", "skip"])
        auto = Automation(
            trigger_type="cron",
            cron_expression=expression,
            time_zone=zone,
            catch_up=policy,
            next_run_at=first,
        )
        due = brute_force(auto, now)
        plan = plan_slots(auto, now=now, grace=GRACE)
        label = (expression, zone, first, now, policy)
        if policy == "all":
            assert plan.fire == due[-CATCH_UP_ALL_MAX:], label
        elif policy == "latest":
            assert plan.fire == due[-1:], label
        else:
            assert plan.fire == ([due[-1]] if now - due[-1] <= GRACE else []), label
        assert plan.missed_count == len(due) - len(plan.fire), label
        if plan.missed_count:
            assert plan.missed_from == due[0], label
            assert plan.missed_to == due[len(due) - len(plan.fire) - 1], label
        assert plan.next_run_at == cron.next_fire(expression, zone, due[-1]), label


@pytest.mark.parametrize(
    ("expression", "zone", "days"),
    [("* * * * *", "Europe/London", 2 * 365), ("*/2 * * * *", "America/Santiago", 365)],
)
def test_years_of_downtime_are_planned_quickly(expression, zone, days):
    now = datetime(2026, 11, 23, 17, 0, 30, tzinfo=UTC)
    auto = Automation(
        trigger_type="cron",
        cron_expression=expression,
        time_zone=zone,
        catch_up="latest",
        next_run_at=cron.next_fire(expression, zone, now - timedelta(days=days)),
    )
    started = time.perf_counter()
    plan = plan_slots(auto, now=now, grace=GRACE)
    assert time.perf_counter() - started < 2
    assert plan.fire == [datetime(2026, 11, 23, 17, 0, tzinfo=UTC)]
    assert plan.missed_count > days * 700
