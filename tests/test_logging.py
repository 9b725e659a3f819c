"""Structured logs: the JSON line, the ids bound to it, redaction, and the leak checker."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import structlog
from django.test import Client

from automations.firing import run_fire
from automations.run_keys import manual_key
from automations.tasks import execute_run
from config.logs import formatter_config, redact_processor
from tests.factories import automation
from tests.live import SmtpInbox, Stack, http_post, wait_for
from tests.log_leaks import leaks_in, patterns


@contextmanager
def captured() -> Iterator[list[dict]]:
    """The root logger's records, formatted by the real (JSON) formatter, parsed back."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    options = {k: v for k, v in formatter_config(debug=False).items() if k != "()"}
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(**options))
    root = logging.getLogger()
    root.addHandler(handler)
    lines: list[dict] = []
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines() if line)


def test_a_line_is_one_json_object_with_the_fields():
    with captured() as lines:
        logging.getLogger("skillomatic.test").warning("hello %s", "there")
    (line,) = lines
    assert line["event"] == "hello there" and line["level"] == "warning"
    assert line["logger"] == "skillomatic.test"
    assert line["timestamp"].endswith("Z") and "T" in line["timestamp"]


def test_an_exception_is_a_string_field():
    with captured() as lines:
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("skillomatic.test").exception("failed")
    assert "ValueError: boom" in lines[0]["exception"]


def test_redaction_of_secret_keys_emails_and_webhook_queries():
    out = redact_processor(
        None,
        "info",
        {
            "event": "sent to ana@example.com via /webhooks/ats/zoho/x/?token=abc",
            "api_key": "k-123",
            "Authorization": "Bearer t",
            "password": "p",
            "nested": {"signature": "s", "note": "bob@corp.io"},
            "input_tokens": 12,
            "run_id": 5,
        },
    )
    assert out["event"] == "sent to [email] via /webhooks/ats/zoho/x/?[redacted]"
    assert out["api_key"] == out["Authorization"] == out["password"] == "[redacted]"
    assert out["nested"] == {"signature": "[redacted]", "note": "[email]"}
    assert out["input_tokens"] == 12 and out["run_id"] == 5


def test_webhook_query_is_redacted_in_the_rendered_line():
    with captured() as lines:
        logging.getLogger("skillomatic.test").info("GET %s", "/webhooks/ats/zoho/1/?token=sekrit")
    assert "sekrit" not in json.dumps(lines) and "?[redacted]" in lines[0]["event"]


@pytest.mark.django_db
def test_request_id_generated_echoed_and_accepted_when_valid():
    client = Client()
    generated = client.get("/login/")["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/login/", HTTP_X_REQUEST_ID="abc.DEF-1_2")["X-Request-ID"] == "abc.DEF-1_2"
    for bad in ("a" * 200, "abc\ndef", "a b", ""):
        echoed = client.get("/login/", HTTP_X_REQUEST_ID=bad)["X-Request-ID"]
        assert echoed != bad and len(echoed) == 32


@pytest.mark.django_db
def test_dashboard_line_carries_request_org_and_user_ids(org, owner):
    client = Client()
    client.force_login(owner)
    with captured() as lines:
        # A resolving dashboard URL for an automation that does not exist: dashboard_page
        # binds the workplace's org, the view raises Http404 and django.request logs it.
        response = client.get(f"/automations/{uuid.uuid4()}/", HTTP_X_REQUEST_ID="req-1")
    assert response.status_code == 404
    line = next(line for line in lines if line.get("request_id") == "req-1")
    assert line["user_id"] == owner.pk
    assert line["org_id"] == org.pk
    assert owner.email not in json.dumps(lines)


@pytest.mark.django_db
def test_a_task_line_carries_task_id_and_run_id(sandbox_org):
    auto = automation(org=sandbox_org, channels=[{"kind": "in_app"}])
    run, _ = run_fire(automation=auto, key=manual_key(), triggered_by="manual", send=False)
    with captured() as lines:
        execute_run.apply(args=[run.pk], task_id="task-xyz")
    finished = [line for line in lines if line.get("run_id") == run.pk]
    assert finished, lines
    assert all(line["task_id"] == "task-xyz" for line in finished)
    assert finished[-1]["task"] == "automations.execute_run"
    assert finished[-1]["automation_id"] == auto.pk and finished[-1]["org_id"] == sandbox_org.pk
    # The task's context ends with it.
    assert structlog.contextvars.get_contextvars() == {}


def test_the_leak_checker_finds_a_known_secret_and_an_email():
    checks = patterns({"SECRET_KEY": "the-django-secret"})
    lines = [
        '{"event": "ok"}',
        '{"event": "key the-django-secret"}',
        '{"event": "hook sk-test-secret-abc123"}',
        '{"event": "to ana.lopez@example.com"}',
    ]
    found = [(leak.line, leak.kind) for leak in leaks_in(lines, path="x.log", checks=checks)]
    assert found == [(2, "SECRET_KEY"), (3, "test secret"), (4, "candidate email")]


@pytest.mark.django_db(transaction=True)
def test_gunicorn_lines_are_json_and_its_access_line_has_no_webhook_token(tmp_path, celery_queue):
    smtp = SmtpInbox().start()
    stack = Stack(queue=celery_queue, smtp_port=smtp.port, tmp=tmp_path)
    try:
        base = stack.web(workers=1)
        # A Zoho-style webhook URL whose secret rides in the query string.
        http_post(base, f"/webhooks/ats/zoho/{uuid.uuid4()}/?token=sk-test-secret-q1", b"{}", {})
        wait_for(
            lambda: "/webhooks/ats/zoho/" in (tmp_path / "web.log").read_text(),
            timeout=15,
            what="gunicorn's access line",
        )
    finally:
        stack.stop()
        smtp.stop()
    text = (tmp_path / "web.log").read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert any(line.get("logger") == "gunicorn.error" for line in lines), text
    access = [line for line in lines if line.get("logger") == "gunicorn.access"]
    assert access, text
    assert "sk-test-secret-q1" not in text
