"""The process metrics /metrics exports, each defined once here (names `skillomatic_*`).

Multiprocess mode: settings set PROMETHEUS_MULTIPROC_DIR before anything imports
prometheus_client (it chooses how values are stored when first imported), so each gunicorn
worker, Celery pool child and beat process writes its counts to its own files in that folder,
and the /metrics view (automations/metrics_view.py) adds them up at scrape time. Counts that
the database already holds (events waiting, runs pending) are not here: the view reads them
at scrape time, so no process keeps a copy that could be stale.

Labels take values from short fixed lists only (statuses, trigger kinds, channel kinds, known
providers, HTTP statuses): never a name, an address or anything a request chose, which would
let one caller grow the series without bound and could put personal data in them.
"""

from __future__ import annotations

import os
from decimal import Decimal

from prometheus_client import Counter, Gauge, Histogram

# From a few milliseconds (a run that finds nothing to do; a run claimed as soon as it is
# due) to half an hour (a long LLM run; a run that waited out a backlog or a retry).
RUN_SECONDS_BUCKETS = (
    *(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5),
    *(1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0),
)
# A tick is a few indexed queries: milliseconds, up to the seconds of a herd's batches.
TICK_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
LLM_TOKEN_KINDS = ("input", "output", "cache_write", "cache_read")

RUNS = Counter(
    "skillomatic_runs_total",
    "Runs that reached a final status, by that status and what triggered them.",
    ["status", "trigger"],
)
RUN_DURATION = Histogram(
    "skillomatic_run_duration_seconds",
    "Time from a run's start to its final status (its last attempt).",
    buckets=RUN_SECONDS_BUCKETS,
)
RUN_LATENESS = Histogram(
    "skillomatic_run_lateness_seconds",
    "How long after its scheduled time a finished run started (its last attempt).",
    buckets=RUN_SECONDS_BUCKETS,
)
DELIVERIES = Counter(
    "skillomatic_deliveries_total",
    "Deliveries of a run's result, by channel kind and outcome (sent, failed, uncertain).",
    ["channel", "outcome"],
)
WEBHOOK_DELIVERIES = Counter(
    "skillomatic_webhook_deliveries_total",
    "ATS webhook deliveries received, by provider ('unknown' if not one we know) and the "
    "HTTP status answered.",
    ["provider", "status"],
)
SCHEDULER_TICK = Histogram(
    "skillomatic_scheduler_tick_seconds",
    "Duration of one beat scheduler tick (firing due automations, sending due runs).",
    buckets=TICK_SECONDS_BUCKETS,
)
SCHEDULER_DUE_BACKLOG = Gauge(
    "skillomatic_scheduler_due_backlog",
    "Automations still due and not yet fired at the end of the latest scheduler tick.",
    # The latest tick of any beat process (two may run for failover) is the current value.
    multiprocess_mode="mostrecent",
)
LLM_TOKENS = Counter(
    "skillomatic_llm_tokens_total",
    "Tokens the LLM skills spent, by kind (input, output, cache_write, cache_read).",
    ["kind"],
)
LLM_COST = Counter(
    "skillomatic_llm_cost_usd_total",
    "What the LLM skills spent, in US dollars (at the prices in skills/llm/pricing.py).",
)


def observe_run_finished(
    *, status: str, trigger: str, duration_seconds: float | None, lateness_seconds: float | None
) -> None:
    """A run reached a final status (automations/engine.py records it)."""
    RUNS.labels(status=status, trigger=trigger).inc()
    if duration_seconds is not None:
        RUN_DURATION.observe(max(0.0, duration_seconds))
    if lateness_seconds is not None:
        # A run may be claimed a moment early (clock skew between machines): that is on time.
        RUN_LATENESS.observe(max(0.0, lateness_seconds))


def observe_llm_usage(
    *,
    input_tokens: int,
    output_tokens: int,
    cache_write_tokens: int,
    cache_read_tokens: int,
    cost_usd: Decimal | float,
) -> None:
    for kind, tokens in zip(
        LLM_TOKEN_KINDS,
        (input_tokens, output_tokens, cache_write_tokens, cache_read_tokens),
        strict=True,
    ):
        if tokens:
            LLM_TOKENS.labels(kind=kind).inc(tokens)
    if cost_usd:
        LLM_COST.inc(float(cost_usd))


def mark_process_dead(pid: int) -> None:
    """A gunicorn worker or Celery pool child has exited: drop its files for live gauges
    (counters and histograms stay, so totals do not fall when a process is replaced)."""
    from prometheus_client import multiprocess

    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path and os.path.isdir(path):
        multiprocess.mark_process_dead(pid, path)
