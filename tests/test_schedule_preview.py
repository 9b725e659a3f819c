"""The builder's schedule preview (automations.scheduling.preview): the next fires in both
zones and the notes on the DST days of America/New_York in 2026 (8 March: 02:00 -> 03:00;
1 November: 02:00 -> 01:00)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from automations.scheduling.cron import CronError
from automations.scheduling.preview import RULE, schedule_preview

NY = "America/New_York"


def test_five_fires_in_both_zones_in_order():
    preview = schedule_preview("0 9 * * 1-5", NY, "Europe/Paris", datetime(2026, 6, 1, tzinfo=UTC))
    assert len(preview.fires) == 5
    assert [f.local.strftime("%a %H:%M") for f in preview.fires] == [
        "Mon 09:00",
        "Tue 09:00",
        "Wed 09:00",
        "Thu 09:00",
        "Fri 09:00",
    ]
    # 09:00 in New York (EDT, UTC-4) is 15:00 in Paris (CEST, UTC+2).
    assert {f.viewer.strftime("%H:%M") for f in preview.fires} == {"15:00"}
    assert preview.notes == [] and preview.zones_differ
    assert preview.words.startswith("At 09:00") and preview.words.endswith(f"({NY})")
    assert preview.rule == RULE


def test_spring_forward_moves_a_time_that_does_not_exist():
    preview = schedule_preview("30 2 * * *", NY, NY, datetime(2026, 3, 6, 12, tzinfo=UTC))
    days = {f.local.strftime("%d %H:%M"): f.note for f in preview.fires}
    assert days["08 03:00"] == (
        "Runs at 03:00 because 02:30 does not exist on Sun 8 Mar (clocks go forward)."
    )
    # Once per local day: the 7th and the 9th at 02:30, no note.
    assert days["07 02:30"] == "" and days["09 02:30"] == ""
    assert len(preview.notes) == 1


def test_fall_back_runs_once_at_the_first_of_a_repeated_time():
    preview = schedule_preview("30 1 * * *", NY, NY, datetime(2026, 10, 30, 12, tzinfo=UTC))
    on_the_day = [f for f in preview.fires if f.local.day == 1]
    assert len(on_the_day) == 1  # not twice
    fire = on_the_day[0]
    assert fire.local.utcoffset().total_seconds() == -4 * 3600  # the first 01:30 (EDT)
    assert fire.note == (
        "Runs once, at the first 01:30: that time happens twice on Sun 1 Nov (clocks go back)."
    )
    assert len(preview.notes) == 1


def test_an_every_hour_schedule_runs_at_both_repeated_hours():
    preview = schedule_preview("0 * * * *", NY, NY, datetime(2026, 11, 1, 4, 30, tzinfo=UTC))
    first, second = preview.fires[0], preview.fires[1]
    assert first.local.strftime("%H:%M") == second.local.strftime("%H:%M") == "01:00"
    assert "runs at both" in first.note


def test_times_clear_of_the_change_get_no_note():
    for after in (datetime(2026, 3, 6, tzinfo=UTC), datetime(2026, 10, 30, tzinfo=UTC)):
        assert schedule_preview("15 3 * * *", NY, NY, after).notes == []


def test_the_viewer_sees_the_moved_fire_at_its_real_instant():
    preview = schedule_preview("30 2 * * *", NY, "UTC", datetime(2026, 3, 7, 12, tzinfo=UTC))
    moved = preview.fires[0]
    assert moved.note and moved.viewer.strftime("%H:%M") == "07:00"  # 03:00 EDT


def test_bad_input_is_a_cron_error_and_a_bad_viewer_zone_falls_back():
    with pytest.raises(CronError):
        schedule_preview("61 * * * *", NY, NY, datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(CronError):
        schedule_preview("0 9 * * *", "Mars/Olympus", NY, datetime(2026, 1, 1, tzinfo=UTC))
    preview = schedule_preview("0 9 * * *", NY, "nowhere", datetime(2026, 1, 1, tzinfo=UTC))
    assert preview.viewer_zone == NY and not preview.zones_differ
