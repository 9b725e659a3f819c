"""`python -m tests.faults [pytest args]` (what `make faults` runs): starts a PostgreSQL and a
Redis of the suite's own on free ports, runs tests/faults/ against them, stops them.

The faults stop and restart these servers, so they cannot be the ones the rest of the suite
(or a developer's `make run`) uses."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.faults.services import Postgres, Redis, available, free_port

ROOT = Path(__file__).resolve().parent.parent.parent


def main(argv: list[str]) -> int:
    missing = available()
    if missing:
        print(f"FAULT SUITE NOT RUN: {missing}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="skillomatic-faults-"))
    work.chmod(0o755)  # the postgres user must reach its folder inside
    pg = Postgres(work / "pg", free_port()).init()
    redis = Redis(work / "redis", free_port())
    pg.start()
    redis.start()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": pg.url("skillomatic"),
        "REDIS_URL": redis.url(),
        "DATA_DIR": str(work / "data"),
        "FAULT_PG_DIR": str(pg.folder),
        "FAULT_PG_PORT": str(pg.port),
        "FAULT_REDIS_DIR": str(redis.folder),
        "FAULT_REDIS_PORT": str(redis.port),
    }
    try:
        return subprocess.call(
            [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider",
             "tests/faults", *argv],
            cwd=ROOT,
            env=env,
        )  # fmt: skip
    finally:
        redis.stop()
        pg.stop()
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
