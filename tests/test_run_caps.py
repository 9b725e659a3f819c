"""Runaway protection (issue 13): the hourly, daily and concurrent caps, the event-storm
guard and the ATS API rate limit shared by worker processes."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.utils import timezone

from accounts import plans
from accounts.models import AuditEvent, Organization
from automations import engine, services
from automations.diagnosis import automation_diagnosis
from automations.firing import run_fire, runs_fire_bulk
from automations.models import Automation, AutomationRun
from automations.run_caps import CAP_CONCURRENT, CAP_DAILY, CAP_HOURLY, CAP_STORM
from automations.run_keys import manual_key
from automations.triggers.drain import inbound_process
from delivery.models import Notification
from tests.ats import FIXTURES, connection, post, signed
from tests.factories import automation
from tests.live import ROOT, database_url
from webhooks.models import InboundEvent
from webhooks.providers.api_session import ApiError
from webhooks.rate_limit import PROVIDER_RATES, Rate, rate_for, window

Run = AutomationRun


def with_limits(monkeypatch, plan: str, **changes) -> None:
    monkeypatch.setitem(plans.PLANS, plan, dataclasses.replace(plans.PLANS[plan], **changes))


def test_run_now_is_capped_per_hour_and_tests_are_not(owner, org):
    auto = automation(org=org, owner=owner)
    Automation.objects.filter(pk=auto.pk).update(max_runs_per_hour=3)
    auto.refresh_from_db()
    for _ in range(5):  # the builder's Test: neither counted nor capped
        run, _ = run_fire(automation=auto, key=manual_key(), triggered_by=Run.TriggeredBy.TEST)
        assert run.status == Run.Status.PENDING
    runs = [services.automation_run_now(automation=auto, by=owner) for _ in range(4)]
    assert [r.status for r in runs] == ["pending"] * 3 + ["skipped"]
    held = runs[-1]
    assert held.error_code == CAP_HOURLY
    assert "its cap of 3 runs an hour" in held.error_message
    assert "admitted again from" in held.error_message
    # A skipped run is not counted: the next one is held back by the same 3, not by 4.
    again = services.automation_run_now(automation=auto, by=owner)
    assert again.error_code == CAP_HOURLY and "ran 3 times" in again.error_message
    # "Why didn't it fire?" names the cap, how many runs it held back and its number.
    finding = next(f for f in automation_diagnosis(automation=auto).findings if "cap" in f.title)
    assert finding.title == "Held back by its cap on runs an hour"
    assert finding.detail.startswith("2 runs skipped in the last 24 hours")
    assert "its cap of 3 runs an hour" in finding.detail


def test_daily_cap_is_the_orgs_across_automations(owner, org, monkeypatch):
    with_limits(monkeypatch, org.plan, max_runs_per_day=3)
    first, second = automation(org=org, owner=owner), automation(org=org, owner=owner)
    made = [
        services.automation_run_now(automation=a, by=owner) for a in (first, second, first, second)
    ]
    assert [r.status for r in made] == ["pending", "pending", "pending", "skipped"]
    assert made[-1].error_code == CAP_DAILY
    assert "cap of 3 runs a day" in made[-1].error_message


def test_scheduler_batch_obeys_the_caps(owner, org):
    auto = automation(org=org, owner=owner, cron_expression="* * * * *")
    Automation.objects.filter(pk=auto.pk).update(max_runs_per_hour=2)
    now = timezone.now()
    runs_fire_bulk(
        [
            Run(
                automation_id=auto.pk,
                organization_id=org.pk,
                idempotency_key=f"cron:{i}",
                triggered_by=Run.TriggeredBy.SCHEDULE,
                scheduled_for=now,
            )
            for i in range(4)
        ]
    )
    statuses = list(auto.runs.order_by("idempotency_key").values_list("status", "error_code"))
    held = ("skipped", CAP_HOURLY)
    assert statuses == [("pending", ""), ("pending", ""), held, held]


def test_concurrent_cap_puts_the_run_back_then_skips_it(owner, org, monkeypatch):
    with_limits(monkeypatch, org.plan, max_concurrent_runs=1)
    sent = []
    monkeypatch.setattr(
        engine.celery_app, "send_task", lambda name, args, **kw: sent.append((args, kw))
    )
    busy = automation(org=org, owner=owner)
    now = timezone.now()
    Run.objects.create(
        automation=busy,
        organization=org,
        idempotency_key="busy",
        triggered_by=Run.TriggeredBy.SCHEDULE,
        scheduled_for=now,
        status=Run.Status.RUNNING,
        started_at=now,
    )
    auto = automation(org=org, owner=owner)
    run = services.automation_run_now(automation=auto, by=owner)

    assert engine.run_execute(run_id=run.pk) == "waiting"
    run.refresh_from_db()
    assert run.status == Run.Status.PENDING and run.attempt == 0  # not lost, no attempt used
    assert sent == [([run.pk], {"countdown": 15, "queue": sent[0][1]["queue"]})]

    # Still at the cap after waiting past the bound: skipped, with the reason.
    Run.objects.filter(pk=run.pk).update(scheduled_for=now - timedelta(minutes=11))
    assert engine.run_execute(run_id=run.pk) == Run.Status.SKIPPED
    run.refresh_from_db()
    assert run.error_code == CAP_CONCURRENT
    assert "cap of 1 concurrent runs" in run.error_message


def test_a_test_run_is_never_held_by_the_concurrent_cap(owner, org, monkeypatch):
    with_limits(monkeypatch, org.plan, max_concurrent_runs=0)
    auto = automation(org=org, owner=owner)
    run, _ = run_fire(automation=auto, key=manual_key(), triggered_by=Run.TriggeredBy.TEST)
    assert engine.run_execute_test(run_id=run.pk).status == Run.Status.COMPLETED


@pytest.fixture
def free_org(db):
    return Organization.objects.create(name="Storm Co", slug="storm-co", plan="free")


def test_a_burst_of_500_webhooks_pauses_the_automation_once_and_tells_admins_once(
    client, free_org, django_capture_on_commit_callbacks
):
    from accounts.models import Membership
    from tests.factories import member

    admins = [member(free_org, role=Membership.Role.ADMIN) for _ in range(2)]
    owner = member(free_org)
    conn = connection(free_org, "greenhouse")
    auto = automation(
        org=free_org,
        owner=owner,
        name="Stage alert",
        trigger_type="event",
        event_type="ats.candidate.stage_changed",
        skill_slug="new-candidate-alert",
    )
    limit = plans.PLANS["free"].max_events_per_minute  # 60
    raw = (FIXTURES / "greenhouse" / "candidate_stage_change.json").read_text()
    mail.outbox.clear()
    for i in range(500):
        body, headers, _ = signed("greenhouse", raw.replace("265277", str(900000 + i)).encode())
        assert post(client, conn, body, headers).status_code == 200
    events = list(InboundEvent.objects.filter(connection=conn).values_list("pk", flat=True))
    assert len(events) == 500  # every inbound event is kept
    with django_capture_on_commit_callbacks(execute=True):
        for pk in events:
            inbound_process(event_id=pk)

    auto.refresh_from_db()
    assert auto.status == Automation.Status.PAUSED
    assert auto.paused_reason.startswith(f"Paused: {limit + 1} matching events in one minute")
    assert f"(limit {limit})" in auto.paused_reason
    runs = auto.runs.all()
    assert runs.exclude(status=Run.Status.SKIPPED).count() == limit  # the cap's worth ran
    storm = runs.get(error_code=CAP_STORM)  # the event that tripped it is skipped, with why
    assert "event storm" in storm.error_message
    # Told once: one alert per admin (and the owner), one email each, one audit entry.
    told = Notification.objects.filter(automation=auto)
    assert sorted(told.values_list("user_id", flat=True)) == sorted(
        [a.pk for a in admins] + [owner.pk]
    )
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        u.email for u in [*admins, owner] if u.email
    )
    audit = AuditEvent.objects.filter(organization=free_org, action="automation.pause")
    assert audit.count() == 1 and audit.get().actor is None
    assert audit.get().surface == "system"
    why = automation_diagnosis(automation=auto).findings
    storm_finding = next(f for f in why if f.title == "Paused automatically: an event storm")
    assert f"{limit + 1} matching events in one minute (limit {limit})" in storm_finding.detail
    assert any(f.title == "Held back by the event-storm guard" for f in why)
    # Events after the pause are stored, and their match entry says why nothing ran.
    last = InboundEvent.objects.get(pk=events[-1])
    entry = next(m for m in last.matches if m["automation"] == auto.pk)
    assert not entry["matched"]
    assert entry["reason"] == f"paused by the event-storm guard: {auto.paused_reason}"


# -- ATS API rate limits ---------------------------------------------------------------------


def test_default_bucket_sizes_follow_the_providers_documentation(settings):
    settings.ATS_RATE_LIMITS = {}
    assert rate_for("lever") == Rate(capacity=20, per_second=10)
    assert rate_for("greenhouse") == window(50, 10) == Rate(capacity=25, per_second=2.5)
    assert rate_for("workable") == Rate(capacity=5, per_second=0.5)
    assert set(PROVIDER_RATES) >= {"smartrecruiters", "zoho", "ashby"}


def test_greenhouse_answers_its_limit_and_the_bucket_follows(settings):
    from webhooks.rate_limit import RateLimiter

    settings.ATS_RATE_LIMITS = {}
    limiter = RateLimiter(provider="greenhouse", base_url="https://h", api_key="k")
    limiter.learn({"X-RateLimit-Limit": "100"})
    assert limiter.rate == window(100, 10)


class CountingAts(BaseHTTPRequestHandler):
    """A fake Greenhouse that records when each request arrived."""

    arrivals: list[float] = []

    def do_GET(self):
        CountingAts.arrivals.append(time.monotonic())
        body = b"[]"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


WORKER = """
import django, os, sys
django.setup()
from django.conf import settings
settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
settings.ATS_RATE_LIMITS = {"greenhouse": [@LIMIT@, @WINDOW@]}
settings.ATS_RATE_LIMITS_ENABLED = True
from webhooks.providers.greenhouse import GreenhouseApi
api = GreenhouseApi(sys.argv[1], "shared-key")
for _ in range(int(sys.argv[2])):
    api.list_jobs()
