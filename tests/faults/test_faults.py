"""Faults on a real stack (PostgreSQL, Redis, two workers, two beats, gunicorn), each followed
by the invariants of tests/faults/invariants.py: nothing accepted is lost, nothing runs or is
delivered twice, nothing is left stuck, every failure says why.

Run with `make faults` (it starts the PostgreSQL and Redis these tests stop and restart)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from uuid import uuid4

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from accounts.models import Organization
from automations.firing import run_fire
from automations.models import Automation, AutomationRun, ProcessHeartbeat
from automations.ops.heartbeats import LEASE_NAME
from automations.run_keys import slot_key
from delivery.channel_services import channel_create
from delivery.models import Delivery
from tests.ats import connection, greenhouse_stage_changes
from tests.factories import OrganizationFactory, automation, member
from tests.faults.conftest import db_retry, record, settle
from tests.faults.invariants import CountingListener, check
from tests.faults.services import ClockShift, Postgres, Redis
from tests.live import http_post, wait_for
from webhooks.models import InboundEvent
from webhooks.providers.common import body_hash

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 60  # the figure for a Redis outage


@pytest.fixture
def org():
    return OrganizationFactory(plan=Organization.Plan.PRO)


@pytest.fixture
def owner(org):
    return member(org)


def webhook_channel(org, owner, url: str):
    channel, _ = channel_create(
        org=org, owner=owner, kind="webhook", name="hook", config={"url": url}
    )
    return channel


def herd(org, owner, channel, n: int, due, seconds: float = 0) -> dict[int, set[str]]:
    """n cron automations due at `due`, each delivering to `channel`; their slots."""
    autos = [
        automation(
            org=org,
            owner=owner,
            name=f"herd {i}",
            skill_slug="test-slow",
            params={"seconds": seconds},
            cron_expression="0 9 * * 1",
            time_zone="UTC",
        )
        for i in range(n)
    ]
    for auto in autos:
        auto.delivery_channels.set([channel])
    Automation.objects.filter(pk__in=[a.pk for a in autos]).update(next_run_at=due)
    return {auto.pk: {slot_key(auto, due)} for auto in autos}


def watcher(org, owner, channel) -> Automation:
    auto = automation(
        org=org,
        owner=owner,
        name="on stage change",
        trigger_type="event",
        event_type="ats.candidate.stage_changed",
        skill_slug="test-slow",
        params={"seconds": 0},
    )
    auto.delivery_channels.set([channel])
    return auto


class Ats:
    """An ATS sending a stream of signed deliveries, retrying each until it gets a 2xx (as
    Greenhouse does), and remembering which it had a 2xx for."""

    def __init__(self, base: str, conn, n: int, *, spread: float, give_up_after: float = 150):
        self.base = base
        self.path = f"/webhooks/ats/greenhouse/{conn.public_id}/"
        self.accepted: set[str] = set()
        self.refused: list[int] = []
        self.deliveries = greenhouse_stage_changes(n, first_application=500_000)
        self.spread = spread
        self.give_up_after = give_up_after
        self.thread = threading.Thread(target=self._send, daemon=True)

    def start(self) -> Ats:
        self.thread.start()
        return self

    def _deliver(self, body: bytes, headers: dict) -> None:
        deadline = time.monotonic() + self.give_up_after
        while time.monotonic() < deadline:
            try:
                status, _ = http_post(self.base, self.path, body, headers)
            except OSError:
                status = 0
            if 200 <= status < 300:
                self.accepted.add(body_hash(body))
                return
            self.refused.append(status)
            time.sleep(1)

    def _send(self) -> None:
        pause = self.spread / max(len(self.deliveries), 1)
        workers = []
        for body, headers in self.deliveries:
            worker = threading.Thread(target=self._deliver, args=(body, headers), daemon=True)
            worker.start()
            workers.append(worker)
            time.sleep(pause)
        for worker in workers:
            worker.join()

    def join(self) -> None:
        self.thread.join(self.give_up_after + 30)


def all_settled(since, *, runs: int, stack) -> None:
    """Waits until `runs` runs exist since `since`, all finished, their deliveries done."""

    def done():
        created = AutomationRun.objects.filter(created_at__gte=since)
        if created.count() < runs:
            return False
        if created.exclude(status__in=AutomationRun.FINISHED).exists():
            return False
        if InboundEvent.objects.filter(
            received_at__gte=since, status__in=["received", "processing"]
        ).exists():
            return False
        return not Delivery.objects.filter(
            run__created_at__gte=since, status__in=["pending", "attempting"]
        ).exists()

    try:
        wait_for(db_retry(done), timeout=240, what=f"{runs} runs to finish", stack=stack)
    except AssertionError:
        runs_now = AutomationRun.objects.filter(created_at__gte=since)
        rows = list(runs_now.values_list("status", "error_code"))
        deliveries = list(
            Delivery.objects.filter(run__in=runs_now).values_list("status", "attempts")
        )
        raise AssertionError(f"runs {rows} deliveries {deliveries}") from None


def start(stack, *, beats: int, workers: int = 2) -> None:
    """The processes a fault lands among: `workers` prefork workers of two processes each
    and `beats` beats sharing the schedule."""
    for name in "ab"[:workers]:
        stack.worker(f"worker-{name}", concurrency=2)
    for name in "ab"[:beats]:
        stack.beat(f"beat-{name}")


def wait_running(n: int, stack) -> None:
    """Until `n` runs are running: the moment a fault is meant to land in."""
    wait_for(
        lambda: AutomationRun.objects.filter(status="running").count() >= n,
        timeout=60,
        what=f"{n} runs to start",
        stack=stack,
    )


def assert_held(figures) -> None:
    assert not figures.broken(), figures.line()


def test_worker_sigkilled_mid_run(stack, org, owner, listener):
    """A worker process is SIGKILLed (OOM, lost machine) while it runs; the other worker goes
    on, and the reaper hands the dead worker's runs back to it."""
    since = timezone.now()
    channel = webhook_channel(org, owner, listener.url)
    due = timezone.now().replace(microsecond=0) + timedelta(seconds=4)
    slots = herd(org, owner, channel, 8, due, seconds=3)
    start(stack, beats=2)
    wait_running(2, stack)
    stack.kill("worker-a")
    all_settled(since, runs=8, stack=stack)
    settle(5)
    figures = record(check("worker SIGKILLed mid-run", since=since, slots=slots, listener=listener))
    reaped = AutomationRun.objects.filter(created_at__gte=since, attempt__gt=1).count()
    figures.notes.append(f"{reaped} runs retried after the kill")
    assert_held(figures)
    assert figures.completed == 8 and figures.delivered == 8


