"""The scheduler's tick: claims, one run per slot, catch-up, batching, concurrency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection, connections
from django.utils import timezone

from automations import services
from automations.models import Automation, AutomationRun
from automations.scheduling.beat import AutomationScheduler
from automations.scheduling.due import automations_fire_due, seconds_until_next_due
from tests.factories import OrganizationFactory, automation, member

T0 = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # Monday 09:00 in Los Angeles


def weekly(**kwargs) -> Automation:
    kwargs.setdefault("cron_expression", "0 9 * * 1")
    kwargs.setdefault("time_zone", "America/Los_Angeles")
    return automation(**kwargs)


def runs(auto: Automation):
    return list(AutomationRun.objects.filter(automation=auto).order_by("scheduled_for"))


@pytest.mark.django_db
def test_due_automation_fires_once_per_slot_and_advances():
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        auto = weekly()
    assert auto.next_run_at == T0
    with time_machine.travel(T0 + timedelta(seconds=2), tick=False):
        stats = automations_fire_due()
        assert stats.fired == 1
        assert automations_fire_due().fired == 0  # a second tick finds nothing due
    (run,) = runs(auto)
    assert run.idempotency_key == "cron:2026-11-23T17:00:00Z"
    assert run.scheduled_for == T0 and run.status == "pending" and run.triggered_by == "schedule"
    auto.refresh_from_db()
    assert auto.next_run_at == T0 + timedelta(days=7)


@pytest.mark.django_db
def test_nothing_fires_before_its_time_or_when_paused():
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        auto = weekly()
        paused = weekly(name="paused")
        services.automation_pause(automation=paused, by=paused.owner)
    with time_machine.travel(T0 - timedelta(seconds=1), tick=False):
        assert automations_fire_due().fired == 0
    with time_machine.travel(T0, tick=False):
        assert automations_fire_due().fired == 1
    assert runs(paused) == [] and len(runs(auto)) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("policy", "fired", "skipped"),
    [
        ("latest", ["2026-12-14"], ["2026-11-23", "2026-11-30", "2026-12-07"]),
        ("skip", [], ["2026-11-23", "2026-11-30", "2026-12-07", "2026-12-14"]),
        ("all", ["2026-11-23", "2026-11-30", "2026-12-07", "2026-12-14"], []),
    ],
)
def test_catch_up_after_downtime_follows_the_policy(policy, fired, skipped):
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        auto = weekly(catch_up=policy)
    # The scheduler was down for three weeks and comes back an hour after the 4th slot.
    back = datetime(2026, 12, 14, 18, 0, tzinfo=UTC)
    with time_machine.travel(back, tick=False):
        automations_fire_due()
    by_status: dict[str, list[str]] = {"pending": [], "skipped": []}
    for run in runs(auto):
        if run.status == "pending":
            by_status["pending"].append(run.scheduled_for.date().isoformat())
    # The missed slots are one summary run, not one row each.
    summaries = [r for r in runs(auto) if r.status == "skipped"]
    if skipped:
        (summary,) = summaries
        assert summary.error_code == "missed" and policy in summary.error_message
        assert summary.missed_count == len(skipped)
        assert summary.missed_from.date().isoformat() == skipped[0]
        assert summary.missed_to.date().isoformat() == skipped[-1]
    else:
        assert summaries == []
    assert by_status["pending"] == fired
    auto.refresh_from_db()
    assert auto.next_run_at == datetime(2026, 12, 21, 17, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_slot_a_little_late_still_fires_normally():
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        auto = weekly(catch_up="skip")
    with time_machine.travel(T0 + timedelta(minutes=4), tick=False):
        automations_fire_due()
    assert [r.status for r in runs(auto)] == ["pending"]


@pytest.mark.django_db
def test_batches_cover_every_due_row(settings):
    org = OrganizationFactory()
    owner = member(org)
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        autos = [weekly(org=org, owner=owner, name=f"a{i}") for i in range(7)]
    with time_machine.travel(T0, tick=False):
        stats = automations_fire_due(batch_size=3)
    assert stats.fired == 7 and stats.batches == 3 and not stats.more_due
    assert all(len(runs(a)) == 1 for a in autos)


@pytest.mark.django_db
def test_a_batch_of_exactly_the_batch_size_looks_again_and_stops():
    org = OrganizationFactory()
    owner = member(org)
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        for i in range(3):
            weekly(org=org, owner=owner, name=f"a{i}")
    with time_machine.travel(T0, tick=False):
        stats = automations_fire_due(batch_size=3)
    assert stats.fired == 3 and stats.batches == 2


@pytest.mark.django_db
def test_an_edit_takes_effect_at_the_next_tick():
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        auto = weekly()
        services.automation_update(automation=auto, by=auto.owner, cron_expression="30 8 * * 1")
    with time_machine.travel(T0 - timedelta(minutes=30), tick=False):
        assert automations_fire_due().fired == 1
    assert runs(auto)[0].scheduled_for == T0 - timedelta(minutes=30)


@pytest.mark.django_db
def test_a_broken_row_does_not_stop_the_others():
    org = OrganizationFactory()
    owner = member(org)
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        broken = weekly(org=org, owner=owner, name="broken")
        fine = weekly(org=org, owner=owner, name="fine")
    Automation.objects.filter(pk=broken.pk).update(time_zone="Not/AZone")
    with time_machine.travel(T0, tick=False):
        automations_fire_due()
    broken.refresh_from_db()
    assert runs(broken) == [] and broken.next_run_at == T0 + timedelta(hours=1)
    assert len(runs(fine)) == 1


@pytest.mark.django_db
def test_seconds_until_next_due():
    with time_machine.travel(T0 - timedelta(seconds=90), tick=False):
        weekly()
        assert seconds_until_next_due(now=timezone.now()) == 90


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_ticking_at_once_create_one_run_per_slot():
    org = OrganizationFactory()
    owner = member(org)
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        autos = [weekly(org=org, owner=owner, name=f"a{i}") for i in range(40)]
    barrier = threading.Barrier(2)
    results, errors = [], []

    def beat():
        try:
            barrier.wait()
            results.append(automations_fire_due(now=T0 + timedelta(seconds=1), batch_size=7))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sum(r.fired for r in results) == 40
    assert AutomationRun.objects.count() == 40
    assert all(len(runs(a)) == 1 for a in autos)
    if connection.vendor == "postgresql":
        # SKIP LOCKED: both schedulers did part of the herd.
        assert all(r.fired > 0 for r in results), results


@pytest.mark.django_db(transaction=True)
def test_automation_scheduler_tick_fires_and_sends(celery_queue):
    from config.celery import app

    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        auto = weekly()
    scheduler = AutomationScheduler(app=app)
    # Its own schedule holds only the system tasks, never the automations' records.
    names = set(scheduler.schedule)
    assert "runs-sweep-pending" in names
    assert not any(name.startswith("automation:") for name in names)
    with time_machine.travel(T0 + timedelta(seconds=1), tick=True):
        interval = scheduler.tick()
    (run,) = runs(auto)
    assert run.dispatched_at is not None
    assert 0 <= interval <= scheduler.max_interval
