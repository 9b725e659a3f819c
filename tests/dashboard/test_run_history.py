"""Run history (the org's and an automation's), the run page, rerun and bulk rerun: the access
matrix for every URL, then the behaviour (filters, search within retention, keyset pages,
constant queries, attempts, rerun links, bulk rerun counts and cap, bad input)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.profile import profile_update
from automations import reruns
from automations.dashboard import run_history
from automations.firing import run_fire
from automations.models import Automation, AutomationRun, RerunBatch
from automations.reruns import run_rerun, runs_rerun_bulk
from automations.run_keys import manual_key
from automations.run_search import RunFilter, cursor_for, runs_filtered, runs_page
from delivery.channel_services import channel_create
from delivery.models import Delivery, DeliveryAttempt
from tests.dashboard.access import ORG_PAGE, OWNED_OBJECT, Case, check_case
from tests.factories import automation

pytestmark = pytest.mark.django_db

NAME = "Owner's pipeline report"


def make_run(auto: Automation, *, status="completed", created_at=None, **fields) -> AutomationRun:
    run, _ = run_fire(
        automation=auto,
        key=manual_key(),
        triggered_by=fields.pop("triggered_by", AutomationRun.TriggeredBy.SCHEDULE),
        trigger_data=fields.pop("trigger_data", None),
        send=False,
    )
    update = {"status": status, **fields}
    if created_at is not None:
        update["created_at"] = created_at
    AutomationRun.objects.filter(pk=run.pk).update(**update)
    run.refresh_from_db()
    return run


def _rows(w):
    if "run" not in w.rows:
        auto = automation(org=w.org, owner=w.people["owner"], name=NAME)
        w.rows["automation"] = auto
        w.rows["run"] = make_run(auto, status="failed", error_code="delivery_failed")
        w.rows["batch"] = RerunBatch.objects.create(
            organization=w.org, created_by=w.people["owner"], name="Owner's batch"
        )
    return w.rows


def _run_count(w):
    return AutomationRun.objects.filter(organization=w.org).count()


def _batch_count(w):
    return RerunBatch.objects.count()


REFUSED_WRITE = {
    "owner": 302,
    "member": 404,
    "org_admin": 302,
    "outsider": 404,
    "other_org_admin": 404,
    "anonymous": 302,
}
HIDE_OWNERS_ROWS = {"member": [NAME], "other_org_admin": [NAME], "outsider": [NAME]}

CASES = [
    Case(
        "runs",
        "get",
        lambda w: _rows(w) and reverse("dashboard:runs"),
        ORG_PAGE,
        hidden_from=HIDE_OWNERS_ROWS,
    ),
    Case(
        "runs",
        "get",
        lambda w: _rows(w) and reverse("dashboard:runs") + "?status=failed",
        ORG_PAGE,
        htmx=True,
        hidden_from=HIDE_OWNERS_ROWS,
    ),
    Case(
        "automation-runs",
        "get",
        lambda w: reverse("dashboard:automation-runs", args=[_rows(w)["automation"].public_id]),
        {**OWNED_OBJECT, "outsider": 403},
    ),
    Case(
        "run",
        "get",
        lambda w: reverse("dashboard:run", args=[_rows(w)["run"].public_id]),
        OWNED_OBJECT,
        hidden_from=HIDE_OWNERS_ROWS,
    ),
    Case(
        "run-rerun",
        "post",
        lambda w: reverse("dashboard:run-rerun", args=[_rows(w)["run"].public_id]),
        {**REFUSED_WRITE, "outsider": 403},
        state=_run_count,
    ),
    Case(
        "runs-rerun-bulk",
        "post",
        lambda w: _rows(w) and reverse("dashboard:runs-rerun-bulk"),
        # The colleague and the other org's admin have no failed run they may rerun: the
        # form again with the reason, nothing made.
        {**REFUSED_WRITE, "member": 422, "other_org_admin": 422, "outsider": 403},
        data=lambda w: {"status": "failed", "name": "Failed ones"},
        state=lambda w: (_run_count(w), _batch_count(w)),
    ),
    Case(
        "runs-rerun-bulk",
        "get",
        lambda w: _rows(w) and reverse("dashboard:runs-rerun-bulk") + "?status=failed",
        ORG_PAGE,
        hidden_from=HIDE_OWNERS_ROWS,
    ),
    Case(
        "runs-rerun-bulk",
        "get",
        lambda w: _rows(w) and reverse("dashboard:runs-rerun-bulk") + "?status=failed",
        ORG_PAGE,
        htmx=True,
    ),
    Case(
        "rerun-batch",
        "get",
        lambda w: reverse("dashboard:rerun-batch", args=[_rows(w)["batch"].public_id]),
        {**OWNED_OBJECT, "outsider": 403},
    ),
    Case(
        "rerun-batch",
        "get",
        lambda w: reverse("dashboard:rerun-batch", args=[_rows(w)["batch"].public_id]),
        {**OWNED_OBJECT, "outsider": 403},
        htmx=True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize(
    "role", ["owner", "member", "org_admin", "outsider", "other_org_admin", "anonymous"]
)
def test_access(case, role, world, client_factory):
    check_case(case, world, role, client_factory)


# -- the history ------------------------------------------------------------------------------


@pytest.fixture
def auto(org, owner):
    return automation(org=org, owner=owner, name=NAME)


def listed(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


RUN_LINK = re.compile(r'href="/runs/([0-9a-f-]{36})/"')


def run_ids(response) -> set[str]:
    """The runs a history page links to (one link per row)."""
    return set(RUN_LINK.findall(response.content.decode()))


def test_filters_by_status_trigger_and_automation(client, org, owner, auto):
    other = automation(org=org, owner=owner, name="Second one")
    failed = make_run(auto, status="failed")
    done = make_run(auto, status="completed", triggered_by="event")
    elsewhere = make_run(other, status="failed")
    client.force_login(owner)
    url = reverse("dashboard:runs")
    assert run_ids(client.get(url, {"status": "failed"})) == {
        str(failed.public_id),
        str(elsewhere.public_id),
    }
    assert run_ids(client.get(url, {"trigger": "event"})) == {str(done.public_id)}
    assert run_ids(client.get(url, {"automation": str(other.public_id)})) == {
        str(elsewhere.public_id)
    }
    mine = client.get(reverse("dashboard:automation-runs", args=[auto.public_id]))
    assert run_ids(mine) == {str(failed.public_id), str(done.public_id)}
    assert "Second one" not in mine.content.decode()


def test_the_time_range_is_read_in_the_users_zone(client, org, owner, auto):
    profile_update(user=owner, time_zone="Asia/Tokyo")
    # 09:30 and 10:30 in Tokyo (UTC+9) on a Monday.
    inside = make_run(auto, created_at=datetime(2026, 11, 30, 0, 30, tzinfo=UTC))
    outside = make_run(auto, created_at=datetime(2026, 11, 30, 1, 30, tzinfo=UTC))
    client.force_login(owner)
    response = client.get(
        reverse("dashboard:runs"),
        {"created_from": "2026-11-30T09:00", "created_to": "2026-11-30T10:00"},
    )
    assert run_ids(response) == {str(inside.public_id)}
    assert str(outside.public_id) not in response.content.decode()


def test_the_last_hour_preset(client, owner, auto):
    recent = make_run(auto)
    make_run(auto, created_at=timezone.now() - timedelta(hours=3))
    client.force_login(owner)
    assert run_ids(client.get(reverse("dashboard:runs"), {"range": "hour"})) == {
        str(recent.public_id)
    }


def test_search_looks_at_trigger_data_and_summaries_within_retention_only(
    client, owner, auto, settings
):
    settings.RETENTION_HOURS = 24
    by_trigger = make_run(auto, trigger_data={"job": {"name": "Zebra Wrangler"}})
    by_summary = make_run(auto, output_summary="3 zebra wranglers in review")
    make_run(auto, output_summary="nothing here")
    # Older than the retention period: (not yet purged, here) never searched.
    make_run(
        auto,
        trigger_data={"job": {"name": "Zebra Wrangler"}},
        created_at=timezone.now() - timedelta(hours=30),
    )
    client.force_login(owner)
    response = client.get(reverse("dashboard:runs"), {"q": "zebra WRANGLER"})
    assert run_ids(response) == {str(by_trigger.public_id), str(by_summary.public_id)}
    assert "runs of the last 24 hours" in response.content.decode()


def test_keyset_pages_cover_every_run_once(org, owner, auto):
    same = timezone.now() - timedelta(minutes=5)
    made = {make_run(auto, created_at=same if n % 3 == 0 else None).pk for n in range(57)}
    runs = runs_filtered(user=owner, org=org, filters=RunFilter())
    seen, after = [], None
    for _ in range(10):  # 57 runs, 10 a page: 6 pages (bounded, so a repeating cursor fails)
        page = runs_page(runs, after=after, size=10)
        seen += [r.pk for r in page.runs]
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))


def test_the_page_links_to_older_runs_with_the_filter_kept(client, owner, auto):
    runs = [make_run(auto, status="failed") for _ in range(52)]
    client.force_login(owner)
    first = client.get(reverse("dashboard:runs"), {"status": "failed"})
    body = first.content.decode()
    assert "More (older) runs" in body
    cursor = body.split("after=")[1].split('"')[0]
    second = client.get(reverse("dashboard:runs"), {"status": "failed", "after": cursor})
    assert len(run_ids(first)) == 50 and len(run_ids(second)) == 2
    assert run_ids(first) | run_ids(second) == {str(r.public_id) for r in runs}


def test_the_history_offers_no_bulk_rerun_without_a_filter(client, owner, auto):
    make_run(auto, status="failed")
    client.force_login(owner)
    assert "bulk-panel" not in listed(client.get(reverse("dashboard:runs")))
    assert "bulk-panel" in listed(client.get(reverse("dashboard:runs"), {"status": "failed"}))


@pytest.mark.parametrize("path", ["runs", "automation-runs"])
def test_the_history_makes_the_same_queries_whatever_the_row_count(
    client, org, owner, org_admin, auto, path
):
    other = automation(org=org, owner=owner, name="Other")
    client.force_login(org_admin)
    url = (
        reverse("dashboard:runs")
        if path == "runs"
        else reverse("dashboard:automation-runs", args=[auto.public_id])
    )

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, {"status": "failed"}).status_code == 200
        return len(captured)

    make_run(auto, status="failed", deliveries=[{"channel": "Inbox", "status": "sent"}])
    few = queries()
    for n in range(40):
        make_run(auto if n % 2 else other, status="failed", rerun_of=None)
    assert queries() == few


def test_bad_parameters_never_break_the_page(client, owner, other_org_admin, auto):
    make_run(auto)
    foreign = automation(org=other_org_admin.memberships.first().organization, name="Foreign")
    client.force_login(owner)
    url = reverse("dashboard:runs")
    for params in [
        {"after": "garbage"},
        {"after": "99999999999999999999.1"},
        {"after": "1.99999999999999999999"},
        {"status": "bogus"},
        {"trigger": "'; drop table"},
        {"range": "forever"},
        {"created_from": "yesterday"},
        {"created_from": "2026-03-08T02:30"},  # inside New York's spring-forward gap
        {"created_from": "2026-12-02T10:00", "created_to": "2026-12-01T10:00"},
        {"automation": "not-a-uuid"},
        {"automation": str(foreign.public_id)},
        {"q": "x" * 500},
        {"q": "100%_\\"},
    ]:
        response = client.get(url, params)
        assert response.status_code in (200, 422), (params, response.status_code)
        assert "Foreign" not in response.content.decode()
    invalid = client.get(url, {"status": "bogus"})
    assert invalid.status_code == 422 and "Select a valid choice" in invalid.content.decode()
    bad_cursor = client.get(url, {"after": "garbage"})
    assert bad_cursor.status_code == 200 and len(run_ids(bad_cursor)) == 1  # the first page


def test_the_cursor_round_trips(auto):
    run = make_run(auto)
    from automations.run_search import cursor_parse

    assert cursor_parse(cursor_for(run)) == (run.created_at, run.pk)


# -- the run page -----------------------------------------------------------------------------


def test_the_run_page_shows_each_channels_attempts(client, org, owner, auto):
    channel, _ = channel_create(org=org, owner=owner, kind="in_app", name="Hiring hook")
    run = make_run(
        auto,
        status="failed",
        trigger_data={"stage": {"to": "Onsite"}},
        output_summary="4 candidates",
        deliveries=[{"channel": "Hiring hook", "kind": "in_app", "status": "failed"}],
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
    client.force_login(owner)
    with CaptureQueriesContext(connection) as captured:
        body = listed(client.get(reverse("dashboard:run", args=[run.public_id])))
    for text in [
        "Hiring hook",
        "503",
        "Service Unavailable",
        "410",
        "Gone",
        "Yes: not retried",
        "No: retried",
        "Onsite",
        "4 candidates",
        "failed for good",
    ]:
        assert text in body, text
    # In the order they were tried (their errors: a bare "410" may also occur in an id).
    assert body.index("Service Unavailable") < body.index("Gone")
    assert "run-detail" not in body and 'action="/runs/' in body  # the Rerun form
    few = len(captured)
    for n in range(5):
        DeliveryAttempt.objects.create(
            delivery=delivery,
            started_at=start + timedelta(minutes=2 + n),
            duration_ms=1,
            ok=False,
            error="again",
        )
    with CaptureQueriesContext(connection) as captured:
        client.get(reverse("dashboard:run", args=[run.public_id]))
    assert len(captured) == few


def test_the_run_page_shows_the_retry_schedule(client, owner, auto):
    Automation.objects.filter(pk=auto.pk).update(retry_limit=3)
    next_try = timezone.now() + timedelta(minutes=2)
    run = make_run(auto, status="pending", attempt=2, scheduled_for=next_try)
    client.force_login(owner)
    body = listed(client.get(reverse("dashboard:run", args=[run.public_id])))
    assert "Retry schedule" in body
    assert "2 more attempts left (at most 4 in all)" in body
    assert "Attempt 3:" in body and "Attempt 4:" in body and "Attempt 5:" not in body


def test_a_purged_runs_page_says_so(client, owner, auto, settings):
    settings.RETENTION_HOURS = 24
    run = make_run(auto, finished_at=timezone.now() - timedelta(days=3))
    client.force_login(owner)
    body = listed(client.get(reverse("dashboard:run", args=[run.public_id])))
    assert "Purged after the retention period (24 hours)" in body


def test_rerun_makes_a_linked_run_and_both_pages_link(client, owner, auto):
    original = make_run(auto, status="failed", trigger_data={"n": 1})
    client.force_login(owner)
    response = client.post(reverse("dashboard:run-rerun", args=[original.public_id]))
    rerun = AutomationRun.objects.get(rerun_of=original)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:run", args=[rerun.public_id])
    assert rerun.idempotency_key == f"rerun:{original.public_id}:1"
    assert rerun.triggered_by == "manual" and rerun.trigger_data == {"n": 1}
    assert rerun.status == "pending" and rerun.automation_id == auto.pk
    page = listed(client.get(reverse("dashboard:run", args=[rerun.public_id])))
    assert reverse("dashboard:run", args=[original.public_id]) in page and "repeats" in page
    page = listed(client.get(reverse("dashboard:run", args=[original.public_id])))
    assert reverse("dashboard:run", args=[rerun.public_id]) in page
    second = run_rerun(run=original, by=owner)
    assert second.idempotency_key == f"rerun:{original.public_id}:2"


def test_a_paused_automations_run_is_rerun_and_a_waiting_one_only_by_an_admin(
    client, owner, org_admin, auto
):
    run = make_run(auto, status="failed")
    Automation.objects.filter(pk=auto.pk).update(status=Automation.Status.PAUSED)
    assert run_rerun(run=run, by=owner).rerun_of == run
    Automation.objects.filter(pk=auto.pk).update(status=Automation.Status.PENDING_APPROVAL)
    client.force_login(owner)
    before = AutomationRun.objects.count()
    refused = client.post(reverse("dashboard:run-rerun", args=[run.public_id]))
    assert refused.status_code == 409 and "waiting for an admin" in refused.content.decode()
    assert AutomationRun.objects.count() == before
    assert run_rerun(run=run, by=org_admin).rerun_of == run


def test_a_test_runs_rerun_is_still_a_test(owner, auto):
    run = make_run(auto, triggered_by="test")
    assert run_rerun(run=run, by=owner).triggered_by == "test"


# -- bulk rerun -------------------------------------------------------------------------------


def test_bulk_rerun_takes_what_the_filter_shows_and_counts_progress(client, owner, auto):
    failed = [make_run(auto, status="failed") for _ in range(3)]
    make_run(auto, status="completed")
    client.force_login(owner)
    page = listed(client.get(reverse("dashboard:runs"), {"status": "failed"}))
    panel = reverse("dashboard:runs-rerun-bulk") + "?status=failed"
    assert f'hx-get="{panel}" hx-trigger="load"' in page and f'href="{panel}"' in page
    offer = listed(client.get(panel, HTTP_HX_REQUEST="true"))
    assert "Rerun all 3 matching" in offer and "<html" not in offer
    assert "Rerun all 3 matching" in listed(client.get(panel))  # without JavaScript
    response = client.post(
        reverse("dashboard:runs-rerun-bulk"), {"status": "failed", "name": "Monday's failures"}
    )
    batch = RerunBatch.objects.get()
    assert response["Location"] == reverse("dashboard:rerun-batch", args=[batch.public_id])
    assert batch.total == 3 and batch.name == "Monday's failures"
    assert batch.filters["status"] == "failed" and batch.created_by == owner
    assert {r.rerun_of_id for r in batch.runs.all()} == {r.pk for r in failed}
    body = listed(client.get(response["Location"]))
    assert 'data-count="queued">3<' in body and 'hx-trigger="every 2s"' in body
    first, second, _ = batch.runs.order_by("pk")
    AutomationRun.objects.filter(pk=first.pk).update(status="completed")
    AutomationRun.objects.filter(pk=second.pk).update(status="failed")
    fragment = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert 'data-count="queued">1<' in fragment and 'data-count="done">1<' in fragment
    assert 'data-count="failed">1<' in fragment and "<html" not in fragment
    batch.runs.update(status="completed")
    done = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert "every 2s" not in done and "finished" in done  # polling stops


def test_bulk_rerun_is_capped(client, owner, auto, monkeypatch):
    for _ in range(3):
        make_run(auto, status="failed")
    monkeypatch.setattr(reruns, "BULK_RERUN_CAP", 2)
    monkeypatch.setattr(run_history, "BULK_RERUN_CAP", 2)
    client.force_login(owner)
    page = listed(client.get(reverse("dashboard:runs-rerun-bulk"), {"status": "failed"}))
    assert "More than 2 runs match" in page and "Rerun all" not in page
    response = client.post(
        reverse("dashboard:runs-rerun-bulk"), {"status": "failed", "name": "Too many"}
    )
    assert response.status_code == 422 and "More than 2 runs match" in response.content.decode()
    assert not RerunBatch.objects.exists()
    assert not AutomationRun.objects.filter(rerun_of__isnull=False).exists()


def test_a_members_bulk_rerun_takes_only_their_own_runs(org, owner, member, org_admin, auto):
    theirs = automation(org=org, owner=member, name="Colleague's")
    mine = make_run(theirs, status="failed")
    make_run(auto, status="failed")
    batch = runs_rerun_bulk(user=member, org=org, filters=RunFilter(status="failed"), name="Mine")
    assert [r.rerun_of_id for r in batch.runs.all()] == [mine.pk]
    everyone = runs_rerun_bulk(
        user=org_admin, org=org, filters=RunFilter(status="failed"), name="All"
    )
    assert everyone.total == 2


def test_bulk_rerun_leaves_runs_still_in_flight_alone(org, owner, auto):
    done = make_run(auto, status="failed")
    make_run(auto, status="pending")
    make_run(auto, status="running")
    batch = runs_rerun_bulk(user=owner, org=org, filters=RunFilter(automation=auto), name="Redo")
    assert [r.rerun_of_id for r in batch.runs.all()] == [done.pk]


def test_bulk_rerun_needs_a_name_and_keeps_no_search_text(client, org, owner, auto):
    make_run(auto, status="failed", output_summary="Zoë Example moved")
    client.force_login(owner)
    nameless = client.post(reverse("dashboard:runs-rerun-bulk"), {"status": "failed", "name": ""})
    assert nameless.status_code == 422 and "This field is required" in nameless.content.decode()
    batch = runs_rerun_bulk(user=owner, org=org, filters=RunFilter(search="Zoë"), name="Searched")
    assert batch.total == 1
    assert "Zoë" not in str(batch.filters) and batch.filters["searched"] is True


def test_a_bulk_rerun_from_an_automations_page_keeps_to_that_automation(client, org, owner, auto):
    other = automation(org=org, owner=owner, name="Other")
    wanted = make_run(auto, status="failed")
    make_run(other, status="failed")
    client.force_login(owner)
    page = listed(
        client.get(
            reverse("dashboard:automation-runs", args=[auto.public_id]), {"status": "failed"}
        )
    )
    panel = reverse("dashboard:runs-rerun-bulk") + f"?status=failed&amp;automation={auto.public_id}"
    assert f'href="{panel}"' in page
    offer = listed(
        client.get(
            reverse("dashboard:runs-rerun-bulk"),
            {"status": "failed", "automation": str(auto.public_id)},
        )
    )
    assert "Rerun all 1 matching" in offer
    assert f'name="automation" value="{auto.public_id}"' in offer
    client.post(
        reverse("dashboard:runs-rerun-bulk"),
        {"status": "failed", "automation": str(auto.public_id), "name": "One"},
    )
    assert [r.rerun_of_id for r in RerunBatch.objects.get().runs.all()] == [wanted.pk]
