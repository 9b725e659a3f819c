"""Soak: mixed load for a long while on a production-shaped stack, then the fault suite's
invariants, with every process's memory sampled each minute.

    python bench/soak.py [--minutes 30] [--herd 100] [--webhooks-per-second 3]

The stack: PostgreSQL and Redis (throwaway servers from Debian's packages, or DATABASE_URL
and REDIS_URL when both are set), gunicorn with config/gunicorn.py (2 processes), two
prefork workers of 2 processes each and two beats, every setting at its production default.
The load, all at once for `--minutes`:
- a cron herd: `--herd` automations every minute (the pipeline report over the seeded
  sandbox ATS), each delivering in-app and to a webhook listener on 127.0.0.1;
- a webhook stream: signed Greenhouse stage changes at `--webhooks-per-second`, each retried
  by the sender until it gets a 2xx, each matching one event automation;
- polling: a fake Greenhouse Harvest API on 127.0.0.1 moving one application to a new stage
  every 20 s, polled by the product every minute (each move must become one event and run);
- reads: the dashboard's pages (a signed-in recruiter), the API's lists (a token) and
  /status, a few a second.
Then the load stops, everything is left to finish and the invariants are counted (accepted
vs stored, due vs run, duplicates, stuck, lost: tests/faults/invariants.py). Memory is each
process group's proportional set size (PSS: a prefork pool's shared pages counted once);
"flat" means it grew less than 10% (and 20 MB) from minute 5 to the end. Prints a table,
then one JSON line. Not in CI (it takes the minutes it is told)."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.services import postgres_and_redis, recreate_database  # noqa: E402

QUEUE = "bench-soak"
WARM_MINUTE = 5  # memory growth counts from here: caches, pools and imports are warm by then
FLAT_RATIO, FLAT_MB = 0.10, 20.0
RATE_LIMIT_PER_10S = 2000  # what the fake Harvest API says it allows (X-RateLimit-Limit)


def pss_kb(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def processes() -> list[tuple[int, int, int]]:
    """(pid, ppid, process group) of every process."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        out.append((int(entry.name), int(fields[1]), int(fields[2])))
    return out


def listening_pid(port: int) -> int | None:
    out = subprocess.run(
        ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True
    ).stdout
    if "pid=" not in out:
        return None
    return int(out.split("pid=", 1)[1].split(",", 1)[0])


class Memory:
    """Each minute, the PSS in MB of every process group: the stack's processes (each a
    session of its own, pool children included), PostgreSQL (the postmaster and its
    backends) and Redis."""

    def __init__(self, stack, pg_port: int | None, redis_port: int | None) -> None:
        self.stack = stack
        self.pg = listening_pid(pg_port) if pg_port else None
        self.redis = listening_pid(redis_port) if redis_port else None
        self.samples: list[dict[str, float]] = []

    def sample(self) -> dict[str, float]:
        table = processes()
        groups: dict[str, float] = {}
        for name, proc in self.stack.procs.items():
            members = [pid for pid, _ppid, pgid in table if pgid == proc.pid]
            groups[name] = sum(map(pss_kb, members)) / 1024
        if self.pg:
            backends = [pid for pid, ppid, _ in table if pid == self.pg or ppid == self.pg]
            groups["postgresql"] = sum(map(pss_kb, backends)) / 1024
        if self.redis:
            groups["redis"] = pss_kb(self.redis) / 1024
        self.samples.append(groups)
        return groups

    def verdict(self) -> dict[str, dict]:
        warm = self.samples[min(WARM_MINUTE, len(self.samples) - 1)]
        last = self.samples[-1]
        out = {}
        for name in last:
            start, end = warm.get(name, 0.0), last[name]
            peak = max(s.get(name, 0.0) for s in self.samples)
            growth = end - start
            flat = growth < max(FLAT_MB, start * FLAT_RATIO)
            out[name] = {
                "warm_mb": round(start, 1),
                "end_mb": round(end, 1),
                "peak_mb": round(peak, 1),
                "growth_mb": round(growth, 1),
                "flat": flat,
            }
        return out


