"""Scheduler benchmark: AutomationScheduler against django-celery-beat's stock
DatabaseScheduler over the same N automations (as PeriodicTasks), on PostgreSQL + Redis.

    python bench/scheduler.py --n 100000 --k 10000 [--beats 2] [--kill-one-beat]

Uses DATABASE_URL/REDIS_URL when both are set (a database named skillomatic_bench is
recreated on that server), else starts throwaway servers from Debian's packages. Prints a
table, then one JSON line with every figure and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.services import postgres_and_redis, recreate_database  # noqa: E402

OURS = "automations.scheduling.beat.AutomationScheduler"
STOCK = "django_celery_beat.schedulers.DatabaseScheduler"
ZONES = [
    "UTC",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Australia/Sydney",
]
HOURS = [7, 8, 9, 10, 11, 13, 14, 15, 16, 17]
DOWS = ["1", "1-5", "*", "2", "5"]
MINUTES = [0, 15, 30]


def expressions() -> list[str]:
    """About 100 distinct expressions, the mix people pick (weekday mornings, Mondays ...)."""
    out = []
    for hour in HOURS:
        for dow in DOWS:
            for minute in MINUTES[: 2 if dow == "*" else 3]:
                out.append(f"{minute} {hour} * * {dow}")
    return out[:100]


def setup_django(db_url: str, redis_url: str, queue: str) -> None:
    os.environ.update(
        DATABASE_URL=db_url,
        REDIS_URL=redis_url,
        CELERY_QUEUE=queue,
        DJANGO_SETTINGS_MODULE="config.settings",
        LOG_LEVEL="WARNING",
        DATA_DIR=tempfile.mkdtemp(prefix="skillomatic-bench-data-"),
    )
    # Production settings (DEBUG off) need keys; throwaway ones for this run.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(n: int, horizon_start: datetime) -> dict:
    """N active cron automations with their PeriodicTask records, by INSERT ... SELECT."""
    from django.db import connection

    from automations.scheduling import cron
    from skills.models import Skill

    started = time.perf_counter()
    skill_id = Skill.objects.get(slug="pipeline-report").pk
    combos = []
    for zone in ZONES:
        for expr in expressions():
            nxt = cron.next_fire(expr, zone, horizon_start)
            # Keep the background quiet during the run: nothing else fires in the next hour.
            if nxt - horizon_start < timedelta(hours=1):
                continue
            combos.append((expr, zone, nxt))
    now = datetime.now(UTC)
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO accounts_organization (public_id, name, slug, plan, time_zone,
                approval_policy, created_at, updated_at)
            SELECT gen_random_uuid(), 'Bench org ' || i, 'bench-' || i, 'pro', 'UTC', 'none',
                   %s, %s FROM generate_series(1, 100) i""",
            [now, now],
        )
        cur.execute(
            """
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,
                email, is_staff, is_active, date_joined)
            SELECT '!', false, 'bench' || i, '', '', 'bench' || i || '@example.test', false,
                   true, %s FROM generate_series(1, 100) i""",
            [now],
        )
        cur.execute(
            """
            INSERT INTO accounts_membership (user_id, organization_id, role, created_at,
                updated_at)
            SELECT u.id, o.id, 'member', %s, %s FROM auth_user u
            JOIN accounts_organization o ON o.slug = 'bench-' || substr(u.username, 6)
            """,
            [now, now],
        )
        cur.execute(
            "CREATE TEMP TABLE combo (idx int, expr text, zone text, next timestamptz,"
            " minute text, hour text, dow text, crontab_id int)"
        )
        cur.executemany(
            "INSERT INTO combo VALUES (%s, %s, %s, %s, %s, %s, %s, NULL)",
            [
                (i, e, z, t, *e.split(" ")[:2], e.split(" ")[4])
                for i, (e, z, t) in enumerate(combos)
            ],
        )
        cur.execute("""
            INSERT INTO django_celery_beat_crontabschedule (minute, hour, day_of_week,
                day_of_month, month_of_year, timezone)
            SELECT minute, hour, dow, '*', '*', zone FROM combo""")
        cur.execute("""
            UPDATE combo SET crontab_id = c.id FROM django_celery_beat_crontabschedule c
            WHERE c.minute = combo.minute AND c.hour = combo.hour
              AND c.day_of_week = combo.dow AND c.timezone = combo.zone""")
        cur.execute(
            """
            INSERT INTO automations_automation (public_id, organization_id, owner_id, name,
                skill_id, params, trigger_type, cron_expression, time_zone, event_type,
                event_filter, status, paused_reason, catch_up, retry_limit,
                next_run_at, consecutive_failures, review_note, created_at, updated_at)
            SELECT gen_random_uuid(), o.id, u.id, 'Bench ' || i, %s, '{}', 'cron', c.expr,
                   c.zone, '', '{}', 'active', '', 'latest', 3,
                   c.next, 0, '', %s, %s
            FROM generate_series(1, %s) i
            JOIN combo c ON c.idx = i %% (SELECT count(*) FROM combo)
            JOIN accounts_organization o ON o.slug = 'bench-' || (1 + i %% 100)
            JOIN auth_user u ON u.username = 'bench' || (1 + i %% 100)""",
            [skill_id, now, now, n],
        )
        cur.execute(
            """
            INSERT INTO django_celery_beat_periodictask (name, task, args, kwargs, enabled,
                last_run_at, total_run_count, date_changed, description, crontab_id, one_off,
                headers)
            SELECT 'automation:' || a.public_id, 'automations.fire_scheduled', '[]',
                   '{"automation_id": ' || a.id || '}', true, %s, 0, %s, a.name,
                   c.crontab_id, false, '{}'
            FROM automations_automation a
            JOIN combo c ON c.expr = a.cron_expression AND c.zone = a.time_zone""",
            [now, now],
        )
        cur.execute("""
            UPDATE automations_automation a SET periodic_task_id = p.id
            FROM django_celery_beat_periodictask p
            WHERE p.name = 'automation:' || a.public_id""")
        cur.execute("ANALYZE")
    return {
        "seconds": time.perf_counter() - started,
        "distinct_crons": len(expressions()),
        "zones": len(ZONES),
        "schedules": len(combos),
    }


