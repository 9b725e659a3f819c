"""Provider API clients against local fake servers: pagination as each provider documents
it, 429 with Retry-After, 500; and polling a fake Greenhouse into the same events a webhook
gives, with the cursor advancing and nothing emitted twice."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from werkzeug.wrappers import Response

from automations.triggers.drain import inbound_process
from tests.ats import FIXTURES, connection, post, signed
from tests.factories import OrganizationFactory
from webhooks.models import InboundEvent
from webhooks.polling import connection_poll
from webhooks.providers.api_session import ApiError
from webhooks.providers.ashby import AshbyApi
from webhooks.providers.greenhouse import GreenhouseApi
from webhooks.providers.lever import LeverApi
from webhooks.providers.workable import WorkableApi


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
    settings.ATS_API_BACKOFF_SECONDS = [0.05, 0.05, 0.05]


def gh_app(app_id: int, stage: str, status: str = "active", activity="2026-01-12T17:03:00Z"):
    return {
        "id": app_id,
        "candidate_id": 265772,
        "status": status,
        "last_activity_at": activity,
        "applied_at": "2026-01-10T09:00:00Z",
        "current_stage": {"id": 1, "name": stage},
        "jobs": [{"id": 3485, "name": "Senior Backend Engineer"}],
    }


def test_greenhouse_follows_link_pagination(httpserver):
    base = httpserver.url_for("/v1")
    httpserver.expect_request("/v1/applications", query_string="per_page=500").respond_with_json(
        [gh_app(1, "Applied")],
        headers={
            "Link": f'<{base}/applications?page=2&per_page=500>; rel="next", '
            f'<{base}/applications?page=2&per_page=500>; rel="last"'
        },
    )
    httpserver.expect_request(
        "/v1/applications", query_string="page=2&per_page=500"
    ).respond_with_json([gh_app(2, "Offer")])
    apps = GreenhouseApi(base, "key").list_applications()
    assert [a["id"] for a in apps] == ["1", "2"]
    assert httpserver.log[0][0].authorization.username == "key"


def test_lever_offset_pagination(httpserver):
    httpserver.expect_ordered_request("/v1/stages").respond_with_json(
        {"data": [{"id": "s1", "text": "New lead"}], "hasNext": True, "next": "tok2"}
    )
    httpserver.expect_ordered_request(
        "/v1/stages", query_string="limit=100&offset=tok2"
    ).respond_with_json({"data": [{"id": "s2", "text": "Onsite"}], "hasNext": False})
    stages = LeverApi(httpserver.url_for("/v1"), "key").list_stages()
    assert stages == [{"id": "s1", "name": "New lead"}, {"id": "s2", "name": "Onsite"}]


def test_ashby_cursor_pagination(httpserver):
    page = {"limit": 100}
    httpserver.expect_ordered_request(
        "/application.list", method="POST", json=page
    ).respond_with_json(
        {"success": True, "results": [{"id": "a1"}], "moreDataAvailable": True, "nextCursor": "c2"}
    )
    httpserver.expect_ordered_request(
        "/application.list", method="POST", json={**page, "cursor": "c2"}
    ).respond_with_json(
        {
            "success": True,
            "results": [{"id": "a2"}],
            "moreDataAvailable": False,
            "syncToken": "sync-1",
        }
    )
    apps = AshbyApi(httpserver.url_for(""), "key").list_applications()
    assert [a["id"] for a in apps] == ["a1", "a2"]


def test_workable_paging_next(httpserver):
    nxt = httpserver.url_for("/spi/v3/candidates") + "?since_id=2&limit=100"
    httpserver.expect_ordered_request("/spi/v3/candidates").respond_with_json(
        {"candidates": [{"id": "c1", "stage": "applied"}], "paging": {"next": nxt}}
    )
    httpserver.expect_ordered_request(
        "/spi/v3/candidates", query_string="since_id=2&limit=100"
    ).respond_with_json({"candidates": [{"id": "c2", "stage": "interview"}]})
    apps = WorkableApi(httpserver.url_for("/spi/v3"), "tok").list_applications()
    assert [a["id"] for a in apps] == ["c1", "c2"]
    assert httpserver.log[0][0].headers["Authorization"] == "Bearer tok"


def test_429_with_retry_after_is_honoured(httpserver):
    httpserver.expect_ordered_request("/v1/jobs").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "1"})
    )
    httpserver.expect_ordered_request("/v1/jobs").respond_with_json([{"id": 7, "name": "SRE"}])
    started = time.monotonic()
    jobs = GreenhouseApi(httpserver.url_for("/v1"), "key").list_jobs()
    assert jobs[0]["name"] == "SRE" and time.monotonic() - started >= 1.0


def test_500_is_retried_then_reported(httpserver):
    httpserver.expect_request("/v1/jobs").respond_with_data("boom", status=500)
    with pytest.raises(ApiError, match="answered 500") as exc:
        GreenhouseApi(httpserver.url_for("/v1"), "key").list_jobs()
    assert exc.value.retryable and len(httpserver.log) == 4  # the first try and 3 retries


def test_401_is_not_retried(httpserver):
    httpserver.expect_request("/v1/jobs").respond_with_data("bad key", status=401)
    with pytest.raises(ApiError, match="answered 401"):
        GreenhouseApi(httpserver.url_for("/v1"), "key").list_jobs()
    assert len(httpserver.log) == 1


class FakeGreenhouse:
    """Harvest's applications, candidates and scheduled interviews, changeable by the test."""

    def __init__(self, httpserver):
        self.apps = {265277: gh_app(265277, "Application Review")}
        self.interviews: list[dict] = []
        self.queries: list[dict] = []
        httpserver.expect_request("/v1/applications").respond_with_handler(self.applications)
        httpserver.expect_request("/v1/candidates/265772").respond_with_json(
            {
                "id": 265772,
                "first_name": "Ana",
                "last_name": "Lima",
                "email_addresses": [{"value": "ana.lima@example.com"}],
            }
        )
        httpserver.expect_request("/v1/scheduled_interviews").respond_with_handler(
            lambda request: Response(json.dumps(self.interviews), content_type="application/json")
        )

    def applications(self, request):
        self.queries.append(dict(request.args))
        return Response(json.dumps(list(self.apps.values())), content_type="application/json")


