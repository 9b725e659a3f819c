"""Replays and lost deliveries: a delivery is identified only by what the provider signs, a
stale Lever signature is refused, Zoho deliveries that differ only in their query are all
kept, Zoho's secret token is neither stored nor logged, and a polling-mode connection takes
no webhooks."""

from __future__ import annotations

import json
import logging
import time
from unittest import mock

import pytest

from automations.models import AutomationRun
from automations.triggers.drain import inbound_process
from tests.ats import FIXTURES, SECRET, connection, hexmac, post, signed, url
from tests.factories import OrganizationFactory, automation
from webhooks.models import InboundEvent

pytestmark = pytest.mark.django_db


def lever_delivery(event: str, data: dict, *, token: str, triggered_at: int) -> bytes:
    return json.dumps(
        {
            "event": event,
            "triggeredAt": triggered_at,
            "token": token,
            "signature": hexmac(SECRET, f"{token}{triggered_at}".encode()),
            "data": data,
        }
    ).encode()


def now_ms() -> int:
    return int(time.time() * 1000)


def test_greenhouse_same_signed_body_under_three_event_ids_is_one_event(client):
    conn = connection(OrganizationFactory(), "greenhouse")
    raw = (FIXTURES / "greenhouse" / "candidate_stage_change.json").read_bytes()
    body, headers, _ = signed("greenhouse", raw)
    answers = [
        post(client, conn, body, {**headers, "Greenhouse-Event-ID": event_id})
        for event_id in ("evt-1", "evt-2", "evt-3")
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [bool(a.json().get("duplicate")) for a in answers] == [False, True, True]
    assert InboundEvent.objects.count() == 1
    # A different signed body is a different delivery, whatever the header says.
    other, other_headers, _ = signed("greenhouse", raw.replace(b"Onsite Interview", b"Offer"))
    assert post(client, conn, other, {**other_headers, "Greenhouse-Event-ID": "evt-1"}).json()["id"]
    assert InboundEvent.objects.count() == 2


def test_lever_captured_token_replayed_with_another_body_is_not_a_second_event(client):
    conn = connection(OrganizationFactory(), "lever")
    token, triggered_at = "captured-token-0123456789abcdef0123456789abcdef", now_ms()
    original = lever_delivery(
        "candidateStageChange",
        {"opportunityId": "opp-1", "fromStageId": "a", "toStageId": "b"},
        token=token,
        triggered_at=triggered_at,
    )
    assert post(client, conn, original, {}).status_code == 200
    pair = {"token": token, "triggered_at": triggered_at}
    replays = [
        lever_delivery("candidateHired", {"opportunityId": "opp-OTHER"}, **pair),
        lever_delivery("applicationCreated", {"opportunityId": "opp-2"}, **pair),
    ]
    for replay in replays:
        answer = post(client, conn, replay, {})
        assert answer.status_code == 200 and answer.json()["duplicate"] is True
    stored = InboundEvent.objects.get()
    assert stored.raw_type == "candidateStageChange"
    assert stored.event["application"]["id"] == "opp-1"


def test_lever_captured_ping_token_replayed_with_a_real_body_is_not_an_event(client):
    """Lever's test ping is signed like any delivery (token + triggeredAt, not the body): a
    captured ping's pair must not carry a made-up event in the tolerance window."""
    org = OrganizationFactory()
    conn = connection(org, "lever")
    for event_type in ("ats.candidate.hired", "candidateHired", "ping"):
        automation(org=org, trigger_type="event", event_type=event_type, name=event_type)
    pair = {"token": "ping-token-0123456789abcdef0123456789abcdef", "triggered_at": now_ms()}
    ping = post(client, conn, lever_delivery("candidateHired", {}, **pair), {})
    assert ping.status_code == 200 and ping.json()["ping"] is True
    replay = post(
        client, conn, lever_delivery("candidateHired", {"opportunityId": "o"}, **pair), {}
    )
    assert replay.status_code == 200 and replay.json()["duplicate"] is True
    stored = InboundEvent.objects.get()
    assert stored.raw_type == "ping" and stored.event["type"] is None
    inbound_process(event_id=stored.pk)
    stored.refresh_from_db()
    assert stored.status == "ignored" and not AutomationRun.objects.exists()


@pytest.mark.parametrize(
    ("offset_seconds", "reason"),
    [
        (None, "old"),  # 1970
        (-301, "old"),
        (-3600, "old"),
        (301, "in the future"),
        (10**9, "in the future"),
    ],
)
def test_lever_stale_or_future_triggered_at_is_401(client, caplog, offset_seconds, reason):
    conn = connection(OrganizationFactory(), "lever")
    triggered_at = 1000 if offset_seconds is None else now_ms() + offset_seconds * 1000
    body = lever_delivery(
        "candidateHired", {"opportunityId": "opp-1"}, token="t" * 48, triggered_at=triggered_at
    )
    answer = post(client, conn, body, {})
    assert answer.status_code == 401, answer.content
    assert reason in answer.json()["error"] and "tolerance" in answer.json()["error"]
    assert not InboundEvent.objects.exists()


def test_lever_tolerance_is_a_setting(client, settings):
    settings.LEVER_REPLAY_TOLERANCE_SECONDS = 3600
    conn = connection(OrganizationFactory(), "lever")
    body = lever_delivery(
        "candidateHired",
        {"opportunityId": "opp-1"},
        token="u" * 48,
        triggered_at=now_ms() - 1800 * 1000,
    )
    assert post(client, conn, body, {}).status_code == 200


def test_lever_retry_of_the_same_delivery_is_acknowledged_once(client):
    conn = connection(OrganizationFactory(), "lever")
    body = lever_delivery(
        "candidateHired", {"opportunityId": "opp-1"}, token="v" * 48, triggered_at=now_ms()
    )
    answers = [post(client, conn, body, {}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200] * 3
    assert InboundEvent.objects.count() == 1


def test_zoho_get_deliveries_differing_only_in_query_are_all_stored(client):
    conn = connection(OrganizationFactory(), "zoho")
    for candidate in ("ZR_1", "ZR_2", "ZR_3"):
        query = f"token={SECRET}&event=stage_changed&candidate_id={candidate}&stage=Interview"
        answer = client.get(url(conn, query))
        assert answer.status_code == 200 and "id" in answer.json(), answer.content
    assert InboundEvent.objects.count() == 3
    assert len(set(InboundEvent.objects.values_list("delivery_id", flat=True))) == 3


def test_zoho_the_same_parameters_are_one_delivery_within_the_window_and_new_after_it(client):
    from webhooks.providers import zoho

    conn = connection(OrganizationFactory(), "zoho")
    form = b"event=stage_changed&candidate_id=ZR_1&stage=Interview"
    t0 = 1_800_000_000.0 - 1_800_000_000.0 % zoho.SAME_CONTENT_WINDOW_SECONDS

    def send(at: float):
        with mock.patch("webhooks.providers.zoho.time.time", return_value=at):
            return post(
                client,
                conn,
                form,
                {},
                f"token={SECRET}",
                content_type="application/x-www-form-urlencoded",
            ).json()

    assert "id" in send(t0)
    assert send(t0 + 5)["duplicate"] is True  # a retry
    # The candidate moved away and back to Interview later: the same parameters, a new event.
    assert "id" in send(t0 + zoho.SAME_CONTENT_WINDOW_SECONDS + 1)
    assert InboundEvent.objects.count() == 2


def test_zoho_modified_time_tells_two_real_events_apart_and_dedupes_retries(client):
    conn = connection(OrganizationFactory(), "zoho")
    for modified in ("2026-01-12T17:03:00Z", "2026-01-12T17:03:00Z", "2026-01-12T18:00:00Z"):
        form = f"event=stage_changed&candidate_id=ZR_1&modified_time={modified}".encode()
        post(
            client,
            conn,
            form,
            {},
            f"token={SECRET}",
            content_type="application/x-www-form-urlencoded",
        )
    assert InboundEvent.objects.count() == 2


@pytest.mark.parametrize("where", ["query", "form", "json", "get"])
def test_zoho_token_is_in_no_stored_field_and_no_log_record(client, caplog, where):
    conn = connection(OrganizationFactory(), "zoho")
    caplog.set_level(logging.DEBUG)
    fields = "event=stage_changed&candidate_id=ZR_1&candidate_name=Ana"
    if where == "query":
        answer = post(
            client,
            conn,
            fields.encode(),
            {},
            f"token={SECRET}",
            content_type="application/x-www-form-urlencoded",
        )
    elif where == "form":
        answer = post(
            client,
            conn,
            f"{fields}&token={SECRET}".encode(),
            {},
            content_type="application/x-www-form-urlencoded",
        )
    elif where == "json":
        body = {"event": "stage_changed", "candidate_id": "ZR_1", "token": SECRET}
        answer = post(client, conn, json.dumps(body).encode(), {})
    else:
        answer = client.get(url(conn, f"{fields}&token={SECRET}"))
    assert answer.status_code == 200, answer.content
    # Refusals are logged too: a wrong token, a bad body, a polling connection.
    client.get(url(conn, f"{fields}&token={SECRET}x"))
    client.get(url(conn, f"token={SECRET}"))
    stored = InboundEvent.objects.get()
    texts = [
        bytes(stored.raw_body or b"").decode(),
        json.dumps(stored.headers),
        json.dumps(stored.event),
        stored.delivery_id,
    ]
    assert not any(SECRET in text for text in texts), texts
    if where in ("form", "json"):
        assert stored.raw_body  # the rest of the body is kept
    assert stored.event["candidate"]["id"] == "ZR_1"
    messages = [record.getMessage() for record in caplog.records]
    assert messages and not any(SECRET in message for message in messages), messages


def test_request_lines_of_webhook_urls_are_logged_without_their_query(caplog):
    """runserver's access lines (django.server) go through the redaction filter."""
    caplog.set_level(logging.INFO)
    line = f"POST /webhooks/ats/zoho/abc/?token={SECRET}&event=x HTTP/1.1"
    logging.getLogger("django.server").info('"%s" %s %s', line, "200", "15")
    logging.getLogger("django.request").warning("Bad Request: %s", f"/webhooks/x/?token={SECRET}")
    messages = [record.getMessage() for record in caplog.records]
    assert any("/webhooks/ats/zoho/abc/?[redacted]" in m for m in messages), messages
    assert not any(SECRET in m for m in messages), messages


def test_gunicorn_access_log_has_no_query_string(tmp_path):
    """The access line gunicorn writes with config/gunicorn.py's format."""
    import runpy
    from datetime import timedelta
    from pathlib import Path

    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    settings = runpy.run_path(str(Path(__file__).resolve().parent.parent / "config/gunicorn.py"))
    config = Config()
    config.set("access_log_format", settings["access_log_format"])
    log_file = tmp_path / "access.log"
    config.set("accesslog", str(log_file))
    logger = Logger(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/webhooks/ats/zoho/abc/?token={SECRET}",
        "PATH_INFO": "/webhooks/ats/zoho/abc/",
        "QUERY_STRING": f"token={SECRET}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
    }
    response = mock.Mock(status="200 OK", sent=10, headers=[])
    request = mock.Mock(headers=[], method="GET", path="/webhooks/ats/zoho/abc/")
    logger.access(response, request, environ, timedelta(seconds=0.01))
    for handler in logger.access_log.handlers:
        handler.flush()
    written = log_file.read_text()
    assert "/webhooks/ats/zoho/abc/" in written and SECRET not in written, written


@pytest.mark.parametrize(
    "provider", ["greenhouse", "lever", "ashby", "workable", "zoho", "smartrecruiters"]
)
def test_polling_mode_connection_refuses_webhooks_with_409(client, provider):
    conn = connection(OrganizationFactory(), provider, mode="polling")
    raw = (
        FIXTURES
        / provider
        / {
            "greenhouse": "candidate_stage_change.json",
            "lever": "candidateHired.json",
            "ashby": "candidateStageChange.json",
            "workable": "candidate_moved.json",
            "zoho": "stage_changed.json",
            "smartrecruiters": "application_created.json",
        }[provider]
    ).read_bytes()
    body, headers, query = signed(provider, raw)
    answer = post(client, conn, body, headers, query)
    assert answer.status_code == 409, answer.content
    assert "polling mode" in answer.json()["error"]
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize("mode", ["webhook", "both"])
def test_webhook_and_both_modes_accept_webhooks(client, mode):
    conn = connection(OrganizationFactory(), "greenhouse", mode=mode)
    raw = (FIXTURES / "greenhouse" / "candidate_stage_change.json").read_bytes()
    body, headers, _ = signed("greenhouse", raw)
    assert post(client, conn, body, headers).status_code == 200
    assert InboundEvent.objects.count() == 1
