"""Processing stored events (issue 10, section 5; and `both` mode dedupe from section 4):
one bad automation never spoils the event for the others; no transaction across the ATS API
call, and each event commits on its own; a worker killed mid-drain loses nothing; relative
runs follow an interview through moves, cancellations, rebookings and late events; one
change seen by the webhook and by the poll fires one run."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection as db_connection
from django.utils import timezone
from werkzeug import Response

from automations.models import Automation, AutomationRun
from automations.triggers.drain import inbound_drain, inbound_process
from tests.ats import FIXTURES, SECRET, connection, post, signed
from tests.factories import OrganizationFactory, automation, made_up_secret
from webhooks.models import InboundEvent
from webhooks.polling import connection_poll
from webhooks.providers.common import event as canonical

pytestmark = pytest.mark.django_db

CANDIDATE = {"id": "cand-1", "name": "Ana Lima", "email": "ana.lima@example.com"}


def stored(conn, type_: str, *, delivery_id: str, **fields) -> InboundEvent:
    """An event as the receiver stores it."""
    data = canonical(
        type=type_,
        raw_type=fields.pop("raw_type", type_),
        provider=conn.provider,
        delivery_id=delivery_id,
        candidate=CANDIDATE,
        **fields,
    )
    return InboundEvent.objects.create(
        connection=conn, delivery_id=delivery_id, raw_type=data["raw_type"], event=data
    )


def event_automation(org, **kwargs) -> Automation:
    kwargs.setdefault("event_type", "ats.candidate.stage_changed")
    return automation(org=org, trigger_type="event", skill_slug="new-candidate-alert", **kwargs)


def relative_automation(org, offset: int = -30, **kwargs) -> Automation:
    return automation(
        org=org,
        trigger_type="relative",
        offset_minutes=offset,
        skill_slug="new-candidate-alert",
        name=kwargs.pop("name", "brief me"),
        **kwargs,
    )


def entry(inbound: InboundEvent, auto: Automation) -> dict:
    inbound.refresh_from_db()
    return next(m for m in inbound.matches if m["automation"] == auto.pk)


# --- 1. One bad automation ------------------------------------------------------------------


def interview(conn, start: str | None, n: int, *, cancelled=False, occurred=None, iid="iv-1"):
    type_ = "ats.interview.cancelled" if cancelled else "ats.interview.scheduled"
    inbound = stored(
        conn,
        type_,
        delivery_id=f"d-{iid}-{n}",
        occurred_at=occurred,
        application={"id": "app-1"},
        interview={"id": iid, "start_at": start},
    )
    inbound_process(event_id=inbound.pk)
    inbound.refresh_from_db()
    return inbound


# Offsets beyond +-30 days can no longer be stored (automations migration 0006 made the
# bound a check constraint), so the offset that cannot be computed is the largest allowed one,
# from an interview near the calendar's end.
LATE_START = "9999-12-30T10:00:00+00:00"
MAX_OFFSET = 30 * 24 * 60


def test_an_automation_that_cannot_be_computed_does_not_fail_the_event():
    org = OrganizationFactory()
    conn = connection(org, "ashby")
    good = relative_automation(org, name="good")
    bad = relative_automation(org, name="bad", offset=MAX_OFFSET)
    inbound = interview(conn, LATE_START, 1)
    assert inbound.status == "processed"
    run = AutomationRun.objects.get(automation=good)
    start = datetime.fromisoformat(LATE_START)
    assert run.scheduled_for == start - timedelta(minutes=30) and run.status == "pending"
    assert not AutomationRun.objects.filter(automation=bad).exists()
    assert entry(inbound, bad) == {
        "automation": bad.pk,
        "matched": False,
        "error": f"offset_minutes={MAX_OFFSET} puts the run outside the calendar",
    }


def test_an_offset_past_the_end_of_the_calendar_is_an_error_on_its_entry_only():
    org = OrganizationFactory()
    conn = connection(org, "ashby")
    good = relative_automation(org, name="good")
    bad = relative_automation(org, name="bad", offset=MAX_OFFSET)
    late = interview(conn, LATE_START, 1)
    assert late.status == "processed"
    assert entry(late, bad)["error"] == (
        f"offset_minutes={MAX_OFFSET} puts the run outside the calendar"
    )
    assert "Ana" not in json.dumps(late.matches)
    assert entry(late, good)["matched"] is True


@pytest.mark.parametrize(
    ("start_at", "reason"),
    [
        ("1e400", "the interview's start_at is not an ISO time"),
        ("9" * 40, "the interview's start_at is not an ISO time"),
        ("2026-13-45T99:00:00", "the interview's start_at is not an ISO time"),
        ("2999-01-01T10:00:00", "the interview's start_at has no time zone"),
    ],
)
def test_a_bad_interview_time_gives_a_recorded_reason(start_at, reason):
    org = OrganizationFactory()
    conn = connection(org, "ashby")
    brief = relative_automation(org)
    watcher = event_automation(org, event_type="ats.interview.scheduled")
    inbound = interview(conn, start_at, 1)
    assert entry(inbound, brief) == {"automation": brief.pk, "matched": False, "error": reason}
    assert entry(inbound, watcher)["matched"] is True  # the other automation still fired
    assert inbound.status == "processed"


def test_a_stored_filter_of_the_wrong_shape_is_an_error_on_its_entry_only():
    org = OrganizationFactory()
    conn = connection(org, "greenhouse")
    good = event_automation(org, name="good")
    broken = event_automation(org, name="broken")
    Automation.objects.filter(pk=broken.pk).update(event_filter={"stage.to": {"in": 5}})
    inbound = stored(
        conn,
        "ats.candidate.stage_changed",
        delivery_id="x",
        application={"id": "app-1"},
        stage_to="Onsite",
    )
    assert inbound_process(event_id=inbound.pk) == "processed"
    assert entry(inbound, good)["matched"] is True
    bad_entry = entry(inbound, broken)
    assert bad_entry["matched"] is False and bad_entry["error"].startswith("internal error (")
    assert "Ana" not in json.dumps(bad_entry)
    assert AutomationRun.objects.filter(automation=good).count() == 1


def test_only_errors_and_no_fire_leaves_the_event_failed_with_a_reason():
    org = OrganizationFactory()
    conn = connection(org, "ashby")
    relative_automation(org, offset=MAX_OFFSET)
    inbound = interview(conn, LATE_START, 1)
    assert inbound.status == "failed"
    assert inbound.error == "1 automation(s) could not be matched"


# --- 2. Slow ATS API, commit per event, killed workers --------------------------------------


class SlowLever:
    """Lever's API on 127.0.0.1, answering the stage list after `delay` seconds."""

    def __init__(self, httpserver, delay: float):
        self.delay = delay
        self.asked = threading.Event()
        httpserver.expect_request("/v1/stages").respond_with_handler(self.stages)

    def stages(self, request):
        self.asked.set()
        time.sleep(self.delay)
        body = {
            "data": [
                {"id": "992f01a9-phone", "text": "Phone Screen"},
                {"id": "7c2690d8-onsite", "text": "Onsite Interview"},
            ],
            "hasNext": False,
        }
        return Response(json.dumps(body), content_type="application/json")