class FakeHarvest:
    """Greenhouse's Harvest API on 127.0.0.1: 20 applications, one moved to its next stage
    every `every` seconds (round robin, so each moves once in 400 s, far apart from the
    product's 60 s polls: every move is one change the poller must find)."""

    STAGES = ("Application Review", "Phone Screen", "Interview", "Offer")

    def __init__(self, every: float = 20.0) -> None:
        self.apps = {
            300_000 + i: {
                "id": 300_000 + i,
                "candidate_id": 400_000 + i,
                "status": "active",
                "applied_at": "2026-01-10T09:00:00Z",
                "last_activity_at": "2026-01-10T09:00:00Z",
                "current_stage": {"id": 1, "name": self.STAGES[0]},
                "jobs": [{"id": 3485, "name": "Senior Backend Engineer"}],
            }
            for i in range(20)
        }
        self.moves = 0
        self.calls = Counter()  # API calls by path, as the product made them
        self.every = every
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.split("?", 1)[0]
                with fake.lock:
                    fake.calls[path if not path.startswith("/v1/candidates/") else "candidate"] += 1
                if path == "/v1/applications":
                    with fake.lock:
                        body = json.dumps(list(fake.apps.values()))
                elif path.startswith("/v1/candidates/"):
                    cid = path.rsplit("/", 1)[1]
                    body = json.dumps(
                        {
                            "id": int(cid),
                            "first_name": "Soak",
                            "last_name": cid,
                            "email_addresses": [],
                        }
                    )
                elif path == "/v1/candidates":
                    body = json.dumps(
                        [
                            {
                                "id": app["candidate_id"],
                                "first_name": "Soak",
                                "last_name": str(app["candidate_id"]),
                                "email_addresses": [],
                                "application_ids": [app["id"]],
                            }
                            for app in fake.apps.values()
                        ]
                    )
                elif path == "/v1/jobs":
                    body = json.dumps(
                        [{"id": 3485, "name": "Senior Backend Engineer", "status": "open"}]
                    )
                elif path == "/v1/jobs/3485/stages":
                    body = json.dumps(
                        [{"id": i + 1, "name": name} for i, name in enumerate(fake.STAGES)]
                    )
                elif path == "/v1/scheduled_interviews":
                    body = "[]"
                else:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                # Harvest answers its limit per 10 s here and the product's rate limiter uses
                # it. The herd's reports share this one key with the poller: 100 reports a
                # minute of 3 calls each are 300 calls a minute, all of Greenhouse's usual 50
                # per 10 s and twice the pace the product keeps to (webhooks/rate_limit.py
                # takes half, to be safe), so under that limit the poller waited for ever.
                self.send_header("X-RateLimit-Limit", str(RATE_LIMIT_PER_10S))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def move_loop(self) -> None:
        order = list(self.apps)
        while not self.stopping.wait(self.every):
            with self.lock:
                app = self.apps[order[self.moves % len(order)]]
                stage = self.STAGES.index(app["current_stage"]["name"])
                app["current_stage"] = {"id": stage + 2, "name": self.STAGES[(stage + 1) % 4]}
                app["last_activity_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                self.moves += 1

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()


class WebhookStream:
    """A Greenhouse sending stage changes at a steady rate, retrying each (1 s apart, for up
    to two minutes) until it gets a 2xx, as Greenhouse does."""

    def __init__(self, base: str, conn, rate: float, seconds: float) -> None:
        from tests.ats import greenhouse_stage_changes

        self.base, self.rate = base, rate
        self.path = f"/webhooks/ats/greenhouse/{conn.public_id}/"
        self.deliveries = greenhouse_stage_changes(int(rate * seconds), first_application=1)
        self.accepted: set[str] = set()
        self.refused: Counter = Counter()
        self.answer_ms: list[float] = []

    def run(self) -> None:
        from tests.live import http_post
        from webhooks.providers.common import body_hash

        start = time.monotonic()
        for i, (body, headers) in enumerate(self.deliveries):
            delay = start + i / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # the stream's own pace, not a wait for the product
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                began = time.perf_counter()
                try:
                    status, _ = http_post(self.base, self.path, body, headers)
                except OSError:
                    status = 0
                if 200 <= status < 300:
                    self.answer_ms.append((time.perf_counter() - began) * 1000)
                    self.accepted.add(body_hash(body))
                    break
                self.refused[status] += 1
                time.sleep(1)


class Reads:
    """A recruiter on the dashboard and an integrator on the API, `rate` requests a second
    between them, plus /status; counts answers by status and their times."""

    def __init__(self, base: str, paths: list[tuple[str, dict]], rate: float) -> None:
        self.base, self.paths, self.rate = base, paths, rate
        self.statuses: Counter = Counter()
        self.ms: list[float] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stopping.wait(1 / self.rate):
            path, headers = self.paths[i % len(self.paths)]
            i += 1
            request = urllib.request.Request(self.base + path, headers=headers)
            began = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError:
                status = 0
            self.ms.append((time.perf_counter() - began) * 1000)
            # /status answers 503 while a part is unhealthy (a backlog, say): counted apart.
            self.statuses[("/status " if path == "/status" else "") + str(status)] += 1


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def seed(listener_url: str, harvest_url: str, herd_size: int) -> dict:
    """An org on the seeded sandbox ATS: the herd, the event automation, a webhook and a
    polled connection, and the readers' credentials."""
    from django.test import Client
    from django.utils import timezone

    from accounts.api_tokens import api_token_create
    from accounts.models import Membership, Organization
    from automations.models import Automation
    from delivery.channel_services import channel_create
    from tests.ats import connection
    from tests.factories import OrganizationFactory, automation, member
    from webhooks.sandbox_seed import seed_sandbox

    org = OrganizationFactory(plan=Organization.Plan.PRO, slug="soak")
    seed_sandbox(org, now=timezone.now())
    owner = member(org, role=Membership.Role.ADMIN)
    hook, _ = channel_create(
        org=org, owner=owner, kind="webhook", name="listener", config={"url": listener_url}
    )
    herd = [
        automation(
            org=org,
            owner=owner,
            name=f"pipeline {i}",
            skill_slug="pipeline-report",
            cron_expression="* * * * *",
            time_zone="UTC",
        )
        for i in range(herd_size)
    ]
    watcher = automation(
        org=org,
        owner=owner,
        name="stage changes",
        trigger_type="event",
        event_type="ats.candidate.stage_changed",
        skill_slug="new-candidate-alert",
    )
    # Every stage change is a run: the cap raised well above the stream (the default of 60
    # an hour is the runaway guard). No surface edits the cap yet, so it is set here.
    Automation.objects.filter(pk=watcher.pk).update(max_runs_per_hour=100_000)
    for auto in [*herd, watcher]:
        auto.delivery_channels.set([hook])
    browser = Client()
    browser.force_login(owner)
    return {
        "org": org,
        "owner": owner,
        "herd": herd,
        "watcher": watcher,
        "webhooks": connection(org, "greenhouse"),
        "polled": connection(
            org,
            "greenhouse",
            name="polled",
            mode="polling",
            base_url=harvest_url,
            secrets={"api_key": "soak-key"},
            poll_interval_seconds=60,
        ),
        "token": api_token_create(user=owner, name="soak")[1],
        "session": browser.cookies,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--herd", type=int, default=100, help="cron automations every minute")
    parser.add_argument("--webhooks-per-second", type=float, default=3)
    parser.add_argument("--reads-per-second", type=float, default=4)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="skillomatic-soak-"))
    print(f"load average at start: {os.getloadavg()}", flush=True)
    with postgres_and_redis() as (pg_base, redis_url):
        db_url = recreate_database(pg_base, "skillomatic_soak")
        os.environ.update(
            DATABASE_URL=db_url,
            REDIS_URL=redis_url,
            CELERY_QUEUE=QUEUE,
            DATA_DIR=str(work),
            DEBUG="false",
            SECRET_KEY=secrets.token_urlsafe(50),
            ALLOWED_HOSTS="127.0.0.1",
            FIELD_ENCRYPTION_KEY="q9Ns0ZyXU0nq3QvlvB6qrp1W7w0j2dP1lJ3mXkqkS1E=",
            ALLOWED_OUTBOUND_HOSTS="127.0.0.1",
            LOG_LEVEL="WARNING",
            DJANGO_SETTINGS_MODULE="config.settings",
        )
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.urls import reverse
        from django.utils import timezone

        from automations.models import AutomationRun
        from automations.run_keys import slot_key
        from automations.services import automation_update
        from tests.faults.invariants import CountingListener, check
        from tests.live import Stack, wait_for
        from webhooks.models import InboundEvent, KnownApplication

        call_command("migrate", verbosity=0)
        listener = CountingListener()
        harvest = FakeHarvest()
        since = timezone.now()
        seeded = seed(listener.url, harvest.url, args.herd)
        org, herd, watcher = seeded["org"], seeded["herd"], seeded["watcher"]
        session = seeded["session"][settings.SESSION_COOKIE_NAME].value
        cookie = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"}
        bearer = {"Authorization": f"Bearer {seeded['token']}"}
        paths = [
            (reverse("dashboard:automations"), cookie),
            (reverse("dashboard:runs"), cookie),
            (f"/api/v1/orgs/{org.slug}/runs/", bearer),
            (f"/api/v1/orgs/{org.slug}/automations/", bearer),
            ("/status", {}),
        ]

        stack = Stack(queue=QUEUE, smtp_port=1, tmp=work)
        # A stopped soak (Ctrl-C, kill) takes its processes down with it: each runs in a
        # session of its own, out of reach of the terminal's signals.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        try:
            stack.env["LOG_LEVEL"] = "WARNING"
            stack.env.pop("SKILL_PLUGIN_MODULES", None)
            base = stack.web(workers=2)
            for name in ("worker-a", "worker-b"):
                stack.worker(name, concurrency=2)
            stack.beat("beat-a")
            stack.beat("beat-b")
            pg_port = int(db_url.rsplit(":", 1)[1].split("/", 1)[0])
            memory = Memory(stack, pg_port, int(redis_url.rsplit(":", 1)[1].split("/", 1)[0]))

            seconds = args.minutes * 60
            stream = WebhookStream(base, seeded["webhooks"], args.webhooks_per_second, seconds)
            reads = Reads(base, paths, args.reads_per_second)
            threads = [
                threading.Thread(target=stream.run, daemon=True),
                threading.Thread(target=reads.run, daemon=True),
                threading.Thread(target=harvest.move_loop, daemon=True),
            ]
            # The first poll only records where every application stands: the fake ATS starts
            # moving them once it has.
            wait_for(
                lambda: (
                    KnownApplication.objects.filter(connection=seeded["polled"]).count()
                    >= len(harvest.apps)
                ),
                timeout=300,  # the poller first turns a minute or two after the beats start
                what="the first poll",
            )
            started = time.monotonic()
            for thread in threads:
                thread.start()
            print(
                f"soak: {args.minutes:g} min, herd {args.herd}/min, "
                f"{args.webhooks_per_second:g} webhooks/s, {args.reads_per_second:g} reads/s",
                flush=True,
            )
            minute = 0
            while time.monotonic() - started < seconds:
                groups = memory.sample()
                done = AutomationRun.objects.filter(created_at__gte=since).count()
                print(
                    f"  minute {minute:>3}: {done} runs; "
                    + ", ".join(f"{k} {v:.0f} MB" for k, v in groups.items()),
                    flush=True,
                )
                minute += 1
                time.sleep(max(0.0, started + minute * 60 - time.monotonic()))

            # Stop the load: the herd well after a slot came due (so that slot has fired), then
            # the stream, the moves and the reads.
            while timezone.now().second < 20:
                time.sleep(0.5)
            last_slot = timezone.now().replace(second=0, microsecond=0)
            # Moved to a yearly slot rather than paused: a paused automation's pending runs are
            # cancelled, and the last slot's runs may still be waiting for a worker.
            for auto in herd:
                automation_update(automation=auto, by=seeded["owner"], cron_expression="0 0 1 1 *")
            harvest.stopping.set()
            reads.stopping.set()
            for thread in threads:
                thread.join(180)
            slots = {}
            for auto in herd:
                # Each from its own first slot: seeding the herd can cross a minute.
                keys, slot = set(), auto.next_run_at
                while slot <= last_slot:
                    keys.add(slot_key(auto, slot))
                    slot += timedelta(minutes=1)
                slots[auto.pk] = keys

            def polled_events() -> int:
                return InboundEvent.objects.filter(
                    connection=seeded["polled"], received_at__gte=since
                ).count()

            # The last move is found by the next poll (every minute).
            wait_for(lambda: polled_events() >= harvest.moves, timeout=180, what="the last poll")

            def finished() -> bool:
                runs = AutomationRun.objects.filter(created_at__gte=since)
                waiting = InboundEvent.objects.filter(status__in=["received", "processing"])
                return not runs.filter(status__in=["pending", "running"]).exists() and not (
                    waiting.exists()
                )

            wait_for(finished, timeout=600, what="every run and event to finish")
            time.sleep(10)  # the sweeper's turns: a duplicate would show up in this window
            memory.sample()
            figures = check(
                "soak",
                since=since,
                accepted=stream.accepted,
                slots=slots,
                event_automations=[watcher.pk],
                listener=listener,
            )
            polled = polled_events()
            outcomes = Counter(
                f"{status} {code}".strip()
                for status, code in AutomationRun.objects.filter(created_at__gte=since).values_list(
                    "status", "error_code"
                )
            )
        finally:
            stack.stop()
            listener.stop()
            harvest.stop()

    verdict = memory.verdict()
    errors = sum(
        n for status, n in reads.statuses.items() if status == "0" or status.startswith("5")
    )
    print("\n" + figures.line())
    print(
        f"webhooks: {len(stream.deliveries)} sent, {len(stream.accepted)} accepted, "
        f"answer p50 {percentile(stream.answer_ms, 0.5):.1f} ms / p99 "
        f"{percentile(stream.answer_ms, 0.99):.1f} ms, refused {dict(stream.refused)}"
    )
    print(f"runs: {dict(outcomes)}")
    print(f"polling: {harvest.moves} moves made, {polled} events polled")
    print(f"ATS API calls: {sum(harvest.calls.values())} ({dict(harvest.calls)})")
    print(
        f"reads: {sum(reads.statuses.values())} ({dict(reads.statuses)}), p50 "
        f"{percentile(reads.ms, 0.5):.0f} ms / p99 {percentile(reads.ms, 0.99):.0f} ms"
    )
    print(f"\nmemory (PSS MB; growth from minute {WARM_MINUTE} to the end)")
    print(f"{'process':<12} {'warm':>8} {'end':>8} {'peak':>8} {'growth':>8}  verdict")
    for name, row in verdict.items():
        print(
            f"{name:<12} {row['warm_mb']:>8} {row['end_mb']:>8} {row['peak_mb']:>8} "
            f"{row['growth_mb']:>8}  {'flat' if row['flat'] else 'GROWING'}"
        )
    print(f"load average at end: {os.getloadavg()}")
    ok = (
        not figures.broken()
        and polled == harvest.moves
        and errors == 0
        and all(row["flat"] for row in verdict.values())
    )
    print(
        json.dumps(
            {
                "bench": "soak",
                "minutes": args.minutes,
                "herd": args.herd,
                "webhooks_per_second": args.webhooks_per_second,
                "invariants": {
                    k: v for k, v in figures.__dict__.items() if k not in ("fault", "notes")
                },
                "runs": dict(outcomes),
                "polling": {"moves": harvest.moves, "events": polled},
                "ats_calls": sum(harvest.calls.values()),
                "reads": {
                    "total": sum(reads.statuses.values()),
                    "errors": errors,
                    "p99_ms": round(percentile(reads.ms, 0.99), 1),
                },
                "memory_mb": verdict,
                "samples": len(memory.samples),
                "ok": ok,
            }
        )
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
