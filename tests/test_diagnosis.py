""" "Why didn't it fire?" (automations/diagnosis.py), on frozen time: each reason an
automation does not fire is named, each expected slot is matched to what became of it, each
event that did not match is shown with the matcher's exact reason and without candidate data,
and the panel costs the same number of queries whatever the history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Organization
from automations import services
from automations.diagnosis import automation_diagnosis, cron_slots
from automations.engine import run_execute
from automations.firing import run_fire
from automations.models import Automation, AutomationRun
from automations.run_keys import manual_key, slot_key
from automations.scheduling.due import automations_fire_due
from automations.triggers.drain import inbound_process
from delivery.models import DeliveryChannel
from tests.ats import FIXTURES, connection, post, signed
from tests.factories import automation, member
from webhooks.models import InboundEvent

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
MONDAY = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 10:00 in New York


def titles(diagnosis) -> list[str]:
    return [f.title for f in diagnosis.findings]


def blocked(diagnosis) -> list[str]:
    return [f.title for f in diagnosis.findings if f.level == "blocked"]


def hourly(org, **kwargs) -> Automation:
    kwargs.setdefault("cron_expression", "0 * * * *")
    return automation(org=org, time_zone="America/New_York", **kwargs)


def stage_change(client, conn, stage: str) -> InboundEvent:
    """The Greenhouse fixture (candidate Ana Lima) posted to the receiver, then processed."""
    raw = (FIXTURES / "greenhouse" / "candidate_stage_change.json").read_text()
    raw = raw.replace('"Onsite Interview"', f'"{stage}"')
    body, headers, _ = signed("greenhouse", raw.encode())
    assert post(client, conn, body, headers).status_code == 200
    inbound = InboundEvent.objects.order_by("-pk").first()
    inbound_process(event_id=inbound.pk)
    inbound.refresh_from_db()
    return inbound


# -- 1. status and why ------------------------------------------------------------------------


def test_an_active_automation_with_nothing_wrong_says_so(org):
    with time_machine.travel(MONDAY, tick=False):
        auto = hourly(org)
        diagnosis = automation_diagnosis(automation=auto)
    assert titles(diagnosis) == ["Active"] and not diagnosis.blocked
    assert diagnosis.next_fire.at == datetime(2026, 11, 23, 16, 0, tzinfo=UTC)


def test_paused_from_the_dashboard_names_who_paused_it(org, owner):
    with time_machine.travel(MONDAY, tick=False):
        auto = hourly(org, owner=owner)
    with time_machine.travel(MONDAY + timedelta(hours=3, minutes=10), tick=False):
        services.automation_pause(
            automation=auto, by=owner, reason="Paused by owner from the dashboard"
        )
        auto.refresh_from_db()
        diagnosis = automation_diagnosis(automation=auto)
    assert blocked(diagnosis) == ["Paused by owner"]
    assert diagnosis.next_fire.at is None and diagnosis.next_fire.words == "None: it is paused."
    # No run for any of the three slots since it was made: it is paused now, so say that.
    assert [f.outcome for f in diagnosis.firings] == ["inactive"] * 3
    assert diagnosis.firings[0].words == "No run: the automation was not active then."


def test_paused_by_the_failure_rule_says_so_and_advises_on_the_last_failure(org, owner):
    auto = automation(
        org=org, owner=owner, skill_slug="test-fails", retry_limit=0, name="always fails"
    )
    for _ in range(3):
        run, _ = run_fire(automation=auto, key=manual_key(), triggered_by="manual", send=False)
        assert run_execute(run_id=run.pk) == "failed"
    auto.refresh_from_db()
    assert auto.status == "paused"
    diagnosis = automation_diagnosis(automation=auto)
    assert blocked(diagnosis) == ["Paused automatically after failed runs"]
    detail = diagnosis.findings[0].detail
    assert detail.startswith("Paused after 3 failed runs in a row. Last error: ")
    assert "paused after 3 failed runs in a row" in detail
    failure = diagnosis.last_failure
    assert failure is not None and failure.run.status == "failed"
    assert failure.advice[-1].url == f"/runs/{failure.run.public_id}/"


def test_pending_approval_never_fires_until_approved(org, owner):
    Organization.objects.filter(pk=org.pk).update(approval_policy="all")
    org.refresh_from_db()
    auto = automation(org=org, owner=owner)
    assert auto.status == "pending_approval"
    diagnosis = automation_diagnosis(automation=auto)
    assert blocked(diagnosis) == ["Waiting for an admin's approval"]
    assert "never fires" in diagnosis.findings[0].detail
    assert diagnosis.next_fire.words == "None: it is pending approval."


def test_over_the_plan_after_a_downgrade(org, owner):
    """The matcher skips the newest active automations beyond the plan's count; the scheduler
    does not check the count. Each is said as it is."""
    conn = connection(org, "greenhouse")
    assert conn
    kw = {"org": org, "owner": owner, "cron_expression": "0 9 * * 1"}
    made = []
    base = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    for n in range(5):
        with time_machine.travel(base + timedelta(minutes=n), tick=False):
            made.append(automation(name=f"weekly {n}", **kw))
    with time_machine.travel(base + timedelta(minutes=10), tick=False):
        scheduled = automation(name="newest weekly", **kw)
    with time_machine.travel(base + timedelta(minutes=11), tick=False):
        on_event = automation(
            org=org,
            owner=owner,
            trigger_type="event",
            event_type="ats.candidate.stage_changed",
            skill_slug="new-candidate-alert",
            name="newest on event",
        )
    Organization.objects.filter(pk=org.pk).update(plan=Organization.Plan.FREE)
    for auto in (made[0], scheduled, on_event):
        auto.organization.refresh_from_db()

    assert titles(automation_diagnosis(automation=made[0])) == ["Active"]
    weekly = automation_diagnosis(automation=scheduled)
    assert not weekly.blocked
    assert "Over the plan's limit" in titles(weekly)
    plan = next(f for f in weekly.findings if f.title == "Over the plan's limit")
    assert "has 7 active automations and the Free plan allows 5" in plan.detail
    assert "the scheduler does not check the plan's count, so its schedule still fires" in (
        plan.detail
    )
    event = automation_diagnosis(automation=on_event)
    assert blocked(event) == ["Over the plan's limit: ATS events do not fire it"]


def test_a_switched_off_skill_blocks_it(org):
    auto = hourly(org)
    auto.skill.active = False
    auto.skill.save(update_fields=["active"])
    assert blocked(automation_diagnosis(automation=auto)) == [
        f"The skill “{auto.skill.name}” is switched off"
    ]
    auto.skill.active = True
    auto.skill.save(update_fields=["active"])


def test_event_triggers_without_a_connection_cannot_fire(org):
    auto = automation(
        org=org,
        trigger_type="event",
        event_type="ats.candidate.stage_changed",
        skill_slug="new-candidate-alert",
    )
    diagnosis = automation_diagnosis(automation=auto)
    assert blocked(diagnosis) == ["No ATS connection"]
    assert diagnosis.findings[0].advice[0].url == "/connections/"


def test_a_connection_error_and_a_failing_channel_are_warnings(org, owner):
    connection(org, "greenhouse", last_error="401 from the ATS: check the API key")
    auto = automation(
        org=org,
        owner=owner,
        trigger_type="event",
        event_type="ats.candidate.stage_changed",
        skill_slug="new-candidate-alert",
    )
    channel = auto.delivery_channels.get()
    DeliveryChannel.objects.filter(pk=channel.pk).update(
        status=DeliveryChannel.Status.FAILING, last_error="mailbox full"
    )
    diagnosis = automation_diagnosis(automation=auto)
    assert not diagnosis.blocked
    warnings = {f.title: f.detail for f in diagnosis.findings if f.level == "warning"}
    assert warnings["The connection “greenhouse test” reported an error"].startswith(
        "401 from the ATS"
    )
    assert warnings[f"The channel “{channel.name}” is failing"] == "mailbox full"


# -- 2 and 3. the next fire and the last expected firings -------------------------------------


def test_a_missed_spell_after_downtime_is_named_for_each_slot(org):
    start = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        auto = hourly(org, catch_up="latest")
    assert auto.next_run_at == datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    back = datetime(2026, 11, 23, 17, 20, tzinfo=UTC)  # the scheduler was down 13:00-17:00
    with time_machine.travel(back, tick=False):
        automations_fire_due()
        auto.refresh_from_db()
        diagnosis = automation_diagnosis(automation=auto)
    slots = [f.slot.hour for f in diagnosis.firings]
    assert slots == [17, 16, 15, 14, 13]  # newest first
    newest, *older = diagnosis.firings
    assert newest.run is not None and newest.run.idempotency_key == "cron:2026-11-23T17:00:00Z"
    assert newest.words == "Fired once: waiting for a worker to take it."
    assert {f.outcome for f in older} == {"missed"}
    assert older[0].words.startswith(
        "Skipped after downtime (catch-up policy “Run once for the newest missed slot”): "
        "4 slots missed from 2026-11-23 13:00 UTC to 2026-11-23 16:00 UTC"
    )
    assert diagnosis.next_fire.at == datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


def test_a_slot_not_reached_yet_is_due_or_overdue(org):
    start = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        auto = hourly(org)
    with time_machine.travel(datetime(2026, 11, 23, 13, 2, tzinfo=UTC), tick=False):
        due = automation_diagnosis(automation=auto)
    assert due.firings[0].outcome == "due"
    assert due.firings[0].words.startswith("Not fired yet: due in the last few minutes")
    with time_machine.travel(datetime(2026, 11, 23, 14, 30, tzinfo=UTC), tick=False):
        late = automation_diagnosis(automation=auto)
    assert [f.outcome for f in late.firings] == ["overdue", "overdue"]
    assert late.next_fire.words.startswith("Overdue: the scheduler has not reached this slot")


def test_a_dst_day_has_one_slot_for_a_time_that_happens_twice():
    """New York falls back on 2026-11-01: 01:30 happens twice; cron fires it once, at the
    first (EDT), exactly as the scheduler does."""
    now = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    slots = cron_slots(
        "30 1 * * *",
        "America/New_York",
        now=now,
        floor=datetime(2026, 10, 1, tzinfo=UTC),
        count=10,
    )
    local = [s.astimezone(NEW_YORK) for s in slots]
    assert len(slots) == 10
    assert [t.date().isoformat() for t in local][-4:] == [
        "2026-10-31",
        "2026-11-01",
        "2026-11-02",
        "2026-11-03",
    ]
    assert len({t.date() for t in local}) == 10  # one per day
    assert datetime(2026, 11, 1, 5, 30, tzinfo=UTC) in slots  # 01:30 EDT
    assert datetime(2026, 11, 1, 6, 30, tzinfo=UTC) not in slots  # not 01:30 EST again
    assert all(t.hour == 1 and t.minute == 30 for t in local)


def test_a_dst_day_in_the_panel_matches_its_one_run(org):
    with time_machine.travel(datetime(2026, 10, 29, 12, 0, tzinfo=UTC), tick=False):
        auto = automation(org=org, cron_expression="30 1 * * *", time_zone="America/New_York")
    for day in (
        datetime(2026, 10, 30, 5, 31, tzinfo=UTC),
        datetime(2026, 11, 1, 5, 31, tzinfo=UTC),
    ):
        with time_machine.travel(day, tick=False):
            automations_fire_due()
    with time_machine.travel(datetime(2026, 11, 1, 8, 0, tzinfo=UTC), tick=False):
        automations_fire_due()  # the second 01:30 (06:30 UTC) is no slot: nothing fires
        diagnosis = automation_diagnosis(automation=auto)
    # Runs for 30 Oct and 1 Nov; 31 Oct passed while the scheduler was away (a missed spell).
    assert AutomationRun.objects.filter(automation=auto, error_code="").count() == 2
    slots = [f.slot for f in diagnosis.firings]
    assert slots == [
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        datetime(2026, 10, 31, 5, 30, tzinfo=UTC),
        datetime(2026, 10, 30, 5, 30, tzinfo=UTC),
    ]
    assert [f.outcome for f in diagnosis.firings] == ["pending", "missed", "pending"]
    assert diagnosis.firings[0].run.idempotency_key == "cron:2026-11-01T05:30:00Z"


def test_a_cancelled_run_shows_its_message(org, owner):
    start = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        auto = hourly(org, owner=owner)
    with time_machine.travel(datetime(2026, 11, 23, 13, 0, 5, tzinfo=UTC), tick=False):
        automations_fire_due()
        # Paused before a worker took the run: the worker cancels it.
        services.automation_pause(automation=auto, by=owner)
        run = AutomationRun.objects.get(automation=auto)
        assert run_execute(run_id=run.pk) == "cancelled"
        auto.refresh_from_db()
        diagnosis = automation_diagnosis(automation=auto)
    (firing,) = diagnosis.firings
    assert firing.outcome == "cancelled"
    assert firing.words == (
        "Fired once, then cancelled: The automation is paused, so this run was cancelled."
    )


def test_a_failed_delivery_advises_checking_the_channel(org, owner):
    auto = hourly(org, owner=owner)
    channel = auto.delivery_channels.get()
    DeliveryChannel.objects.filter(pk=channel.pk).update(
        status=DeliveryChannel.Status.FAILING, last_error="SMTP 550 mailbox unavailable"
    )
    AutomationRun.objects.create(
        automation=auto,
        organization=org,
        idempotency_key=manual_key(),
        triggered_by="manual",
        scheduled_for=MONDAY,
        status="failed",
        error_code="delivery_failed",
        error_message="No channel accepted the result.",
        deliveries=[{"channel": channel.name, "status": "failed", "error": "550"}],
    )
    (advice, run_link) = automation_diagnosis(automation=auto).last_failure.advice
    assert advice.text == (
        f"Check the channel {channel.name} (status failing: SMTP 550 mailbox unavailable) "
        "and send it a test message."
    )
    assert advice.url == "/channels/" and run_link.label == "Open the run"


# -- 4. events that did not match -------------------------------------------------------------


def on_event(org, **kwargs) -> Automation:
    return automation(
        org=org,
        trigger_type="event",
        event_type="ats.candidate.stage_changed",
        skill_slug="new-candidate-alert",
        **kwargs,
    )


def test_an_event_whose_filter_did_not_match_shows_the_exact_reason(client, org):
    conn = connection(org, "greenhouse")
    offer = on_event(org, name="offer", event_filter={"stage.to": "Offer"})
    onsite = on_event(org, name="onsite", event_filter={"stage.to": "Onsite Interview"})
    inbound = stage_change(client, conn, "Onsite Interview")
    assert inbound.status == "processed"

    diagnosis = automation_diagnosis(automation=offer)
    report = diagnosis.events
    assert (report.looked_at, report.matched) == (1, 0)
    (miss,) = report.misses
    assert miss.reason == "filter stage.to equals 'Offer', but the event has 'Onsite Interview'"
    assert (miss.type, miss.provider, miss.source) == (
        "ats.candidate.stage_changed",
        "greenhouse",
        "webhook",
    )
    assert diagnosis.next_fire.words == "On the next matching event from your ATS."
    matched = automation_diagnosis(automation=onsite)
    assert (matched.events.matched, matched.events.misses) == (1, [])
    assert matched.firings[0].run.idempotency_key == f"event:{inbound.public_id}"


def test_a_reason_quoting_candidate_data_is_shown_without_it(client, org):
    conn = connection(org, "greenhouse")
    named = on_event(org, event_filter={"candidate.name": "Bob"})
    stage_change(client, conn, "Onsite Interview")
    stored = InboundEvent.objects.get().matches
    assert "Ana" in str(stored)  # the matcher's own record quotes the event
    (miss,) = automation_diagnosis(automation=named).events.misses
    assert "Ana" not in miss.reason
    assert miss.reason == (
        "filter candidate.name equals 'Bob', but the event has another value "
        "(not shown: candidate data)"
    )


def test_wrong_type_paused_and_failed_events_each_say_why(client, org, owner):
    conn = connection(org, "greenhouse")
    hired = automation(
        org=org,
        owner=owner,
        trigger_type="event",
        event_type="ats.candidate.hired",
        skill_slug="new-candidate-alert",
    )
    stage_change(client, conn, "Onsite Interview")
    (miss,) = automation_diagnosis(automation=hired).events.misses
    assert miss.reason == (
        "wrong type: wants ats.candidate.hired, event is ats.candidate.stage_changed"
    )
    services.automation_pause(automation=hired, by=owner)
    stage_change(client, conn, "Offer")
    hired.refresh_from_db()
    newest, _older = automation_diagnosis(automation=hired).events.misses
    assert newest.reason == "paused"


def test_no_events_at_all_is_said_plainly(org):
    connection(org, "greenhouse")
    with time_machine.travel(MONDAY, tick=False):
        auto = on_event(org)
    with time_machine.travel(MONDAY + timedelta(days=2), tick=False):
        report = automation_diagnosis(automation=auto).events
    assert report.looked_at == 0
    assert report.nothing_arrived.startswith("No event arrived from your ATS since ")
    assert report.nothing_arrived.endswith(
        "check the connection's webhook URL in your ATS (or, for polling, its API key)."
    )


def test_events_from_before_the_automation_was_made_are_not_counted(client, org):
    conn = connection(org, "greenhouse")
    stage_change(client, conn, "Onsite Interview")
    auto = on_event(org)
    assert automation_diagnosis(automation=auto).events.nothing_arrived


# -- a constant number of queries -------------------------------------------------------------


def _queries(auto: Automation) -> int:
    auto = Automation.objects.select_related("organization", "owner").get(pk=auto.pk)
    with CaptureQueriesContext(db_connection) as queries:
        automation_diagnosis(automation=auto)
    return len(queries)


def _grow(auto: Automation, runs: int, events: int = 0, conn=None) -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    AutomationRun.objects.bulk_create(
        AutomationRun(
            automation=auto,
            organization_id=auto.organization_id,
            idempotency_key=slot_key(auto, now - timedelta(hours=n)),
            triggered_by="schedule",
            scheduled_for=now - timedelta(hours=n),
            status="failed" if n % 3 else "completed",
            error_code="delivery_failed" if n % 3 else "",
        )
        for n in range(runs)
    )
    InboundEvent.objects.bulk_create(
        InboundEvent(
            connection=conn,
            delivery_id=f"grow-{auto.pk}-{n}",
            raw_type="candidate_stage_change",
            event={"type": "ats.candidate.stage_changed", "candidate": {"name": "Ana Lima"}},
            status="ignored",
            matches=[{"automation": auto.pk, "matched": False, "reason": "paused"}],
        )
        for n in range(events)
    )


@pytest.mark.parametrize("kind", ["cron", "event"])
def test_the_panel_costs_the_same_queries_at_two_sizes(org, kind):
    conn = connection(org, "greenhouse")
    kwargs = {"trigger_type": "event", "event_type": "ats.candidate.stage_changed"}
    with time_machine.travel(datetime(2026, 10, 1, tzinfo=UTC), tick=False):
        small = (
            automation(org=org, skill_slug="new-candidate-alert", **kwargs)
            if kind == "event"
            else hourly(org)
        )
        big = (
            automation(org=org, skill_slug="new-candidate-alert", **kwargs)
            if kind == "event"
            else hourly(org)
        )
    for n in range(3):
        member(org, username=f"extra-{kind}-{n}")
    _grow(small, runs=2, events=1, conn=conn)
    _grow(big, runs=400, events=120, conn=conn)
    with time_machine.travel(datetime(2026, 11, 23, 12, 30, tzinfo=UTC), tick=False):
        few, many = _queries(small), _queries(big)
    assert few == many, (few, many)
    assert many <= 7, many


def test_poll_slots_follow_the_stored_grid(org):
    start = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        auto = automation(
            org=org, trigger_type="poll", poll_interval_seconds=3600, skill_slug="pipeline-report"
        )
    with time_machine.travel(start + timedelta(hours=2, minutes=30), tick=False):
        automations_fire_due()
        auto.refresh_from_db()
        diagnosis = automation_diagnosis(automation=auto)
    assert [(f.slot.hour, f.outcome) for f in diagnosis.firings] == [
        (14, "pending"),
        (13, "missed"),
    ]
    assert diagnosis.firings[0].run.idempotency_key == "poll:2026-11-23T14:00:00Z"
    assert diagnosis.next_fire.at == start + timedelta(hours=3)


def test_relative_the_next_run_and_events_not_about_an_interview(client, org):
    from tests.test_event_processing import interview, relative_automation

    conn = connection(org, "greenhouse")
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        brief = relative_automation(org, offset=-30)
        interview(conn, "2026-11-24T15:00:00Z", 1)
        diagnosis = automation_diagnosis(automation=brief)
    assert diagnosis.next_fire.at == datetime(2026, 11, 24, 14, 30, tzinfo=UTC)
    assert diagnosis.firings[0].outcome == "pending"
    stage_change(client, conn, "Offer")  # no entry for a relative automation: not its event
    report = automation_diagnosis(automation=brief).events
    assert (report.looked_at, report.matched, report.not_about_it) == (2, 1, 1)