def lever_stage_change(conn) -> InboundEvent:
    from webhooks.providers import lever
    from webhooks.providers.common import Delivery

    raw = json.loads((FIXTURES / "lever" / "candidateStageChange.json").read_text())
    delivery = Delivery(
        raw_type=raw["event"],
        payload={**raw["data"], "_triggeredAt": raw["triggeredAt"]},
        delivery_id=f"{raw['event']}:{raw['token']}",
    )
    data = lever.normalize(delivery)
    return InboundEvent.objects.create(
        connection=conn, delivery_id=delivery.delivery_id, raw_type=raw["event"], event=data
    )


def greenhouse_body(stage: str = "Onsite Interview", activity: str = "2026-01-12T17:03:00Z"):
    raw = (FIXTURES / "greenhouse" / "candidate_stage_change.json").read_text()
    raw = raw.replace('"Onsite Interview"', json.dumps(stage)).replace(
        "2026-01-12T17:03:00Z", activity
    )
    return signed("greenhouse", raw.encode())


@pytest.mark.django_db(transaction=True)
def test_a_slow_ats_api_holds_no_transaction_and_each_event_commits_on_its_own(
    client, httpserver, settings
):
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
    slow = SlowLever(httpserver, delay=4)
    org_a, org_b = OrganizationFactory(), OrganizationFactory()
    gh_a = connection(org_a, "greenhouse")
    lever_a = connection(
        org_a, "lever", base_url=httpserver.url_for("/v1"), secrets={"api_key": "k"}
    )
    onsite = event_automation(org_a, event_filter={"stage.to": "Onsite Interview"})
    first = stored(
        gh_a,
        "ats.candidate.stage_changed",
        delivery_id="gh-1",
        application={"id": "gh-app"},
        stage_to="Onsite Interview",
    )
    second = lever_stage_change(lever_a)  # needs Lever's stage names: the slow call

    done: list[int] = []

    def drain():
        try:
            done.append(inbound_drain(budget_seconds=30))
        finally:
            db_connection.close()

    worker = threading.Thread(target=drain)
    worker.start()
    try:
        assert slow.asked.wait(10), "the drain never asked Lever's API"
        # While the drain waits on Lever: the first event of its batch is already committed,
        first.refresh_from_db()
        assert first.status == "processed"
        assert AutomationRun.objects.filter(automation=onsite).count() == 1
        second.refresh_from_db()
        assert second.status == "processing"
        # and another org's webhook is received at once (no lock held across the call).
        gh_b = connection(org_b, "greenhouse")
        body, headers, _ = greenhouse_body()
        started = time.monotonic()
        answer = post(client, gh_b, body, headers)
        elapsed = time.monotonic() - started
        assert answer.status_code == 200, answer.content
        assert elapsed < 1.0, f"the receiver took {elapsed:.1f} s while the drain waited"
    finally:
        worker.join(30)
    assert done and done[0] >= 2
    second.refresh_from_db()
    assert second.status == "processed"
    assert second.event["stage"] == {"from": "Phone Screen", "to": "Onsite Interview"}
    assert AutomationRun.objects.filter(automation=onsite).count() == 2