def test_redis_down_during_a_webhook_burst(stack, org, owner, listener):
    since = timezone.now()
    channel = webhook_channel(org, owner, listener.url)
    auto = watcher(org, owner, channel)
    conn = connection(org, "greenhouse")
    base = stack.web(workers=2)
    start(stack, beats=2)
    server = Redis.from_env()
    ats = Ats(base, conn, 30, spread=20).start()
    time.sleep(5)
    server.stop()
    time.sleep(OUTAGE_SECONDS)
    server.start()
    ats.join()
    all_settled(since, runs=len(ats.accepted), stack=stack)
    settle(5)
    figures = record(
        check(
            "Redis down 60 s during a webhook burst",
            since=since,
            accepted=ats.accepted,
            event_automations=[auto.pk],
            listener=listener,
        )
    )
    figures.notes.append(f"{len(ats.refused)} deliveries refused and retried by the ATS")
    assert_held(figures)
    assert figures.accepted == 30 and figures.delivered == 30


def test_redis_down_during_a_cron_herd(stack, org, owner, listener):
    since = timezone.now()
    channel = webhook_channel(org, owner, listener.url)
    start(stack, beats=2)
    due = timezone.now().replace(microsecond=0) + timedelta(seconds=5)
    slots = herd(org, owner, channel, 60, due)
    server = Redis.from_env()
    while timezone.now() < due + timedelta(milliseconds=100):
        time.sleep(0.01)
    server.stop()
    time.sleep(OUTAGE_SECONDS)
    server.start()
    all_settled(since, runs=60, stack=stack)
    settle(5)
    figures = record(
        check("Redis down 60 s during a cron herd", since=since, slots=slots, listener=listener)
    )
    assert_held(figures)
    assert figures.completed == 60 and figures.delivered == 60


