"""Per-run worker cost: N pending runs of one event automation (the deterministic
new-candidate-alert skill, as an ATS stage change fires it, delivering to the owner's in-app
inbox) executed in this process through `engine.run_execute`, the function the Celery task
`automations.execute_run` calls, on PostgreSQL + Redis. What it measures is our code (claim,
caps, skill, rendering, delivery rows, finish, logs, metrics), not Celery's own overhead.

    python bench/run_cost.py [--n 500] [--warmup 20] [--automations 1] [--profile]
                             [--database skillomatic_run_cost_bench]

Uses DATABASE_URL/REDIS_URL when both are set (the database named by --database is recreated
on that server), else throwaway servers. Prints CPU ms (time.process_time), wall ms and
queries per run (and PostgreSQL's own CPU per run when its backend runs on this machine),
then one JSON line. --profile adds cProfile's top 20 by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.services import postgres_and_redis, recreate_database  # noqa: E402

SKILL = "new-candidate-alert"
QUEUE = "bench-run-cost"


def setup_django(db_url: str, redis_url: str, data_dir: Path) -> None:
    os.environ.update(
        DATABASE_URL=db_url,
        REDIS_URL=redis_url,
        CELERY_QUEUE=QUEUE,
        DJANGO_SETTINGS_MODULE="config.settings",
        DATA_DIR=str(data_dir),
    )
    # Production settings (DEBUG off, INFO logs) with throwaway keys.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # The worker writes its JSON log lines to stderr; here they go to a file (formatting and
    # redaction still cost what they cost), so the figures are not buried under 500 lines.
    log_file = open(data_dir / "worker.log", "a")  # noqa: SIM115 (lives as long as the run)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(log_file)


def stage_change(i: int) -> dict:
    """A canonical ats.candidate.stage_changed event, as the drain stores it on the run."""
    return {
        "type": "ats.candidate.stage_changed",
        "provider": "greenhouse",
        "delivery_id": f"bench-{i}",
        "occurred_at": "2026-01-12T17:03:00+00:00",
        "candidate": {
            "id": str(1000 + i),
            "name": f"Candidate {i}",
            "email": f"candidate{i}@example.test",
        },
        "application": {"id": str(5000 + i), "job_id": "77", "job_name": "Backend Engineer"},
        "stage": {"from": "Phone Screen", "to": "Onsite Interview"},
        "interview": None,
        "raw_type": "candidate_stage_change",
    }


def seed(n: int, automations: int) -> list[int]:
    """A Pro org, its owner, `automations` event automations (made through the service, with
    the default in-app channel), and n pending runs spread over them; returns the run ids."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from accounts.models import Membership, Organization
    from automations.models import Automation, AutomationRun
    from automations.services import automation_create
    from skills.models import Skill

    org = Organization.objects.create(name="Bench org", slug="bench-run-cost", plan="pro")
    owner = get_user_model().objects.create_user(
        username="recruiter", email="recruiter@example.test", first_name="Rae", last_name="Cruz"
    )
    Membership.objects.create(user=owner, organization=org, role=Membership.Role.MEMBER)
    skill = Skill.objects.get(slug=SKILL)
    made = [
        automation_create(
            org=org,
            owner=owner,
            name=f"Onsite alert {k}",
            skill=skill,
            trigger_type=Automation.TriggerType.EVENT,
            event_type="ats.candidate.stage_changed",
            event_filter={"stage.to": "Onsite Interview"},
        )
        for k in range(automations)
    ]
    now = timezone.now() - timedelta(seconds=1)
    # Created as the drain creates them (admitted, pending, message sent), in one INSERT: the
    # caps at creation are firing's cost, not the worker's.
    runs = AutomationRun.objects.bulk_create(
        AutomationRun(
            automation=made[i % automations],
            organization=org,
            triggered_by=AutomationRun.TriggeredBy.EVENT,
            idempotency_key=f"event:bench-{i}",
            scheduled_for=now,
            dispatched_at=now,
            trigger_data=stage_change(i),
        )
        for i in range(n)
    )
    return [r.pk for r in runs]


