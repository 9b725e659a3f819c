"""Dashboard benchmark: the recruiters' pages on PostgreSQL with 10,000 automations and
1,000,000 runs in one org, against the Django admin's run changelist on the same data.

    python bench/dashboard.py [--automations 10000] [--runs 1000000] [--repeat 20]

Uses DATABASE_URL when set (a database named skillomatic_bench_dashboard is recreated on that
server), else starts a throwaway PostgreSQL from Debian's packages. Each page is rendered in
this process through Django's test client as the org's admin (who sees the whole org), `repeat`
times after one warm-up: median and p95 milliseconds and the number of queries. The query count
is also taken on a small org (50 automations, 2,000 runs) to show it does not grow with the
rows. Prints a table, then one JSON line with every figure and the ratios against the admin.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.services import postgres_and_redis, recreate_database  # noqa: E402

TARGET_MS = 100.0
SKILLS = ["pipeline-report", "stale-candidates", "new-candidate-alert", "sourcing-recap"]


def setup_django(db_url: str) -> None:
    os.environ.update(
        DATABASE_URL=db_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        LOG_LEVEL="WARNING",
        DATA_DIR=tempfile.mkdtemp(prefix="skillomatic-bench-data-"),
        ALLOWED_HOSTS="testserver",
    )
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(*, slug: str, automations: int, runs: int, now: datetime) -> dict:
    """One org with its admin, `automations` automations over a few skills, triggers and
    statuses, and `runs` runs spread over the last 90 days (the newest day's with trigger data
    and summaries, as retention keeps them), by INSERT ... SELECT."""
    from django.db import connection

    from skills.models import Skill

    started = time.perf_counter()
    skill_ids = list(
        Skill.objects.filter(slug__in=SKILLS).order_by("slug").values_list("pk", flat=True)
    )
    if not skill_ids:
        skill_ids = list(Skill.objects.order_by("pk").values_list("pk", flat=True)[:4])
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO accounts_organization (public_id, name, slug, plan, time_zone,
                approval_policy, created_at, updated_at)
            VALUES (gen_random_uuid(), %s, %s, 'pro', 'America/New_York', 'none', %s, %s)
            RETURNING id""",
            [f"Bench {slug}", slug, now, now],
        )
        org_id = cur.fetchone()[0]
        cur.execute(
            """
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,
                email, is_staff, is_active, date_joined)
            SELECT '!', false, %s || '-' || i, '', '', %s || i || '@example.test',
                   i = 0, true, %s FROM generate_series(0, 9) i""",
            [slug, slug, now],
        )
        cur.execute(
            """
            INSERT INTO accounts_membership (user_id, organization_id, role, created_at,
                updated_at)
            SELECT u.id, %s, CASE WHEN u.username = %s THEN 'admin' ELSE 'member' END, %s, %s
            FROM auth_user u WHERE u.username LIKE %s""",
            [org_id, f"{slug}-0", now, now, f"{slug}-%"],
        )
        cur.execute(
            """
            INSERT INTO automations_automation (public_id, organization_id, owner_id, name,
                skill_id, params, trigger_type, cron_expression, time_zone, event_type,
                event_filter, offset_minutes, poll_interval_seconds, status, paused_reason,
                catch_up, retry_limit, next_run_at, last_run_at, consecutive_failures,
                review_note, created_at, updated_at)
            SELECT gen_random_uuid(), %(org)s,
                   (SELECT id FROM auth_user WHERE username = %(slug)s || '-' || (i %% 10)),
                   'Automation ' || lpad(i::text, 6, '0'),
                   (%(skills)s::bigint[])[1 + i %% %(nskills)s], '{}',
                   CASE WHEN i %% 5 = 4 THEN 'event' ELSE 'cron' END,
                   CASE WHEN i %% 5 = 4 THEN ''
                        ELSE (i %% 60) || ' ' || (7 + i %% 10) || ' * * 1-5' END,
                   'America/New_York',
                   CASE WHEN i %% 5 = 4 THEN 'ats.candidate.stage_changed' ELSE '' END,
                   CASE WHEN i %% 5 = 4 THEN '{"stage.to": "Onsite"}'::jsonb ELSE '{}'::jsonb END,
                   NULL, NULL,
                   CASE WHEN i %% 10 = 9 THEN 'paused' ELSE 'active' END,
                   CASE WHEN i %% 10 = 9 THEN 'Paused by bench' ELSE '' END,
                   'latest', 3,
                   CASE WHEN i %% 5 = 4 OR i %% 10 = 9 THEN NULL
                        ELSE %(now)s + (i %% 1440) * interval '1 minute' END,
                   %(now)s - interval '1 day', 0, '',
                   %(now)s - (i || ' minutes')::interval, %(now)s
            FROM generate_series(1, %(n)s) i""",
            {
                "org": org_id,
                "slug": slug,
                "skills": skill_ids,
                "nskills": len(skill_ids),
                "now": now,
                "n": automations,
            },
        )
        cur.execute(
            "SELECT id FROM automations_automation WHERE organization_id = %s ORDER BY id",
            [org_id],
        )
        first_id = cur.fetchone()[0]
        # Runs: newest first by i; every automation gets runs; 1 in 20 failed; the newest
        # 1/90th (about a day) keep trigger data and a summary, as retention does.
        cur.execute(
            """
            INSERT INTO automations_automationrun (public_id, automation_id, organization_id,
                status, triggered_by, idempotency_key, scheduled_for, dispatched_at,
                trigger_data, attempt, started_at, finished_at, duration_ms, output_summary,
                output_hash, deliveries, error_code, error_message, missed_count,
                input_tokens, output_tokens, cost_usd, created_at, updated_at)
            SELECT gen_random_uuid(), %(first)s + (i %% %(na)s), %(org)s,
                   CASE WHEN i %% 20 = 7 THEN 'failed' ELSE 'completed' END,
                   CASE WHEN i %% 5 = 4 THEN 'event' ELSE 'schedule' END,
                   'bench:' || i,
                   t, t, CASE WHEN i <= %(fresh)s
                        THEN jsonb_build_object('type', 'ats.candidate.stage_changed',
                             'stage', jsonb_build_object('to', 'Onsite', 'from', 'Phone screen'),
                             'job', jsonb_build_object('name', 'Engineer ' || (i %% 97)))
                        ELSE '{}'::jsonb END,
                   1, t + interval '1 second', t + interval '2 seconds', 1000,
                   CASE WHEN i <= %(fresh)s THEN (i %% 40) || ' candidates in 4 jobs' ELSE '' END,
                   md5(i::text),
                   '[{"channel": "Inbox", "kind": "in_app", "status": "sent"}]'::jsonb,
                   CASE WHEN i %% 20 = 7 THEN 'delivery_failed' ELSE '' END,
                   CASE WHEN i %% 20 = 7 THEN 'No channel accepted the result.' ELSE '' END,
                   0, 0, 0, 0, t, t
            FROM (SELECT i, %(now)s - (i * %(step)s) * interval '1 second' AS t
                  FROM generate_series(1, %(nr)s) i) s""",
            {
                "first": first_id,
                "na": automations,
                "org": org_id,
                "fresh": max(1, runs // 90),
                "now": now,
                "step": 90 * 86400 / max(runs, 1),
                "nr": runs,
            },
        )
        cur.execute("ANALYZE")
    # The admin baseline: the org admin may use the Django admin as seed_demo's admins do.
    from django.contrib.auth import get_user_model

    from automations.management.commands.seed_demo import admin_groups_sync

    get_user_model().objects.get(username=f"{slug}-0").groups.add(admin_groups_sync()["Org admins"])
    return {"seconds": time.perf_counter() - started, "org_id": org_id}


def measure(client, path: str, repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(path)  # warm-up
    if response.status_code != 200:
        return {"path": path, "failed": f"status {response.status_code}"}
    times = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(path)
            if hasattr(response, "render"):
                response.render()
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "path": path,
        "median_ms": statistics.median(times),
        "p95_ms": times[max(0, int(len(times) * 0.95) - 1)],
        "queries": len(queries),
        "bytes": len(response.content),
    }


def pages(org_slug: str) -> dict[str, str]:
    """The pages measured, by label, for the org: the paths that need a row of it (an
    automation, a cursor deep into its history) are looked up here."""
    from urllib.parse import urlencode

    from django.urls import reverse

    from automations.models import Automation, AutomationRun
    from automations.run_search import cursor_for

    org_runs = AutomationRun.objects.filter(organization__slug=org_slug)
    total = org_runs.count()
    # Half-way down the org's history: the cursor a recruiter reaches by paging that far.
    deep = org_runs.order_by("-created_at", "-id")[total // 2]
    busiest = Automation.objects.filter(organization__slug=org_slug, trigger_type="cron")
    cron_automation = busiest.order_by("pk").first()
    event_automation = (
        Automation.objects.filter(organization__slug=org_slug, trigger_type="event")
        .order_by("pk")
        .first()
    )
    runs = reverse("dashboard:runs")
    return {
        "automations list": reverse("dashboard:automations"),
        "org run history, first page": runs,
        "org run history, deep page": f"{runs}?{urlencode({'after': cursor_for(deep)})}",
        "an automation's run history": reverse(
            "dashboard:automation-runs", args=[cron_automation.public_id]
        ),
        "filtered search (failed, 'Engineer 4')": (
            f"{runs}?{urlencode({'status': 'failed', 'q': 'Engineer 4'})}"
        ),
        "why didn't it fire? (cron)": reverse(
            "dashboard:automation-why", args=[cron_automation.public_id]
        ),
        "why didn't it fire? (event)": reverse(
            "dashboard:automation-why", args=[event_automation.public_id]
        ),
        "admin: run changelist": reverse("admin:automations_automationrun_changelist"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--automations", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    with postgres_and_redis() as (pg_base, _redis_url):
        db_url = recreate_database(pg_base, "skillomatic_bench_dashboard")
        setup_django(db_url)
        from django.contrib.auth import get_user_model
        from django.test import Client

        now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
        big = seed(slug="big", automations=args.automations, runs=args.runs, now=now)
        print(
            f"seeded {args.automations:,} automations and {args.runs:,} runs in "
            f"{big['seconds']:.1f} s",
            flush=True,
        )
        small = seed(slug="small", automations=50, runs=2_000, now=now)
        figures: dict = {
            "automations": args.automations,
            "runs": args.runs,
            "repeat": args.repeat,
            "cpus": os.cpu_count(),
            "seed_s": big["seconds"] + small["seconds"],
            "pages": {},
        }
        user_model = get_user_model()
        for size, slug in (("big", "big"), ("small", "small")):
            client = Client()
            client.force_login(user_model.objects.get(username=f"{slug}-0"))
            for label, path in pages(slug).items():
                result = measure(client, path, args.repeat if size == "big" else 2)
                figures["pages"].setdefault(label, {})[size] = result
                print(f"{size:5} {label:34} {json.dumps(result)}", flush=True)
    report(figures)


def report(figures: dict) -> None:
    print()
    print(
        f"{figures['automations']:,} automations, {figures['runs']:,} runs in one org, "
        f"PostgreSQL, {figures['cpus']} CPUs; median of {figures['repeat']}"
    )
    print(f"{'page':34} {'median ms':>10} {'p95 ms':>8} {'queries':>8} {'small-org q':>12}")
    admin = figures["pages"].get("admin: run changelist", {}).get("big", {})
    ok = True
    ratios = {}
    for label, sizes in figures["pages"].items():
        big, small = sizes.get("big", {}), sizes.get("small", {})
        if "failed" in big:
            print(f"{label:34} FAILED: {big['failed']}")
            ok = False
            continue
        print(
            f"{label:34} {big['median_ms']:>10.1f} {big['p95_ms']:>8.1f} {big['queries']:>8} "
            f"{small.get('queries', '-'):>12}"
        )
        if not label.startswith("admin"):
            ok = ok and big["median_ms"] <= TARGET_MS and big["queries"] == small.get("queries")
            if admin.get("median_ms"):
                ratios[label] = big["median_ms"] / admin["median_ms"]
    for label, ratio in ratios.items():
        print(f"  {label}: {ratio:.3f}x the admin's run changelist")
    figures["ratios_over_admin_changelist"] = ratios
    figures["target_ms"] = TARGET_MS
    figures["all_within_target_and_constant_queries"] = ok
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
