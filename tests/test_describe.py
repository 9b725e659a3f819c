"""Triggers in plain English, and times shown in the viewer's zone and the automation's."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone

from automations.describe import duration_words, filter_words, trigger_words
from automations.models import Automation
from automations.templatetags.dashboard import when, when_both


def _trigger(**fields) -> Automation:
    defaults = {"time_zone": "UTC", "event_filter": {}}
    return Automation(**{**defaults, **fields})


def test_each_trigger_kind_in_words():
    assert (
        trigger_words(
            _trigger(
                trigger_type="cron", cron_expression="0 9 * * 1", time_zone="America/Los_Angeles"
            )
        )
        == "At 09:00 on Monday (America/Los_Angeles)"
    )
    assert (
        trigger_words(_trigger(trigger_type="poll", poll_interval_seconds=900))
        == "Every 15 minutes, checking the ATS for changes"
    )
    assert (
        trigger_words(_trigger(trigger_type="relative", offset_minutes=-30))
        == "30 minutes before each interview"
    )
    assert trigger_words(_trigger(trigger_type="relative", offset_minutes=120)) == (
        "2 hours after each interview"
    )
    assert (
        trigger_words(
            _trigger(
                trigger_type="event",
                event_type="ats.candidate.stage_changed",
                event_filter={"stage.to": "Onsite", "job.name": {"contains": "Engineer"}},
            )
        )
        == "When a candidate moves stage, if stage.to is 'Onsite' and job.name contains 'Engineer'"
    )
    assert trigger_words(_trigger(trigger_type="event", event_type="candidate_hired")) == (
        "When the ATS sends 'candidate_hired'"
    )


def test_durations_and_filters():
    assert duration_words(60) == "minute"
    assert duration_words(7200) == "2 hours"
    assert duration_words(90) == "90 seconds"
    assert filter_words({"stage.to": {"in": ["Onsite", "Offer"]}}) == (
        "stage.to is one of 'Onsite', 'Offer'"
    )


def test_times_in_the_viewers_zone_and_the_automations():
    instant = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
    with timezone.override("Europe/Paris"):
        assert when(instant) == "Mon 7 Dec 2026, 18:00 CET"
        assert when_both(instant, "America/Los_Angeles") == (
            "Mon 7 Dec 2026, 18:00 CET (09:00 PST in America/Los_Angeles)"
        )
        assert when_both(instant, "Europe/Berlin") == "Mon 7 Dec 2026, 18:00 CET"
        # Another day there: the date is said too.
        late = datetime(2026, 12, 7, 16, 0, tzinfo=UTC)
        assert when_both(late, "Asia/Tokyo") == (
            "Mon 7 Dec 2026, 17:00 CET (Tue 8 Dec 2026, 01:00 JST in Asia/Tokyo)"
        )
    assert when(None) == "—"