class QueryCounter:
    def __init__(self, keep: bool = False) -> None:
        self.count = 0
        self.sql: list[str] | None = [] if keep else None

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if self.sql is not None:
            self.sql.append(sql)
        return execute(sql, params, many, context)


def show_queries(run_id: int) -> None:
    """The statements one run makes, in order (--sql)."""
    from django.db import connection

    from automations import engine

    counter = QueryCounter(keep=True)
    with connection.execute_wrapper(counter):
        engine.run_execute(run_id=run_id)
    print(f"run {run_id}: {counter.count} queries")
    for i, sql in enumerate(counter.sql or [], 1):
        print(f"{i:3}. {sql[:300]}")


def backend_cpu_seconds() -> float | None:
    """CPU time of this connection's PostgreSQL backend, when it runs on this machine."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime: fields 14 and 15 of /proc/<pid>/stat (11 and 12 after the name).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def execute(run_ids: list[int]) -> dict:
    from django.db import connection

    from automations import engine

    counter = QueryCounter()
    statuses: dict[str, int] = {}
    walls = []
    db_before = backend_cpu_seconds()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with connection.execute_wrapper(counter):
        for run_id in run_ids:
            started = time.perf_counter()
            status = engine.run_execute(run_id=run_id)
            walls.append(time.perf_counter() - started)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    db_after = backend_cpu_seconds()
    n = len(run_ids)
    out = {
        "runs": n,
        "statuses": statuses,
        "cpu_ms_per_run": round(cpu * 1000 / n, 2),
        "wall_ms_per_run": round(wall * 1000 / n, 2),
        "wall_ms_p50": round(statistics.median(walls) * 1000, 2),
        "wall_ms_p99": round(sorted(walls)[int(0.99 * (n - 1))] * 1000, 2),
        "queries_per_run": round(counter.count / n, 2),
    }
    if db_before is not None and db_after is not None:
        out["db_cpu_ms_per_run"] = round((db_after - db_before) * 1000 / n, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500, help="runs measured (default 500)")
    parser.add_argument(
        "--warmup", type=int, default=20, help="runs executed first, not measured (imports, caches)"
    )
    parser.add_argument(
        "--automations", type=int, default=1, help="automations the runs are spread over"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile top 20 (cumulative)")
    parser.add_argument("--sql", action="store_true", help="print one run's statements first")
    parser.add_argument("--database", default="skillomatic_run_cost_bench")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="skillomatic-bench-run-cost-"))
    with postgres_and_redis() as (pg_base, redis_url):
        db_url = recreate_database(pg_base, args.database)
        setup_django(db_url, redis_url, data_dir)
        run_ids = seed(args.warmup + args.n + 1, args.automations)
        from django.db import connection

        connection.cursor().execute("ANALYZE")
        if args.warmup:
            execute(run_ids[: args.warmup])
        spare = run_ids.pop()
        if args.sql:
            show_queries(spare)
        # CPU time, as the figures: wall time would rank the waits for PostgreSQL first.
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        if profiler:
            profiler.enable()
        figures = execute(run_ids[args.warmup :])
        if profiler:
            profiler.disable()
        figures.update(skill=SKILL, channel="in_app", automations=args.automations)
        print(
            f"{figures['runs']} runs of {SKILL} (in-app): "
            f"{figures['cpu_ms_per_run']} CPU ms/run, {figures['wall_ms_per_run']} wall ms/run "
            f"(p50 {figures['wall_ms_p50']}, p99 {figures['wall_ms_p99']}), "
            f"{figures['queries_per_run']} queries/run"
            + (
                f", PostgreSQL {figures['db_cpu_ms_per_run']} CPU ms/run"
                if "db_cpu_ms_per_run" in figures
                else ""
            )
            + f"; statuses {figures['statuses']}",
            flush=True,
        )
        if profiler:
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(20)
            # Our own functions (not Django's or a library's), where the cuts are made.
            stats.print_stats(r"/(automations|delivery|skills|config|webhooks|accounts)/", 40)
            stats.sort_stats("tottime").print_stats(30)
            print(out.getvalue())
        connection.close()
        print(json.dumps(figures))
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
