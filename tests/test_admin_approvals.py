# ruff: noqa: F811  (the fixtures of tests/test_admin.py, imported, are parameters here)
"""The automation admin for org admins (issue 13 part 8): the trigger in words, status with
its reason, the last runs inline, and approve / reject (an intermediate page asks why) through
the services, audited, with a message for a refusal."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import AuditEvent
from automations.firing import run_fire
from automations.models import Automation
from delivery.models import Notification
from tests.factories import automation
from tests.test_admin import groups, staff, trio  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:automations_automation_changelist"


@pytest.fixture
def waiting(trio):
    trio["org"].approval_policy = "all"
    trio["org"].save(update_fields=["approval_policy"])
    return automation(org=trio["org"], owner=trio["colleague"], name="Needs a look")


def test_reject_asks_the_reason_then_rejects_and_tells_the_owner(
    client, trio, waiting, django_capture_on_commit_callbacks
):
    client.force_login(trio["admin"])
    url = reverse(CHANGELIST)
    page = client.post(url, {"action": "reject", "_selected_action": [waiting.pk]})
    assert page.status_code == 200 and "Reject automations" in page.content.decode()
    assert Automation.objects.get(pk=waiting.pk).status == "pending_approval"
    empty = client.post(
        url, {"action": "reject", "_selected_action": [waiting.pk], "apply": "1", "reason": ""}
    )
    assert "Say why" in empty.content.decode()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            url,
            {
                "action": "reject",
                "_selected_action": [waiting.pk],
                "apply": "1",
                "reason": "Too broad",
            },
        )
    assert done.status_code == 302
    waiting.refresh_from_db()
    assert (waiting.status, waiting.review_note, waiting.reviewed_by) == (
        "rejected",
        "Too broad",
        trio["admin"],
    )
    event = AuditEvent.objects.get(action="automation.reject")
    assert event.surface == "admin"
    assert Notification.objects.filter(user=trio["colleague"], automation=waiting).exists()
    assert "Too broad" in mail.outbox[0].body
    # The change page shows the status with its reason.
    change = client.get(reverse("admin:automations_automation_change", args=[waiting.pk]))
    assert "Rejected by org_admin: Too broad" in change.content.decode()


def test_approve_through_the_service_and_a_refusal_is_a_message(client, trio, waiting):
    client.force_login(trio["admin"])
    url = reverse(CHANGELIST)
    client.post(url, {"action": "approve", "_selected_action": [waiting.pk, trio["auto"].pk]})
    waiting.refresh_from_db()
    assert waiting.status == "active" and waiting.reviewed_by == trio["admin"]
    assert AuditEvent.objects.filter(action="automation.approve").count() == 1
    page = client.get(url).content.decode()
    assert "is not waiting for approval" in page  # "Ours" was active already


def test_a_member_cannot_approve_or_reject_in_the_admin(client, trio, waiting):
    client.force_login(trio["colleague"])
    url = reverse(CHANGELIST)
    client.post(url, {"action": "approve", "_selected_action": [waiting.pk]})
    client.post(
        url, {"action": "reject", "_selected_action": [waiting.pk], "apply": "1", "reason": "x"}
    )
    assert Automation.objects.get(pk=waiting.pk).status == "pending_approval"


def test_the_change_page_shows_the_trigger_in_words_and_the_last_ten_runs(client, trio):
    auto = trio["auto"]
    for n in range(12):
        run_fire(automation=auto, key=f"manual:r{n}", triggered_by="manual", send=False)
    client.force_login(trio["admin"])
    page = client.get(reverse("admin:automations_automation_change", args=[auto.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Recent runs (the last 10)" in html
    assert html.count("/admin/automations/automationrun/") - html.count("automationrun/?") >= 10
    assert "Monday" in html  # 0 9 * * 1, in words
