"""The product's real processes for benchmarks (gunicorn with config/gunicorn.py, celery
worker and beat), their CPU time from /proc, and an open-loop HTTP client: shared by
bench/webhooks.py and bench/pipeline.py."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def start_gunicorn(
    env: dict,
    port: int,
    workers: int,
    log: Path,
    worker_class: str = "gevent",
    threads: int = 8,
) -> subprocess.Popen:
    """gunicorn with the production settings (config/gunicorn.py); --worker-class gthread
    measures the thread-pool alternative instead. Returns once /ping answers."""
    args = ["-c", "config/gunicorn.py", "-b", f"127.0.0.1:{port}", "-w", str(workers)]
    if worker_class != "gevent":
        args += ["--worker-class", worker_class, "--threads", str(threads)]
    proc = spawn(
        [sys.executable, "-m", "gunicorn", *args, "--log-level", "warning", "config.wsgi"],
        env,
        log,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1)
            return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not start; see {log}")


def spawn(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    """A process in its own session (so stop() takes its children too), output to `log`."""
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def celery(env: dict, log: Path, *args: str) -> subprocess.Popen:
    return spawn([sys.executable, "-m", "celery", "-A", "config", *args], env, log)


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM to the process group (a warm shutdown), SIGKILL if it does not end in time."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and all its descendants alive now (a prefork worker's pool
    children, gunicorn's workers), from /proc/<pid>/stat."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
        todo += _children(current)
    return total


async def open_loop(
    host: str,
    port: int,
    requests: list[tuple[str, bytes, dict[str, str]]],
    rate: float,
    connections: int = 16,
) -> list[tuple[float, float, int]]:
    """POSTs `requests` ((path, body, headers), prepared before the clock starts) at a fixed
    rate: request i is due at start + i/rate and its latency counts from then, so a slow
    server cannot hide its queueing (no coordinated omission). Returns (due as time.time(),
    latency in seconds, HTTP status) per request, in order."""
    results: list[tuple[float, float, int] | None] = [None] * len(requests)
    start = time.perf_counter() + 0.2
    wall_offset = time.time() - time.perf_counter()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(requests)):
        queue.put_nowait(i)

    async def client() -> None:
        reader = writer = None
        while not queue.empty():
            i = queue.get_nowait()
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            path, body, headers = requests[i]
            head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            head += f"Content-Length: {len(body)}\r\n\r\n"
            writer.write(head.encode() + body)
            await writer.drain()
            status_line = await reader.readline()
            length, close = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection" and "close" in value.lower():
                    close = True
            await reader.readexactly(length)
            parts = status_line.split()
            status = int(parts[1]) if len(parts) > 1 else 0
            results[i] = (due + wall_offset, time.perf_counter() - due, status)
            if close:  # the server does not keep connections (sync workers)
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    return [r for r in results if r is not None]