print("done")
"""


@pytest.mark.django_db(transaction=True)
def test_rate_limit_holds_across_two_worker_processes():
    limit, window_s, each = 10, 1.0, 12
    CountingAts.arrivals = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), CountingAts)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": database_url(),
        "DATA_DIR": str(django_settings.DATA_DIR),
    }
    if django_settings.REDIS_URL:
        env["REDIS_URL"] = django_settings.REDIS_URL  # the Redis path, as settings choose
    else:
        env.pop("REDIS_URL", None)
    code = WORKER.replace("@LIMIT@", str(limit)).replace("@WINDOW@", str(window_s))
    try:
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", code, base, str(each)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for _ in range(2)
        ]
        outputs = [w.communicate(timeout=120)[0].decode() for w in workers]
    finally:
        server.shutdown()
        server.server_close()
    assert all(w.returncode == 0 for w in workers), outputs
    arrivals = sorted(CountingAts.arrivals)
    assert len(arrivals) == 2 * each
    # In no window of `window_s` seconds did the fake see more than the limit.
    busiest = max(
        sum(1 for t in arrivals[i:] if t - start < window_s) for i, start in enumerate(arrivals)
    )
    assert busiest <= limit, busiest


def test_no_token_within_the_wait_is_a_retryable_rate_limited_error(settings, db):
    from webhooks.rate_limit import RateLimiter

    settings.ATS_RATE_LIMITS_ENABLED = True
    settings.ATS_RATE_LIMITS = {"greenhouse": {"capacity": 1, "per_second": 0.01}}
    settings.ATS_RATE_MAX_WAIT_SECONDS = 0
    from webhooks.providers.api_session import ApiSession

    session = ApiSession(
        rate=RateLimiter(provider="greenhouse", base_url="http://127.0.0.1:9", api_key="k2"),
        retries=False,
    )
    session.rate.take()  # the one token
    with pytest.raises(ApiError) as err:
        session.get("http://127.0.0.1:9/v1/jobs")
    assert err.value.kind == "rate_limited" and err.value.retryable
