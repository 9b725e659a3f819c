"""What integrators rely on from /api/v1/orgs/<org>/automations/: lists with filters and
cursor pages, create/update with the services' field errors, the actions, and Idempotency-Key
on create and run-now."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Organization
from automations.models import Automation, AutomationRun, IdempotencyRecord
from delivery.models import Delivery, Notification
from tests.api.access import assert_error, send
from tests.factories import automation as make_automation

NEW = {
    "name": "Monday pipeline",
    "skill": "pipeline-report",
    "trigger_type": "cron",
    "cron_expression": "0 9 * * 1",
    "time_zone": "Europe/Paris",
}


def _base(org) -> str:
    return f"/api/v1/orgs/{org.slug}/automations/"


@pytest.fixture
def mine(org, owner):
    return make_automation(org=org, owner=owner, name="Mine")


def test_create_goes_through_the_services_and_shows_the_automation(api, org, owner):
    response = send(api(owner), "post", _base(org), NEW)
    assert response.status_code == 201, response.content
    body = response.json()
    row = Automation.objects.get(public_id=body["id"])
    assert (row.owner, row.organization, row.name) == (owner, org, "Monday pipeline")
    assert body["skill"] == "pipeline-report"
    assert body["status"] == "active"
    assert body["next_run_at"] is not None
    assert [c["kind"] for c in body["channels"]] == ["in_app"]  # the owner's inbox
    assert "pk" not in body and isinstance(uuid.UUID(body["id"]), uuid.UUID)


def test_field_errors_from_the_validation_path_come_back_as_fields(api, org, owner):
    bad = {**NEW, "cron_expression": "99 * * * *", "skill": "no-such-skill", "retry_limit": "3"}
    response = send(api(owner), "post", _base(org), bad)
    assert response.status_code == 400
    error = assert_error(response, "invalid")
    assert {"cron_expression", "skill", "retry_limit"} <= set(error["fields"])
    assert Automation.objects.count() == 0


def test_unknown_and_read_only_fields_are_refused(api, org, owner):
    response = send(api(owner), "post", _base(org), {**NEW, "status": "active", "owner": 1})
    error = assert_error(response, "invalid")
    assert response.status_code == 400
    assert set(error["fields"]) == {"owner", "status"}


def test_list_filters_and_member_sees_only_their_own(api, org, owner, member, org_admin):
    make_automation(org=org, owner=owner, name="Alpha report")
    paused = make_automation(org=org, owner=owner, name="Beta digest")
    paused.status = Automation.Status.PAUSED
    paused.save()
    make_automation(org=org, owner=member, name="Colleague's", skill_slug="stale-candidates")

    def names(user, query=""):
        response = api(user).get(_base(org) + query)
        assert response.status_code == 200, response.content
        return sorted(a["name"] for a in response.json()["results"])

    assert names(owner) == ["Alpha report", "Beta digest"]
    assert names(member) == ["Colleague's"]
    assert names(org_admin) == ["Alpha report", "Beta digest", "Colleague's"]
    assert names(org_admin, "?status=paused") == ["Beta digest"]
    assert names(org_admin, "?q=alpha") == ["Alpha report"]
    assert names(org_admin, f"?owner={member.username}") == ["Colleague's"]
    assert names(org_admin, "?skill=stale-candidates") == ["Colleague's"]
    assert names(org_admin, "?trigger_type=event") == []
    response = api(org_admin).get(_base(org) + "?status=bogus")
    assert response.status_code == 400
    assert "status" in assert_error(response, "invalid")["fields"]


def test_cursor_pages_walk_every_row_once(api, org, owner):
    for n in range(5):
        make_automation(org=org, owner=owner, name=f"A{n}")
    client = api(owner)
    url, seen = _base(org) + "?page_size=2", []
    while url:
        body = client.get(url).json()
        assert set(body) == {"results", "next", "previous"}
        assert len(body["results"]) <= 2
        seen += [a["name"] for a in body["results"]]
        url = body["next"]
    assert sorted(seen) == [f"A{n}" for n in range(5)]
    # Out of range or not a number: told, as the schema says (1 to 100), not clamped.
    for size in ("100000", "0", "ten", "null"):
        bad_size = client.get(_base(org) + f"?page_size={size}")
        assert bad_size.status_code == 400, size
        assert "page_size" in bad_size.json()["error"]["fields"]
    bad = client.get(_base(org) + "?cursor=garbage")
    assert bad.status_code == 404
    assert_error(bad, "not_found")


def test_patch_pause_resume_delete(api, org, owner, mine):
    client = api(owner)
    one = f"{_base(org)}{mine.public_id}/"
    response = send(client, "patch", one, {"name": "Renamed", "cron_expression": "0 8 * * *"})
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Renamed"
    bad = send(client, "patch", one, {"time_zone": "Mars/Olympus"})
    assert "time_zone" in assert_error(bad, "invalid")["fields"]

    paused = send(client, "post", one + "pause/", {"reason": "On holiday"})
    assert paused.status_code == 200
    assert (paused.json()["status"], paused.json()["paused_reason"]) == ("paused", "On holiday")
    assert paused.json()["next_run_at"] is None
    resumed = send(client, "post", one + "resume/")
    assert resumed.json()["status"] == "active"

    assert send(client, "delete", one).status_code == 204
    assert not Automation.objects.filter(pk=mine.pk).exists()
    assert send(client, "get", one).status_code == 404


def test_pending_automation_cannot_be_paused_or_run_by_its_owner(api, org, owner):
    org.approval_policy = Organization.ApprovalPolicy.ALL
    org.save()
    pending = make_automation(org=org, owner=owner)
    assert pending.status == Automation.Status.PENDING_APPROVAL
    one = f"{_base(org)}{pending.public_id}/"
    for action in ("pause/", "run-now/"):
        response = send(api(owner), "post", one + action)
        assert response.status_code == 409
        assert_error(response, "conflict")
    assert AutomationRun.objects.filter(automation=pending).count() == 0


def test_run_now_returns_the_run(api, org, owner, mine):
    response = send(api(owner), "post", f"{_base(org)}{mine.public_id}/run-now/")
    assert response.status_code == 202
    run = AutomationRun.objects.get(public_id=response.json()["id"])
    assert (run.automation, run.triggered_by) == (mine, "manual")
    assert response.json()["automation"] == str(mine.public_id)


def test_test_run_delivers_nothing(api, org, owner, mine):
    response = send(api(owner), "post", f"{_base(org)}{mine.public_id}/test/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) >= {"ok", "title", "body_html", "error", "run"}
    assert body["run"]["id"]
    assert AutomationRun.objects.get(public_id=body["run"]["id"]).triggered_by == "test"
    assert Delivery.objects.count() == 0
    assert Notification.objects.count() == 0


def test_schedule_preview_and_why(api, org, owner, mine):
    client = api(owner)
    one = f"{_base(org)}{mine.public_id}/"
    preview = client.get(one + "schedule-preview/?count=3&viewer_zone=Asia/Tokyo")
    assert preview.status_code == 200
    body = preview.json()
    assert len(body["fires"]) == 3 and body["viewer_zone"] == "Asia/Tokyo"
    assert body["expression"] == "0 9 * * 1"
    assert "Monday" in body["trigger_words"] or "Mon" in body["trigger_words"]
    bad = client.get(one + "schedule-preview/?count=0")
    assert "count" in assert_error(bad, "invalid")["fields"]

    why = client.get(one + "why/")
    assert why.status_code == 200
    body = why.json()
    assert body["blocked"] is False
    assert body["findings"][0]["level"] == "ok"
    assert body["next_fire"]["at"] is not None


# -- Idempotency-Key ----------------------------------------------------------------------------


def test_a_retried_create_with_the_same_key_creates_once(api, org, owner):
    client = api(owner)
    first = send(client, "post", _base(org), NEW, **{"Idempotency-Key": "k-1"})
    again = send(client, "post", _base(org), NEW, **{"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Automation.objects.count() == 1


def test_same_key_with_another_body_is_422(api, org, owner):
    client = api(owner)
    send(client, "post", _base(org), NEW, **{"Idempotency-Key": "k-2"})
    other = send(client, "post", _base(org), {**NEW, "name": "Other"}, **{"Idempotency-Key": "k-2"})
    assert other.status_code == 422
    assert_error(other, "idempotency_key_reused")
    assert Automation.objects.count() == 1


def test_same_key_while_the_first_is_in_flight_is_409(api, org, owner):
    # The first request's record, written before its work and not yet answered.
    IdempotencyRecord.objects.create(
        user=owner,
        organization=org,
        key="k-3",
        method="POST",
        path=_base(org),
        request_hash=_hash_for(_base(org), NEW),
    )
    response = send(api(owner), "post", _base(org), NEW, **{"Idempotency-Key": "k-3"})
    assert response.status_code == 409
    assert_error(response, "idempotency_in_flight")
    assert Automation.objects.count() == 0


def _hash_for(path: str, body: dict) -> str:
    import hashlib
    import json

    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"POST {path}\n{canonical}".encode()).hexdigest()


def test_keys_are_per_user_and_a_failed_request_is_not_kept(api, org, owner, member):
    bad = send(
        api(owner),
        "post",
        _base(org),
        {**NEW, "cron_expression": "nope"},
        **{"Idempotency-Key": "k-4"},
    )
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.filter(key="k-4").exists()
    assert (
        send(api(owner), "post", _base(org), NEW, **{"Idempotency-Key": "k-4"}).status_code == 201
    )
    theirs = send(api(member), "post", _base(org), NEW, **{"Idempotency-Key": "k-4"})
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs
    assert Automation.objects.count() == 2


def test_retried_run_now_runs_once(api, org, owner, mine):
    client = api(owner)
    path = f"{_base(org)}{mine.public_id}/run-now/"
    first = send(client, "post", path, **{"Idempotency-Key": "run-1"})
    again = send(client, "post", path, **{"Idempotency-Key": "run-1"})
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert AutomationRun.objects.filter(automation=mine).count() == 1


def test_expired_records_are_purged_and_the_key_is_fresh_again(api, org, owner):
    from automations.maintenance import purge_expired_data

    client = api(owner)
    send(client, "post", _base(org), NEW, **{"Idempotency-Key": "k-5"})
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = send(client, "post", _base(org), NEW, **{"Idempotency-Key": "k-5"})
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert purge_expired_data() >= 1
    assert not IdempotencyRecord.objects.exists()


# -- throttling -----------------------------------------------------------------------------------


def test_per_org_throttle_counts_every_member(api, org, owner, member, settings):
    settings.API_RATE_PER_ORG = "2/min"
    assert api(owner).get(_base(org)).status_code == 200
    assert api(member).get(_base(org)).status_code == 200
    refused = api(member).get(_base(org))
    assert refused.status_code == 429
    assert refused["Retry-After"]
    assert_error(refused, "throttled")
    assert api(owner).get("/api/v1/me/").status_code == 200  # no org in the URL


def test_an_outsider_cannot_spend_an_orgs_budget(api, org, owner, outsider, settings):
    settings.API_RATE_PER_ORG = "2/min"
    for _ in range(5):
        assert api(outsider).get(_base(org)).status_code == 404
    assert api(owner).get(_base(org)).status_code == 200


def test_a_nul_in_any_filter_is_a_400_not_a_query(api, org, owner):
    """PostgreSQL refuses a NUL in a text parameter: no filter value may reach a query with
    one (owner, skill and event type are plain text filters)."""
    for query in ("owner=a%00b", "skill=pipe%00", "q=%00", "status=active%00"):
        response = api(owner).get(_base(org) + "?" + query)
        assert response.status_code == 400, query
        assert_error(response, "invalid")
