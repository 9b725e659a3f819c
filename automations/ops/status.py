"""`/status`: is the product working right now, part by part, for operators and monitors.

Each part is checked on its own, so one that is down is named and the others still report:
the database (SELECT 1), the broker (Redis PING and the queue's length, or the embedded
broker's folder), the beat's heartbeat age, the workers' heartbeats, the runs waiting for a
worker, the ATS events waiting to be processed, failed runs and refused webhooks in the last
hour, and the open alerts. 200 when the parts that make automations run are healthy
(database, broker, beat, workers, backlog), else 503 with `failing` naming them.

Cheap enough to poll every few seconds: a dozen indexed queries and one Redis round trip,
each with a short timeout. No secrets and no personal data: an error is reported by its
class name only (a driver's message can carry a host, a user or a row's values), and the
counts are counts; site-wide alerts are listed by title, an org's alerts only counted.
`/ping` (config/health.py) stays the bare liveness check for load balancers.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone

from automations.models import Alert, AutomationRun, ProcessHeartbeat
from automations.ops.alerts import oldest_waiting_run_age
from automations.selectors import run_backlog
from webhooks.models import InboundEvent, WebhookRefusal

# Every network call /status makes gives up after this long: a monitor polling every few
# seconds must get its answer (and its 503) while a part hangs.
PART_TIMEOUT_SECONDS = 0.5
# kombu's Redis transport keeps a queue's messages of priority p > 0 under name + SEP + p.
_KOMBU_PRIORITY_SEP = "\x06\x16"
_KOMBU_PRIORITIES = (3, 6, 9)

_redis_client = None


@dataclass
class StatusReport:
    parts: dict[str, Any] = field(default_factory=dict)
    failing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failing

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "failing": self.failing, **self.parts}


def _age(now: datetime, moment: datetime | None) -> float | None:
    return None if moment is None else round(max(0.0, (now - moment).total_seconds()), 1)


def _error(exc: BaseException) -> str:
    return type(exc).__name__


def _redis():
    global _redis_client
    if _redis_client is None:
        import redis

        _redis_client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=PART_TIMEOUT_SECONDS,
            socket_connect_timeout=PART_TIMEOUT_SECONDS,
            retry_on_timeout=False,
        )
    return _redis_client


def broker_status() -> dict[str, Any]:
    """Whether a run could be sent now, and how many messages wait in the run queue."""
    queue = settings.CELERY_QUEUE
    if settings.REDIS_URL:
        try:
            client = _redis()
            pipe = client.pipeline(transaction=False)
            pipe.ping()
            pipe.llen(queue)
            for priority in _KOMBU_PRIORITIES:
                pipe.llen(f"{queue}{_KOMBU_PRIORITY_SEP}{priority}")
            _pong, *lengths = pipe.execute()
        except Exception as exc:  # redis.ConnectionError, TimeoutError, an auth error, ...
            return {"ok": False, "kind": "redis", "error": _error(exc)}
        return {"ok": True, "kind": "redis", "queue_depth": sum(lengths)}
    folder = settings.BROKER_DIR / "queue"
    # The first process to load Celery's settings makes it (config/celery.py).
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
    if not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
        return {"ok": False, "kind": "filesystem", "error": "queue folder not writable"}
    suffix = f".{queue}.msg"
    try:
        with os.scandir(folder) as entries:
            depth = sum(1 for entry in entries if entry.name.endswith(suffix))
    except OSError as exc:
        return {"ok": False, "kind": "filesystem", "error": _error(exc)}
    return {"ok": True, "kind": "filesystem", "queue_depth": depth}


def _database_ping() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _heartbeats(now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    rows = list(
        ProcessHeartbeat.objects.filter(
            kind__in=[ProcessHeartbeat.Kind.BEAT, ProcessHeartbeat.Kind.WORKER],
            last_seen_at__gte=now - timedelta(days=1),
        ).values_list("kind", "last_seen_at")
    )
    beat_seen = max((t for k, t in rows if k == ProcessHeartbeat.Kind.BEAT), default=None)
    beat_age = _age(now, beat_seen)
    beat = {
        "ok": beat_age is not None and beat_age <= settings.STATUS_BEAT_MAX_AGE_SECONDS,
        "heartbeat_age_seconds": beat_age,
        "max_age_seconds": settings.STATUS_BEAT_MAX_AGE_SECONDS,
    }
    limit = settings.STATUS_WORKER_MAX_AGE_SECONDS
    worker_ages = [_age(now, t) for k, t in rows if k == ProcessHeartbeat.Kind.WORKER]
    alive = [a for a in worker_ages if a is not None and a <= limit]
    workers = {
        "ok": bool(alive),
        "alive": len(alive),
        "newest_heartbeat_age_seconds": min(worker_ages, default=None),
        "max_age_seconds": limit,
    }
    return beat, workers


def _runs(now: datetime) -> dict[str, Any]:
    waited = oldest_waiting_run_age(now=now)
    failed = AutomationRun.objects.filter(
        status=AutomationRun.Status.FAILED, finished_at__gte=now - timedelta(hours=1)
    ).count()
    return {
        "ok": waited <= settings.ALERT_BACKLOG_SECONDS,
        **run_backlog(),
        "oldest_waiting_seconds": round(waited, 1),
        "max_wait_seconds": settings.ALERT_BACKLOG_SECONDS,
        "failed_last_hour": failed,
    }


def _events(now: datetime) -> dict[str, Any]:
    waiting = InboundEvent.objects.filter(
        status__in=[InboundEvent.Status.RECEIVED, InboundEvent.Status.PROCESSING]
    ).aggregate(n=Count("pk"), oldest=Min("received_at"))
    refused = WebhookRefusal.objects.filter(received_at__gte=now - timedelta(hours=1)).count()
    return {
        "waiting": waiting["n"],
        "oldest_waiting_seconds": _age(now, waiting["oldest"]),
        # Refusals are recorded at most a few a minute per connection and status
        # (webhooks/refusals.py): a floor on the deliveries refused, not their number.
        "refused_webhooks_last_hour": refused,
    }


def _alerts() -> dict[str, Any]:
    open_alerts = list(
        Alert.objects.filter(resolved_at=None).values_list("rule", "organization_id", "title")
    )
    by_rule: dict[str, int] = {}
    for rule, _org, _title in open_alerts:
        by_rule[rule] = by_rule.get(rule, 0) + 1
    return {
        "open": len(open_alerts),
        "by_rule": by_rule,
        # Site-wide alerts are about the product, not about an org: their titles say what.
        "site": [title for _rule, org, title in open_alerts if org is None],
    }


def status_report(*, now: datetime | None = None) -> StatusReport:
    now = now or timezone.now()
    report = StatusReport()
    try:
        _database_ping()
    except Exception as exc:  # any failure of the database makes us unhealthy
        report.parts["database"] = {"ok": False, "error": _error(exc)}
        report.failing.append("database")
    else:
        report.parts["database"] = {"ok": True, "vendor": connection.vendor}
    broker = broker_status()
    report.parts["broker"] = broker
    if not broker["ok"]:
        report.failing.append("broker")
    if "database" in report.failing:
        # The rest is read from the database: unknown, not healthy.
        for part in ("beat", "workers", "runs"):
            report.parts[part] = {"ok": None, "error": "database unavailable"}
        return report
    try:
        beat, workers = _heartbeats(now)
        report.parts.update(beat=beat, workers=workers, runs=_runs(now), events=_events(now))
        report.parts["alerts"] = _alerts()
    except Exception as exc:  # the database went away between the queries
        report.parts["database"] = {"ok": False, "error": _error(exc)}
        report.failing.append("database")
        return report
    for part in ("beat", "workers", "runs"):
        if not report.parts[part]["ok"]:
            report.failing.append(part)
    return report
