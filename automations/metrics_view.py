"""`/metrics`: Prometheus's text format, for a scraper on the internal network.

Two sources: the process metrics (config/metrics.py) that every gunicorn worker, Celery
process and beat writes to files in settings.METRICS_DIR, added up here at scrape time; and a
few counts read from the database at scrape time (events waiting, runs pending, runs failed in
the last hour), which no process keeps. With the database down those counts are left out and
`skillomatic_database_up 0` says why: the scrape still answers 200, because the scraper must
be able to report the very thing that is down.

Who may read it: with settings.METRICS_TOKEN set, a request bearing that token; without one,
clients whose address is in METRICS_ALLOWED_NETWORKS (loopback by default). Anyone else is
answered 403. Included by name from config/urls.py (config imports no app).
"""

from __future__ import annotations

import glob
import hmac
import ipaddress
import logging
import os
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from automations.selectors import run_backlog, runs_failed_since
from webhooks.selectors import events_waiting

logger = logging.getLogger(__name__)


class _AllFoldersCollector(MultiProcessCollector):
    """MultiProcessCollector over METRICS_DIR and every folder inside it (a service may
    write to a folder of its own there; see settings)."""

    def collect(self) -> Iterator[Metric]:
        files = glob.glob(os.path.join(self._path, "**", "*.db"), recursive=True)
        return self.merge(files, accumulate=True)


class _DatabaseCollector:
    """Counts read from the database at each scrape; absent (and database_up 0) when the
    database cannot answer."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "skillomatic_database_up", "1 if /metrics could read the database, else 0."
        )
        try:
            waiting = events_waiting()
            backlog = run_backlog()
            failed = runs_failed_since(since=timezone.now() - timedelta(hours=1))
        except Exception as exc:  # any database failure: report it, never fail the scrape
            logger.warning("/metrics: the database did not answer: %s", exc)
            # Do not hand the next request a connection left broken mid-query.
            connections.close_all()
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        events = GaugeMetricFamily(
            "skillomatic_events_waiting",
            "Stored ATS events not yet processed, by status (received, processing).",
            labels=["status"],
        )
        for status, count in sorted(waiting.items()):
            events.add_metric([status], count)
        yield events
        runs = GaugeMetricFamily(
            "skillomatic_runs_pending",
            "Runs not finished: unsent (due, not yet sent to a worker), queued, running.",
            labels=["state"],
        )
        for state, count in sorted(backlog.items()):
            runs.add_metric([state], count)
        yield runs
        yield GaugeMetricFamily(
            "skillomatic_runs_failed_last_hour",
            "Runs that ended failed in the last hour.",
            value=failed,
        )


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        given = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, value = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), token.encode()
        )
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in settings.METRICS_ALLOWED_NETWORKS
    )


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    # A fresh registry per scrape: the files hold the values, nothing is kept in between.
    registry = CollectorRegistry()
    _AllFoldersCollector(registry, path=str(settings.METRICS_DIR))
    registry.register(_DatabaseCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


urlpatterns = [path("", metrics, name="metrics")]