def prepare_herd(k: int, due: datetime) -> None:
    """The first K automations come due at `due` (for both schedulers)."""
    from django.db import connection
    from django_celery_beat.models import CrontabSchedule

    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=str(due.minute),
        hour=str(due.hour),
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    with connection.cursor() as cur:
        cur.execute("DELETE FROM automations_automationrun")
        cur.execute(
            """
            UPDATE automations_automation SET cron_expression = %s, time_zone = 'UTC',
                next_run_at = %s, last_run_at = NULL
            WHERE id IN (SELECT id FROM automations_automation ORDER BY id LIMIT %s)""",
            [f"{due.minute} {due.hour} * * *", due, k],
        )
        cur.execute(
            """
            UPDATE django_celery_beat_periodictask SET crontab_id = %s, last_run_at = %s
            WHERE id IN (SELECT periodic_task_id FROM automations_automation
                         ORDER BY id LIMIT %s)""",
            [crontab.pk, datetime.now(UTC), k],
        )
        cur.execute("ANALYZE automations_automation")


def redis_client(url: str):
    import redis

    return redis.Redis.from_url(url)


def queue_tasks(r, queue: str, count: int) -> list[dict]:
    out = []
    for raw in r.lrange(queue, 0, count - 1):
        msg = json.loads(raw)
        out.append(
            {
                "task": msg["headers"]["task"],
                "argsrepr": msg["headers"].get("argsrepr"),
                "kwargsrepr": msg["headers"].get("kwargsrepr"),
            }
        )
    return out


def next_minute(after: datetime, margin: float) -> datetime:
    t = (after + timedelta(seconds=margin)).replace(second=0, microsecond=0)
    return t + timedelta(minutes=1)


def start_probe(cls: str, idle_until: float, env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "beat_probe.py"), cls, str(idle_until)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=open(log, "ab"),
        text=True,
        start_new_session=True,
    )


def read_event(proc: subprocess.Popen, timeout: float) -> dict | None:
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sel.select(timeout=0.5):
            line = proc.stdout.readline()
            if not line:
                return None
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
        if proc.poll() is not None:
            return None
    return None


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return float("nan")


def kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def run_scheduler(
    name: str,
    cls: str,
    *,
    k: int,
    beats: int,
    timeout: float,
    redis_url: str,
    db_url: str,
    kill_one: bool,
    logdir: Path,
) -> dict:
    from django.db import connection

    from automations.models import Automation, AutomationRun

    queue = f"bench-{name}"
    r = redis_client(redis_url)
    r.delete(queue)
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": queue,
        "SCHEDULER_MAX_SLEEP_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }
    result: dict = {"scheduler": cls, "beats": beats}

    # The herd's minute: far enough ahead for the slowest load we wait for.
    due = next_minute(datetime.now(UTC), margin=15 if cls == OURS else min(timeout, 60) + 20)
    prepare_herd(k, due)
    connection.close()
    procs = [
        start_probe(cls, due.timestamp(), env, logdir / f"{name}-{i}.log") for i in range(beats)
    ]
    loaded = read_event(procs[0], timeout)
    if loaded is None:
        result.update(
            failed=f"did not finish loading within {timeout:.0f} s",
            peak_rss_mb=peak_rss_mb(procs[0].pid),
        )
        for p in procs:
            kill(p)
        return result
    result.update(load_s=loaded["seconds"], rss_after_load_mb=loaded["rss_mb"])
    for p in procs[1:]:
        read_event(p, timeout)
    idle = read_event(procs[0], max(5.0, due.timestamp() - time.time() + 5))
    result["idle_tick_ms"] = idle["median_ms"] if idle else None
    result["idle_tick_max_ms"] = idle["max_ms"] if idle else None

    while datetime.now(UTC) < due - timedelta(seconds=1):
        time.sleep(0.05)
    baseline = r.llen(queue)
    target_task = "automations.execute_run" if cls == OURS else "automations.fire_scheduled"
    key = f"cron:{due.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    while datetime.now(UTC) < due:
        time.sleep(0.005)

    runs_at = messages_at = None
    killed = False
    deadline = time.monotonic() + timeout
    sent = 0
    while time.monotonic() < deadline:
        now = time.time()
        if kill_one and not killed and now - due.timestamp() > 1.0 and len(procs) > 1:
            kill(procs[-1])  # one beat dies mid-herd
            killed = True
        sent = r.llen(queue) - baseline
        if (
            runs_at is None
            and cls == OURS
            and AutomationRun.objects.filter(idempotency_key=key).count() >= k
        ):
            runs_at = time.time() - due.timestamp()
        if messages_at is None and sent >= k:
            messages_at = time.time() - due.timestamp()
        if messages_at is not None and (runs_at is not None or cls != OURS):
            break
        time.sleep(0.1)
    elapsed = messages_at if messages_at is not None else timeout
    result.update(
        herd_runs_s=runs_at,
        herd_enqueued_s=messages_at,
        herd_sent=min(sent, k),
        fires_per_s=(min(sent, k) / elapsed) if elapsed else None,
    )
    if messages_at is None:
        result["failed"] = f"sent {sent} of {k} herd messages within {timeout:.0f} s"
    tasks = queue_tasks(r, queue, r.llen(queue))
    result["herd_messages_checked"] = sum(1 for t in tasks if t["task"] == target_task)
    if cls == OURS:
        runs = AutomationRun.objects.filter(idempotency_key=key)
        result["duplicate_runs"] = runs.count() - runs.values("automation").distinct().count()
        result["runs_created"] = runs.count()

    # Edit latency: change one automation (not in the herd) to fire at the next minute, two
    # seconds before it; how late is that slot?
    edited = Automation.objects.order_by("id")[k]
    slot = next_minute(datetime.now(UTC), margin=3)
    while datetime.now(UTC) < slot - timedelta(seconds=2):
        time.sleep(0.02)
    edit_cron = f"{slot.minute} {slot.hour} * * *"
    _edit(cls, edited, edit_cron)
    before = r.llen(queue)
    effect = None
    edit_deadline = time.monotonic() + max(timeout, 30)
    while time.monotonic() < edit_deadline and effect is None:
        grew = r.llen(queue) - before
        if grew > 0:
            for t in queue_tasks(r, queue, grew):
                if t["task"] == target_task and _is_edited(t, cls, edited, slot):
                    effect = max(0.0, time.time() - slot.timestamp())
                    break
        time.sleep(0.05)
    result["edit_effect_s"] = effect
    if effect is None:
        result["edit_failed"] = "the edited schedule did not fire within the time limit"
    result["peak_rss_mb"] = max(peak_rss_mb(p.pid) for p in procs if p.poll() is None)
    for p in procs:
        kill(p)
    return result


def _edit(cls: str, automation, expr: str) -> None:
    from automations.services import automation_update

    if cls == OURS:
        automation_update(automation=automation, by=None, cron_expression=expr, time_zone="UTC")
        return
    # The stock way: edit the PeriodicTask (its save() marks the schedule changed).
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    minute, hour = expr.split(" ")[:2]
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    task = PeriodicTask.objects.get(pk=automation.periodic_task_id)
    task.crontab = crontab
    task.save()


def _is_edited(message: dict, cls: str, automation, slot: datetime) -> bool:
    if cls == OURS:
        from automations.models import AutomationRun

        run_id = int(message["argsrepr"].strip("[](),"))
        return AutomationRun.objects.filter(
            pk=run_id, automation_id=automation.pk, scheduled_for=slot
        ).exists()
    return f"'automation_id': {automation.pk}}}" in (message["kwargsrepr"] or "")


