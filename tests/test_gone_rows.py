"""A row deleted by one request while another is about to change it (a PATCH racing a DELETE,
two admins at once): the second hears 404 "no longer exists", never a 500 (CI's schemathesis
run met one: a PATCH whose automation a parallel DELETE had just removed)."""

from __future__ import annotations

import pytest
from django.http import Http404
from rest_framework.test import APIClient

from accounts import membership_services
from accounts.models import AuditEvent, Membership
from automations import services
from automations.api import automations as automations_api
from automations.models import Automation
from tests.api.access import assert_error, send
from tests.ats import connection
from tests.factories import automation as make_automation
from tests.factories import member
from webhooks import services as connection_services

pytestmark = pytest.mark.django_db


def _gone(instance):
    """`instance` as a caller holds it after another request deleted its row."""
    type(instance).objects.filter(pk=instance.pk).delete()
    return instance


@pytest.mark.parametrize(
    "change",
    [
        lambda a, by: services.automation_update(automation=a, by=by, name="Renamed"),
        lambda a, by: services.automation_pause(automation=a, by=by, reason="away"),
        lambda a, by: services.automation_resume(automation=a, by=by),
    ],
    ids=["update", "pause", "resume"],
)
def test_changing_a_deleted_automation_is_a_404(org, owner, change):
    stale = _gone(make_automation(org=org, owner=owner))
    audits = AuditEvent.objects.count()
    with pytest.raises(Http404, match="no longer exists"):
        change(stale, owner)
    assert AuditEvent.objects.count() == audits
    assert not Automation.objects.exists()


def test_changing_a_deleted_membership_or_connection_is_a_404(org, org_admin):
    stale = _gone(Membership.objects.get(user=member(org, username="leaving"), organization=org))
    with pytest.raises(Http404):
        membership_services.membership_set_role(
            membership=stale, role=Membership.Role.ADMIN, by=org_admin
        )
    with pytest.raises(Http404):
        membership_services.membership_remove(membership=stale, by=org_admin)
    conn = _gone(connection(org, "greenhouse"))
    with pytest.raises(Http404):
        connection_services.connection_update(connection=conn, by=org_admin, name="Renamed")
    with pytest.raises(Http404):
        connection_services.connection_rotate_webhook_secret(connection=conn, by=org_admin)


def test_a_patch_that_loses_the_race_to_a_delete_answers_404(org, owner, monkeypatch):
    mine = make_automation(org=org, owner=owner, name="Mine")
    fetch = automations_api.automation_get_for_user

    def fetch_then_deleted_by_another_request(**kwargs):
        return _gone(fetch(**kwargs))

    monkeypatch.setattr(
        automations_api, "automation_get_for_user", fetch_then_deleted_by_another_request
    )
    client = APIClient()
    client.force_login(owner)
    url = f"/api/v1/orgs/{org.slug}/automations/{mine.public_id}/"
    response = send(client, "patch", url, {"name": "Renamed"})
    assert response.status_code == 404
    assert "no longer exists" in assert_error(response, "not_found")["message"]
