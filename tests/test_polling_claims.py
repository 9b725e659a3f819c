"""Polling (issue 10, section 5): a state reached again is a new change with a new delivery
id; two beats sending every due poll never poll one connection twice at once."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection as db_connection
from django.utils import timezone
from werkzeug import Response

from automations.models import AutomationRun
from automations.triggers.drain import inbound_drain
from tests.ats import connection
from tests.factories import OrganizationFactory, automation
from webhooks.models import AtsConnection, InboundEvent
from webhooks.polling import connection_poll

pytestmark = pytest.mark.django_db


class FakeGreenhouse:
    """Harvest on 127.0.0.1 with one application whose stage the test moves."""

    def __init__(self, httpserver):
        self.stage = "Phone Screen"
        self.activity = "2026-01-12T16:00:00Z"
        httpserver.expect_request("/v1/applications").respond_with_handler(self.applications)
        httpserver.expect_request("/v1/candidates/265772").respond_with_json(
            {"id": 265772, "first_name": "Ana", "last_name": "Lima", "email_addresses": []}
        )
        httpserver.expect_request("/v1/scheduled_interviews").respond_with_json([])

    def applications(self, request):
        app = {
            "id": 265277,
            "candidate_id": 265772,
            "status": "active",
            "last_activity_at": self.activity,
            "applied_at": "2026-01-10T09:00:00Z",
            "current_stage": {"id": 1, "name": self.stage},
            "jobs": [{"id": 3485, "name": "Senior Backend Engineer"}],
        }
        return Response(json.dumps([app]), content_type="application/json")


@pytest.fixture
def polled(httpserver, settings):
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
    fake = FakeGreenhouse(httpserver)
    org = OrganizationFactory()
    conn = connection(
        org,
        "greenhouse",
        mode="polling",
        base_url=httpserver.url_for("/v1"),
        secrets={"api_key": "key"},
    )
    return fake, conn


def test_screen_interview_screen_interview_emits_every_move(polled):
    fake, conn = polled
    interview = automation(
        org=conn.organization,
        trigger_type="event",
        skill_slug="new-candidate-alert",
        event_type="ats.candidate.stage_changed",
        event_filter={"stage.to": "Interview"},
    )
    minutes = iter(range(0, 60, 3))

    def poll(stage: str | None = None) -> int:
        if stage is not None:
            fake.stage = stage
            fake.activity = f"2026-01-12T17:{next(minutes):02d}:00Z"
        return connection_poll(
            connection=conn, now=datetime(2026, 1, 12, 18, next(minutes), tzinfo=UTC)
        )

    assert poll() == 0  # the first poll records the state
    moves = []
    for stage in ("Interview", "Phone Screen", "Interview"):
        moves.append(poll(stage))
        assert poll() == 0  # polled again before it is processed: stored once
        inbound_drain()
        assert poll() == 0  # and after
    assert moves == [1, 1, 1]
    changes = [
        e["stage"] for e in InboundEvent.objects.order_by("pk").values_list("event", flat=True)
    ]
    assert changes == [
        {"from": "Phone Screen", "to": "Interview"},
        {"from": "Interview", "to": "Phone Screen"},
        {"from": "Phone Screen", "to": "Interview"},
    ]
    assert AutomationRun.objects.filter(automation=interview).count() == 2


def due_connections(n: int, **fields) -> list[AtsConnection]:
    org = OrganizationFactory()
    return [connection(org, "greenhouse", mode=fields.get("mode", "polling")) for _ in range(n)]


def test_claiming_due_connections_gives_each_to_one_caller_only():
    from webhooks.polling import connections_claim_due

    due = due_connections(3) + due_connections(1, mode="both")
    connection(OrganizationFactory(), "greenhouse")  # webhook mode: never polled
    later = connection(OrganizationFactory(), "greenhouse", mode="polling")
    AtsConnection.objects.filter(pk=later.pk).update(
        next_poll_at=timezone.now() + timedelta(minutes=5)
    )
    first = connections_claim_due()
    assert sorted(first) == sorted(c.pk for c in due)
    assert connections_claim_due() == []  # a second beat right after gets nothing
    claimed = AtsConnection.objects.filter(pk__in=first).values_list("next_poll_at", flat=True)
    assert all(when > timezone.now() + timedelta(minutes=5) for when in claimed)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_callers_never_claim_one_connection_twice():
    from webhooks.polling import connections_claim_due

    due = {c.pk for c in due_connections(12)}
    barrier = threading.Barrier(2)
    results: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def beat(slot: int):
        try:
            barrier.wait(5)
            for _ in range(3):
                results[slot] += connections_claim_due(limit=5)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=beat, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert not set(results[0]) & set(results[1])
    assert sorted(results[0] + results[1]) == sorted(due)


def queued(queue: str) -> int:
    from config.celery import app

    with app.connection_for_write() as conn:
        return conn.default_channel.queue_declare(queue=queue, passive=True).message_count


def test_two_beats_sending_every_due_poll_send_one_poll_per_connection(celery_queue):
    from webhooks.tasks import poll_connections

    due_connections(3)
    assert poll_connections() == 3
    poll_connections()  # the second beat, a moment later
    assert queued(celery_queue) == 3


def test_a_failed_poll_comes_back_at_its_interval(polled, httpserver):
    from webhooks.tasks import poll_connection

    _, conn = polled
    httpserver.clear()
    httpserver.expect_request("/v1/applications").respond_with_data("no", status=403)
    assert poll_connection(conn.pk) == 0
    conn.refresh_from_db()
    assert "403" in conn.last_error
    assert conn.next_poll_at > timezone.now() + timedelta(seconds=conn.poll_interval_seconds - 5)
    assert poll_connection(10**9) == 0  # deleted since it was claimed
