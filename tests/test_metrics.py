"""`/metrics` (automations/metrics_view.py, config/metrics.py): who may read it, that the
counts are right in one process and added up across real gunicorn and Celery processes,
that a scrape answers with the database and the broker down, and that label values stay
bounded."""

from __future__ import annotations

import glob
import http.client
import os
import subprocess
import sys
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from automations.engine import run_execute
from automations.firing import run_fire
from automations.models import AutomationRun
from automations.run_keys import manual_key
from tests.ats import connection, greenhouse_stage_changes
from tests.factories import OrganizationFactory, automation
from tests.live import ROOT, SmtpInbox, Stack, free_port, http_post, wait_for

TOKEN = "metrics-test-token-0123456789"


def scrape(client: Client, **extra) -> tuple[int, str]:
    response = client.get("/metrics", **extra)
    return response.status_code, response.content.decode()


def value(text: str, name: str, **labels: str) -> float:
    """The sample `name{labels}` in an exposition (0 if absent), summed over any other
    labels it has."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def own(name: str, **labels: str) -> float:
    """A sample as this test process alone wrote it (its own files in the metrics folder), so
    that a count is exact whatever other processes share the folder."""
    files = glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], f"*_{os.getpid()}.db"))
    total = 0.0
    for family in MultiProcessCollector.merge(files, accumulate=True):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


# -- who may read it ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_with_a_token_only_the_right_bearer_token_is_answered(settings):
    settings.METRICS_TOKEN = TOKEN
    client = Client()
    # Loopback is not enough once a token is set.
    assert scrape(client)[0] == 403
    assert scrape(client, HTTP_AUTHORIZATION="Bearer wrong-token")[0] == 403
    assert scrape(client, HTTP_AUTHORIZATION=f"Basic {TOKEN}")[0] == 403
    assert scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}x")[0] == 403
    status, text = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}", REMOTE_ADDR="203.0.113.9")
    assert status == 200
    assert "# TYPE skillomatic_run_duration_seconds histogram" in text
    assert value(text, "skillomatic_database_up") == 1


@pytest.mark.django_db
def test_without_a_token_only_allowed_networks_are_answered(settings):
    settings.METRICS_TOKEN = ""
    client = Client()
    assert scrape(client, REMOTE_ADDR="127.0.0.1")[0] == 200
    assert scrape(client, REMOTE_ADDR="::1")[0] == 200
    forbidden = client.get("/metrics", REMOTE_ADDR="10.1.2.3")
    assert forbidden.status_code == 403 and b"skillomatic_" not in forbidden.content
    assert scrape(client, REMOTE_ADDR="not-an-address")[0] == 403
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert scrape(client, REMOTE_ADDR="10.1.2.3")[0] == 200
    assert scrape(client, REMOTE_ADDR="127.0.0.1")[0] == 403


# -- counts in one process ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_finished_run_is_counted_once_with_its_duration_and_lateness(sandbox_org):
    auto = automation(org=sandbox_org, channels=[{"kind": "in_app"}])
    run, _ = run_fire(automation=auto, key=manual_key(), triggered_by="manual", send=False)
    # Due two seconds ago: it starts at least that late.
    AutomationRun.objects.filter(pk=run.pk).update(
        scheduled_for=timezone.now() - timedelta(seconds=2)
    )
    labels = {"status": "completed", "trigger": "manual"}
    before = {
        "runs": own("skillomatic_runs_total", **labels),
        "duration": own("skillomatic_run_duration_seconds_count"),
        "lateness": own("skillomatic_run_lateness_seconds_count"),
        "lateness_sum": own("skillomatic_run_lateness_seconds_sum"),
        "sent": own("skillomatic_deliveries_total", channel="in_app", outcome="sent"),
    }

    assert run_execute(run_id=run.pk) == "completed"

    assert own("skillomatic_runs_total", **labels) == before["runs"] + 1
    assert own("skillomatic_run_duration_seconds_count") == before["duration"] + 1
    assert own("skillomatic_run_lateness_seconds_count") == before["lateness"] + 1
    late = own("skillomatic_run_lateness_seconds_sum") - before["lateness_sum"]
    assert 2 <= late < 60
    assert own("skillomatic_deliveries_total", channel="in_app", outcome="sent") == (
        before["sent"] + 1
    )
    # A redelivered message for the finished run counts nothing more.
    assert run_execute(run_id=run.pk) == "not-claimed"
    assert own("skillomatic_runs_total", **labels) == before["runs"] + 1
    # And the scrape shows it.
    status, text = scrape(Client())
    assert status == 200 and value(text, "skillomatic_runs_total", **labels) >= 1


@pytest.mark.django_db
def test_a_webhook_to_an_unknown_provider_is_labelled_unknown():
    client = Client()
    before = own("skillomatic_webhook_deliveries_total", provider="unknown", status="404")
    response = client.post(
        "/webhooks/ats/made-up-provider-7f3a/123/", b"{}", content_type="application/json"
    )
    assert response.status_code == 404
    after = own("skillomatic_webhook_deliveries_total", provider="unknown", status="404")
    assert after == before + 1
    status, text = scrape(client)
    assert status == 200 and "made-up-provider-7f3a" not in text


@pytest.mark.django_db
def test_the_scrape_adds_up_folders_inside_the_metrics_folder(settings, tmp_path):
    """A service writing to a folder of its own inside METRICS_DIR (docs/systemd/) is counted."""
    root = tmp_path / "metrics"
    code = (
        "import django; django.setup()\n"
        "from config.metrics import RUNS\n"
        "RUNS.labels(status='failed', trigger='event').inc(3)\n"
    )
    env = {
        **os.environ,
        "METRICS_DIR": str(root),
        "PROMETHEUS_MULTIPROC_DIR": str(root / "worker"),
    }
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)
    settings.METRICS_DIR = root
    status, text = scrape(Client())
    assert status == 200
    assert value(text, "skillomatic_runs_total", status="failed", trigger="event") == 3


def test_a_process_folder_outside_the_metrics_folder_is_refused(tmp_path):
    env = {
        **os.environ,
        "METRICS_DIR": str(tmp_path / "metrics"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "elsewhere"),
    }
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "must be METRICS_DIR" in done.stderr


# -- real processes ----------------------------------------------------------------------------


def get(base: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def post(base: str, path: str, body: bytes, headers: dict[str, str]) -> int:
    return http_post(base, path, body, headers)[0]


@pytest.fixture
def stack(tmp_path, celery_queue):
    smtp = SmtpInbox().start()
    live = Stack(queue=celery_queue, smtp_port=smtp.port, tmp=tmp_path)
    yield live
    live.stop()
    smtp.stop()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_webhook_counts_are_added_up_across_gunicorn_workers(stack, tmp_path):
    ats = connection(OrganizationFactory(), "greenhouse")
    path = f"/webhooks/ats/greenhouse/{ats.public_id}/"
    deliveries = greenhouse_stage_changes(30, first_application=2000)
    base = stack.web(workers=2)
    # A new connection each: the kernel spreads them over both workers' sockets.
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda d: post(base, path, *d), deliveries))
    body, headers = deliveries[0]
    bad = post(base, path, body, {**headers, "Signature": "sha256 " + "0" * 64})
    unknown = post(base, "/webhooks/ats/not-a-provider/x/", b"{}", {})
    status, text = get(base, "/metrics")

    assert statuses == [200] * 30 and bad == 401 and unknown == 404, stack.logs()
    assert status == 200, text
    count = "skillomatic_webhook_deliveries_total"
    assert value(text, count, provider="greenhouse", status="200") == 30, text
    assert value(text, count, provider="greenhouse", status="401") == 1
    assert value(text, count, provider="unknown", status="404") == 1
    assert "not-a-provider" not in text
    # The counts come from files per worker process (two, unless the kernel handed every
    # connection to one), none of them the gunicorn master's.
    writers = {Path(f).stem.split("_")[-1] for f in glob.glob(str(tmp_path / "prometheus/*.db"))}
    assert 1 <= len(writers) <= 2 and str(stack.procs["web"].pid) not in writers


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_run_counts_are_added_up_across_celery_pool_processes(stack, sandbox_org):
    auto = automation(org=sandbox_org, channels=[{"kind": "in_app"}])
    stack.worker(concurrency=2)
    base = stack.web(workers=1)
    runs = [run_fire(automation=auto, key=manual_key(), triggered_by="manual")[0] for _ in range(6)]
    wait_for(
        lambda: (
            AutomationRun.objects.filter(pk__in=[r.pk for r in runs], status="completed").count()
            == len(runs)
        ),
        timeout=90,
        what="the runs to complete",
        stack=stack,
    )
    status, text = get(base, "/metrics")
    assert status == 200
    assert value(text, "skillomatic_runs_total", status="completed", trigger="manual") == 6, text
    assert value(text, "skillomatic_run_duration_seconds_count") == 6
    assert value(text, "skillomatic_run_lateness_seconds_count") == 6
    assert value(text, "skillomatic_deliveries_total", channel="in_app", outcome="sent") == 6
    assert value(text, "skillomatic_runs_pending") == 0
    assert value(text, "skillomatic_database_up") == 1


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_metrics_answer_with_the_database_and_the_broker_down(stack):
    """Nothing listens at either address: the process metrics are still served, the database
    counts are left out and database_up says 0; no traceback."""
    stack.env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{free_port()}/gone"
    stack.env["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    base = stack.web(workers=1)
    # An unknown provider is answered 404 without the database.
    posted = post(base, "/webhooks/ats/nope/x/", b"{}", {})
    status, text = get(base, "/metrics")
    assert status == 200, text
    assert value(text, "skillomatic_database_up") == 0
    assert "skillomatic_events_waiting" not in text and "skillomatic_runs_pending" not in text
    # The process metrics are there, that webhook among them.
    assert posted == 404
    assert value(text, "skillomatic_webhook_deliveries_total", provider="unknown") == 1
    assert "# TYPE skillomatic_run_duration_seconds histogram" in text
    assert "Traceback" not in stack.logs()
    assert "/metrics: the database did not answer" in stack.logs()


def test_settings_point_prometheus_at_the_metrics_folder():
    """prometheus_client was imported after settings set its folder (else every process would
    count alone, in memory)."""
    from prometheus_client import values

    assert os.environ["PROMETHEUS_MULTIPROC_DIR"].startswith(str(settings.METRICS_DIR))
    assert values.ValueClass is not values.MutexValue


@pytest.mark.django_db
def test_an_llm_run_counts_its_tokens_and_cost(sandbox_org, fake_llm, settings):
    from tests.test_llm_budget import interview_event
    from tests.test_llm_skill_runs import run_skill, script_loop

    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
    slug = "interview-prep"
    event = interview_event(sandbox_org)
    script_loop(fake_llm, slug, event)
    kinds = ("input", "output", "cache_write", "cache_read")
    before = {kind: own("skillomatic_llm_tokens_total", kind=kind) for kind in kinds}
    cost = own("skillomatic_llm_cost_usd_total")
    run = run_skill(sandbox_org, slug, event)
    assert run.status == "completed", run.error_message
    assert run.input_tokens > 0 and run.cost_usd > 0
    spent = {kind: own("skillomatic_llm_tokens_total", kind=kind) - before[kind] for kind in kinds}
    assert spent == {
        "input": run.input_tokens,
        "output": run.output_tokens,
        "cache_write": run.cache_write_tokens,
        "cache_read": run.cache_read_tokens,
    }
    assert own("skillomatic_llm_cost_usd_total") - cost == pytest.approx(float(run.cost_usd))


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_beat_process_ticks_show_in_the_web_servers_metrics(stack):
    stack.beat()
    base = stack.web(workers=1)
    text = wait_for(
        lambda: (
            body
            if value(body := get(base, "/metrics")[1], "skillomatic_scheduler_tick_seconds_count")
            >= 2
            else None
        ),
        timeout=60,
        what="two scheduler ticks in /metrics",
        stack=stack,
    )
    assert "# TYPE skillomatic_scheduler_due_backlog gauge" in text
    assert value(text, "skillomatic_scheduler_due_backlog") == 0
