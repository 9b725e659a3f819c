"""PostgreSQL and Redis for benchmarks: the ones in DATABASE_URL / REDIS_URL, or throwaway
servers started here on 127.0.0.1 from Debian's packages (as .ci/run does)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


def _run(cmd: str) -> None:
    subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL)


@contextmanager
def postgres_and_redis(pg_port: int = 55433, redis_port: int = 56380):
    """Yield (database_url_without_db_name, redis_url)."""
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
        yield base, os.environ["REDIS_URL"]
        return
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bins or not shutil.which("redis-server"):
        raise SystemExit(
            "This benchmark needs PostgreSQL and Redis: set DATABASE_URL and REDIS_URL, or "
            "install Debian's postgresql and redis-server (apt-get install -y postgresql "
            "redis-server) and it starts throwaway ones."
        )
    pgbin = bins[-1]
    work = Path(tempfile.mkdtemp(prefix="skillomatic-bench-"))
    work.chmod(0o755)
    try:
        _run(
            f"redis-server --bind 127.0.0.1 --port {redis_port} --daemonize yes "
            f"--pidfile {work}/redis.pid --logfile {work}/redis.log --dir {work} "
            "--save '' --appendonly no"
        )
        _run(f"install -d -o postgres -g postgres -m 700 {work}/pgdata")
        _run(f"install -d -o postgres -g postgres {work}/pgrun")
        _run(
            f"su postgres -c '{pgbin}/initdb -D {work}/pgdata -U postgres --auth=trust "
            "-E UTF8 --locale=C.UTF-8'"
        )
        opts = (
            f"-c listen_addresses=127.0.0.1 -p {pg_port} -k {work}/pgrun "
            "-c max_connections=100 -c shared_buffers=512MB"
        )
        _run(
            f'su postgres -c "{pgbin}/pg_ctl -D {work}/pgdata -l {work}/pgrun/pg.log '
            f"-o '{opts}' -w start\""
        )
        time.sleep(0.5)
        yield f"postgres://postgres@127.0.0.1:{pg_port}", f"redis://127.0.0.1:{redis_port}/0"
    finally:
        subprocess.run(
            f"su postgres -c '{pgbin}/pg_ctl -D {work}/pgdata -m fast -w stop'",
            shell=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        subprocess.run(
            f"redis-cli -p {redis_port} shutdown nosave",
            shell=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(work, ignore_errors=True)


def recreate_database(base_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(f"{base_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"