@pytest.mark.django_db
def test_polling_greenhouse_gives_the_webhooks_events_once(httpserver, client):
    org = OrganizationFactory()
    fake = FakeGreenhouse(httpserver)
    polled = connection(
        org,
        "greenhouse",
        mode="polling",
        base_url=httpserver.url_for("/v1"),
        secrets={"api_key": "key"},
    )
    t1 = datetime(2026, 1, 12, 17, 0, tzinfo=UTC)
    assert connection_poll(connection=polled, now=t1) == 0  # the first poll records state
    assert "last_activity_after" not in fake.queries[-1]

    fake.apps[265277] = gh_app(265277, "Onsite Interview")
    t2 = datetime(2026, 1, 12, 17, 15, tzinfo=UTC)
    assert connection_poll(connection=polled, now=t2) == 1
    assert fake.queries[-1]["last_activity_after"] == "2026-01-12T16:58:00Z"  # cursor - overlap
    assert connection_poll(connection=polled, now=t2) == 0  # same change: not emitted again
    polled.refresh_from_db()
    assert polled.poll_cursor == t2.isoformat()
    from_poll = InboundEvent.objects.get(source="poll")
    inbound_process(event_id=from_poll.pk)
    from_poll.refresh_from_db()

    # The same change as a webhook, on a webhook connection with the same earlier state.
    pushed_conn = connection(org, "greenhouse")
    for name in ("new_candidate_application.json", "candidate_stage_change.json"):
        body, headers, _ = signed("greenhouse", (FIXTURES / "greenhouse" / name).read_bytes())
        post(client, pushed_conn, body, headers)
    for inbound in InboundEvent.objects.filter(connection=pushed_conn).order_by("pk"):
        inbound_process(event_id=inbound.pk)
    pushed = InboundEvent.objects.get(connection=pushed_conn, raw_type="candidate_stage_change")
    strip = lambda e: {k: v for k, v in e.items() if k != "delivery_id"}  # noqa: E731
    assert strip(from_poll.event) == strip(pushed.event)

    fake.interviews = [
        {
            "id": 88231,
            "application_id": 265277,
            "status": "scheduled",
            "start": {"date_time": "2026-01-25T15:00:00Z"},
            "updated_at": "2026-01-12T17:20:00Z",
        }
    ]
    assert connection_poll(connection=polled, now=datetime(2026, 1, 12, 17, 30, tzinfo=UTC)) == 1
    interview = InboundEvent.objects.filter(source="poll").latest("pk").event
    assert interview["type"] == "ats.interview.scheduled"
    assert interview["interview"] == {"id": "88231", "start_at": "2026-01-25T15:00:00+00:00"}


