"""Every fixture through the real receiver with a valid signature, and every bad input with
its status code, nothing stored, and a log line that says why."""

from __future__ import annotations

import json

import pytest

from accounts.models import Organization
from automations.models import AutomationRun
from automations.triggers.drain import inbound_process
from tests.ats import FIXTURES, SECRET, connection, post, signed, url
from tests.factories import OrganizationFactory, automation
from webhooks.models import InboundEvent

pytestmark = pytest.mark.django_db

STAGES = {"992f01a9-phone": "Phone Screen", "7c2690d8-onsite": "Onsite Interview"}

# (provider, fixture, expected fields of the canonical event; None: a ping)
CASES = [
    ("greenhouse", "ping.json", None),
    (
        "greenhouse",
        "new_candidate_application.json",
        {
            "type": "ats.application.created",
            "candidate.name": "Ana Lima",
            "candidate.email": "ana.lima@example.com",
            "application.id": "265277",
            "application.job_name": "Senior Backend Engineer",
            "stage.to": "Application Review",
        },
    ),
    (
        "greenhouse",
        "candidate_stage_change.json",
        {
            "type": "ats.candidate.stage_changed",
            "stage.to": "Onsite Interview",
            "candidate.id": "265772",
            "occurred_at": "2026-01-12T17:03:00+00:00",
        },
    ),
    (
        "greenhouse",
        "candidate_stage_change_non_ascii.json",
        {
            "type": "ats.candidate.stage_changed",
            "candidate.name": "Zoë Ñúñez 李",
            "stage.to": "Entretien sur site",
        },
    ),
    ("greenhouse", "hire_candidate.json", {"type": "ats.candidate.hired", "stage.to": "Offer"}),
    (
        "greenhouse",
        "reject_candidate.json",
        {"type": "ats.candidate.rejected", "stage.to": "Phone Screen"},
    ),
    (
        "greenhouse",
        "offer_created.json",
        {"type": "ats.offer.created", "application.id": "265277", "application.job_id": "3485"},
    ),
    ("greenhouse", "offer_updated_accepted.json", {"type": "ats.offer.accepted"}),
    (
        "greenhouse",
        "interview_deleted.json",
        {"type": "ats.interview.cancelled", "interview.id": "88231"},
    ),
    ("lever", "test_ping.json", None),
    (
        "lever",
        "applicationCreated.json",
        {
            "type": "ats.application.created",
            "application.id": "3410c8b9-opp",
            "candidate.id": "05c248f9-contact",
        },
    ),
    (
        "lever",
        "candidateStageChange.json",
        {
            "type": "ats.candidate.stage_changed",
            "stage.from": "Phone Screen",
            "stage.to": "Onsite Interview",
            "raw_type": "candidateStageChange",
        },
    ),
    ("lever", "candidateHired.json", {"type": "ats.candidate.hired"}),
    ("lever", "candidateArchiveChange.json", {"type": "ats.candidate.rejected"}),
    (
        "lever",
        "interviewCreated.json",
        {
            "type": "ats.interview.scheduled",
            "interview.id": "int-77",
            "interview.start_at": "2026-01-15T17:00:00+00:00",
        },
    ),
    ("lever", "interviewDeleted.json", {"type": "ats.interview.cancelled"}),
    ("lever", "contactCreated.json", {"type": "ats.candidate.created"}),
    ("ashby", "ping.json", None),
    (
        "ashby",
        "applicationSubmit.json",
        {
            "type": "ats.application.created",
            "candidate.name": "Søren Kierkegård",
            "application.job_name": "First Designer",
        },
    ),
    (
        "ashby",
        "candidateStageChange.json",
        {
            "type": "ats.candidate.stage_changed",
            "stage.to": "Technical Interview",
            "candidate.email": "soren@example.com",
        },
    ),
    ("ashby", "candidateStageChange_archived.json", {"type": "ats.candidate.rejected"}),
    ("ashby", "candidateHire.json", {"type": "ats.candidate.hired"}),
    (
        "ashby",
        "interviewScheduleCreate.json",
        {
            "type": "ats.interview.scheduled",
            "interview.id": "sched-5",
            "interview.start_at": "2026-01-25T15:00:00+00:00",
            "application.id": "app-1f2e",
        },
    ),
    ("ashby", "offerCreate.json", {"type": "ats.offer.created"}),
    (
        "workable",
        "candidate_created.json",
        {
            "type": "ats.application.created",
            "candidate.name": "Łukasz Żółć",
            "application.job_id": "GROOV003",
        },
    ),
    (
        "workable",
        "candidate_moved.json",
        {"type": "ats.candidate.stage_changed", "stage.to": "interview"},
    ),
    ("workable", "candidate_moved_disqualified.json", {"type": "ats.candidate.rejected"}),
    ("workable", "candidate_moved_hired.json", {"type": "ats.candidate.hired"}),
    (
        "zoho",
        "stage_changed.json",
        {
            "type": "ats.candidate.stage_changed",
            "candidate.name": "José Núñez",
            "stage.to": "Interview-Scheduled",
        },
    ),
    (
        "zoho",
        "interview_scheduled.form",
        {
            "type": "ats.interview.scheduled",
            "interview.id": "ZR_INT_9",
            "candidate.name": "José Núñez",
            "interview.start_at": "2026-01-25T15:00:00+00:00",
        },
    ),
    (
        "smartrecruiters",
        "application_created.json",
        {
            "type": "ats.application.created",
            "candidate.id": "77a1-cand",
            "application.job_id": "3c5e-job",
            "delivery_id": "sr-evt-1",
        },
    ),
]


