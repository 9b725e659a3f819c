"""The dashboard's usage: the tile on the automations page and /usage/ (30 days by day)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from automations.models import AutomationRun
from tests.dashboard.access import ORG_PAGE, Case, check_case
from tests.factories import automation
from webhooks.models import AtsConnection, InboundEvent

pytestmark = pytest.mark.django_db

OWNER_AUTOMATION = "Owner usage automation"


def _run(auto, **fields) -> AutomationRun:
    return AutomationRun.objects.create(
        automation=auto,
        organization=auto.organization,
        triggered_by=fields.pop("triggered_by", "schedule"),
        status=fields.pop("status", "completed"),
        idempotency_key=f"test:{uuid.uuid4()}",
        scheduled_for=timezone.now(),
        **fields,
    )


@pytest.fixture(autouse=True)
def rows(world):
    owner, colleague = world.people["owner"], world.people["member"]
    mine = automation(org=world.org, owner=owner, name=OWNER_AUTOMATION)
    theirs = automation(org=world.org, owner=colleague, name="Colleague's")
    _run(mine, cost_usd=Decimal("1.25"))
    _run(mine, status="failed")
    _run(theirs, cost_usd=Decimal("2.50"))
    connection = AtsConnection.objects.create(
        organization=world.org, provider="greenhouse", name="GH"
    )
    InboundEvent.objects.create(connection=connection, delivery_id="d-1")
    world.rows["automation"] = mine


CASES = [
    Case(
        "usage",
        "get",
        lambda w: reverse("dashboard:usage"),
        ORG_PAGE,
        # Another org's admin sees their own org's (empty) usage, nothing of Org A's.
        hidden_from={"other_org_admin": ["Org A", "Webhooks received</th><td>1"]},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize(
    "role", ["owner", "member", "org_admin", "outsider", "other_org_admin", "anonymous"]
)
def test_access(case, role, world, client_factory):
    check_case(case, world, role, client_factory)


def _totals(body: str) -> str:
    return body.split("<tfoot>")[1].split("</tfoot>")[0]


def test_an_admin_sees_the_orgs_usage_with_the_limits(world, client):
    client.force_login(world.people["org_admin"])
    body = client.get(reverse("dashboard:usage")).content.decode()
    totals = _totals(body)
    assert "<td>3</td>" in totals  # runs of both members
    assert "3.750000" in totals  # the org's LLM cost
    assert "Webhooks received" in body
    assert "<td>1</td>" in totals  # the one inbound event
    assert "Runs today" in body and "50000" in body  # the Pro plan's daily cap
    assert body.count('class="usage-bar usage-w') == 30


def test_a_member_sees_only_their_own_automations(world, client):
    client.force_login(world.people["owner"])
    body = client.get(reverse("dashboard:usage")).content.decode()
    totals = _totals(body)
    assert "<td>2</td>" in totals  # their two runs, not the colleague's
    assert "1.250000" in totals
    assert "3.750000" not in body
    assert "Webhooks received" not in body
    assert "shown to admins" in body


def test_the_automations_page_has_the_tile(world, client):
    client.force_login(world.people["org_admin"])
    body = client.get(reverse("dashboard:automations")).content.decode()
    tile = body.split('class="card usage-tile"')[1].split("</section>")[0]
    assert "3</span> runs today of 50000 a day" in tile
    assert "2</span> active automations" in tile
    assert "$3.75</span> LLM cost this month" in tile
    assert reverse("dashboard:usage") in tile

    client.force_login(world.people["owner"])
    tile = client.get(reverse("dashboard:automations")).content.decode()
    tile = tile.split('class="card usage-tile"')[1].split("</section>")[0]
    assert "Your usage" in tile
    assert "2</span> runs today (yours" in tile
    assert "$1.25</span>" in tile


def test_filtering_the_list_does_not_recount_usage(world, client):
    client.force_login(world.people["org_admin"])
    body = client.get(reverse("dashboard:automations"), HTTP_HX_REQUEST="true").content.decode()
    assert "usage-tile" not in body
