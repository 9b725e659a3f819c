"""Real processes for integration tests: `celery worker` and `celery beat` against the test
database and the configured broker, and an SMTP server on 127.0.0.1."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpInbox:
    """Collects every message an aiosmtpd server on 127.0.0.1 receives."""

    def __init__(self) -> None:
        self.messages: list = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 Message accepted"

    def start(self) -> SmtpInbox:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Stack:
    """Starts and stops worker and beat processes that share this test's database, broker
    queue and SMTP server."""

    def __init__(self, *, queue: str, smtp_port: int, tmp: Path) -> None:
        self.tmp = tmp
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_QUEUE": queue,
            "DATA_DIR": str(settings.DATA_DIR),
            "BROKER_DIR": str(settings.BROKER_DIR),
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "EMAIL_USE_TLS": "false",
            "SKILL_PLUGIN_MODULES": "tests.plugins.skills",
            "FIELD_ENCRYPTION_KEY": settings.FIELD_ENCRYPTION_KEY,
            "SCHEDULER_MAX_SLEEP_SECONDS": "1",
            "LOG_LEVEL": "INFO",
            # This stack's processes count in their own metrics folder, which /metrics of its
            # web server reads (config/metrics.py).
            "METRICS_DIR": str(tmp / "prometheus"),
            "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prometheus"),
        }
        if settings.REDIS_URL:
            self.env["REDIS_URL"] = settings.REDIS_URL
        self.procs: dict[str, subprocess.Popen] = {}

    def _start(self, name: str, args: list[str], program: str = "celery") -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        command = ["celery", "-A", "config"] if program == "celery" else [program]
        proc = subprocess.Popen(
            [sys.executable, "-m", *command, *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill() takes the pool too
        )
        self.procs[name] = proc
        return proc

    def worker(self, name: str = "worker", concurrency: int = 1) -> subprocess.Popen:
        return self._start(
            name,
            [
                "worker",
                "--loglevel",
                "INFO",
                "--pool",
                "prefork",
                "--concurrency",
                str(concurrency),
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"{name}@%h",
            ],
        )

    def beat(self, name: str = "beat") -> subprocess.Popen:
        return self._start(
            name,
            [
                "beat",
                "--loglevel",
                "INFO",
                "--pidfile=",
                "-s",
                str(self.tmp / f"{name}-schedule"),
            ],
        )

    def web(self, name: str = "web", workers: int = 2) -> str:
        """gunicorn with the production settings (config/gunicorn.py) on a free port; returns
        its base URL once it answers."""
        port = free_port()
        args = ["-c", "config/gunicorn.py", "-b", f"127.0.0.1:{port}", "-w", str(workers)]
        self._start(name, [*args, "config.wsgi"], program="gunicorn")
        base = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                with urllib.request.urlopen(f"{base}/ping", timeout=1) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_for(answers, timeout=30, what="gunicorn to answer", stack=self)
        return base

    def kill(self, name: str) -> None:
        """SIGKILL: what an OOM kill or a lost machine does; no cleanup runs."""
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.procs.clear()
        self._hand_logs_to_leak_check()

    def _hand_logs_to_leak_check(self) -> None:
        # The whole-suite leak check (tests/plugins/log_capture.py) greps these too.
        folder = os.environ.get("SKILLOMATIC_LOG_CAPTURE_DIR")
        if not folder:
            return
        for path in sorted(self.tmp.glob("*.log")):
            target = Path(folder) / f"live-{uuid.uuid4().hex[:8]}-{path.name}"
            target.write_bytes(path.read_bytes())

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
            for path in sorted(self.tmp.glob("*.log"))
        )


def http_post(base: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST JSON on a connection of its own (so concurrent posts spread over a server's
    worker processes); (status, body)."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request("POST", path, body, {"Content-Type": "application/json", **headers})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str, stack=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what}\n" + (stack.logs() if stack else "")
    )