def test_beat_killed_mid_herd(stack, org, owner, listener):
    since = timezone.now()
    channel = webhook_channel(org, owner, listener.url)
    stack.env["SCHEDULER_BATCH_SIZE"] = "5"  # many small batches: the kill lands mid-herd
    start(stack, beats=0)
    due = timezone.now().replace(microsecond=0) + timedelta(seconds=6)
    slots = herd(org, owner, channel, 100, due)
    stack.beat("beat-a")
    stack.beat("beat-b")
    while timezone.now() < due + timedelta(milliseconds=150):
        time.sleep(0.01)
    stack.kill("beat-b")
    all_settled(since, runs=100, stack=stack)
    settle(5)
    figures = record(check("beat killed mid-herd", since=since, slots=slots, listener=listener))
    assert_held(figures)
    assert figures.completed == 100 and figures.delivered == 100


def test_postgres_restarted_during_runs_and_a_webhook_burst(stack, org, owner, listener):
    since = timezone.now()
    channel = webhook_channel(org, owner, listener.url)
    auto = watcher(org, owner, channel)
    conn = connection(org, "greenhouse")
    due = timezone.now().replace(microsecond=0) + timedelta(seconds=8)
    slots = herd(org, owner, channel, 6, due, seconds=4)
    base = stack.web(workers=2)
    start(stack, beats=2)
    wait_running(1, stack)
    ats = Ats(base, conn, 20, spread=10).start()
    time.sleep(2)
    Postgres.from_env().restart(down_for=5)
    ats.join()
    all_settled(since, runs=6 + len(ats.accepted), stack=stack)
    settle(5)
    figures = record(
        check(
            "PostgreSQL restarted during runs and a webhook burst",
            since=since,
            accepted=ats.accepted,
            slots=slots,
            event_automations=[auto.pk],
            listener=listener,
        )
    )
    figures.notes.append(f"{len(ats.refused)} deliveries refused and retried by the ATS")
    assert_held(figures)
    assert figures.accepted == 20


def test_poison_messages(stack, org, owner, listener):
    """Garbage on the queue, and a well-formed task for a run that does not exist: the
    workers drop them and go on with real work."""
    since = timezone.now()
    channel = webhook_channel(org, owner, listener.url)
    queue = settings.CELERY_QUEUE
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.lpush(queue, b"not json at all", b'{"body": "!!not-base64!!"}', b"{}")
    from automations.tasks import execute_run

    execute_run.apply_async(args=[2_000_000_000])
    execute_run.apply_async(args=["not-an-id"])
    start(stack, beats=1)
    due = timezone.now().replace(microsecond=0) + timedelta(seconds=4)
    slots = herd(org, owner, channel, 10, due)
    all_settled(since, runs=10, stack=stack)
    settle(3)
    figures = record(check("poison messages", since=since, slots=slots, listener=listener))
    assert_held(figures)
    assert figures.completed == 10 and figures.delivered == 10
    dead = [name for name, proc in stack.procs.items() if proc.poll() is not None]
    assert not dead, f"{dead} died\n" + stack.logs()


def test_a_channel_that_hangs(stack, org, owner, listener):
    """One of a run's two channels accepts the connection and never answers: the run still
    finishes, the good channel has it once, the hanging one fails with the reason."""
    since = timezone.now()
    hanging = CountingListener(hang=True)
    try:
        good = webhook_channel(org, owner, listener.url)
        bad, _ = channel_create(
            org=org, owner=owner, kind="webhook", name="hangs", config={"url": hanging.url}
        )
        due = timezone.now().replace(microsecond=0) + timedelta(seconds=4)
        slots = herd(org, owner, good, 4, due)
        for auto in Automation.objects.filter(pk__in=slots):
            auto.delivery_channels.set([good, bad])
        # No run retries (a failed channel would retry the run over minutes of backoff): the
        # run fails at once, saying which channel and why.
        Automation.objects.filter(pk__in=slots).update(retry_limit=0)
        start(stack, beats=1)
        all_settled(since, runs=4, stack=stack)
        settle(3)
        figures = record(check("a channel that hangs", since=since, slots=slots, listener=listener))
        failed = Delivery.objects.filter(channel=bad, status__in=["failed", "uncertain"])
        figures.notes.append(f"{failed.count()} deliveries to the hanging channel failed")
        assert_held(figures)
        assert figures.delivered == 4 and failed.count() == 4
        assert all(d.last_error for d in failed)
    finally:
        hanging.stop()


