"""API benchmark: the list and detail endpoints on PostgreSQL with 10,000 automations and
1,000,000 runs in one org, and the throughput of POST /runs/<id>/rerun/ against gunicorn.

    python bench/api.py [--automations 10000] [--runs 1000000] [--repeat 20] [--seconds 15]

Seeds with bench/dashboard.py's `seed` (same data as the dashboard benchmark). Uses
DATABASE_URL and REDIS_URL when both are set (a database named skillomatic_bench_api is
recreated on that server), else starts throwaway PostgreSQL and Redis on 127.0.0.1
(bench/services.py). Redis is the cache (throttle counters, as in production) and the broker
(reruns are sent to a queue of the bench's own that no worker reads).

1. Each endpoint through Django's test client as the org's admin (who sees the whole org),
   authenticated with a real API token (`Authorization: Bearer`) when the tokens lane's
   authentication is installed, else the session: `repeat` times after a warm-up, median and
   p95 ms and query counts; the query counts again on a small org (50 automations, 2,000
   runs) to show they do not grow with the rows. Baselines measured in the same run: the
   dashboard's run history and the Django admin's run changelist on the same data.
2. EXPLAIN of each runs-list filter's page query: the index it uses.
3. gunicorn as `make run` starts it (config/gunicorn.py: gevent workers) on 127.0.0.1, and wrk
   with 32 connections POSTing reruns of distinct runs for `seconds`: requests/s, errors
   (non-2xx and socket errors) and the reruns actually made.

Prints a table, then one JSON line with every figure and the ratios against the baselines.
The per-token and per-org rate limits are raised for the run (they would refuse most of a
32-client burst, by design)."""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dashboard import measure, seed, setup_django  # noqa: E402
from bench.services import postgres_and_redis, recreate_database  # noqa: E402

TARGET_MS = 50.0
QUEUE = "bench-api"
CLIENTS = 32
WRK_SCRIPT = """
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
local paths = {}
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  per_thread = math.floor(#paths / tonumber(args[2]))
end
request = function()
  counter = counter + 1
  local i = tid * per_thread + ((counter - 1) % per_thread) + 1
  return wrk.format("POST", paths[i], HEADERS, "")
end
function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, errors,
    summary.duration, latency:percentile(50), latency:percentile(99), summary.errors.status))
end
"""


def credentials(user) -> tuple[dict[str, str], str]:
    """HTTP headers that authenticate as `user`, and which kind they are: a personal API
    token when the tokens lane's Bearer authentication is configured, else a session (with
    the CSRF cookie and header a session's POST needs)."""
    from django.conf import settings
    from django.test import Client

    classes = settings.REST_FRAMEWORK.get("DEFAULT_AUTHENTICATION_CLASSES", [])
    if "accounts.api_auth.TokenAuthentication" in classes:
        from accounts.api_tokens import api_token_create

        _, raw = api_token_create(user=user, name=f"bench {secrets.token_hex(4)}")
        return {"Authorization": f"Bearer {raw}"}, "token"
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    csrf = secrets.token_hex(16)  # 32 characters: an unmasked CSRF secret
    return {
        "Cookie": f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf}",
        "X-CSRFToken": csrf,
    }, "session"


def deep_cursor(created_at: datetime) -> str:
    """The API's cursor (DRF CursorPagination: base64 of p=<position>) for the page after a
    run created at `created_at`."""
    return base64.b64encode(urlencode({"p": str(created_at)}).encode()).decode()


def add_deliveries(run) -> None:
    """A run's page with something in it: one channel's delivery and three attempts."""
    from delivery.models import Delivery, DeliveryAttempt, DeliveryChannel

    channel = DeliveryChannel.objects.create(
        organization_id=run.organization_id,
        owner=run.automation.owner,
        kind="in_app",
        name=f"Bench inbox {run.pk}",
        config={},
    )
    delivery = Delivery.objects.create(
        run=run, channel=channel, status="sent", attempts=3, sent_at=run.created_at
    )
    for n, (ok, code, error) in enumerate(
        [(False, 503, "Service Unavailable"), (False, 502, "Bad Gateway"), (True, 200, "")]
    ):
        DeliveryAttempt.objects.create(
            delivery=delivery,
            started_at=run.created_at + timedelta(seconds=n),
            duration_ms=100,
            ok=ok,
            http_status=code,
            error=error,
        )