def measure_ceiling(redis_url: str, count: int) -> dict:
    """How fast one process can put Celery messages on Redis: plain apply_async, and the
    pipelined producer batch the dispatcher uses."""
    from config.celery import app

    r = redis_client(redis_url)
    out = {}
    for mode in ("apply_async", "pipelined"):
        queue = f"bench-ceiling-{mode}"
        r.delete(queue)
        with app.connection_for_write() as conn:
            producer = app.amqp.Producer(conn)
            started = time.perf_counter()
            if mode == "apply_async":
                for i in range(count):
                    app.send_task(
                        "automations.execute_run", args=[i], producer=producer, queue=queue
                    )
            else:
                for start in range(0, count, 500):
                    with producer.batch(500):
                        for i in range(start, min(count, start + 500)):
                            app.send_task(
                                "automations.execute_run", args=[i], producer=producer, queue=queue
                            )
            seconds = time.perf_counter() - started
        assert r.llen(queue) == count
        r.delete(queue)
        out[f"ceiling_{mode}_per_s"] = count / seconds
    return out


def fmt(value, unit="", digits=2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="automations (default 100000)")
    parser.add_argument("--k", type=int, default=10_000, help="due in the same minute")
    parser.add_argument("--beats", type=int, default=1, help="our beat processes (1 or 2)")
    parser.add_argument(
        "--kill-one-beat",
        action="store_true",
        help="with --beats 2: kill one beat a second into the herd",
    )
    parser.add_argument(
        "--stock-timeout",
        type=float,
        default=180,
        help="seconds the stock scheduler gets to load, and to send the herd",
    )
    parser.add_argument("--skip-stock", action="store_true")
    args = parser.parse_args()
    if args.k > args.n:
        raise SystemExit("--k cannot exceed --n")

    logdir = Path(tempfile.mkdtemp(prefix="skillomatic-bench-logs-"))
    with postgres_and_redis() as (pg_base, redis_url):
        db_url = recreate_database(pg_base, "skillomatic_bench")
        setup_django(db_url, redis_url, "bench-ceiling")
        seeded = seed(args.n, datetime.now(UTC))
        print(
            f"seeded {args.n} automations + PeriodicTasks in {seeded['seconds']:.1f} s "
            f"({seeded['schedules']} cron/zone schedules)",
            flush=True,
        )
        figures = {"n": args.n, "k": args.k, "cpus": os.cpu_count(), "seed": seeded}
        figures.update(measure_ceiling(redis_url, args.k))
        print(
            "enqueue ceiling: "
            + ", ".join(f"{k} {v:.0f}" for k, v in figures.items() if k.startswith("ceiling")),
            flush=True,
        )
        figures["ours"] = run_scheduler(
            "ours",
            OURS,
            k=args.k,
            beats=args.beats,
            timeout=120,
            redis_url=redis_url,
            db_url=db_url,
            kill_one=args.kill_one_beat,
            logdir=logdir,
        )
        print("ours: " + json.dumps(figures["ours"]), flush=True)
        if not args.skip_stock:
            figures["stock"] = run_scheduler(
                "stock",
                STOCK,
                k=args.k,
                beats=1,
                timeout=args.stock_timeout,
                redis_url=redis_url,
                db_url=db_url,
                kill_one=False,
                logdir=logdir,
            )
            print("stock: " + json.dumps(figures["stock"]), flush=True)
    report(figures)
    print(f"(beat logs in {logdir})")


def report(figures: dict) -> None:
    ours, stock = figures["ours"], figures.get("stock", {})
    rows = [
        ("start-up / load (s)", "load_s"),
        ("peak RSS of beat (MB)", "peak_rss_mb"),
        ("idle tick, median (ms)", "idle_tick_ms"),
        ("herd: all K runs exist (s after due)", "herd_runs_s"),
        ("herd: all K messages in Redis (s)", "herd_enqueued_s"),
        ("herd messages sent", "herd_sent"),
        ("fires per second", "fires_per_s"),
        ("edit takes effect (s late)", "edit_effect_s"),
    ]
    print()
    print(
        f"N={figures['n']:,} automations, K={figures['k']:,} due in one minute, "
        f"{figures['cpus']} CPUs, PostgreSQL + Redis"
    )
    print(f"{'':40} {'ours':>12} {'stock':>12} {'ours/stock':>11}")
    ratios = {}
    for label, key in rows:
        a, b = ours.get(key), stock.get(key)
        ratio = (
            (a / b) if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None
        )
        ratios[key] = ratio
        print(f"{label:40} {fmt(a):>12} {fmt(b):>12} {fmt(ratio, 'x', 3):>11}")
    for side, data in (("ours", ours), ("stock", stock)):
        if data.get("failed"):
            print(f"{side}: FAILED: {data['failed']}")
    ceiling = figures["ceiling_pipelined_per_s"]
    print(
        f"enqueue ceiling, one process: {figures['ceiling_apply_async_per_s']:.0f}/s plain, "
        f"{ceiling:.0f}/s pipelined; ours reaches "
        f"{(ours.get('fires_per_s') or 0) / ceiling:.0%} of the pipelined ceiling"
    )
    figures["ratios_ours_over_stock"] = ratios
    figures["ratio_ours_over_ceiling"] = (ours.get("fires_per_s") or 0) / ceiling
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
