"""A run that dies after a channel took the message, before the delivery was recorded: the
retry must not silently send Slack, Teams or email twice (none of them can tell a repeat);
it reports "may have been delivered". Outbound webhooks are sent again with the same
webhook-id (the receiver dedupes on it).

The crash is real: a `celery worker` process is SIGKILLed while a listener on 127.0.0.1 holds
the request it has already recorded; the reaper and a second worker then retry the run. A
lighter in-process variant lets the run time limit strike in the middle of the send."""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from automations.engine import run_execute
from automations.firing import run_fire
from automations.maintenance import runs_reap_stuck, runs_sweep_pending
from automations.models import Automation, AutomationRun
from automations.run_keys import manual_key
from delivery.channel_services import channel_create
from delivery.models import Delivery
from tests.factories import OrganizationFactory, automation
from tests.live import Stack, free_port, wait_for
from webhooks.sandbox_seed import seed_sandbox

KINDS_NOT_RESENT = ["slack", "teams", "email"]


class HoldingHttp:
    """Records every request; while `hold` is set, answers none until released (the
    channel has the message, the sender has no answer)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict, bytes]] = []
        self.received = threading.Event()
        self.release = threading.Event()
        self.hold = True
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                listener.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                listener.received.set()
                if listener.hold:
                    listener.release.wait(60)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the sender is gone
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class HoldingSmtp:
    """An SMTP server on 127.0.0.1 that records each message's DATA and, while `hold` is
    set, keeps the client waiting for its answer."""

    def __init__(self) -> None:
        self.messages: list = []
        self.received = threading.Event()
        self.release = threading.Event()
        self.hold = True
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        self.received.set()
        while self.hold and not self.release.is_set():
            await asyncio.sleep(0.05)
        return "250 Message accepted"

    def stop(self) -> None:
        self.release.set()
        self.controller.stop()


@pytest.fixture
def http():
    listener = HoldingHttp()
    yield listener
    listener.stop()


@pytest.fixture
def smtp():
    server = HoldingSmtp()
    yield server
    server.stop()


def channel_automation(org, kind: str, http: HoldingHttp) -> Automation:
    auto = automation(org=org, skill_slug="test-slow", params={"seconds": 0})
    config = {"to": ["hm@example.test"]} if kind == "email" else {"url": http.url}
    channel, _ = channel_create(
        org=org, owner=auto.owner, kind=kind, name=f"{kind} channel", config=config
    )
    auto.delivery_channels.set([channel])
    return auto


def seen(kind: str, http: HoldingHttp, smtp: HoldingSmtp) -> int:
    return len(smtp.messages) if kind == "email" else len(http.requests)


def assert_reported_uncertain(run: AutomationRun, kind: str) -> None:
    (outcome,) = run.deliveries
    assert outcome["kind"] == kind and outcome["status"] == "uncertain"
    assert "may have been delivered" in outcome["detail"]
    delivery = Delivery.objects.get(run=run)
    assert delivery.status == Delivery.Status.UNCERTAIN
    assert "may have been delivered" in delivery.last_error
    assert delivery.attempt_log.filter(ok=False, error__contains="interrupted").count() == 1


def assert_webhook_resent_with_the_same_id(run: AutomationRun, http: HoldingHttp) -> None:
    first, second = http.requests
    assert first[0]["webhook-id"] == second[0]["webhook-id"]
    assert Delivery.objects.get(run=run).status == Delivery.Status.SENT
    assert run.deliveries[0]["status"] == "sent"


# --- a real worker process, SIGKILLed mid-delivery -------------------------------------------


@pytest.fixture
def stack(celery_queue, smtp, tmp_path, settings):
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
    live = Stack(queue=celery_queue, smtp_port=smtp.port, tmp=tmp_path)
    live.env["ALLOWED_OUTBOUND_HOSTS"] = "127.0.0.1"
    yield live
    live.stop()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", [*KINDS_NOT_RESENT, "webhook"])
def test_worker_killed_after_the_channel_took_the_message(kind, stack, http, smtp):
    org = OrganizationFactory(plan=Organization.Plan.PRO)
    seed_sandbox(org, now=timezone.now())
    auto = channel_automation(org, kind, http)
    received = smtp.received if kind == "email" else http.received

    stack.worker("doomed")
    with transaction.atomic():
        run, _ = run_fire(automation=auto, key=manual_key(), triggered_by="manual")
    wait_for(received.is_set, timeout=90, what="the channel to get the message", stack=stack)
    stack.kill("doomed")  # the channel has it; the worker never hears back
    smtp.release.set()
    http.release.set()
    smtp.hold = http.hold = False
    delivery = Delivery.objects.get(run=run)
    assert delivery.status == Delivery.Status.ATTEMPTING  # the evidence the crash left
    assert delivery.attempt_started_at is not None

    assert runs_reap_stuck(older_than_seconds=0) == 1
    AutomationRun.objects.filter(pk=run.pk).update(scheduled_for=timezone.now())
    stack.worker("rescuer")
    assert runs_sweep_pending() == 1
    wait_for(
        lambda: AutomationRun.objects.get(pk=run.pk).status == "completed",
        timeout=90,
        what="the retried run to complete",
        stack=stack,
    )
    run.refresh_from_db()
    assert run.attempt == 2
    if kind == "webhook":
        assert_webhook_resent_with_the_same_id(run, http)
    else:
        assert seen(kind, http, smtp) == 1  # not sent twice
        assert_reported_uncertain(run, kind)


# --- in process: the run time limit strikes while the channel holds the message --------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", [*KINDS_NOT_RESENT, "webhook"])
def test_a_send_cut_off_midway_is_not_repeated_blindly(kind, http, smtp, settings, sandbox_org):
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", smtp.port, False
    settings.RUN_TIMEOUT_SECONDS = 4  # time to get to the send; the channel then holds it
    auto = channel_automation(sandbox_org, kind, http)
    run, _ = run_fire(automation=auto, key=manual_key(), triggered_by="manual", send=False)

    assert run_execute(run_id=run.pk) == "pending"  # cut off while the channel held it
    assert (smtp.received if kind == "email" else http.received).is_set()
    run.refresh_from_db()
    assert run.error_code == "timeout"
    assert Delivery.objects.get(run=run).status == Delivery.Status.ATTEMPTING

    smtp.hold = http.hold = False
    settings.RUN_TIMEOUT_SECONDS = 60
    AutomationRun.objects.filter(pk=run.pk).update(scheduled_for=timezone.now())
    assert run_execute(run_id=run.pk) == "completed"
    run.refresh_from_db()
    if kind == "webhook":
        assert_webhook_resent_with_the_same_id(run, http)
    else:
        assert seen(kind, http, smtp) == 1
        assert_reported_uncertain(run, kind)
    # A third pass (say a rerun of the delivery step) still does not send it.
    AutomationRun.objects.filter(pk=run.pk).update(status="pending", scheduled_for=timezone.now())
    run_execute(run_id=run.pk)
    assert seen(kind, http, smtp) == (2 if kind == "webhook" else 1)
