"""Imported by bench/pipeline.py's celery worker only (`celery worker --include
bench.pipeline_worker`), never by the product: a no-op task for the ceiling, and a count of
the SQL statements each task sends through Django (connection.execute_wrapper), appended as
one line per task to BENCH_TASK_LOG_DIR/tasks-<pid>.log: "<finished unix time> <task> <n>".

Statements sent around Django's cursor (straight through psycopg) are not counted; the run
path has none today."""

from __future__ import annotations

import os
import time

from celery.signals import task_postrun, task_prerun
from django.db import connections

from config.celery import app

_state = {"queries": 0}
_log = {}


@app.task(name="bench.noop", ignore_result=True)
def noop() -> None:
    """What the worker pool costs a task that does nothing: the herd's ceiling."""


def _count(execute, sql, params, many, context):
    _state["queries"] += 1
    return execute(sql, params, many, context)


@task_prerun.connect
def _reset(**_kwargs) -> None:
    wrappers = connections["default"].execute_wrappers
    if _count not in wrappers:
        wrappers.append(_count)
    _state["queries"] = 0


@task_postrun.connect
def _record(task=None, **_kwargs) -> None:
    pid = os.getpid()
    if pid not in _log:
        folder = os.environ["BENCH_TASK_LOG_DIR"]
        _log[pid] = open(f"{folder}/tasks-{pid}.log", "a", buffering=1)  # noqa: SIM115
    _log[pid].write(f"{time.time():.6f} {getattr(task, 'name', '?')} {_state['queries']}\n")