def endpoints(slug: str) -> dict[str, str]:
    from django.urls import reverse

    from automations.models import Automation, AutomationRun

    runs = AutomationRun.objects.filter(organization__slug=slug)
    total = runs.count()
    deep = runs.order_by("-created_at", "-id")[total // 2]
    automation = (
        Automation.objects.filter(organization__slug=slug, trigger_type="cron")
        .order_by("pk")
        .first()
    )
    run = runs.filter(automation=automation).order_by("-created_at").first()
    add_deliveries(run)
    base = f"/api/v1/orgs/{slug}"
    return {
        "automations list": f"{base}/automations/",
        "automation detail": f"{base}/automations/{automation.public_id}/",
        "runs list": f"{base}/runs/",
        "runs list, status=failed": f"{base}/runs/?status=failed",
        "runs list, triggered_by=event": f"{base}/runs/?triggered_by=event",
        "runs list, one automation": f"{base}/runs/?automation={automation.public_id}",
        "runs list, created_since 1 day": (
            f"{base}/runs/?"
            + urlencode({"created_since": (datetime.now(UTC) - timedelta(days=1)).isoformat()})
        ),
        "runs list, deep page (cursor)": (
            f"{base}/runs/?{urlencode({'cursor': deep_cursor(deep.created_at)})}"
        ),
        "run detail": f"{base}/runs/{run.public_id}/",
        "baseline: dashboard run history": reverse("dashboard:runs"),
        "baseline: admin run changelist": reverse("admin:automations_automationrun_changelist"),
    }


def explain_filters(slug: str) -> dict[str, list[str]]:
    """The indexes PostgreSQL uses for each runs-list filter's page query (the list's own
    queryset, through the fetcher, ordered and sliced as a page is)."""
    from django.contrib.auth import get_user_model

    from accounts.models import Organization
    from automations.models import Automation
    from automations.run_search import RunFilter, runs_filtered

    org = Organization.objects.get(slug=slug)
    admin = get_user_model().objects.get(username=f"{slug}-0")
    automation = Automation.objects.filter(organization=org).order_by("pk").first()
    since = datetime.now(UTC) - timedelta(days=1)
    cases = {
        "none": RunFilter(),
        "status=failed": RunFilter(status="failed"),
        "triggered_by=event": RunFilter(triggered_by="event"),
        "automation": RunFilter(automation=automation),
        "created_since": RunFilter(created_from=since),
        "status+created_since": RunFilter(status="failed", created_from=since),
    }
    plans = {}
    for label, filters in cases.items():
        runs = runs_filtered(user=admin, org=org, filters=filters).order_by("-created_at", "-id")
        plan = runs[:51].explain()
        plans[label] = sorted(
            set(re.findall(r"Index (?:Only )?Scan (?:Backward )?(?:using|on) (\w+)", plan))
        )
        if not plans[label]:
            plans[label] = [plan.splitlines()[0]]
    return plans


def rerun_sequential(client, *, slug: str, repeat: int) -> dict:
    """POST /runs/<id>/rerun/ one at a time through the test client: what one rerun costs
    without any concurrency (to read the 32-client figure against)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from automations.models import AutomationRun

    runs = list(
        AutomationRun.objects.filter(organization__slug=slug, status="failed")
        .order_by("created_at")
        .values_list("public_id", flat=True)[: repeat + 1]
    )
    times, statuses, queries = [], set(), 0
    for pid in runs:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.post(f"/api/v1/orgs/{slug}/runs/{pid}/rerun/")
            times.append((time.perf_counter() - started) * 1000)
        statuses.add(response.status_code)
        queries = len(captured)
    times = sorted(times[1:])  # the first is the warm-up
    return {
        "median_ms": statistics.median(times) if times else None,
        "p95_ms": times[max(0, int(len(times) * 0.95) - 1)] if times else None,
        "queries": queries,
        "statuses": sorted(statuses),
    }


def profile(client, path: str) -> str:
    """cProfile of 10 requests to `path`: the top functions by cumulative time, to say where
    the time goes when a target is missed."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(10):
        client.get(path)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(25)
    text = out.getvalue()
    # Also the split that matters: time in the database driver vs the rest.
    total = stats.total_tt
    db = sum(
        row[3]
        for func, row in stats.stats.items()
        if "psycopg" in func[0] and func[2] in ("execute", "_execute_send", "wait")
    )
    return f"10 requests {total * 100:.0f} ms/req total; db driver ~{db * 100:.0f} ms/req\n{text}"


def start_gunicorn(env: dict, port: int, log: Path) -> subprocess.Popen:
    import urllib.request

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "config/gunicorn.py",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "config.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=open(log, "ab"),  # noqa: SIM115 (lives as long as the server)
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"gunicorn did not start; see {log}")


