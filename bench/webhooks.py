"""Webhook receiver benchmark: gunicorn on 127.0.0.1 over PostgreSQL + Redis, signed
Greenhouse deliveries from wrk at rising concurrency, against a bare Django view (/ping) as
the ceiling in the same run; then a fixed 500 deliveries a second for the p99. A beat runs
alongside, waking workers for the stored events as in production (no worker drains them
here, so every accepted event is still waiting in the queue at the end).

    python bench/webhooks.py [--workers 2] [--worker-class gevent|gthread] [--seconds 8]

Needs Debian's wrk (apt-get install -y wrk). Uses DATABASE_URL/REDIS_URL when both are set,
else throwaway servers. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.processes import open_loop, start_gunicorn  # noqa: E402
from bench.services import postgres_and_redis, recreate_database  # noqa: E402

SECRET = "bench-webhook-secret"
QUEUE = "bench-webhooks"
FIXTURE = ROOT / "tests" / "fixtures" / "greenhouse" / "candidate_stage_change.json"
WRK_SCRIPT = """
local counter = 0
local threads = {}
local label = "run"
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
local base = 0
local sigs = nil
function init(args)
  label = args[1] or "run"
  base = tonumber(args[2] or "0")
  if args[3] then
    sigs = {}
    for line in io.lines(args[3]) do sigs[#sigs + 1] = line end
  end
end
request = function()
  counter = counter + 1
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Greenhouse-Event-ID"] = label .. "-" .. tid .. "-" .. counter
  if sigs == nil then
    return wrk.format(METHOD, nil, headers, BODY)
  end
  -- Each delivery distinct (the receiver dedupes on the signed body): BODY_HEAD n BODY_TAIL,
  -- with its signature precomputed in the slice this thread owns.
  local i = (tid * PER_THREAD + (counter - 1) % PER_THREAD) + 1
  headers["Signature"] = "sha256 " .. sigs[i]
  return wrk.format(METHOD, nil, headers, BODY_HEAD .. (base + i) .. BODY_TAIL)
end
function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %d %d %d %d %d\\n", summary.requests, errors,
    summary.duration, latency:percentile(50), latency:percentile(99)))