def field(event: dict, path: str):
    for key in path.split("."):
        event = event[key]
    return event


@pytest.mark.parametrize(
    ("provider", "fixture", "expected"), CASES, ids=[f"{p}/{f}" for p, f, _ in CASES]
)
def test_fixture_through_the_receiver(client, provider, fixture, expected):
    conn = connection(OrganizationFactory(), provider, stage_names=STAGES)
    raw = (FIXTURES / provider / fixture).read_bytes()
    body, headers, query = signed(provider, raw)
    content_type = (
        "application/x-www-form-urlencoded" if fixture.endswith(".form") else "application/json"
    )
    response = post(client, conn, body, headers, query, content_type=content_type)
    assert response.status_code == (202 if provider == "smartrecruiters" else 200), response.content
    if expected is None:
        assert response.json()["ping"] is True
        if provider == "lever":  # its signed token is spent (see test_webhook_replay.py)
            assert InboundEvent.objects.get().raw_type == "ping"
        else:
            assert not InboundEvent.objects.exists()
        return
    stored = InboundEvent.objects.get()
    assert stored.raw_body == body and stored.status == "received"
    inbound_process(event_id=stored.pk)
    stored.refresh_from_db()
    event = stored.event
    assert set(event) == {
        "type",
        "provider",
        "delivery_id",
        "occurred_at",
        "candidate",
        "application",
        "stage",
        "interview",
        "raw_type",
    }
    assert event["provider"] == provider and event["delivery_id"] == stored.delivery_id
    for path, value in expected.items():
        assert field(event, path) == value, path


def test_stage_from_comes_from_the_last_stage_seen(client):
    conn = connection(OrganizationFactory(), "greenhouse")
    for name in ("new_candidate_application.json", "candidate_stage_change.json"):
        body, headers, _ = signed("greenhouse", (FIXTURES / "greenhouse" / name).read_bytes())
        post(client, conn, body, headers)
    for inbound in InboundEvent.objects.order_by("pk"):
        inbound_process(event_id=inbound.pk)
    change = InboundEvent.objects.get(raw_type="candidate_stage_change").event
    assert change["stage"] == {"from": "Application Review", "to": "Onsite Interview"}


def test_unknown_action_is_kept_with_its_raw_type_and_can_be_matched(client):
    org = OrganizationFactory(plan=Organization.Plan.PRO)
    conn = connection(org, "greenhouse")
    auto = automation(
        org=org, trigger_type="event", event_type="job_created", skill_slug="pipeline-report"
    )
    body, headers, _ = signed("greenhouse", b'{"action": "job_created", "payload": {"job": {}}}')
    assert post(client, conn, body, headers).status_code == 200
    inbound = InboundEvent.objects.get()
    inbound_process(event_id=inbound.pk)
    inbound.refresh_from_db()
    assert inbound.event["type"] is None and inbound.event["raw_type"] == "job_created"
    assert AutomationRun.objects.filter(automation=auto).count() == 1