def rerun_throughput(*, slug: str, headers: dict, seconds: int, work: Path, port: int) -> dict:
    """wrk with CLIENTS connections POSTing reruns of distinct finished runs."""
    from automations.models import AutomationRun

    if not shutil.which("wrk"):
        return {"failed": "wrk is not installed (apt-get install -y wrk)"}
    originals = list(
        AutomationRun.objects.filter(organization__slug=slug, rerun_of__isnull=True)
        .order_by("-created_at")
        .values_list("public_id", flat=True)[:40_000]
    )
    paths = work / "paths.txt"
    paths.write_text(
        "".join(f"/api/v1/orgs/{slug}/runs/{pid}/rerun/\n" for pid in originals), encoding="utf-8"
    )
    lua_headers = "{" + ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items()) + "}"
    script = work / "rerun.lua"
    script.write_text(f"HEADERS = {lua_headers}\n{WRK_SCRIPT}", encoding="utf-8")
    env = {
        **os.environ,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "ERROR",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
    }
    log = work / "gunicorn.log"
    server = start_gunicorn(env, port, log)
    # Warm-up: every worker imports the views and opens its connections before timing.
    import urllib.request

    warm = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/orgs/{slug}/runs/?page_size=1", headers=headers
    )
    for _ in range(8):
        with urllib.request.urlopen(warm, timeout=30) as answer:
            answer.read()
    before = AutomationRun.objects.filter(rerun_of__isnull=False).count()
    threads = 2
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t",
                str(threads),
                "-c",
                str(CLIENTS),
                "-d",
                f"{seconds}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}",
                "--",
                str(paths),
                str(threads),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
    match = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", out)
    if not match:
        return {"failed": f"wrk said: {out[-500:]}"}
    requests, errors, duration_us, p50, p99, status_errors = map(int, match.groups())
    made = AutomationRun.objects.filter(rerun_of__isnull=False).count() - before
    return {
        "clients": CLIENTS,
        "seconds": duration_us / 1e6,
        "requests": requests,
        "requests_per_s": requests / (duration_us / 1e6),
        "errors": errors,
        "non_2xx": status_errors,
        "reruns_made": made,
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
        "server": f"gunicorn -c config/gunicorn.py (gevent, {os.cpu_count()} workers)",
        "log_tail": log.read_text(errors="replace")[-300:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--automations", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=15, help="wrk duration")
    parser.add_argument("--port", type=int, default=8766, help="gunicorn's port")
    # Not bench/services.py's defaults, so it runs beside the other benchmarks.
    parser.add_argument("--pg-port", type=int, default=55443)
    parser.add_argument("--redis-port", type=int, default=56390)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="skillomatic-bench-api-"))
    with postgres_and_redis(args.pg_port, args.redis_port) as (pg_base, redis_url):
        db_url = recreate_database(pg_base, "skillomatic_bench_api")
        os.environ.update(
            REDIS_URL=redis_url,
            CELERY_QUEUE=QUEUE,
            API_RATE_PER_TOKEN="100000000/min",
            API_RATE_PER_ORG="100000000/min",
        )
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
            "endpoints": {},
        }
        user_model = get_user_model()
        big_headers: dict = {}
        endpoints_cache: dict = {}
        for size, slug in (("big", "big"), ("small", "small")):
            admin = user_model.objects.get(username=f"{slug}-0")
            headers, kind = credentials(admin)
            figures["auth"] = kind
            if size == "big":
                big_headers = headers
            api = Client(headers=headers)
            dashboard = Client()
            dashboard.force_login(admin)
            endpoints_cache[slug] = endpoints(slug)
            for label, path in endpoints_cache[slug].items():
                client = dashboard if label.startswith("baseline") else api
                result = measure(client, path, args.repeat if size == "big" else 2)
                figures["endpoints"].setdefault(label, {})[size] = result
                print(f"{size:5} {label:34} {json.dumps(result)}", flush=True)
        figures["rerun_sequential"] = rerun_sequential(
            Client(headers=big_headers), slug="big", repeat=args.repeat
        )
        print("rerun, one client, in process:", figures["rerun_sequential"], flush=True)
        figures["load_average_1_5_15"] = os.getloadavg()
        figures["profile_runs_list"] = profile(
            Client(headers=big_headers), endpoints_cache["big"]["runs list"]
        )
        print(figures["profile_runs_list"], flush=True)
        figures["explain"] = explain_filters("big")
        print("EXPLAIN:", json.dumps(figures["explain"]), flush=True)
        figures["rerun"] = rerun_throughput(
            slug="big", headers=big_headers, seconds=args.seconds, work=work, port=args.port
        )
        print("rerun:", json.dumps(figures["rerun"]), flush=True)
    shutil.rmtree(work, ignore_errors=True)
    report(figures)


