"""/status: each part down in turn is named, and 503; healthy is 200; nothing in it a
secret or a candidate's; the heartbeats it reads are written by real beat and worker
processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from automations.models import Alert, AutomationRun, ProcessHeartbeat
from automations.ops import status as status_module
from tests.ats import connection
from tests.factories import OrganizationFactory, automation
from tests.live import ROOT, Stack, free_port, wait_for
from webhooks.models import InboundEvent

CANDIDATE_EMAIL = "jordan.status-probe@candidates.example"


def alive(kind: str, name: str, seconds_ago: float = 1) -> ProcessHeartbeat:
    seen = timezone.now() - timedelta(seconds=seconds_ago)
    return ProcessHeartbeat.objects.create(
        kind=kind, name=name, started_at=seen - timedelta(hours=1), last_seen_at=seen
    )


@pytest.fixture
def healthy(db):
    alive(ProcessHeartbeat.Kind.BEAT, "host:1")
    alive(ProcessHeartbeat.Kind.WORKER, "host:2")


def get(client, **headers):
    response = client.get("/status", **headers)
    return response.status_code, response


@pytest.mark.django_db
def test_healthy_is_200_with_every_part(client, healthy):
    code, response = get(client)
    body = response.json()
    assert code == 200, body
    assert body["ok"] is True and body["failing"] == []
    assert body["database"]["ok"] and body["broker"]["ok"]
    # The age the heartbeat really has (the first request imports every URL module, seconds
    # under load, so "small" alone would be a race).
    beat = ProcessHeartbeat.objects.get(kind=ProcessHeartbeat.Kind.BEAT)
    age = (timezone.now() - beat.last_seen_at).total_seconds()
    assert age - 2 <= body["beat"]["heartbeat_age_seconds"] <= age
    assert body["workers"]["alive"] == 1
    assert set(body["runs"]) >= {"unsent", "queued", "running", "oldest_waiting_seconds"}
    assert body["runs"]["failed_last_hour"] == 0
    assert body["events"] == {
        "waiting": 0,
        "oldest_waiting_seconds": None,
        "refused_webhooks_last_hour": 0,
    }
    assert body["alerts"] == {"open": 0, "by_rule": {}, "site": []}
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_beat_never_seen_or_silent_is_named(client, healthy):
    ProcessHeartbeat.objects.filter(kind="beat").delete()
    code, response = get(client)
    assert (code, response.json()["failing"]) == (503, ["beat"])
    assert response.json()["beat"]["heartbeat_age_seconds"] is None

    alive(ProcessHeartbeat.Kind.BEAT, "host:3", seconds_ago=61)
    code, response = get(client)
    assert (code, response.json()["failing"]) == (503, ["beat"])
    assert response.json()["beat"]["heartbeat_age_seconds"] >= 61


@pytest.mark.django_db
def test_no_live_worker_is_named(client, healthy):
    ProcessHeartbeat.objects.filter(kind="worker").update(
        last_seen_at=timezone.now() - timedelta(seconds=90)
    )
    code, response = get(client)
    body = response.json()
    assert (code, body["failing"]) == (503, ["workers"])
    assert body["workers"]["alive"] == 0 and body["workers"]["newest_heartbeat_age_seconds"] >= 90


@pytest.mark.django_db
def test_a_run_waiting_too_long_is_a_backlog(client, healthy, settings):
    auto = automation()
    run = AutomationRun.objects.create(
        automation=auto,
        organization=auto.organization,
        triggered_by=AutomationRun.TriggeredBy.SCHEDULE,
        scheduled_for=timezone.now() - timedelta(seconds=settings.ALERT_BACKLOG_SECONDS - 30),
    )
    code, response = get(client)
    assert code == 200 and response.json()["runs"]["unsent"] == 1

    AutomationRun.objects.filter(pk=run.pk).update(
        scheduled_for=timezone.now() - timedelta(seconds=settings.ALERT_BACKLOG_SECONDS + 30)
    )
    code, response = get(client)
    body = response.json()
    assert (code, body["failing"]) == (503, ["runs"])
    assert body["runs"]["oldest_waiting_seconds"] > settings.ALERT_BACKLOG_SECONDS


@pytest.mark.django_db
def test_embedded_broker_folder_unusable_is_named(client, healthy, settings, tmp_path):
    settings.REDIS_URL = ""
    (tmp_path / "broker").write_text("a file where the folder should be")
    settings.BROKER_DIR = tmp_path / "broker"
    code, response = get(client)
    body = response.json()
    assert (code, body["failing"]) == (503, ["broker"])
    assert body["broker"] == {
        "ok": False,
        "kind": "filesystem",
        "error": "queue folder not writable",
    }

    settings.BROKER_DIR = tmp_path / "new-broker"  # made on first use
    code, response = get(client)
    assert code == 200 and response.json()["broker"]["queue_depth"] == 0
    (tmp_path / "new-broker" / "queue" / f"1_x.{settings.CELERY_QUEUE}.msg").write_text("{}")
    code, response = get(client)
    assert code == 200 and response.json()["broker"]["queue_depth"] == 1


@pytest.mark.django_db
def test_redis_down_is_named_quickly_and_without_its_address(
    client, healthy, settings, monkeypatch
):
    port = free_port()  # nothing listens there
    settings.REDIS_URL = f"redis://:hunter2-redis-pw@127.0.0.1:{port}/0"
    monkeypatch.setattr(status_module, "_redis_client", None)
    started = time.monotonic()
    code, response = get(client)
    took = time.monotonic() - started
    body = response.json()
    assert (code, body["failing"]) == (503, ["broker"])
    assert body["broker"] == {"ok": False, "kind": "redis", "error": "ConnectionError"}
    assert took < 3, f"/status took {took:.1f}s with Redis down"
    text = response.content.decode()
    assert "hunter2" not in text and str(port) not in text


@pytest.mark.django_db
def test_redis_queue_depth_is_counted(client, healthy, settings, monkeypatch):
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL not set: the Redis broker is tested on the services run")
    import redis

    monkeypatch.setattr(status_module, "_redis_client", None)
    queue = f"status-probe-{os.getpid()}"
    settings.CELERY_QUEUE = queue
    r = redis.Redis.from_url(settings.REDIS_URL)
    r.rpush(queue, "a", "b")
    r.rpush(f"{queue}\x06\x166", "c")
    try:
        code, response = get(client)
        assert code == 200 and response.json()["broker"]["queue_depth"] == 3
    finally:
        r.delete(queue, f"{queue}\x06\x166")


def test_database_down_is_named_and_says_nothing_about_it():
    """A real failure: a process whose DATABASE_URL points at a port where nothing listens
    (with a password in the URL) asks its own /status."""
    port = free_port()
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client(HTTP_HOST='127.0.0.1').get('/status');"
        "print(json.dumps({'code': r.status_code, 'body': r.content.decode()}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": f"postgres://skillo:hunter2-db-pw@127.0.0.1:{port}/skillo",
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    body = json.loads(answer["body"])
    assert answer["code"] == 503
    assert "database" in body["failing"]
    assert body["database"] == {"ok": False, "error": "OperationalError"}
    assert body["runs"] == {"ok": None, "error": "database unavailable"}
    assert "hunter2" not in answer["body"] and str(port) not in answer["body"]


@pytest.mark.django_db
def test_counts_without_personal_data(client, healthy, settings):
    org = OrganizationFactory()
    auto = automation(org=org, name="Nudge Jordan")
    AutomationRun.objects.create(
        automation=auto,
        organization=org,
        status=AutomationRun.Status.FAILED,
        triggered_by=AutomationRun.TriggeredBy.EVENT,
        scheduled_for=timezone.now(),
        finished_at=timezone.now(),
        error_message=f"could not reach {CANDIDATE_EMAIL}",
    )
    conn = connection(org, "greenhouse")
    InboundEvent.objects.create(
        connection=conn,
        delivery_id="d-1",
        raw_body=CANDIDATE_EMAIL.encode(),
        event={"candidate": {"email": CANDIDATE_EMAIL}},
    )
    Alert.objects.create(
        rule=Alert.Rule.CHANNEL_FAILING,
        key="channel:1",
        organization=org,
        title="Channel failing: Jordan's Slack",
        opened_at=timezone.now(),
    )
    Alert.objects.create(
        rule=Alert.Rule.BACKLOG_GROWING,
        key="site",
        title="Runs are waiting for a worker",
        opened_at=timezone.now(),
    )
    _code, response = get(client)
    body = response.json()
    assert body["runs"]["failed_last_hour"] == 1
    assert body["events"]["waiting"] == 1 and body["events"]["oldest_waiting_seconds"] < 60
    assert body["alerts"] == {
        "open": 2,
        "by_rule": {"channel_failing": 1, "backlog_growing": 1},
        "site": ["Runs are waiting for a worker"],
    }
    text = response.content.decode()
    for private in (CANDIDATE_EMAIL, "Jordan", org.name, settings.SECRET_KEY):
        assert private not in text


@pytest.mark.django_db
def test_people_get_a_page(client, healthy):
    ProcessHeartbeat.objects.filter(kind="worker").delete()
    response = client.get("/status", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Not working: workers" in page and 'http-equiv="refresh"' in page
    assert client.get("/status?format=json", HTTP_ACCEPT="text/html").json()["failing"] == [
        "workers"
    ]
    # A monitor's curl (Accept: */*) gets JSON.
    assert client.get("/status", HTTP_ACCEPT="*/*")["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_ping_stays_bare(client):
    response = client.get("/ping")
    assert (response.status_code, response.content) == (200, b"ok")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_real_beat_and_worker_write_the_heartbeats_it_reads(client, celery_queue, tmp_path):
    stack = Stack(queue=celery_queue, smtp_port=1, tmp=tmp_path)
    stack.env["WORKER_HEARTBEAT_SECONDS"] = "1"
    try:
        stack.beat()
        stack.worker()

        proc = stack.procs["worker"]
        # Its own row (hostname:pid of the worker's main process): other tests' workers
        # (the browser tests' session-wide one) may be alive on this database too.
        mine = ProcessHeartbeat.objects.filter(
            kind="worker", name=f"{socket.gethostname()}:{proc.pid}"
        )
        wait_for(mine.exists, timeout=60, what="the worker's heartbeat", stack=stack)

        def healthy_now():
            body = client.get("/status").json()
            return body if body["ok"] else None

        body = wait_for(healthy_now, timeout=60, what="/status to be healthy", stack=stack)
        assert body["beat"]["heartbeat_age_seconds"] <= 10
        assert body["workers"]["alive"] >= 1
        stack.procs.pop("worker")

        # A warm shutdown takes the worker's row with it: /status stops counting it at
        # once, not a minute later. (Only its own row is asserted: other tests' workers
        # may be alive on this database.)
        os.killpg(proc.pid, 15)
        proc.wait(30)
        assert not mine.exists()
    finally:
        stack.stop()