def test_same_delivery_five_times_is_stored_once_and_fires_once(client):
    org = OrganizationFactory(plan=Organization.Plan.PRO)
    conn = connection(org, "greenhouse")
    auto = automation(
        org=org,
        trigger_type="event",
        event_type="ats.candidate.stage_changed",
        skill_slug="new-candidate-alert",
    )
    raw = (FIXTURES / "greenhouse" / "candidate_stage_change.json").read_bytes()
    body, headers, _ = signed("greenhouse", raw)
    answers = [post(client, conn, body, headers) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert sum(1 for a in answers if a.json().get("duplicate")) == 4
    assert InboundEvent.objects.count() == 1
    for _ in range(2):  # a redelivered task message does nothing either
        inbound_process(event_id=InboundEvent.objects.get().pk)
    assert AutomationRun.objects.filter(automation=auto).count() == 1


def test_body_hash_dedupes_providers_without_a_delivery_id(client):
    conn = connection(OrganizationFactory(), "zoho")
    raw = (FIXTURES / "zoho" / "stage_changed.json").read_bytes()
    for _ in range(3):
        assert post(client, conn, raw, {}, f"token={SECRET}").status_code == 200
    assert InboundEvent.objects.get().delivery_id.startswith("sha256:")


def test_smartrecruiters_documented_test_vector():
    from webhooks.providers import smartrecruiters
    from webhooks.providers.common import Request, hmac_hex

    request = Request(
        body=b'{"job_id":"jid","candidate_id":"cid"}',
        query={},
        headers={
            "event-id": "123",
            "event-name": "application.created",
            "event-version": "v201910",
            "link": "<http://smartrecruiters.com/endpoint>; rel=self",
        },
    )
    signed_bytes = smartrecruiters.signed_bytes(request, "1574080897")
    assert hmac_hex("HeBVky2bccvvkcXPimH8c", signed_bytes) == (
        "2e9291f10d44ca10204a4cd81b05d73b6a316b2b605d4e2e0e0b37b40198ce1f"
    )


def test_smartrecruiters_activation_handshake_echoes_the_hook_secret(client):
    conn = connection(OrganizationFactory(), "smartrecruiters")
    response = client.post(
        url(conn), b"", content_type="application/json", headers={"X-Hook-Secret": "activate-me"}
    )
    assert response.status_code == 200 and response["X-Hook-Secret"] == "activate-me"
    assert not InboundEvent.objects.exists()


# --- bad input -------------------------------------------------------------------------------

GOOD = (FIXTURES / "greenhouse" / "candidate_stage_change.json").read_bytes()


def refused(caplog, response, status: int, reason: str) -> None:
    assert response.status_code == status, response.content
    assert reason in response.json()["error"]
    assert any(
        reason in r.getMessage() and str(status) in r.getMessage() for r in caplog.records
    ), [r.getMessage() for r in caplog.records]
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize(
    ("provider", "headers", "body", "reason"),
    [
        ("greenhouse", {}, GOOD, "missing or malformed Signature"),
        ("greenhouse", {"Signature": "sha256 " + "0" * 64}, GOOD, "does not match"),
        ("greenhouse", {"Signature": "sha1 abc"}, GOOD, "missing or malformed Signature"),
        ("ashby", {"Ashby-Signature": "sha256=" + "f" * 64}, GOOD, "does not match"),
        ("workable", {}, GOOD, "missing or malformed X-Workable-Signature"),
        (
            "smartrecruiters",
            {"smartrecruiters-signature": "v1=00", "smartrecruiters-timestamp": "1574080897"},
            b"{}",
            "s off (replay?)",
        ),
    ],
)
def test_bad_or_missing_signature_is_401(client, caplog, provider, headers, body, reason):
    conn = connection(OrganizationFactory(), provider)
    refused(caplog, post(client, conn, body, headers), 401, reason)


def test_lever_bad_signature_is_401(client, caplog):
    conn = connection(OrganizationFactory(), "lever")
    data = json.loads((FIXTURES / "lever" / "candidateHired.json").read_bytes())
    data["signature"] = "0" * 64
    refused(caplog, post(client, conn, json.dumps(data).encode(), {}), 401, "does not match")


def test_zoho_wrong_token_is_401(client, caplog):
    conn = connection(OrganizationFactory(), "zoho")
    raw = (FIXTURES / "zoho" / "stage_changed.json").read_bytes()
    refused(caplog, post(client, conn, raw, {}, "token=guess"), 401, "'token' parameter is wrong")


def test_malformed_body_is_400(client, caplog):
    conn = connection(OrganizationFactory(), "greenhouse")
    body, headers, _ = signed("greenhouse", b"this is not json")
    refused(caplog, post(client, conn, body, headers), 400, "body is not JSON")


def test_unknown_connection_and_provider_mismatch_are_404(client, caplog):
    conn = connection(OrganizationFactory(), "greenhouse")
    body, headers, _ = signed("greenhouse", GOOD)
    missing = client.generic(
        "POST",
        "/webhooks/ats/greenhouse/00000000-0000-0000-0000-000000000000/",
        body,
        headers=headers,
    )
    refused(caplog, missing, 404, "no such connection")
    wrong = client.generic("POST", f"/webhooks/ats/lever/{conn.public_id}/", body, headers=headers)
    refused(caplog, wrong, 404, "no such connection")
    unknown = client.generic("POST", f"/webhooks/ats/bamboo/{conn.public_id}/", body)
    refused(caplog, unknown, 404, "unknown provider")


def test_wrong_method_is_405(client, caplog):
    conn = connection(OrganizationFactory(), "greenhouse")
    response = client.get(url(conn))
    refused(caplog, response, 405, "GET is not accepted")
    assert response["Allow"] == "POST"


def test_over_one_mebibyte_is_413(client, caplog):
    conn = connection(OrganizationFactory(), "greenhouse")
    big = b'{"action": "candidate_stage_change", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    body, headers, _ = signed("greenhouse", big)
    refused(caplog, post(client, conn, body, headers), 413, "body over")


def test_raw_bodies_are_purged_after_the_retention_period(client, settings):
    from datetime import timedelta

    from django.utils import timezone

    from webhooks.retention import inbound_purge_expired

    conn = connection(OrganizationFactory(), "greenhouse")
    body, headers, _ = signed("greenhouse", GOOD)
    post(client, conn, body, headers)
    assert inbound_purge_expired() == 0
    assert inbound_purge_expired(now=timezone.now() + timedelta(hours=25)) == 1
    stored = InboundEvent.objects.get()
    assert stored.raw_body is None and stored.event["type"] == "ats.candidate.stage_changed"


def test_waiting_events_are_drained_once(client):
    from automations.triggers.drain import inbound_drain

    conn = connection(OrganizationFactory(), "greenhouse")
    for i in range(3):
        raw = GOOD.replace(b'"Onsite Interview"', f'"Stage {i}"'.encode())
        body, headers, _ = signed("greenhouse", raw)
        post(client, conn, body, headers)
    assert inbound_drain(batch=2) == 3
    assert inbound_drain() == 0
    assert set(InboundEvent.objects.values_list("status", flat=True)) == {"ignored"}
    conn.refresh_from_db()
    assert conn.last_event_at is not None


@pytest.mark.django_db(transaction=True)  # autocommit, as in production: the FK is checked
def test_a_connection_deleted_after_it_was_cached_answers_404(client, caplog):
    conn = connection(OrganizationFactory(), "greenhouse")
    body, headers, _ = signed("greenhouse", GOOD)
    assert post(client, conn, body, headers).status_code == 200  # now cached
    InboundEvent.objects.all().delete()
    conn.delete()
    other = GOOD.replace(b"Onsite Interview", b"Offer")
    body, headers, _ = signed("greenhouse", other)
    refused(caplog, post(client, conn, body, headers), 404, "no such connection")