JUMP_SECONDS = 3600  # an hour: NTP stepping a clock that drifted, or a VM resumed


def lost_run(org, owner, channel, *, sent_at) -> dict[int, set[str]]:
    """A run marked sent at `sent_at` whose message the broker lost: only the sweeper's
    resend can start it."""
    auto = automation(
        org=org, owner=owner, name="lost message", skill_slug="test-slow", params={"seconds": 0}
    )
    auto.delivery_channels.set([channel])
    run, _ = run_fire(automation=auto, key=f"manual:{uuid4()}", triggered_by="manual", send=False)
    AutomationRun.objects.filter(pk=run.pk).update(dispatched_at=sent_at)
    return {auto.pk: {run.idempotency_key}}


def test_clock_jumps_forward_then_back(stack, org, owner, listener, tmp_path):
    """The machine's wall clock (workers' and beats') steps an hour ahead while runs are in
    flight, then back to the right time; PostgreSQL's clock runs on. Slots due in the hour
    jumped over run once, by their catch-up policy; after the step back nothing runs twice,
    new slots run on time, and the sweeper and the alert evaluator keep turning (a last run
    or a lease written an hour ahead must not hold them back for that hour)."""
    clock = ClockShift(tmp_path)
    stack.env.update(clock.env(), ALERT_EVALUATE_SECONDS="3")
    since = timezone.now()
    channel = webhook_channel(org, owner, listener.url)
    t0 = timezone.now().replace(microsecond=0)
    # Two runs in flight at the step, two pool processes free for the sweeper and reaper.
    slots = herd(org, owner, channel, 2, t0 + timedelta(seconds=8), seconds=15)
    slots |= herd(org, owner, channel, 10, t0 + timedelta(seconds=JUMP_SECONDS // 2))  # skipped
    slots |= herd(org, owner, channel, 10, t0 + timedelta(seconds=JUMP_SECONDS + 20))
    start(stack, beats=2)
    wait_running(2, stack)
    clock.shift(JUMP_SECONDS)
    all_settled(since, runs=22, stack=stack)
    # Sent under the clock an hour ahead, then lost: the resend must not wait for that hour.
    slots |= lost_run(org, owner, channel, sent_at=timezone.now() + timedelta(hours=1))
    clock.shift(0)
    stepped_back = timezone.now()
    # Sent after the step, then lost: the sweeper (a periodic task that last ran an hour
    # "ahead") must still turn.
    slots |= lost_run(org, owner, channel, sent_at=stepped_back)
    due = stepped_back.replace(microsecond=0) + timedelta(seconds=8)
    after = herd(org, owner, channel, 10, due)
    slots |= after
    all_settled(since, runs=34, stack=stack)
    wait_for(
        db_retry(
            lambda: ProcessHeartbeat.objects.filter(
                name=LEASE_NAME, last_seen_at__gte=stepped_back, last_seen_at__lte=timezone.now()
            ).exists()
        ),
        timeout=30,
        what="the alert evaluator to take its lease again after the step back",
        stack=stack,
    )
    settle(5)
    figures = record(
        check("clock jumps forward 1 h, then back", since=since, slots=slots, listener=listener)
    )
    late = [
        (run.started_at - run.scheduled_for).total_seconds()
        for run in AutomationRun.objects.filter(automation_id__in=after)
    ]
    figures.notes.append(f"slots after the step back started at most {max(late):.1f} s late")
    # The reaper judges "running too long" by the wall clock: the runs in flight at the step
    # look an hour old, are taken back (their outcome dropped, fenced by started_at) and run
    # again, delivered once.
    rerun = AutomationRun.objects.filter(created_at__gte=since, attempt__gt=1).count()
    figures.notes.append(f"{rerun} runs in flight at the forward step were taken back and rerun")
    assert_held(figures)
    assert figures.completed == 34 and figures.delivered == 34
    assert max(late) < 15, late
    beats = "".join(path.read_text(errors="replace") for path in tmp_path.glob("beat-*.log"))
    assert "clock jumped forward by 3600 s" in beats and "clock jumped back by 3600 s" in beats
