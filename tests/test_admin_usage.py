"""The admin's usage page (automations/admin_usage.py): an org's admins see its usage by day
with the plan's limits; nobody else sees it, and no range answers 500."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from automations.management.commands.seed_demo import admin_groups_sync
from automations.models import AutomationRun
from tests.factories import automation

pytestmark = pytest.mark.django_db


def _staff(user, group) -> None:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(group)


@pytest.fixture
def staffed(org_admin, owner, other_org_admin, outsider):
    groups = admin_groups_sync()
    for user in (org_admin, other_org_admin, outsider):
        _staff(user, groups["Org admins"])
    _staff(owner, groups["Recruiters"])


@pytest.fixture
def busy(org, owner):
    auto = automation(org=org, owner=owner)
    for status in ("completed", "failed"):
        AutomationRun.objects.create(
            automation=auto,
            organization=org,
            status=status,
            triggered_by="schedule",
            idempotency_key=f"test:{uuid.uuid4()}",
            scheduled_for=timezone.now(),
            cost_usd=Decimal("0.5"),
        )


def _url(org) -> str:
    return reverse("admin-usage", args=[org.public_id])


def test_the_orgs_admin_sees_its_usage_and_limits(client, org, org_admin, staffed, busy):
    client.force_login(org_admin)
    # Linked from the organization's change page.
    change = client.get(reverse("admin:accounts_organization_change", args=[org.pk]))
    assert _url(org) in change.content.decode()
    response = client.get(_url(org))
    assert response.status_code == 200
    body = response.content.decode()
    totals = body.split("<tfoot>")[1]
    assert "<td>2</td>" in totals
    assert "1.000000" in totals
    assert "Runs today" in body and "50000" in body


@pytest.mark.parametrize("role", ["owner", "other_org_admin", "outsider"])
def test_nobody_else_sees_it(client, org, staffed, busy, role, request):
    client.force_login(request.getfixturevalue(role))
    response = client.get(_url(org))
    assert response.status_code == 404
    assert "1.000000" not in response.content.decode()


def test_anonymous_is_sent_to_sign_in(client, org):
    response = client.get(_url(org))
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.parametrize(
    "query",
    [
        {"start": "2026-01-01", "end": "2026-12-31"},  # too long
        {"start": "2026-03-02", "end": "2026-03-01"},  # backwards
        {"start": "9999-12-31", "end": "9999-12-31"},
        {"start": "0001-01-01"},
        {"start": "x\x00", "end": "-1"},
        {"start": ["2026-01-01", "2"]},
    ],
)
def test_a_bad_range_is_said_not_a_500(client, org, org_admin, staffed, query):
    client.force_login(org_admin)
    response = client.get(_url(org), query)
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()


def test_a_chosen_range(client, org, org_admin, staffed, busy):
    client.force_login(org_admin)
    response = client.get(_url(org), {"start": "2026-01-01", "end": "2026-01-07"})
    body = response.content.decode()
    assert body.count('<th scope="row">2026-01-0') == 7
    # Today's runs are outside that week.
    assert "<td>2</td>" not in body.split("<tfoot>")[1]
