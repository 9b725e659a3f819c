"""PostgreSQL and Redis servers of the fault suite's own, on free ports of 127.0.0.1, so a
fault can stop, restart or pause them without touching anything else on the machine.

`python -m tests.faults` starts both, hands their addresses to pytest in the environment
(DATABASE_URL, REDIS_URL and the FAULT_* variables below) and stops them at the end; the
tests drive them through `Postgres.from_env()` and `Redis.from_env()`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from glob import glob
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait(predicate, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def postgres_bin() -> Path | None:
    """Debian's newest PostgreSQL, or one on PATH."""
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Postgres:
    """One cluster in a folder of its own. PostgreSQL refuses to run as root, so under root
    (CI) its commands run as the `postgres` user."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.bin = postgres_bin()

    @classmethod
    def from_env(cls) -> Postgres:
        return cls(Path(os.environ["FAULT_PG_DIR"]), int(os.environ["FAULT_PG_PORT"]))

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def init(self) -> Postgres:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.folder / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        )
        return self

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} "
            "-c max_connections=300 -c fsync=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "pg.log"),
            "-o", options, "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        """A fast shutdown: every connection is cut, as a restart or failover does."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")

    def restart(self, down_for: float = 0) -> None:
        self.stop()
        time.sleep(down_for)  # the outage itself: nothing to wait for
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"


class Redis:
    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.proc: subprocess.Popen | None = None

    @classmethod
    def from_env(cls) -> Redis:
        return cls(Path(os.environ["FAULT_REDIS_DIR"]), int(os.environ["FAULT_REDIS_PORT"]))

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                "--daemonize", "yes", "--pidfile", str(self.folder / "redis.pid"),
                "--logfile", str(self.folder / "redis.log"), "--dir", str(self.folder),
                "--save", "", "--appendonly", "no",
            ],
            check=True,
        )  # fmt: skip
        _wait(lambda: _answers(self.port), "Redis to answer")

    def stop(self) -> None:
        """SHUTDOWN NOSAVE: Redis goes away with whatever it held (nothing is persisted, as
        with a restarted cache node); what was queued must be recovered from PostgreSQL."""
        subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "shutdown", "nosave"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(lambda: not _answers(self.port), "Redis to stop")

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


def available() -> str | None:
    """Why the fault suite cannot run here, or None."""
    if postgres_bin() is None:
        return "PostgreSQL (initdb) is not installed"
    if not shutil.which("redis-server"):
        return "redis-server is not installed"
    if compiler() is None:
        return "a C compiler (cc) is not installed (the clock-jump fault builds its clock)"
    return None


class ClockShift:
    """Steps the wall clock of the processes started with `env()` (tests/faults/clock_shift.c,
    compiled here with the system's C compiler), as NTP stepping a machine's clock does;
    their monotonic clock, PostgreSQL's and the test's own clocks run on."""

    SOURCE = Path(__file__).with_name("clock_shift.c")

    def __init__(self, folder: Path) -> None:
        self.library = folder / "clock_shift.so"
        self.file = folder / "clock-offset"
        subprocess.run(
            [compiler(), "-shared", "-fPIC", "-O2", "-Wall", "-o", str(self.library),
             str(self.SOURCE), "-ldl"],
            check=True,
        )  # fmt: skip
        self.shift(0)

    def env(self) -> dict[str, str]:
        return {"LD_PRELOAD": str(self.library), "CLOCK_SHIFT_FILE": str(self.file)}

    def shift(self, seconds: int) -> None:
        """From now on the processes' wall clock reads `seconds` away from the real one."""
        partial = self.file.with_suffix(".new")
        partial.write_text(str(seconds))
        partial.replace(self.file)  # atomic: a reader never sees half a number


def compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc")
