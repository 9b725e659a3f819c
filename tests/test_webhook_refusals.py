"""The receiver keeps refused deliveries of known connections (WebhookRefusal) for the
dashboard's health: with their status and reason, capped under a flood, never for an unknown
connection, never turning a refusal into an error, and purged past the retention period."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.db.models import Count
from django.utils import timezone

from tests.ats import SECRET, connection, post, signed, url
from tests.factories import OrganizationFactory
from webhooks import refusals
from webhooks.models import InboundEvent, WebhookRefusal
from webhooks.retention import webhooks_purge_expired

pytestmark = pytest.mark.django_db

BODY = json.dumps({"action": "reject_candidate", "payload": {"candidate": {"id": 1}}}).encode()


@pytest.fixture
def gh():
    return connection(OrganizationFactory(), "greenhouse")


def _bad(client, conn, body=BODY):
    return post(client, conn, *signed("greenhouse", body, secret="wrong-secret-123")[:2])


def test_refusals_are_recorded_with_status_and_reason(client, gh):
    assert _bad(client, gh).status_code == 401
    assert post(client, gh, b"not json", {}).status_code == 401  # no signature header
    gh.mode = "polling"
    gh.save(update_fields=["mode"])
    from webhooks.intake import connection_forget

    connection_forget(gh.public_id)
    assert post(client, gh, *signed("greenhouse", BODY)[:2]).status_code == 409
    rows = list(WebhookRefusal.objects.order_by("pk").values_list("status_code", "reason"))
    assert rows == [
        (401, "signature check failed: Signature does not match the body"),
        (
            401,
            "signature check failed: missing or malformed Signature header (want 'sha256 <hex>')",
        ),
        (409, "this connection is in polling mode: it does not take webhooks"),
    ]
    assert not InboundEvent.objects.exists()


def test_the_query_string_and_body_are_never_kept(client, gh):
    secret_body = json.dumps({"candidate": {"email": "ada@example.com"}}).encode()
    client.generic(
        "POST",
        url(gh, "token=query-secret-xyz"),
        secret_body,
        content_type="application/json",
        headers={"Signature": "sha256 00"},
    )
    (row,) = WebhookRefusal.objects.all()
    assert "query-secret-xyz" not in row.reason and "ada@" not in row.reason


def test_unknown_connections_and_providers_stay_log_only(client, gh):
    other = connection(OrganizationFactory(), "lever")
    body, headers, _ = signed("greenhouse", BODY, secret="wrong-secret-123")
    wrong_provider = client.generic(
        "POST", f"/webhooks/ats/greenhouse/{other.public_id}/", body, headers=headers
    )
    unknown = client.generic(
        "POST", "/webhooks/ats/greenhouse/00000000-0000-0000-0000-000000000000/", body
    )
    no_provider = client.generic("POST", f"/webhooks/ats/bamboo/{gh.public_id}/", body)
    assert [r.status_code for r in (wrong_provider, unknown, no_provider)] == [404, 404, 404]
    assert not WebhookRefusal.objects.exists()


def test_a_flood_of_bad_signatures_leaves_a_bounded_number_of_rows(client, gh):
    with time_machine.travel(timezone.now().replace(second=5), tick=False):
        answers = {_bad(client, gh).status_code for _ in range(200)}
    assert answers == {401}  # every one still refused, with the same answer
    assert WebhookRefusal.objects.count() == refusals.PER_MINUTE
    # The next minute has room again; other status codes count on their own.
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False):
        _bad(client, gh)
        for _ in range(10):  # a bad Content-Length (400): its own count
            post(client, gh, b"{}", {"Content-Length": "x"})
    counts = dict(
        WebhookRefusal.objects.values_list("status_code").annotate(n=Count("pk")).order_by()
    )
    assert counts == {401: refusals.PER_MINUTE + 1, 400: refusals.PER_MINUTE}


def test_accepted_deliveries_write_no_refusal(client, gh):
    assert post(client, gh, *signed("greenhouse", BODY, secret=SECRET)[:2]).status_code == 200
    assert post(client, gh, *signed("greenhouse", BODY, secret=SECRET)[:2]).status_code == 200
    assert not WebhookRefusal.objects.exists()


def test_a_failed_record_never_changes_the_answer(client, gh, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database is gone")

    monkeypatch.setattr(WebhookRefusal.objects, "create", broken)
    assert _bad(client, gh).status_code == 401
    monkeypatch.undo()

    def no_cache(*args, **kwargs):
        raise ConnectionError("redis is gone")

    monkeypatch.setattr(refusals.cache, "add", no_cache)
    assert _bad(client, gh).status_code == 401
    assert not WebhookRefusal.objects.exists()


def test_refusals_are_purged_past_the_retention_period(gh, settings):
    settings.RETENTION_HOURS = 24
    old = WebhookRefusal.objects.create(connection=gh, status_code=401, reason="old")
    WebhookRefusal.objects.filter(pk=old.pk).update(
        received_at=timezone.now() - timedelta(hours=25)
    )
    fresh = WebhookRefusal.objects.create(connection=gh, status_code=401, reason="fresh")
    assert webhooks_purge_expired() >= 1
    assert list(WebhookRefusal.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_deleting_a_connection_deletes_its_refusals(gh):
    WebhookRefusal.objects.create(connection=gh, status_code=401, reason="x")
    gh.delete()
    assert not WebhookRefusal.objects.exists()
