"""The DST rule, through the real scheduler code with frozen time: a fixed-time job runs
exactly once per local day (spring-forward gap: at the first valid time after it; fall-back:
at the first occurrence); a wildcard-hour job runs every real hour. cron_preview prints
exactly the times the scheduler fires."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from automations.models import Automation, AutomationRun
from automations.scheduling.due import automations_fire_due
from tests.factories import automation

pytestmark = pytest.mark.django_db

# (zone, fall-back local date, expr whose time happens twice that day, its one fire in UTC,
#  spring-forward local date, expr whose time does not exist that day, its fire in UTC)
CASES = [
    (
        "America/New_York",
        (2026, 11, 1),
        "30 1 * * *",
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        (2026, 3, 8),
        "30 2 * * *",
        datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
    ),  # 03:00 EDT
    (
        "Europe/Berlin",
        (2026, 10, 25),
        "30 2 * * *",
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST
        (2026, 3, 29),
        "30 2 * * *",
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    ),  # 03:00 CEST
    (
        "Australia/Sydney",
        (2026, 4, 5),
        "30 2 * * *",
        datetime(2026, 4, 4, 15, 30, tzinfo=UTC),  # 02:30 AEDT
        (2026, 10, 4),
        "30 2 * * *",
        datetime(2026, 10, 3, 16, 0, tzinfo=UTC),
    ),  # 03:00 AEST->AEDT
]


def local_day_bounds(zone: str, day: tuple[int, int, int]) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    start = datetime(*day, tzinfo=tz).astimezone(UTC)
    end = (datetime(*day, tzinfo=tz) + timedelta(days=1)).astimezone(UTC)
    # Day boundaries are at midnight, never inside a DST change in these zones.
    return start, end


def simulate_scheduler(auto: Automation, start: datetime, end: datetime, step=timedelta(minutes=5)):
    """Tick the scheduler every `step` from `start` to `end` with the clock frozen at each
    tick; return the slots it fired (UTC)."""
    with time_machine.travel(start - step, tick=False):
        auto.refresh_from_db()
        Automation.objects.filter(pk=auto.pk).update(next_run_at=_first_fire(auto, start - step))
    now = start
    while now <= end:
        with time_machine.travel(now, tick=False):
            automations_fire_due(now=now)
        now += step
    return list(
        AutomationRun.objects.filter(
            automation=auto, scheduled_for__gte=start, scheduled_for__lt=end
        )
        .order_by("scheduled_for")
        .values_list("scheduled_for", flat=True)
    )


def _first_fire(auto: Automation, after: datetime) -> datetime:
    from automations.scheduling.cron import next_fire

    return next_fire(auto.cron_expression, auto.time_zone, after)


def preview(expr: str, zone: str, after: datetime, count: int) -> list[datetime]:
    out = io.StringIO()
    call_command(
        "cron_preview",
        expr,
        "--timezone",
        zone,
        "--after",
        after.isoformat(),
        "--count",
        str(count),
        stdout=out,
        stderr=io.StringIO(),
    )
    return [datetime.fromisoformat(line).astimezone(UTC) for line in out.getvalue().split()]


@pytest.mark.parametrize(
    ("zone", "fb_day", "fb_expr", "fb_fire", "sf_day", "sf_expr", "sf_fire"), CASES
)
def test_fixed_time_job_runs_once_on_fall_back_day(
    zone, fb_day, fb_expr, fb_fire, sf_day, sf_expr, sf_fire
):
    auto = automation(cron_expression=fb_expr, time_zone=zone)
    start, end = local_day_bounds(zone, fb_day)
    fired = simulate_scheduler(auto, start, end)
    assert fired == [fb_fire]
    assert preview(fb_expr, zone, start, 1) == fired


@pytest.mark.parametrize(
    ("zone", "fb_day", "fb_expr", "fb_fire", "sf_day", "sf_expr", "sf_fire"), CASES
)
def test_fixed_time_in_the_gap_runs_at_first_valid_time(
    zone, fb_day, fb_expr, fb_fire, sf_day, sf_expr, sf_fire
):
    auto = automation(cron_expression=sf_expr, time_zone=zone)
    start, end = local_day_bounds(zone, sf_day)
    fired = simulate_scheduler(auto, start, end)
    assert fired == [sf_fire]
    assert preview(sf_expr, zone, start, 1) == fired


@pytest.mark.parametrize(
    ("zone", "fb_day", "fb_expr", "fb_fire", "sf_day", "sf_expr", "sf_fire"), CASES
)
def test_hourly_job_runs_every_real_hour_across_both_changes(
    zone, fb_day, fb_expr, fb_fire, sf_day, sf_expr, sf_fire
):
    for day, hours in ((fb_day, 25), (sf_day, 23)):
        auto = automation(cron_expression="0 * * * *", time_zone=zone, name=f"hourly {day}")
        start, end = local_day_bounds(zone, day)
        fired = simulate_scheduler(auto, start, end, step=timedelta(minutes=15))
        assert len(fired) == hours  # the local day has this many real hours
        assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(fired))
        assert preview("0 * * * *", zone, start - timedelta(seconds=1), hours) == fired
