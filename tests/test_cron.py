"""Cron math in time zones, including DST days (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from automations.scheduling import cron


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_normalize_accepts_aliases_and_spacing():
    assert cron.normalize("  0   9 * *  1 ") == "0 9 * * 1"
    assert cron.normalize("@daily") == "0 0 * * *"


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("", "Enter a cron expression"),
        ("0 9 * *", "has 4"),
        ("61 9 * * *", "not a valid cron expression"),
        ("0 9 31 2 *", "not a valid cron expression"),
    ],
)
def test_normalize_rejects_bad_expressions_with_a_reason(expr, message):
    with pytest.raises(cron.CronError, match=message):
        cron.normalize(expr)


def test_unknown_zone_is_refused():
    with pytest.raises(cron.CronError, match="not a known time zone"):
        cron.zone("Mars/Olympus_Mons")


def test_next_fire_is_strictly_after():
    ny = ZoneInfo("America/New_York")
    nine = datetime(2026, 1, 5, 9, 0, tzinfo=ny)
    assert cron.next_fire("0 9 * * *", "America/New_York", nine) == nine.astimezone(
        UTC
    ) + timedelta(days=1)


def test_starting_inside_the_repeated_hour_does_not_go_back_in_time():
    # 06:10Z on 2026-11-01 is 01:10 EST, after the 01:30 EDT occurrence (05:30Z). cronsim on
    # its own would answer 05:30Z, which is in the past; the day's run already happened.
    start = utc(2026, 11, 1, 6, 10)
    assert cron.next_fire("30 1 * * *", "America/New_York", start) == utc(2026, 11, 2, 6, 30)


def test_frequency_daily_is_once_a_day_even_across_dst():
    twice, gap = cron.frequency("30 1 * * *", "America/New_York", utc(2026, 10, 1))
    assert not twice
    assert gap >= timedelta(hours=23)


def test_frequency_hourly_is_twice_a_day():
    twice, gap = cron.frequency("0 * * * *", "Europe/Berlin", utc(2026, 10, 1))
    assert twice
    assert gap == timedelta(hours=1)


def test_describe_is_plain_english():
    assert cron.describe("0 9 * * 1") == "At 09:00 on Monday"