def test_a_drain_past_its_budget_gives_back_what_it_has_not_started(httpserver, settings):
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
    SlowLever(httpserver, delay=1.5)
    conn = connection(
        OrganizationFactory(), "lever", base_url=httpserver.url_for("/v1"), secrets={"api_key": "k"}
    )
    first = lever_stage_change(conn)
    second = InboundEvent.objects.create(
        connection=conn, delivery_id="other", raw_type="x", event={**first.event, "type": None}
    )
    assert inbound_drain(budget_seconds=1.0) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("ignored", "received")
    assert second.claim_id is None and second.claimed_at is None
    assert inbound_drain() == 1  # taken by the next drain at once (no lease to wait out)


def test_a_worker_killed_mid_drain_loses_no_event(settings):
    org = OrganizationFactory()
    conn = connection(org, "greenhouse")
    auto = event_automation(org)
    events = [
        stored(
            conn,
            "ats.candidate.stage_changed",
            delivery_id=f"k-{i}",
            application={"id": f"app-{i}"},
            stage_to="Onsite",
        )
        for i in range(3)
    ]
    from automations.triggers.drain import inbound_claim

    # A worker claims two and dies before finishing either (claimed, committed, never done).
    claim, claimed = inbound_claim(batch=2)
    assert [e.pk for e in claimed] == [e.pk for e in events[:2]]
    assert inbound_process(event_id=events[0].pk) == "not-claimed"  # not taken twice
    assert inbound_drain() == 1  # only the unclaimed one while the claim is fresh
    assert AutomationRun.objects.filter(automation=auto).count() == 1

    # Past the lease, the next drain gives the claims back and processes them.
    settings.INBOUND_CLAIM_LEASE_SECONDS = 60
    later = timezone.now() + timedelta(seconds=61)
    import time_machine

    with time_machine.travel(later, tick=True):
        assert inbound_drain() == 2
    assert set(InboundEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert AutomationRun.objects.filter(automation=auto).count() == 3

    # The dead worker coming back late does nothing twice.
    from automations.triggers.drain import inbound_process_claimed

    assert inbound_process_claimed(inbound=claimed[0], claim=claim) == "not-claimed"
    assert AutomationRun.objects.filter(automation=auto).count() == 3


def test_a_drain_claims_a_batch_in_a_fixed_number_of_queries():
    from django.test.utils import CaptureQueriesContext

    from automations.triggers.drain import inbound_claim

    org = OrganizationFactory()
    conn = connection(org, "greenhouse")
    for i in range(21):
        stored(conn, "ats.candidate.created", delivery_id=f"q-{i}")
    with CaptureQueriesContext(db_connection) as one:
        _, claimed = inbound_claim(batch=1)
    assert len(claimed) == 1
    with CaptureQueriesContext(db_connection) as twenty:
        _, claimed = inbound_claim(batch=20)
    assert len(claimed) == 20 and len(twenty) == len(one) <= 5
    assert {e.connection.organization_id for e in claimed} == {org.pk}


# --- 3. Relative triggers -------------------------------------------------------------------


def at(hours: float) -> str:
    base = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    return (base + timedelta(hours=hours)).isoformat()


def live(auto) -> list[AutomationRun]:
    return list(AutomationRun.objects.filter(automation=auto, status="pending"))


def test_scheduled_cancelled_and_booked_again_gets_its_run_back():
    org = OrganizationFactory()
    conn = connection(org, "ashby")
    brief = relative_automation(org)
    interview(conn, at(0), 1)
    cancel = interview(conn, at(0), 2, cancelled=True)
    assert entry(cancel, brief)["matched"] is True and live(brief) == []
    rebooked = interview(conn, at(3), 3)
    [run] = live(brief)
    assert run.scheduled_for == datetime.fromisoformat(at(3)) - timedelta(minutes=30)
    assert entry(rebooked, brief) == {
        "automation": brief.pk,
        "matched": True,
        "run": run.pk,
        "new": True,
        "scheduled_for": run.scheduled_for.isoformat(),
    }
    # The cancelled booking stays in the history as it ended; keys stay unique.
    statuses = sorted(AutomationRun.objects.filter(automation=brief).values_list("status"))
    assert statuses == [("cancelled",), ("pending",)]

    # Cancelled and booked again once more, at the first time: a third generation.
    interview(conn, at(3), 4, cancelled=True)
    interview(conn, at(0), 5)
    [run] = live(brief)
    assert run.scheduled_for == datetime.fromisoformat(at(0)) - timedelta(minutes=30)
    assert AutomationRun.objects.filter(automation=brief).count() == 3


def test_moved_and_moved_again_keeps_one_run_at_the_last_time():
    org = OrganizationFactory()
    conn = connection(org, "ashby")
    brief = relative_automation(org, offset=-15)
    for n, hours in enumerate([0, 2, 5, 1], start=1):
        interview(conn, at(hours), n)
    [run] = live(brief)
    assert run.scheduled_for == datetime.fromisoformat(at(1)) - timedelta(minutes=15)
    assert AutomationRun.objects.filter(automation=brief).count() == 1


def test_cancelled_twice_and_cancel_of_an_unknown_interview_say_nothing_was_cancelled():
    org = OrganizationFactory()
    conn = connection(org, "ashby")
    brief = relative_automation(org)
    never_seen = interview(conn, at(0), 1, cancelled=True, iid="iv-unknown")
    assert entry(never_seen, brief) == {
        "automation": brief.pk,
        "matched": False,
        "reason": "no run for this interview: nothing to cancel",
    }
    assert never_seen.status == "ignored"
    interview(conn, at(0), 2)
    interview(conn, at(0), 3, cancelled=True)
    again = interview(conn, at(0), 4, cancelled=True)
    assert entry(again, brief)["matched"] is False
    assert (
        entry(again, brief)["reason"]
        == "nothing to cancel: the run for this interview is cancelled"
    )
    assert live(brief) == []


def test_events_out_of_order_are_ignored_by_their_occurred_at():
    org = OrganizationFactory()
    conn = connection(org, "ashby")
    brief = relative_automation(org)
    t = lambda minute: f"2026-01-12T10:{minute:02d}:00+00:00"  # noqa: E731
    interview(conn, at(0), 1, occurred=t(0))
    interview(conn, at(4), 2, occurred=t(5))  # moved
    late = interview(conn, at(2), 3, occurred=t(2))  # an earlier move, delivered late
    assert entry(late, brief)["matched"] is False
    assert entry(late, brief)["reason"].startswith("stale: this event happened at")
    [run] = live(brief)
    assert run.scheduled_for == datetime.fromisoformat(at(4)) - timedelta(minutes=30)

    interview(conn, at(4), 4, cancelled=True, occurred=t(10))
    stale_booking = interview(conn, at(4), 5, occurred=t(8))  # from before the cancel
    assert entry(stale_booking, brief)["reason"].startswith("stale:")
    assert live(brief) == []
    interview(conn, at(6), 6, occurred=t(20))  # a real rebooking after the cancel
    [run] = live(brief)
    assert run.scheduled_for == datetime.fromisoformat(at(6)) - timedelta(minutes=30)


def test_a_booking_reported_again_after_its_run_ran_fires_nothing_and_a_move_fires_again():
    org = OrganizationFactory()
    conn = connection(org, "ashby")
    brief = relative_automation(org)
    interview(conn, at(0), 1)
    [run] = live(brief)
    AutomationRun.objects.filter(pk=run.pk).update(status="completed")
    again = interview(conn, at(0), 2)  # e.g. the poll after the webhook
    assert entry(again, brief) == {
        "automation": brief.pk,
        "matched": False,
        "reason": "already completed for this interview at this time",
        "run": run.pk,
    }
    assert live(brief) == []
    interview(conn, at(24), 3)  # moved to the next day: a new briefing before it
    [new] = live(brief)
    assert new.pk != run.pk


def test_interview_ids_with_separators_never_pass_for_another_interviews_generation():
    org = OrganizationFactory()
    conn = connection(org, "ashby")
    brief = relative_automation(org)
    interview(conn, at(0), 1, iid="iv")
    interview(conn, at(1), 2, iid="iv#2")
    interview(conn, at(2), 3, iid="iv%232")
    assert len(live(brief)) == 3


# --- 4. `both` mode: one change from two sources fires one run ------------------------------


def gh_app(stage: str, activity: str) -> dict:
    return {
        "id": 265277,
        "candidate_id": 265772,
        "status": "active",
        "last_activity_at": activity,
        "applied_at": "2026-01-10T09:00:00Z",
        "current_stage": {"id": 1, "name": stage},
        "jobs": [{"id": 3485, "name": "Senior Backend Engineer"}],
    }


class FakeGreenhouse:
    def __init__(self, httpserver):
        self.app = gh_app("Application Review", "2026-01-12T16:00:00Z")
        httpserver.expect_request("/v1/applications").respond_with_handler(
            lambda r: Response(json.dumps([self.app]), content_type="application/json")
        )
        httpserver.expect_request("/v1/candidates/265772").respond_with_json(
            {"id": 265772, "first_name": "Ana", "last_name": "Lima", "email_addresses": []}
        )
        httpserver.expect_request("/v1/scheduled_interviews").respond_with_json([])


def test_both_mode_one_change_seen_by_webhook_and_poll_fires_one_run(client, httpserver, settings):
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
    fake = FakeGreenhouse(httpserver)
    org = OrganizationFactory()
    conn = connection(
        org,
        "greenhouse",
        mode="both",
        base_url=httpserver.url_for("/v1"),
        secrets={"webhook_secret": SECRET, "api_key": made_up_secret("gh-api-key")},
    )
    onsite = event_automation(org, event_filter={"stage.to": "Onsite Interview"})
    clock = iter(datetime(2026, 1, 12, 17, m, tzinfo=UTC) for m in range(0, 60, 5))
    assert connection_poll(connection=conn, now=next(clock)) == 0  # records the state

    def move(stage: str, activity: str, *, webhook_first: bool):
        fake.app = gh_app(stage, activity)
        body, headers, _ = greenhouse_body(stage, activity)
        if webhook_first:  # stored, and the poll comes before it is processed
            assert post(client, conn, body, headers).status_code == 200
            assert connection_poll(connection=conn, now=next(clock)) == 1
            inbound_drain()
        else:  # the poll's event is processed first, then the webhook arrives
            assert connection_poll(connection=conn, now=next(clock)) == 1
            inbound_drain()
            assert post(client, conn, body, headers).status_code == 200
            inbound_drain()

    move("Onsite Interview", "2026-01-12T17:03:00Z", webhook_first=True)
    assert AutomationRun.objects.filter(automation=onsite).count() == 1
    pushed, polled = InboundEvent.objects.order_by("pk")
    assert pushed.source == "webhook" and polled.source == "poll"
    assert pushed.change_key == polled.change_key != ""
    assert {pushed.status, polled.status} == {"processed"}
    assert entry(polled, onsite)["duplicate"]

    # A genuine move back and forth fires again, once, whichever source reports it first.
    move("Application Review", "2026-01-12T17:13:00Z", webhook_first=False)
    move("Onsite Interview", "2026-01-12T17:23:00Z", webhook_first=False)
    assert AutomationRun.objects.filter(automation=onsite).count() == 2
    move("Application Review", "2026-01-12T17:33:00Z", webhook_first=True)
    move("Onsite Interview", "2026-01-12T17:43:00Z", webhook_first=True)
    assert AutomationRun.objects.filter(automation=onsite).count() == 3


def test_webhook_mode_keeps_one_run_per_stored_event():
    org = OrganizationFactory()
    conn = connection(org, "greenhouse")
    auto = event_automation(org)
    first = stored(
        conn,
        "ats.candidate.stage_changed",
        delivery_id="w-1",
        application={"id": "a"},
        stage_to="Onsite",
    )
    inbound_process(event_id=first.pk)
    assert AutomationRun.objects.get(automation=auto).idempotency_key == f"event:{first.public_id}"
