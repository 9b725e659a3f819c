""" "Why didn't it fire?" as a page: who may open it (the access matrix), what it shows, and
that it never shows what an event says about a candidate, even to the automation's owner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from automations import services
from automations.models import AutomationRun
from automations.run_keys import slot_key
from tests.ats import connection
from tests.dashboard.access import OWNED_OBJECT, Case, check_case
from tests.factories import automation
from tests.test_diagnosis import stage_change

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(world):
    world.rows["automation"] = automation(org=world.org, owner=world.people["owner"])
    return world


def _why(w) -> str:
    return reverse("dashboard:automation-why", args=[w.rows["automation"].public_id])


# Someone in no org gets the decorator's "you are in no organization" page (403) before any
# automation is looked up; for everyone else a row they may not see is a 404.
WHY = {**OWNED_OBJECT, "outsider": 403}
CASES = [
    Case(
        "automation-why",
        "get",
        _why,
        WHY,
        hidden_from={"member": ["Weekly pipeline"], "other_org_admin": ["Weekly pipeline"]},
    ),
    Case("automation-why", "get", _why, WHY, htmx=True),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c}{' htmx' if c.htmx else ''}")
@pytest.mark.parametrize(
    "role", ["owner", "member", "org_admin", "outsider", "other_org_admin", "anonymous"]
)
def test_access(case, role, world, client_factory):
    check_case(case, world, role, client_factory)


def test_an_unknown_automation_is_a_404(world, client):
    client.force_login(world.people["owner"])
    missing = reverse("dashboard:automation-why", args=["00000000-0000-0000-0000-000000000000"])
    assert client.get(missing).status_code == 404
    assert client.get("/automations/not-a-uuid/why/").status_code == 404


def test_the_page_and_its_fragment(world, client):
    client.force_login(world.people["owner"])
    page = client.get(_why(world))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<h1>Why didn't “Weekly pipeline” fire?</h1>" in html
    assert 'aria-current="page"' in html and "Last expected firings" in html
    assert html.count("<h1") == 1
    fragment = client.get(_why(world), HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="why-panel"') and "<h1" not in fragment


def test_a_paused_automation_says_who_paused_it(world, client):
    owner = world.people["owner"]
    services.automation_pause(
        automation=world.rows["automation"], by=owner, reason="Paused by owner from the dashboard"
    )
    client.force_login(owner)
    html = client.get(_why(world)).content.decode()
    assert "Stops it:</span> Paused by owner" in html
    assert "None: it is paused." in html


def test_a_member_sees_the_reason_for_their_automation_but_no_candidate_data(world, client):
    owner = world.people["owner"]
    conn = connection(world.org, "greenhouse")
    offer = automation(
        org=world.org,
        owner=owner,
        name="offer alert",
        trigger_type="event",
        event_type="ats.candidate.stage_changed",
        event_filter={"stage.to": "Offer"},
        skill_slug="new-candidate-alert",
    )
    by_name = automation(
        org=world.org,
        owner=owner,
        name="by name",
        trigger_type="event",
        event_type="ats.candidate.stage_changed",
        event_filter={"candidate.name": "Bob"},
        skill_slug="new-candidate-alert",
    )
    stage_change(client, conn, "Onsite Interview")
    client.force_login(owner)
    for auto, reason in (
        (offer, "filter stage.to equals &#x27;Offer&#x27;, but the event has &#x27;Onsite "),
        (by_name, "but the event has another value (not shown: candidate data)"),
    ):
        html = client.get(reverse("dashboard:automation-why", args=[auto.public_id])).content
        html = html.decode()
        assert reason in html
        assert "ats.candidate.stage_changed" in html and "greenhouse" in html
        # The fixture's candidate: Ana Lima, ana.lima@example.com (and any part of either).
        for personal in ("Ana", "Lima", "example.com"):
            assert personal not in html, personal


def _page_queries(client, auto) -> int:
    with CaptureQueriesContext(db_connection) as queries:
        response = client.get(reverse("dashboard:automation-why", args=[auto.public_id]))
    assert response.status_code == 200
    return len(queries)


def test_the_page_costs_the_same_queries_at_two_sizes(world, client):
    owner = world.people["owner"]
    with time_machine.travel(datetime(2026, 11, 1, tzinfo=UTC), tick=False):
        small = automation(org=world.org, owner=owner, cron_expression="0 * * * *")
        big = automation(org=world.org, owner=owner, cron_expression="0 * * * *")
    now = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)
    for auto, count in ((small, 1), (big, 300)):
        AutomationRun.objects.bulk_create(
            AutomationRun(
                automation=auto,
                organization=world.org,
                idempotency_key=slot_key(auto, now - timedelta(minutes=30, hours=n)),
                triggered_by="schedule",
                scheduled_for=now - timedelta(minutes=30, hours=n),
                status="failed" if n % 2 else "completed",
                error_code="delivery_failed" if n % 2 else "",
            )
            for n in range(count)
        )
    client.force_login(owner)
    with time_machine.travel(now, tick=False):
        assert _page_queries(client, small) == _page_queries(client, big)
