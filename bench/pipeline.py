"""End-to-end pipeline benchmark (issue 17): from the ATS's POST, or a herd's due time, to the
recruiter's inbox, through the real processes on PostgreSQL + Redis: gunicorn with the
production settings (config/gunicorn.py, gevent), one celery worker with 2 prefork
processes, one beat (AutomationScheduler).

    python bench/pipeline.py [--quick] [--sequential 50] [--rates 50,100,200] [--seconds 20]
                             [--herd 10000] [--orgs 100]

Phases:
 1. one delivery at a time: a signed Greenhouse stage change, wait until its run finished,
    the next;
 2. steady rates (open loop, bench/processes.py open_loop) for --seconds each;
 3. per-run worker cost in every phase: CPU of the worker's processes (utime + stime from
    /proc, main process and pool children) over the phase divided by the runs it finished,
    and SQL statements per run counted inside the worker (bench/pipeline_worker.py wraps
    Django's cursor with connection.execute_wrapper; the worker imports it with --include, the
    product's code and settings are untouched) plus pg_stat_database's committed
    transactions per run (every process: web, beat, worker);
 4. the herd: --herd cron automations due at the same instant (their next_run_at, which is
    what the scheduler reads), each delivering in-app and to a webhook listener on
    127.0.0.1 in this process; seconds from the due time until the last delivery was sent,
    against the ceiling measured just before through the same worker: as many no-op tasks,
    published pipelined, seconds until the last finished.

Every stage figure comes from the rows' own timestamps: InboundEvent.received_at,
AutomationRun.created_at / started_at / finished_at, Delivery.sent_at (the answer time is
the client's). Each stage change matches one event automation (new-candidate-alert,
in-app): the deliveries are spread round-robin over --orgs organisations, each with its own
Greenhouse connection and automation, so no automation passes the Pro plan's storm guard
(300 matching events a minute); the automations' hourly cap is raised for the bench. The
herd runs pipeline-report, spread over the same organisations.

Uses DATABASE_URL/REDIS_URL when both are set (a database named bench_pipeline is recreated
on that server), else throwaway servers (bench/services.py). Talks to 127.0.0.1 only. Prints
a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.processes import celery, cpu_seconds, open_loop, start_gunicorn, stop  # noqa: E402
from bench.services import postgres_and_redis, recreate_database  # noqa: E402

QUEUE = "bench-pipeline"
EVENT_TYPE = "ats.candidate.stage_changed"
FINISHED = ("completed", "failed", "skipped", "cancelled")


# -- a webhook listener -------------------------------------------------------------------


class Listener:
    """The herd's webhook channel: an HTTP server on 127.0.0.1 that answers 200 and counts."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with listener.lock:
                    listener.count += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- set-up --------------------------------------------------------------------------------


def quoted(column: str) -> str:
    return f'"{column}"'


def setup_django(env: dict) -> None:
    os.environ.update({k: env[k] for k in _OURS})
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    # This process only seeds and watches: quiet, and the seeded users' passwords hashed
    # cheaply (they never log in; production's hasher costs 0.5 s a user here). The
    # processes measured keep the production settings.
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    connection.execute_wrappers.append(_count_own)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# Statements this process sends (its polls): each is a transaction of its own (autocommit),
# subtracted from pg_stat_database's commits.
_own = {"statements": 0}


def _count_own(execute, sql, params, many, context):
    _own["statements"] += 1
    return execute(sql, params, many, context)


_OURS = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_QUEUE",
    "DATA_DIR",
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEY",
    "ALLOWED_OUTBOUND_HOSTS",
    "DEBUG",
    "ALLOWED_HOSTS",
)