end
"""


def wrk(
    url: str,
    script: Path,
    connections: int,
    seconds: int,
    label: str,
    extra: tuple[str, ...] = (),
) -> dict:
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(min(2, connections)),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            url,
            "--",
            label,
            *extra,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+)", out)
    requests, errors, duration_us, p50, p99 = map(int, match.groups())
    return {
        "connections": connections,
        "requests": requests,
        "errors": errors,
        "per_s": (requests - errors) / (duration_us / 1e6),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
    }


def distinct_body(body: bytes, n: int) -> bytes:
    """The fixture as delivery number n: the receiver stores a delivery once per signed body,
    so every request must differ (an extra top-level key the adapter does not read)."""
    return b'{"bench_seq":%d,' % n + body[1:]


def sign(body: bytes) -> str:
    return "sha256 " + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


class Deliveries:
    """Hands out distinct signed deliveries: slices of numbers with their signatures written
    to a file wrk's threads read (wrk cannot compute an HMAC), and single ones for the
    fixed-rate client."""

    def __init__(self, body: bytes, work: Path, per_thread: int) -> None:
        self.body, self.work, self.per_thread, self.next = body, work, per_thread, 0

    def wrk_slice(self, threads: int) -> tuple[str, ...]:
        base, count = self.next, threads * self.per_thread
        self.next += count
        path = self.work / f"sigs-{base}.txt"
        path.write_text(
            "".join(
                sign(distinct_body(self.body, base + i)).removeprefix("sha256 ") + "\n"
                for i in range(1, count + 1)
            )
        )
        return (str(base), str(path))

    def one(self) -> tuple[bytes, str]:
        self.next += 1
        body = distinct_body(self.body, self.next)
        return body, sign(body)


async def fixed_rate(
    host: str,
    port: int,
    path: str,
    deliveries: Deliveries,
    rate: int,
    seconds: int,
    connections: int = 16,
) -> dict:
    """Open-loop load at `rate` a second (bench/processes.py open_loop)."""
    total = rate * seconds
    requests = []
    for i in range(total):  # signed before the clock starts
        body, signature = deliveries.one()
        headers = {"Signature": signature, "Greenhouse-Event-ID": f"fixed-{i}"}
        requests.append((path, body, headers))
    answers = await open_loop(host, port, requests, rate, connections)
    latencies = sorted(latency for _due, latency, _status in answers)
    return {
        "rate": rate,
        "requests": total,
        "failures": sum(1 for _due, _latency, status in answers if status != 200),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--worker-class", default="gevent", help="gevent (config/gunicorn.py) or gthread"
    )
    parser.add_argument("--threads", type=int, default=8, help="threads per gthread worker")
    parser.add_argument("--seconds", type=int, default=8, help="per concurrency level")
    parser.add_argument("--levels", default="4,8,16,32,64", help="wrk connection counts")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("This benchmark needs wrk: apt-get install -y wrk")
    levels = [int(x) for x in args.levels.split(",")]
    work = Path(tempfile.mkdtemp(prefix="skillomatic-bench-webhooks-"))
    with postgres_and_redis() as (pg_base, redis_url):
        db_url = recreate_database(pg_base, "skillomatic_webhooks_bench")
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url,
            "CELERY_QUEUE": QUEUE,
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "ERROR",
            "DATA_DIR": str(work),
            "FIELD_ENCRYPTION_KEY": "q9Ns0ZyXU0nq3QvlvB6qrp1W7w0j2dP1lJ3mXkqkS1E=",
        }
        os.environ.update(
            {
                k: env[k]
                for k in (
                    "DATABASE_URL",
                    "REDIS_URL",
                    "CELERY_QUEUE",
                    "DATA_DIR",
                    "SECRET_KEY",
                    "FIELD_ENCRYPTION_KEY",
                )
            }
        )
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from tests.factories import OrganizationFactory
        from webhooks.models import AtsConnection, InboundEvent

        connection = AtsConnection.objects.create(
            organization=OrganizationFactory(),
            provider="greenhouse",
            name="bench",
            secrets={"webhook_secret": SECRET},
        )
        path = f"/webhooks/ats/greenhouse/{connection.public_id}/"
        body = FIXTURE.read_bytes()
        # Enough numbers that no thread wraps around within a level (about 5,000 a second).
        per_thread = args.seconds * 5000
        deliveries = Deliveries(body, work, per_thread)
        head, tail = (part.decode() for part in distinct_body(body, 0).split(b"0", 1))
        script = work / "post.lua"
        script.write_text(
            f"METHOD = 'POST'\nBODY_HEAD = {json.dumps(head)}\nBODY_TAIL = {json.dumps(tail)}\n"
            f"PER_THREAD = {per_thread}\n" + WRK_SCRIPT
        )
        ceiling_script = work / "ping.lua"
        ceiling_script.write_text("METHOD = 'GET'\nBODY = nil\nPER_THREAD = 0\n" + WRK_SCRIPT)

        port = 18000 + os.getpid() % 1000
        server = start_gunicorn(
            env, port, args.workers, work / "gunicorn.log", args.worker_class, args.threads
        )
        # The beat sends stored events to the workers in batches: part of "queued".
        beat = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel",
                "WARNING",
                "--pidfile=",
                "-s",
                str(work / "beat-schedule"),
            ],
            cwd=ROOT,
            env=env,
            stdout=open(work / "beat.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        results: dict = {
            "workers": args.workers,
            "cpus": os.cpu_count(),
            "receiver": [],
            "ceiling": [],
        }
        accepted_total = 0
        try:
            for c in levels:
                # Each measured twice, interleaved, keeping the better: this machine's
                # throughput wanders from run to run.
                ceiling_runs, receiver_runs = [], []
                for attempt in range(2):
                    ceiling_runs.append(
                        wrk(
                            f"http://127.0.0.1:{port}/ping",
                            ceiling_script,
                            c,
                            args.seconds,
                            f"ping{c}-{attempt}",
                        )
                    )
                    receiver_runs.append(
                        wrk(
                            f"http://127.0.0.1:{port}{path}",
                            script,
                            c,
                            args.seconds,
                            f"c{c}-{attempt}",
                            deliveries.wrk_slice(min(2, c)),
                        )
                    )
                accepted_total += sum(r["requests"] - r["errors"] for r in receiver_runs)
                results["ceiling"].append(max(ceiling_runs, key=lambda r: r["per_s"]))
                results["receiver"].append(max(receiver_runs, key=lambda r: r["per_s"]))
                print(
                    f"c={c}: receiver {results['receiver'][-1]['per_s']:.0f}/s, "
                    f"ceiling {results['ceiling'][-1]['per_s']:.0f}/s",
                    flush=True,
                )
            results["fixed_500"] = asyncio.run(
                fixed_rate("127.0.0.1", port, path, deliveries, 500, 10)
            )
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(20)
        accepted = (
            accepted_total + results["fixed_500"]["requests"] - results["fixed_500"]["failures"]
        )
        import redis

        # The events table is the queue: a stored event waits (status "received") until a
        # worker drains it; the beat sent drain messages meanwhile.
        stored = InboundEvent.objects.count()
        queued = InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED).count()
        drains = redis.Redis.from_url(redis_url).llen(QUEUE)
        os.killpg(beat.pid, signal.SIGTERM)
        beat.wait(20)
        results["drain_messages"] = drains
        results.update(accepted=accepted, stored=stored, queued=queued)
    server_kind = (
        "gevent" if args.worker_class == "gevent" else f"{args.worker_class} x {args.threads}"
    )
    results["server"] = server_kind
    best = max(results["receiver"], key=lambda r: r["per_s"])
    ceiling = max(results["ceiling"], key=lambda r: r["per_s"])
    results["best_per_s"] = best["per_s"]
    results["ceiling_per_s"] = ceiling["per_s"]
    results["ratio_to_ceiling"] = best["per_s"] / ceiling["per_s"]
    print()
    print(
        f"gunicorn ({server_kind}), {args.workers} workers, {results['cpus']} CPUs, "
        "PostgreSQL + Redis; signed Greenhouse candidate_stage_change deliveries"
    )
    print(
        f"{'connections':>11} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}   "
        f"{'ceiling/s':>10} {'p99 ms':>8}"
    )
    for r, c in zip(results["receiver"], results["ceiling"], strict=True):
        print(
            f"{r['connections']:>11} {r['per_s']:>10.0f} {r['p50_ms']:>8.1f} "
            f"{r['p99_ms']:>8.1f} {r['errors']:>7}   {c['per_s']:>10.0f} {c['p99_ms']:>8.1f}"
        )
    fixed = results["fixed_500"]
    print(
        f"fixed 500 events/s for 10 s: p50 {fixed['p50_ms']:.1f} ms, "
        f"p99 {fixed['p99_ms']:.1f} ms, {fixed['failures']} failures"
    )
    print(
        f"best {best['per_s']:.0f} events/s = {results['ratio_to_ceiling']:.0%} of the bare "
        f"view's {ceiling['per_s']:.0f}/s; accepted {accepted}, stored {stored}, waiting in the "
        f"queue {queued}, drain messages sent {results['drain_messages']}"
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
