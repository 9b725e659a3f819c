"""A wall clock that steps (NTP, a resumed VM): whatever waits for a time written before the
step must not wait until the clock catches up. The fault suite steps a whole stack's clock
(tests/faults/test_faults.py, test_clock_jumps_forward_then_back); these are the rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from automations.maintenance import runs_sweep_pending
from automations.ops.heartbeats import lease_take
from automations.scheduling.beat import AutomationScheduler, ClockWatch
from tests.factories import automation
from tests.test_maintenance import pending_run

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


# The scheduler closes and reopens its database connection as beat does.
@pytest.mark.django_db(transaction=True)
def test_a_system_task_that_last_ran_an_hour_ahead_runs_after_one_interval():
    from config.celery import app

    scheduler = AutomationScheduler(app=app)
    entry = scheduler.schedule["runs-sweep-pending"]
    every = settings.MAINTENANCE_EVERY_SECONDS
    entry.last_run_at = timezone.now() + HOUR  # written before the clock stepped back
    due, wait = entry.is_due()
    assert not due and wait <= every + 1  # not the hour until the clock catches up
    with time_machine.travel(timezone.now() + timedelta(seconds=every + 1)):
        assert entry.is_due()[0]


@pytest.mark.django_db(transaction=True)
def test_a_system_task_that_last_ran_in_the_past_keeps_its_interval():
    from config.celery import app

    entry = AutomationScheduler(app=app).schedule["runs-sweep-pending"]
    entry.last_run_at = timezone.now() - timedelta(seconds=1)
    due, wait = entry.is_due()
    assert not due and wait >= settings.MAINTENANCE_EVERY_SECONDS - 2


def test_the_alert_lease_taken_an_hour_ahead_is_free_after_the_step_back():
    now = timezone.now()
    assert lease_take(now=now + HOUR, seconds=60)  # taken under the clock an hour ahead
    assert lease_take(now=now, seconds=60)  # the clock stepped back: not held for the hour
    assert not lease_take(now=now + timedelta(seconds=10), seconds=60)  # held as usual


def test_a_run_sent_an_hour_ahead_and_lost_is_sent_again(celery_queue):
    auto = automation()
    ahead = pending_run(auto, dispatched_at=timezone.now() + HOUR)
    skewed = pending_run(auto, key="cron:2", dispatched_at=timezone.now() + timedelta(seconds=5))
    assert runs_sweep_pending() == 1
    ahead.refresh_from_db()
    assert ahead.dispatched_at < timezone.now() + timedelta(seconds=1)
    skewed_before = skewed.dispatched_at
    skewed.refresh_from_db()
    assert skewed.dispatched_at == skewed_before  # a few seconds of skew: still in the queue


def test_the_beat_tells_a_clock_step_from_time_passing():
    with time_machine.travel(timezone.now(), tick=True) as traveller:
        watch = ClockWatch()
        assert watch.step() == 0.0
        traveller.shift(HOUR)
        assert watch.step() == pytest.approx(3600, abs=5)
        traveller.shift(-HOUR)
        assert watch.step() == pytest.approx(-3600, abs=5)
        assert watch.step() == 0.0