def seed(orgs: int, herd: int, hook_url: str) -> dict:
    """`orgs` Pro organisations, each with a member, a Greenhouse connection and an event
    automation (in-app); `herd` cron automations over them (in-app + the webhook listener),
    made through the services once per organisation and copied in SQL."""
    from django.db import connection, transaction

    from automations.models import Automation
    from delivery.channel_services import channel_create
    from tests.ats import connection as ats_connection
    from tests.factories import OrganizationFactory, automation, member

    started = time.perf_counter()
    paths = []
    templates = []
    per_org = [herd // orgs + (1 if i < herd % orgs else 0) for i in range(orgs)]
    with transaction.atomic():
        for i in range(orgs):
            org = OrganizationFactory(plan="pro")
            owner = member(org)
            conn = ats_connection(org, "greenhouse")
            paths.append(f"/webhooks/ats/greenhouse/{conn.public_id}/")
            automation(
                org=org,
                owner=owner,
                name="On stage change",
                trigger_type="event",
                event_type=EVENT_TYPE,
                skill_slug="new-candidate-alert",
            )
            if per_org[i]:
                hook, _ = channel_create(
                    org=org, owner=owner, kind="webhook", name="hook", config={"url": hook_url}
                )
                templates.append(
                    (
                        automation(
                            org=org,
                            owner=owner,
                            name="Herd",
                            skill_slug="pipeline-report",
                            cron_expression="0 9 * * 1",
                            time_zone="UTC",
                            channels=[{"kind": "in_app"}, hook],
                        ),
                        per_org[i] - 1,
                    )
                )
        # The bench sends far more than 60 events an hour to each automation.
        Automation.objects.update(max_runs_per_hour=10_000_000)
        columns = [f.column for f in Automation._meta.concrete_fields if f.column != "id"]
        values = [
            {
                "public_id": "gen_random_uuid()",
                "name": "a.name || ' ' || g",
                "periodic_task_id": "NULL",
            }.get(c, f'a."{c}"')
            for c in columns
        ]
        through = Automation.delivery_channels.through._meta
        own = Automation.delivery_channels.field.m2m_column_name()
        other = Automation.delivery_channels.field.m2m_reverse_name()
        with connection.cursor() as cur:
            for template, copies in templates:
                if not copies:
                    continue
                cur.execute(
                    f"INSERT INTO automations_automation ({', '.join(map(quoted, columns))})"
                    f" SELECT {', '.join(values)} FROM automations_automation a,"
                    " generate_series(1, %s) g WHERE a.id = %s",
                    [copies, template.pk],
                )
            cur.execute(
                f'INSERT INTO "{through.db_table}" ("{own}", "{other}")'
                f' SELECT a.id, t."{other}" FROM automations_automation a'
                " JOIN automations_automation tpl ON tpl.organization_id = a.organization_id"
                "  AND tpl.name = 'Herd'"
                f' JOIN "{through.db_table}" t ON t."{own}" = tpl.id'
                " WHERE a.name LIKE %s",
                ["Herd %"],
            )
            cur.execute("ANALYZE")
    herd_count = Automation.objects.filter(trigger_type="cron").count()
    assert herd_count == herd, (herd_count, herd)
    return {"seconds": time.perf_counter() - started, "paths": paths}


# -- measuring ----------------------------------------------------------------------------


def pct(values: list[float]) -> dict:
    """p50/p95/p99/max by nearest rank (None when there is nothing to rank)."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p * len(ordered)) - 1)]

    return {
        "n": len(ordered),
        "p50": rank(0.50),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "max": ordered[-1],
    }


def pg_counters() -> dict:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute(
            "SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted,"
            " tup_updated, tup_deleted FROM pg_stat_database WHERE datname = current_database()"
        )
        names = [c.name for c in cur.description]
        return dict(zip(names, cur.fetchone(), strict=True))


def task_lines(folder: Path, since: float, until: float) -> list[tuple[float, str, int]]:
    out = []
    for path in folder.glob("tasks-*.log"):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3 and since <= float(parts[0]) <= until:
                out.append((float(parts[0]), parts[1], int(parts[2])))
    return out


class Meter:
    """CPU of the processes, database counters and the worker's task log over one phase."""

    def __init__(self, procs: dict, task_dir: Path) -> None:
        self.procs, self.task_dir = procs, task_dir

    def start(self) -> None:
        self.t0 = time.time()
        self.cpu0 = {name: cpu_seconds(p.pid) for name, p in self.procs.items()}
        self.pg0 = pg_counters()
        self.own0 = _own["statements"]

    def stop(self, runs: int) -> dict:
        # PostgreSQL publishes a backend's counters when it goes idle, at most once a second.
        time.sleep(1.2)
        t1 = time.time()
        cpu = {name: cpu_seconds(p.pid) - self.cpu0[name] for name, p in self.procs.items()}
        pg = {k: v - self.pg0[k] for k, v in pg_counters().items()}
        own = _own["statements"] - self.own0
        tasks = task_lines(self.task_dir, self.t0, t1)
        by_task = Counter()
        queries = Counter()
        for _t, name, n in tasks:
            by_task[name] += 1
            queries[name] += n
        per = max(runs, 1)
        return {
            "seconds": t1 - self.t0,
            "runs": runs,
            "cpu_s": cpu,
            "worker_cpu_ms_per_run": cpu["worker"] * 1000 / per,
            "worker_queries_per_run": sum(queries.values()) / per,
            "tasks": dict(by_task),
            "queries_by_task": dict(queries),
            "execute_run_queries_mean": (
                queries["automations.execute_run"] / by_task["automations.execute_run"]
                if by_task["automations.execute_run"]
                else None
            ),
            # Every process's (web, beat, worker), the bench's own polls taken out.
            "xact_commit_per_run": (pg["xact_commit"] - own) / per,
            # Raw deltas: the tup_* counts include the bench's polls.
            "pg": pg,
            "bench_statements": own,
        }


EVENT_ROWS = """
    SELECT e.received_at, r.created_at, r.started_at, r.finished_at, r.status, d.sent_at,
           d.status
    FROM webhooks_inboundevent e
    LEFT JOIN automations_automationrun r ON r.idempotency_key = 'event:' || e.public_id::text
    LEFT JOIN delivery_delivery d ON d.run_id = r.id
    WHERE e.received_at >= %s"""


def event_rows(since: datetime) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(EVENT_ROWS, [since])
        return cur.fetchall()


def events_settled(since: datetime, expected: int) -> tuple[bool, str]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT count(*),
                 count(*) FILTER (WHERE e.status IN ('received', 'processing')),
                 count(r.id), count(r.id) FILTER (WHERE r.status IN {FINISHED!r})
            FROM webhooks_inboundevent e
            LEFT JOIN automations_automationrun r
              ON r.idempotency_key = 'event:' || e.public_id::text
            WHERE e.received_at >= %s""",
            [since],
        )
        events, waiting, runs, finished = cur.fetchone()
    done = events >= expected and waiting == 0 and runs >= events and finished == runs
    return done, f"{events} events ({waiting} waiting), {runs} runs, {finished} finished"


def wait_until(check, timeout: float, poll: float = 0.05) -> tuple[bool, str]:
    deadline = time.monotonic() + timeout
    while True:
        done, state = check()
        if done or time.monotonic() > deadline:
            return done, state
        time.sleep(poll)


def event_stages(rows: list[tuple], answers: list[float]) -> dict:
    def since_received(i: int) -> list[float]:
        return [(r[i] - r[0]).total_seconds() for r in rows if r[i] is not None]

    return {
        "answer": pct(answers),
        "run_created": pct(since_received(1)),
        "run_started": pct(since_received(2)),
        "run_finished": pct(since_received(3)),
        "delivered": pct(since_received(5)),
        "run_status": dict(Counter(r[4] for r in rows)),
        "delivery_status": dict(Counter(r[6] for r in rows)),
    }


class Deliveries:
    """Signed Greenhouse stage changes (tests/ats.py), one application id each, spread
    round-robin over the organisations' receiver paths."""

    def __init__(self, paths: list[str]) -> None:
        self.paths, self.next = paths, 1_000_000

    def take(self, n: int) -> list[tuple[str, bytes, dict[str, str]]]:
        from tests.ats import greenhouse_stage_changes

        batch = greenhouse_stage_changes(n, first_application=self.next)
        out = [
            (self.paths[(self.next + i) % len(self.paths)], body, headers)
            for i, (body, headers) in enumerate(batch)
        ]
        self.next += n
        return out


def phase_sequential(
    name: str, base: str, deliveries: Deliveries, n: int, meter: Meter, settle: float
) -> dict:
    from django.utils import timezone

    from tests.live import http_post

    since = timezone.now()
    meter.start()
    answers = []
    accepted = 0
    for i, (path, body, headers) in enumerate(deliveries.take(n)):
        t = time.perf_counter()
        status, _ = http_post(base, path, body, headers)
        answers.append(time.perf_counter() - t)
        accepted += 200 <= status < 300
        done, state = wait_until(lambda i=i: events_settled(since, i + 1), 60, poll=0.005)
        if not done:
            print(f"  {name}: delivery {i} not finished within 60 s: {state}", flush=True)
            break
    return _finish_events(name, since, answers, accepted, n, meter, settle)


def phase_rate(
    name: str,
    port: int,
    deliveries: Deliveries,
    rate: int,
    seconds: int,
    meter: Meter,
    settle: float,
) -> dict:
    from django.utils import timezone

    requests = deliveries.take(rate * seconds)  # signed before the clock starts
    since = timezone.now()
    meter.start()
    answers = asyncio.run(open_loop("127.0.0.1", port, requests, rate, connections=32))
    accepted = sum(1 for _due, _lat, status in answers if 200 <= status < 300)
    return _finish_events(
        name, since, [lat for _d, lat, _s in answers], accepted, len(requests), meter, settle
    )


def _finish_events(
    name: str,
    since: datetime,
    answers: list[float],
    accepted: int,
    sent: int,
    meter: Meter,
    settle: float,
) -> dict:
    done, state = wait_until(lambda: events_settled(since, accepted), settle, poll=0.25)
    rows = event_rows(since)
    runs = sum(1 for r in rows if r[4] in FINISHED)
    result = {
        "name": name,
        "sent": sent,
        "accepted": accepted,
        "settled": done,
        "state": state,
        "stages": event_stages(rows, answers),
        "cost": meter.stop(runs),
    }
    print(f"{name}: {state}{'' if done else ' (NOT settled)'}", flush=True)
    return result


def phase_ceiling(count: int, meter: Meter, task_dir: Path, settle: float) -> dict:
    """`count` no-op tasks published pipelined to the worker's queue; seconds until the last
    finished."""
    from config.celery import app

    meter.start()
    started = time.time()
    with app.connection_for_write() as conn:
        producer = app.amqp.Producer(conn)
        for first in range(0, count, 500):
            with producer.batch(500):
                for _ in range(first, min(count, first + 500)):
                    app.send_task("bench.noop", producer=producer, queue=QUEUE)
    published = time.time() - started

    def check():
        lines = [t for t in task_lines(task_dir, started, time.time() + 1) if t[1] == "bench.noop"]
        return len(lines) >= count, lines

    done, lines = wait_until(check, settle, poll=0.1)
    last = max((t for t, _n, _q in lines), default=time.time())
    cost = meter.stop(len(lines))
    print(f"ceiling: {len(lines)} of {count} no-op tasks done", flush=True)
    return {
        "tasks": count,
        "done": len(lines),
        "settled": done,
        "publish_s": published,
        "seconds": last - started,
        "per_s": len(lines) / (last - started) if last > started else None,
        "worker_cpu_ms_per_task": cost["worker_cpu_ms_per_run"],
        "cost": cost,
    }


def phase_herd(count: int, listener: Listener, meter: Meter, settle: float) -> dict:
    from django.db import connection

    from automations.models import Automation

    # Due on a whole second a few seconds ahead: the herd's slot.
    due = (datetime.now(UTC) + timedelta(seconds=4)).replace(microsecond=0)
    key = f"cron:{due.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    heard0 = listener.count
    meter.start()
    Automation.objects.filter(trigger_type="cron").update(next_run_at=due, last_run_at=None)

    def figures() -> dict:
        with connection.cursor() as cur:
            cur.execute(
                f"""SELECT count(DISTINCT r.id),
                     count(DISTINCT r.id) FILTER (WHERE r.status IN {FINISHED!r}),
                     count(d.sent_at), max(r.created_at), max(r.started_at), max(r.finished_at),
                     max(d.sent_at), count(DISTINCT r.id) FILTER (WHERE r.status = 'completed')
                FROM automations_automationrun r
                LEFT JOIN delivery_delivery d ON d.run_id = r.id
                WHERE r.idempotency_key = %s""",
                [key],
            )
            row = cur.fetchone()
        return dict(
            zip(
                (
                    "runs",
                    "finished",
                    "sent",
                    "created",
                    "started",
                    "last_finished",
                    "last_sent",
                    "completed",
                ),
                row,
                strict=True,
            )
        )

    def check():
        f = figures()
        return f["finished"] >= count and f["runs"] >= count, f

    # Its figures come from the rows' timestamps; the poll only decides when to stop waiting.
    done, f = wait_until(check, settle, poll=2)
    cost = meter.stop(f["finished"])

    def after(ts):
        return (ts - due).total_seconds() if ts else None

    print(f"herd: {f['finished']} of {count} runs finished, {f['sent']} deliveries", flush=True)
    return {
        "automations": count,
        "due": due.isoformat(),
        "settled": done,
        "runs": f["runs"],
        "completed": f["completed"],
        "deliveries_sent": f["sent"],
        "listener_requests": listener.count - heard0,
        "all_created_s": after(f["created"]),
        "all_started_s": after(f["started"]),
        "all_finished_s": after(f["last_finished"]),
        "seconds": after(f["last_sent"]),
        # Runs finished a second up to the last delivery: comparable with the ceiling's rate
        # even when the herd did not finish within --settle.
        "per_s": f["finished"] / after(f["last_sent"]) if f["last_sent"] else None,
        "cost": cost,
    }


# -- report -------------------------------------------------------------------------------


def fmt_s(value) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def report(figures: dict) -> None:
    print()
    print(
        f"Pipeline, {figures['cpus']} CPUs, PostgreSQL + Redis; gunicorn (gevent) x"
        f" {figures['web_workers']}, 1 worker x {figures['concurrency']} prefork, 1 beat;"
        f" load average {figures['loadavg_start']} at start, {figures['loadavg_end']} at end"
    )
    stages = ("answer", "run_created", "run_started", "run_finished", "delivered")
    print(f"{'phase':<22} {'stage':<13} {'p50':>9} {'p95':>9} {'p99':>9} {'max':>9}")
    for phase in figures["phases"]:
        for stage in stages:
            s = phase["stages"][stage]
            label = phase["name"] if stage == "answer" else ""
            if stage == "run_created" and not phase["settled"]:
                label = "(NOT settled)"
            print(
                f"{label:<22} {stage:<13} {fmt_s(s['p50']):>9} {fmt_s(s['p95']):>9}"
                f" {fmt_s(s['p99']):>9} {fmt_s(s['max']):>9}"
            )
        c = phase["cost"]
        print(
            f"{'':<22} {c['runs']} runs ({phase['stages']['run_status']}), worker"
            f" {c['worker_cpu_ms_per_run']:.1f} CPU-ms and {c['worker_queries_per_run']:.1f}"
            f" statements a run (execute_run {c['execute_run_queries_mean'] or 0:.1f}),"
            f" {c['xact_commit_per_run']:.1f} commits a run (all processes)"
        )
    ceiling, herd = figures["ceiling"], figures["herd"]
    print(
        f"no-op ceiling: {ceiling['done']} tasks in {fmt_s(ceiling['seconds'])}"
        f" ({ceiling['per_s'] or 0:.0f}/s, {ceiling['worker_cpu_ms_per_task']:.2f} worker CPU-ms"
        f" each, published in {fmt_s(ceiling['publish_s'])})"
    )
    if not herd["settled"]:
        print(
            f"herd NOT finished within --settle: {herd['runs']} runs,"
            f" {herd['cost']['runs']} finished ({herd['per_s'] or 0:.1f}/s); figures below are"
            " for the runs that finished"
        )
    print(
        f"herd: {herd['automations']} due; all runs created {fmt_s(herd['all_created_s'])},"
        f" started {fmt_s(herd['all_started_s'])}, last delivered {fmt_s(herd['seconds'])}"
        f" after the due time ({herd['completed']} completed, {herd['deliveries_sent']}"
        f" deliveries, {herd['listener_requests']} webhook requests heard);"
        f" worker {herd['cost']['worker_cpu_ms_per_run']:.1f} CPU-ms and"
        f" {herd['cost']['worker_queries_per_run']:.1f} statements a run"
    )
    ratio = figures["ratios"]["herd_fraction_of_ceiling"]
    print(f"herd at {ratio:.3f} of the no-op ceiling (target >= 0.5)" if ratio else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="10 sequential, 50,100/s for 3 s, herd 1000"
    )
    parser.add_argument("--sequential", type=int, help="deliveries one at a time (50)")
    parser.add_argument("--rates", help="steady rates, comma-separated (50,100,200)")
    parser.add_argument("--seconds", type=int, help="seconds per steady rate (20)")
    parser.add_argument("--herd", type=int, help="cron automations due at once (10000)")
    parser.add_argument("--orgs", type=int, default=100, help="organisations (100)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--settle", type=float, default=2400, help="max seconds per phase (2400)")
    args = parser.parse_args()
    quick = args.quick
    sequential = args.sequential or (10 if quick else 50)
    rates = [int(r) for r in (args.rates or ("50,100" if quick else "50,100,200")).split(",")]
    seconds = args.seconds or (3 if quick else 20)
    herd = args.herd or (1000 if quick else 10_000)
    orgs = min(args.orgs, herd) if herd else args.orgs

    figures: dict = {
        "command": " ".join(["python", "bench/pipeline.py", *sys.argv[1:]]),
        "cpus": os.cpu_count(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "web_workers": args.web_workers,
        "concurrency": args.concurrency,
        "orgs": orgs,
    }
    print(f"load average at start: {figures['loadavg_start']}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="skillomatic-bench-pipeline-"))
    task_dir = work / "tasks"
    task_dir.mkdir()
    (work / "prometheus").mkdir()
    listener = Listener()
    with postgres_and_redis() as (pg_base, redis_url):
        db_url = recreate_database(pg_base, "bench_pipeline")
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url,
            "CELERY_QUEUE": QUEUE,
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "127.0.0.1",
            "ALLOWED_OUTBOUND_HOSTS": "127.0.0.1",
            "DATA_DIR": str(work),
            "METRICS_DIR": str(work / "prometheus"),
            "PROMETHEUS_MULTIPROC_DIR": str(work / "prometheus"),
            "BENCH_TASK_LOG_DIR": str(task_dir),
        }
        setup_django(env)
        seeded = seed(orgs, herd, listener.url)
        print(f"seeded {orgs} organisations, {herd} herd automations in {seeded['seconds']:.1f} s")
        import redis

        redis.Redis.from_url(redis_url).delete(QUEUE)
        port = 18000 + os.getpid() % 1000
        procs = {
            "web": start_gunicorn(env, port, args.web_workers, work / "web.log"),
            "worker": celery(
                env,
                work / "worker.log",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                str(args.concurrency),
                "--include",
                "bench.pipeline_worker",
                "-n",
                "bench-pipeline@%h",
            ),
            "beat": celery(
                env,
                work / "beat.log",
                "beat",
                "--pidfile=",
                "-s",
                str(work / "beat-schedule"),
            ),
        }
        meter = Meter(procs, task_dir)
        base = f"http://127.0.0.1:{port}"
        try:
            # The worker is up once it has run a no-op.
            warm = phase_ceiling(1, meter, task_dir, 120)
            if not warm["settled"]:
                raise SystemExit(f"the worker did not start; see {work / 'worker.log'}")
            deliveries = Deliveries(seeded["paths"])
            # Unmeasured: the first requests of each gunicorn worker load the views and open
            # connections (seconds on a busy machine), the first runs warm the pool.
            warm = phase_rate("warm-up", port, deliveries, 20, 1, meter, args.settle)
            if not warm["settled"]:
                raise SystemExit(f"the warm-up did not settle: {warm['state']}; see {work}")
            phases = [
                phase_sequential("one at a time", base, deliveries, sequential, meter, args.settle)
            ]
            for rate in rates:
                phases.append(
                    phase_rate(
                        f"steady {rate}/s for {seconds} s",
                        port,
                        deliveries,
                        rate,
                        seconds,
                        meter,
                        args.settle,
                    )
                )
            figures["phases"] = phases
            figures["ceiling"] = phase_ceiling(herd, meter, task_dir, args.settle)
            figures["herd"] = phase_herd(herd, listener, meter, args.settle)
        finally:
            for proc in procs.values():
                stop(proc)
            listener.stop()
    figures["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    herd_rate, ceiling_rate = figures["herd"]["per_s"], figures["ceiling"]["per_s"]
    figures["ratios"] = {
        # >= 0.5 is the target: the herd at half the speed of no-op tasks or better
        # (with the same count, the no-op seconds over the herd's seconds).
        "herd_fraction_of_ceiling": herd_rate / ceiling_rate
        if herd_rate and ceiling_rate
        else None,
        "herd_worker_cpu_over_noop": (
            figures["herd"]["cost"]["worker_cpu_ms_per_run"]
            / figures["ceiling"]["worker_cpu_ms_per_task"]
            if figures["ceiling"]["worker_cpu_ms_per_task"]
            else None
        ),
    }
    report(figures)
    print(f"(process logs in {work})")
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