def report(figures: dict) -> None:
    print()
    print(
        f"{figures['automations']:,} automations, {figures['runs']:,} runs in one org, "
        f"PostgreSQL, {figures['cpus']} CPUs, auth {figures['auth']}; median of "
        f"{figures['repeat']}"
    )
    print(f"{'endpoint':34} {'median ms':>10} {'p95 ms':>8} {'queries':>8} {'small-org q':>12}")
    points = figures["endpoints"]
    history = points.get("baseline: dashboard run history", {}).get("big", {})
    admin = points.get("baseline: admin run changelist", {}).get("big", {})
    ok = True
    ratios: dict = {}
    for label, sizes in points.items():
        big, small = sizes.get("big", {}), sizes.get("small", {})
        if "failed" in big:
            print(f"{label:34} FAILED: {big['failed']}")
            ok = False
            continue
        print(
            f"{label:34} {big['median_ms']:>10.1f} {big['p95_ms']:>8.1f} {big['queries']:>8} "
            f"{small.get('queries', '-'):>12}"
        )
        if label.startswith("baseline"):
            continue
        ok = ok and big["median_ms"] <= TARGET_MS and big["queries"] == small.get("queries")
        ratios[label] = {
            "over_admin_changelist": big["median_ms"] / admin["median_ms"]
            if admin.get("median_ms")
            else None,
            "over_dashboard_history": big["median_ms"] / history["median_ms"]
            if history.get("median_ms")
            else None,
        }
    for label, plan in figures.get("explain", {}).items():
        print(f"  runs filter {label:22} uses {', '.join(plan)}")
    rerun = figures.get("rerun", {})
    if "failed" in rerun:
        print(f"rerun throughput: FAILED: {rerun['failed']}")
        ok = False
    elif rerun:
        print(
            f"POST /runs/<id>/rerun/ at {rerun['clients']} clients: "
            f"{rerun['requests_per_s']:.1f} requests/s, {rerun['errors']} errors "
            f"({rerun['requests']} requests, {rerun['reruns_made']} reruns made, p50 "
            f"{rerun['p50_ms']:.1f} ms, p99 {rerun['p99_ms']:.1f} ms)"
        )
    figures["ratios"] = ratios
    figures["target_ms"] = TARGET_MS
    figures["all_within_target_and_constant_queries"] = ok
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
