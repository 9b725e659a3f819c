"""The run time limit, enforced by the engine itself so that every way of executing a run (a
worker, `manage.py run_automation`, any synchronous caller) stops at RUN_TIMEOUT_SECONDS.
Celery's own limits are only a backstop behind it (config/celery.py), and the reaper, which
takes back runs still `running` after the limit plus a margin, can then trust that no run it
takes is still going."""

from __future__ import annotations

import ctypes
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class RunTimeLimitExceeded(BaseException):
    """Raised inside the running code when its time is up. A BaseException, like
    KeyboardInterrupt, so that a skill's own `except Exception` cannot swallow it."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise RunTimeLimitExceeded in this thread if the block runs longer than `seconds`.

    In the main thread (a prefork worker's child, a management command) SIGALRM interrupts
    even a blocking sleep or socket read. Elsewhere (a threaded server or pool) a watchdog
    raises the exception asynchronously in the thread, which takes effect at its next Python
    instruction."""
    if seconds <= 0:
        yield
        return
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        with _alarm(seconds):
            yield
    else:
        with _watchdog(seconds):
            yield


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def on_alarm(signum, frame):
        raise RunTimeLimitExceeded(f"over {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _watchdog(seconds: float) -> Iterator[None]:
    target = threading.get_ident()
    lock = threading.Lock()
    done = False

    def expire() -> None:
        with lock:
            if not done:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(target), ctypes.py_object(RunTimeLimitExceeded)
                )

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            done = True
        timer.cancel()
