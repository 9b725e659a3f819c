"""Runs one beat scheduler class the way `celery beat` does (tick, sleep, sync), after timing
its load and its idle tick. Started by bench/scheduler.py; prints JSON lines on stdout."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.utils.module_loading import import_string  # noqa: E402

from config.celery import app  # noqa: E402


def say(**fields) -> None:
    print(json.dumps(fields), flush=True)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    cls = import_string(sys.argv[1])
    idle_until = float(sys.argv[2])  # epoch seconds: stop measuring idle ticks before this
    started = time.perf_counter()
    scheduler = cls(app=app)
    scheduler.schedule  # noqa: B018 - the stock scheduler loads every entry here
    say(event="loaded", seconds=time.perf_counter() - started, rss_mb=rss_mb())

    scheduler.tick()  # first tick sends what is due at start (system tasks)
    ticks = []
    while time.time() < idle_until - 1 and len(ticks) < 50:
        t = time.perf_counter()
        scheduler.tick()
        ticks.append(time.perf_counter() - t)
        time.sleep(0.05)
    if ticks:
        say(
            event="idle",
            median_ms=statistics.median(ticks) * 1000,
            max_ms=max(ticks) * 1000,
            ticks=len(ticks),
        )
    else:
        say(event="idle", median_ms=None, max_ms=None, ticks=0)

    # celery.beat.Service.start's loop.
    while True:
        interval = scheduler.tick()
        if interval and interval > 0:
            time.sleep(interval)
            if scheduler.should_sync():
                scheduler._do_sync()


if __name__ == "__main__":
    main()
