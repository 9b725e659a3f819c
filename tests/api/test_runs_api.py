"""What integrators rely on from /api/v1/orgs/<org>/runs/ and /rerun-batches/: filters and
keyset pages newest first, a run's deliveries and attempts without secrets or purged data,
rerun through the rerun service with Idempotency-Key, bulk rerun with its progress, and no
input that makes a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from automations.models import AutomationRun, RerunBatch
from delivery.channel_services import channel_create
from delivery.models import Delivery, DeliveryAttempt
from tests.api.access import assert_error, send
from tests.api.test_runs_access import make_run
from tests.factories import automation as make_automation


def _runs(org) -> str:
    return f"/api/v1/orgs/{org.slug}/runs/"


def _batches(org) -> str:
    return f"/api/v1/orgs/{org.slug}/rerun-batches/"


@pytest.fixture
def auto(org, owner):
    return make_automation(org=org, owner=owner, name="Mine")


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_filters_by_status_trigger_automation_and_time(api, org, owner, auto):
    other = make_automation(org=org, owner=owner, name="Other")
    now = timezone.now()
    old = make_run(auto, status="failed", created_at=now - timedelta(days=3))
    new = make_run(auto, status="completed", triggered_by="manual")
    theirs = make_run(other, status="failed")
    client, base = api(owner), _runs(org)
    assert ids(client.get(base)) == [str(theirs.public_id), str(new.public_id), str(old.public_id)]
    assert set(ids(client.get(base, {"status": "failed"}))) == {
        str(old.public_id),
        str(theirs.public_id),
    }
    assert ids(client.get(base, {"triggered_by": "manual"})) == [str(new.public_id)]
    assert ids(client.get(base, {"automation": str(other.public_id)})) == [str(theirs.public_id)]
    since = (now - timedelta(days=1)).isoformat()
    assert str(old.public_id) not in ids(client.get(base, {"created_since": since}))
    assert ids(client.get(base, {"created_until": since})) == [str(old.public_id)]


def test_a_member_sees_only_the_runs_of_their_own_automations(api, org, owner, member, auto):
    mine = make_run(make_automation(org=org, owner=member, name="Member's"))
    make_run(auto)
    assert ids(api(member).get(_runs(org))) == [str(mine.public_id)]
    # Another's automation as a filter is no automation of theirs.
    response = api(member).get(_runs(org), {"automation": str(auto.public_id)})
    assert assert_error(response, "invalid")["fields"] == {"automation": ["No such automation."]}


def test_cursor_pages_cover_every_run_once_newest_first(api, org, owner, auto):
    made = [make_run(auto) for _ in range(7)]
    client, seen, url = api(owner), [], f"{_runs(org)}?page_size=3"
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert seen == [str(run.public_id) for run in reversed(made)]


def test_the_list_makes_the_same_queries_whatever_the_row_count(api, org, owner, auto):
    client = api(owner)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(_runs(org)).status_code == 200
        return len(captured)

    make_run(auto)
    few = queries()
    for _ in range(12):
        make_run(make_automation(org=org, owner=owner, name=f"A{_}"))
    assert queries() == few


def test_detail_shows_deliveries_and_attempts_but_no_channel_secret(
    api, org, owner, auto, settings
):
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
    channel, secret = channel_create(
        org=org,
        owner=owner,
        kind="webhook",
        name="Hiring hook",
        config={"url": "http://127.0.0.1:9/very-secret-path"},
    )
    run = make_run(
        auto,
        status="failed",
        trigger_data={"stage": {"to": "Onsite"}},
        output_summary="4 candidates",
        deliveries=[{"channel": "Hiring hook", "kind": "webhook", "status": "failed"}],
    )
    delivery = Delivery.objects.create(
        run=run, channel=channel, status="failed", attempts=2, permanent=True
    )
    start = timezone.now() - timedelta(minutes=3)
    DeliveryAttempt.objects.create(
        delivery=delivery,
        started_at=start,
        duration_ms=120,
        ok=False,
        http_status=503,
        error="Service Unavailable",
    )
    DeliveryAttempt.objects.create(
        delivery=delivery,
        started_at=start + timedelta(minutes=1),
        duration_ms=80,
        ok=False,
        http_status=410,
        error="Gone",
        permanent=True,
    )
    response = api(owner).get(f"{_runs(org)}{run.public_id}/")
    assert response.status_code == 200
    body = response.json()
    assert body["trigger_data"] == {"stage": {"to": "Onsite"}} and body["purged"] is False
    (shown,) = body["deliveries"]
    assert shown["channel"] == {
        "id": str(channel.public_id),
        "name": "Hiring hook",
        "kind": "webhook",
    }
    assert [(a["status_code"], a["error"], a["permanent"]) for a in shown["attempts"]] == [
        (503, "Service Unavailable", False),
        (410, "Gone", True),
    ]
    text = response.content.decode()
    assert secret not in text and "very-secret-path" not in text
    assert str(run.pk) != body["id"]


def test_a_purged_run_says_so_and_shows_no_trigger_data(api, org, owner, auto, settings):
    old = timezone.now() - timedelta(hours=settings.RETENTION_HOURS + 1)
    run = make_run(auto, finished_at=old, trigger_data={"candidate": "Zoë"})
    body = api(owner).get(f"{_runs(org)}{run.public_id}/").json()
    assert body["purged"] is True and body["trigger_data"] == {}
    assert "Zoë" not in str(body)


def test_rerun_makes_a_linked_run_once_per_idempotency_key(api, org, owner, auto):
    run = make_run(auto, status="failed")
    client, url = api(owner), f"{_runs(org)}{run.public_id}/rerun/"
    first = send(client, "post", url, None, **{"Idempotency-Key": "k-1"})
    assert first.status_code == 202, first.content
    again = send(client, "post", url, None, **{"Idempotency-Key": "k-1"})
    assert again.status_code == 202 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    new = AutomationRun.objects.get(public_id=first.json()["id"])
    assert new.rerun_of == run and new.triggered_by == "manual"
    assert AutomationRun.objects.filter(rerun_of=run).count() == 1
    detail = client.get(f"{_runs(org)}{run.public_id}/").json()
    assert [r["id"] for r in detail["reruns"]] == [str(new.public_id)]
    assert client.get(f"{_runs(org)}{new.public_id}/").json()["rerun_of"]["id"] == str(
        run.public_id
    )


def test_a_members_rerun_of_a_run_waiting_for_approval_is_a_conflict(api, org, owner, auto):
    run = make_run(auto, status="failed")
    type(auto).objects.filter(pk=auto.pk).update(status="pending_approval")
    response = api(owner).post(f"{_runs(org)}{run.public_id}/rerun/")
    assert_error(response, "conflict")
    assert response.status_code == 409
    assert not AutomationRun.objects.filter(rerun_of=run).exists()


def test_bulk_rerun_by_filter_and_its_progress(api, org, owner, auto):
    failed = [make_run(auto, status="failed") for _ in range(3)]
    make_run(auto, status="completed")
    client = api(owner)
    response = send(client, "post", _batches(org), {"name": "Redo", "status": "failed"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["total"] == 3 and body["filters"]["status"] == "failed"
    batch = RerunBatch.objects.get(public_id=body["id"])
    assert set(batch.runs.values_list("rerun_of", flat=True)) == {r.pk for r in failed}
    batch.runs.filter(pk=batch.runs.first().pk).update(status="completed")
    progress = client.get(f"{_batches(org)}{batch.public_id}/").json()["progress"]
    assert progress == {
        "queued": 2,
        "done": 1,
        "failed": 0,
        "finished": False,
        "by_status": {"pending": 2, "completed": 1},
    }
    assert [b["id"] for b in client.get(_batches(org)).json()["results"]] == [body["id"]]


def test_bulk_rerun_refusals_change_nothing(api, org, owner, auto):
    make_run(auto, status="completed")
    client, before = api(owner), AutomationRun.objects.count()
    for body, field in (
        ({"status": "failed", "name": "None match"}, None),
        ({"name": ""}, "name"),
        ({"name": "x", "colour": "red"}, "colour"),
        ({"name": "x", "created_since": "yesterday"}, "created_since"),
    ):
        response = send(client, "post", _batches(org), body)
        assert response.status_code == 400, (body, response.content)
        error = assert_error(response, "invalid")
        if field:
            assert field in error["fields"], error
    assert AutomationRun.objects.count() == before and not RerunBatch.objects.exists()


HOSTILE_QUERIES = [
    {"status": "bogus"},
    {"triggered_by": "\x00"},
    {"automation": "not-a-uuid"},
    {"automation": "0" * 10_000},
    {"created_since": "2026-13-45T99:99"},
    {"created_since": "\x00"},
    {"created_until": "9" * 5_000},
    {"created_since": "2026-01-02T00:00Z", "created_until": "2026-01-01T00:00Z"},
    {"cursor": "garbage"},
    {"cursor": "\x00" * 100},
    {"cursor": "cD0yMDI2LTEzLTQ1"},  # base64 of p=2026-13-45
    {"cursor": "x" * 20_000},
    {"page_size": "-1"},
    {"page_size": "99999999999999999999"},
    {"page_size": "\x00"},
]
HOSTILE_BODIES = [
    [],
    "text",
    {"name": ["a"]},
    {"name": "x", "status": {"$gt": ""}},
    {"name": "x", "automation": 12},
    {"name": "x", "created_since": ["2026-01-01"]},
    {"name": "\x00" * 300},
    {"name": "x" * 100_000},
    {"name": "x", "automation": "\x00"},
    {"\x00": 1},
]


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=repr)
def test_hostile_list_queries_never_break_the_api(api, org, owner, auto, query):
    make_run(auto)
    response = api(owner).get(_runs(org), query)
    assert response.status_code in (200, 400, 404), response.content
    if response.status_code != 200:
        assert_error(response)


@pytest.mark.parametrize("body", HOSTILE_BODIES, ids=lambda b: repr(b)[:40])
def test_hostile_bulk_rerun_bodies_never_break_the_api(api, org, owner, auto, body):
    make_run(auto, status="failed")
    before = AutomationRun.objects.count()
    response = send(api(owner), "post", _batches(org), body)
    assert response.status_code == 400, response.content
    assert_error(response)
    assert AutomationRun.objects.count() == before


@pytest.mark.parametrize(
    "tail", ["not-a-uuid/", "00000000-0000-0000-0000-000000000000/", "%00/", "x" * 3000 + "/"]
)
def test_hostile_run_ids_are_not_found(api, org, owner, tail):
    client = api(owner)
    for method, path in (
        ("get", f"{_runs(org)}{tail}"),
        ("post", f"{_runs(org)}{tail}rerun/"),
        ("get", f"{_batches(org)}{tail}"),
    ):
        response = send(client, method, path)
        assert response.status_code == 404, (path[:80], response.content)
        assert_error(response)
