"""The Celery app. Broker: Redis when REDIS_URL is set, else kombu's filesystem transport,
which needs nothing installed (one machine only; fine for a demo, see README)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_shutdown
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("skillomatic")

# How far behind the engine's own run time limit Celery's limits strike (see _conf).
BACKSTOP_SOFT_SECONDS = 15
BACKSTOP_HARD_SECONDS = 30


def _broker_settings() -> dict:
    # Above the longest run, so Redis never redelivers a message whose task is still running.
    visibility_timeout = max(3600, settings.RUN_TIMEOUT_SECONDS * 2)
    if settings.REDIS_URL:
        return {
            "broker_url": settings.REDIS_URL,
            # Stock kombu Redis, except that a message that is not JSON is dropped instead
            # of stopping the worker (config/redis_transport.py).
            "broker_transport": "config.redis_transport:Transport",
            "broker_transport_options": {"visibility_timeout": visibility_timeout},
        }
    folder = settings.BROKER_DIR
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": "filesystem://localhost/",
        "broker_transport": "config.fs_transport:Transport",
        "broker_transport_options": {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            # Fanout (remote control) state; kombu's default is ./control in the cwd.
            "control_folder": str(folder / "control"),
            "store_processed": False,
            # The transport polls the folder; its 1 s default lets a worker take only one
            # message a second (prefetch is 1).
            "polling_interval": 0.1,
        },
    }


def _conf() -> dict:
    return dict(
        **_broker_settings(),
        task_default_queue=settings.CELERY_QUEUE,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # A message is acknowledged when its task finishes, so one held by a worker machine that
        # dies is redelivered; the run's compare-and-set claim makes a redelivery harmless, and
        # the reaper takes back runs whose worker died mid-run.
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        # The engine stops a run at RUN_TIMEOUT_SECONDS itself (automations/time_limit.py), on
        # every path; these are backstops just behind it, for a task stuck where the engine's
        # alarm cannot reach. Both stay below the reaper's threshold (the limit + 60 s), so
        # a run the reaper takes back has no worker still on it.
        task_soft_time_limit=settings.RUN_TIMEOUT_SECONDS + BACKSTOP_SOFT_SECONDS,
        task_time_limit=settings.RUN_TIMEOUT_SECONDS + BACKSTOP_HARD_SECONDS,
        # Publishing gives up quickly: a run that could not be sent stays pending and the
        # sweeper sends it later, so the scheduler is never stuck behind a dead broker.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2},
        broker_connection_retry_on_startup=True,
        beat_scheduler="automations.scheduling.beat:AutomationScheduler",
        beat_schedule=settings.CELERY_BEAT_SCHEDULE,
        beat_max_loop_interval=settings.SCHEDULER_MAX_SLEEP_SECONDS,
        timezone="UTC",
        worker_hijack_root_logger=False,
    )


# Loaded lazily, on first use of app.conf, so importing this module never forces Django's
# settings to load (config/__init__.py imports it while settings are being imported).
app.add_defaults(_conf)
app.autodiscover_tasks()


# Every log line a task writes carries the task's id and name and the ids it was given
# (run_id, event_id, automation_id, connection_id, org_id); cleared when it ends, since a
# worker process runs many tasks.
_BOUND_ARGS = ("run_id", "event_id", "automation_id", "connection_id", "org_id")


def _bind_task_context(task_id=None, task=None, args=None, kwargs=None, **_extra) -> None:
    from config import logs

    logs.clear()
    ids = {"task_id": task_id, "task": getattr(task, "name", None)}
    given = dict(kwargs or {})
    # Positional arguments matched to the task's parameter names.
    names = getattr(getattr(task, "run", None), "__code__", None)
    if names is not None and args:
        given.update(zip(names.co_varnames[: names.co_argcount], args, strict=False))
    ids.update({k: given[k] for k in _BOUND_ARGS if k in given})
    logs.bind(**ids)


def _clear_task_context(**_extra) -> None:
    from config import logs

    logs.clear()


task_prerun.connect(_bind_task_context, weak=False)
task_postrun.connect(_clear_task_context, weak=False)


@worker_process_shutdown.connect
def _metrics_process_dead(pid: int | None = None, **kwargs) -> None:
    """A pool child is exiting: its live gauges stop counting towards /metrics
    (config/metrics.py)."""
    from config.metrics import mark_process_dead

    mark_process_dead(pid or os.getpid())