def test_zoho_page_pagination(httpserver):
    httpserver.expect_request(
        "/recruit/v2/Candidates", query_string="page=1&per_page=200"
    ).respond_with_json(
        {"data": [{"id": "1", "Full_Name": "José"}], "info": {"more_records": True, "page": 1}}
    )
    httpserver.expect_request(
        "/recruit/v2/Candidates", query_string="page=2&per_page=200"
    ).respond_with_json(
        {"data": [{"id": "2", "Full_Name": "Ana"}], "info": {"more_records": False, "page": 2}}
    )
    from webhooks.providers.zoho import ZohoRecruitApi

    people = ZohoRecruitApi(httpserver.url_for("/recruit/v2"), "tok").list_candidates()
    assert [p["name"] for p in people] == ["José", "Ana"]
    assert httpserver.log[0][0].headers["Authorization"] == "Zoho-oauthtoken tok"


def test_smartrecruiters_next_page_id(httpserver):
    from webhooks.providers.smartrecruiters import SmartRecruitersApi

    httpserver.expect_ordered_request("/jobs", query_string="limit=100").respond_with_json(
        {"content": [{"id": "j1", "title": "SRE", "status": "SOURCING"}], "nextPageId": "p2"}
    )
    httpserver.expect_ordered_request(
        "/jobs", query_string="limit=100&pageId=p2"
    ).respond_with_json({"content": [{"id": "j2", "title": "PM", "status": "SOURCING"}]})
    jobs = SmartRecruitersApi(httpserver.url_for(""), "tok").list_jobs()
    assert [j["name"] for j in jobs] == ["SRE", "PM"]
    assert httpserver.log[0][0].headers["X-SmartToken"] == "tok"


@pytest.mark.django_db
def test_skills_read_the_connected_ats(httpserver):
    from automations.engine import run_execute
    from automations.firing import run_fire
    from automations.run_keys import manual_key
    from delivery.models import Notification
    from tests.factories import automation

    httpserver.expect_request("/v1/jobs").respond_with_json(
        [{"id": 3485, "name": "Senior Backend Engineer", "status": "open"}]
    )
    httpserver.expect_request("/v1/applications").respond_with_json(
        [gh_app(1, "Onsite Interview"), gh_app(2, "Onsite Interview"), gh_app(3, "Offer")]
    )
    httpserver.expect_request("/v1/candidates").respond_with_json(
        [{"id": 265772, "first_name": "Ana", "last_name": "Lima", "email_addresses": []}]
    )
    org = OrganizationFactory()
    connection(
        org,
        "greenhouse",
        mode="polling",
        base_url=httpserver.url_for("/v1"),
        secrets={"api_key": "key"},
    )
    auto = automation(org=org, skill_slug="pipeline-report")
    run, _ = run_fire(automation=auto, key=manual_key(), triggered_by="manual", send=False)
    assert run_execute(run_id=run.pk) == "completed"
    run.refresh_from_db()
    assert run.output_summary.startswith("1 open job, 3 active applications")
    body = Notification.objects.get(run=run).body_markdown
    assert "### Senior Backend Engineer" in body and "- Onsite Interview: 2" in body


def test_a_redirect_is_an_error_not_a_page(httpserver):
    httpserver.expect_request("/v1/jobs").respond_with_response(
        Response(status=302, headers={"Location": "http://10.0.0.1/v1/jobs"})
    )
    with pytest.raises(ApiError, match="answered 302") as exc:
        GreenhouseApi(httpserver.url_for("/v1"), "key").list_jobs()
    assert not exc.value.retryable and len(httpserver.log) == 1
