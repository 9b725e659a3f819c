"""The dashboard's Approvals page (issue 13 part 3): org admins only; approve and reject
(reason required, errors shown in the htmx form) end to end; the owner's page says it waits
or why it was rejected; the nav shows the count to admins."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import AuditEvent
from automations.models import Automation
from delivery.models import Notification
from tests.dashboard.access import Case, check_case
from tests.factories import automation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rows(world):
    world.org.approval_policy = "all"
    world.org.save(update_fields=["approval_policy"])
    world.rows["pending"] = automation(
        org=world.org, owner=world.people["owner"], name="Waiting one"
    )


def _status(w):
    return Automation.objects.get(pk=w.rows["pending"].pk).status


# Admins only: the owner may see the row but not decide; a colleague, the other org's admin
# see no such row (404); someone in no org has no dashboard (403).
DECIDE = {
    "owner": 403,
    "member": 404,
    "org_admin": 302,
    "outsider": 403,
    "other_org_admin": 404,
    "anonymous": 302,
}

CASES = [
    Case(
        "approvals",
        "get",
        lambda w: reverse("dashboard:approvals"),
        {
            "owner": 403,
            "member": 403,
            "org_admin": 200,
            "outsider": 403,
            "other_org_admin": 200,
            "anonymous": 302,
        },
        hidden_from={"other_org_admin": ["Waiting one"]},
    ),
    Case(
        "approval-approve",
        "post",
        lambda w: reverse("dashboard:approval-approve", args=[w.rows["pending"].public_id]),
        DECIDE,
        state=_status,
    ),
    Case(
        "approval-reject",
        "post",
        lambda w: reverse("dashboard:approval-reject", args=[w.rows["pending"].public_id]),
        DECIDE,
        data=lambda w: {"reason": "Not this one"},
        state=_status,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize(
    "role", ["owner", "member", "org_admin", "outsider", "other_org_admin", "anonymous"]
)
def test_access(case, role, world, client_factory):
    check_case(case, world, role, client_factory)


def test_an_admin_rejects_with_a_reason_then_approves_the_resubmitted_one(
    world, client, django_capture_on_commit_callbacks
):
    pending = world.rows["pending"]
    admin, owner = world.people["org_admin"], world.people["owner"]
    client.force_login(admin)
    page = client.get(reverse("dashboard:approvals")).content.decode()
    assert "Waiting one" in page and "every new automation" in page
    assert 'class="badge"' in page  # the nav's count
    reject = reverse("dashboard:approval-reject", args=[pending.public_id])
    answer = client.post(reject, {"reason": ""}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 422 and "Say why" in answer.content.decode()
    assert Automation.objects.get(pk=pending.pk).status == "pending_approval"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(reject, {"reason": "Wrong audience"}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200 and "Rejected" in answer.content.decode()
    pending.refresh_from_db()
    assert (pending.status, pending.review_note) == ("rejected", "Wrong audience")
    assert Notification.objects.filter(user=owner, automation=pending).exists()
    assert "Wrong audience" in mail.outbox[0].body

    # The owner's page says why; their edit resubmits it.
    client.force_login(owner)
    edit = client.get(reverse("dashboard:automation-edit", args=[pending.public_id]))
    assert "Rejected by" in edit.content.decode() and "Wrong audience" in edit.content.decode()
    from automations import services

    services.automation_update(automation=pending, by=owner, name="Waiting one, fixed")
    assert Automation.objects.get(pk=pending.pk).status == "pending_approval"
    edit = client.get(reverse("dashboard:automation-edit", args=[pending.public_id]))
    assert "Waiting for an admin" in edit.content.decode()

    client.force_login(admin)
    approve = reverse("dashboard:approval-approve", args=[pending.public_id])
    assert client.post(approve).status_code == 302
    assert Automation.objects.get(pk=pending.pk).status == "active"
    assert AuditEvent.objects.filter(action="automation.approve", actor=admin).exists()
    # Approving it again is refused with a message, not an error page.
    again = client.post(approve, HTTP_HX_REQUEST="true")
    assert again.status_code == 422 and "not waiting for approval" in again.content.decode()


def test_the_list_filters_rejected_ones(world, client):
    from automations import services

    services.automation_reject(
        automation=world.rows["pending"], by=world.people["org_admin"], reason="No"
    )
    client.force_login(world.people["owner"])
    page = client.get(reverse("dashboard:automations") + "?status=rejected").content.decode()
    assert "Waiting one" in page
