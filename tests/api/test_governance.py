"""Governance over the API: the approvals queue with approve and reject, the audit log and
usage, against the isolation matrix, and the approval flow end to end as an integrator
drives it (with a real token)."""

from __future__ import annotations

import pytest

from accounts.api_tokens import api_token_create
from accounts.models import AuditEvent
from automations.models import Automation
from delivery.models import Notification
from tests.api.access import ORG_LIST, OWNED_OBJECT, Case, check_case, expect, roles
from tests.factories import automation as make_automation

SECRET_NAME = "Owner's waiting automation"
ADMINS_ONLY = expect(OWNED_OBJECT, owner=403, member=403)


def _org(w) -> str:
    return f"/api/v1/orgs/{w.org.slug}/"


def _pending(w, tail: str) -> str:
    return f"{_org(w)}automations/{w.rows['pending'].public_id}/{tail}"


def _state(w):
    row = Automation.objects.get(pk=w.rows["pending"].pk)
    return row.status, row.review_note


CASES = [
    Case(
        "approval-list",
        "get",
        lambda w: f"{_org(w)}approvals/",
        ADMINS_ONLY,
        hidden_from={"other_org_admin": [SECRET_NAME], "owner": [SECRET_NAME]},
    ),
    Case(
        "automation-approve",
        "post",
        lambda w: _pending(w, "approve/"),
        expect(OWNED_OBJECT, owner=403),
        state=_state,
    ),
    Case(
        "automation-reject",
        "post",
        lambda w: _pending(w, "reject/"),
        expect(OWNED_OBJECT, owner=403),
        data=lambda w: {"reason": "Sends candidate names to an outside webhook."},
        state=_state,
    ),
    Case(
        "audit-event-list",
        "get",
        lambda w: f"{_org(w)}audit-events/",
        ADMINS_ONLY,
        hidden_from={"other_org_admin": [SECRET_NAME], "member": [SECRET_NAME]},
    ),
    Case("usage", "get", lambda w: f"{_org(w)}usage/", ORG_LIST),
]


@pytest.fixture
def rows(world, owner, org, other_org, other_org_admin):
    org.approval_policy = "all"
    org.save(update_fields=["approval_policy"])
    world.rows["pending"] = make_automation(org=org, owner=owner, name=SECRET_NAME)
    make_automation(org=other_org, owner=other_org_admin, name="Theirs")
    return world


@pytest.mark.parametrize("role", roles())
@pytest.mark.parametrize("case", CASES, ids=str)
def test_governance_endpoints_isolation(case, role, rows):
    check_case(case, rows, role)


def _bearer(user) -> dict:
    _token, raw = api_token_create(user=user, name="integration")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_approval_flow_through_the_api(
    client, org, owner, org_admin, mailoutbox, django_capture_on_commit_callbacks
):
    """A member's automation waits; the admin sees it in the queue, rejects it with a reason
    (the owner is told in the inbox and by email), the owner edits it (it waits again), the
    admin approves it; every step is in the audit log as made through the API."""
    org.approval_policy = "all"
    org.save(update_fields=["approval_policy"])
    base = f"/api/v1/orgs/{org.slug}/"
    as_owner, as_admin = _bearer(owner), _bearer(org_admin)
    made = client.post(
        f"{base}automations/",
        {
            "name": "Monday report",
            "skill": "pipeline-report",
            "trigger_type": "cron",
            "cron_expression": "0 9 * * 1",
        },
        content_type="application/json",
        **as_owner,
    )
    assert made.status_code == 201, made.content
    assert made.json()["status"] == "pending_approval"
    one = f"{base}automations/{made.json()['id']}/"

    queue = client.get(f"{base}approvals/", **as_admin).json()["results"]
    assert [row["name"] for row in queue] == ["Monday report"]
    assert queue[0]["why"]

    # Its owner cannot start it, and a reject needs a reason.
    assert client.post(f"{one}resume/", **as_owner).status_code == 409
    no_reason = client.post(f"{one}reject/", {}, content_type="application/json", **as_admin)
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()["error"]["fields"]

    with django_capture_on_commit_callbacks(execute=True):
        rejected = client.post(
            f"{one}reject/",
            {"reason": "Use the team channel."},
            content_type="application/json",
            **as_admin,
        )
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["review_note"]) == (
        "rejected",
        "Use the team channel.",
    )
    assert Notification.objects.filter(user=owner, title__contains="rejected").count() == 1
    assert any("Use the team channel." in m.body for m in mailoutbox)

    edited = client.patch(
        one, {"name": "Monday report (team)"}, content_type="application/json", **as_owner
    )
    assert edited.json()["status"] == "pending_approval"
    approved = client.post(f"{one}approve/", **as_admin)
    assert approved.status_code == 200 and approved.json()["status"] == "active"
    assert approved.json()["next_run_at"]
    # Approving twice is a conflict, not a second start.
    assert client.post(f"{one}approve/", **as_admin).status_code == 409

    log = client.get(f"{base}audit-events/?action=automation", **as_admin).json()["results"]
    actions = [row["action"] for row in log]
    for action in ("automation.create", "automation.reject", "automation.resubmit"):
        assert action in actions
    assert actions[0] == "automation.approve"
    assert {row["surface"] for row in log} == {"api"}
    assert AuditEvent.objects.filter(organization=org, surface="api").count() >= 5


def test_audit_filters_and_bad_values(client, org, owner, org_admin):
    made = make_automation(org=org, owner=owner, name="Filtered")
    base = f"/api/v1/orgs/{org.slug}/audit-events/"
    headers = _bearer(org_admin)
    client.post(
        f"/api/v1/orgs/{org.slug}/automations/{made.public_id}/pause/",
        {"reason": "holiday"},
        content_type="application/json",
        **headers,
    )
    by_admin = client.get(f"{base}?actor={org_admin.username}&action=automation", **headers).json()[
        "results"
    ]
    assert [row["action"] for row in by_admin] == ["automation.pause"]
    assert by_admin[0]["changes"]["status"] == {"from": "active", "to": "paused"}
    assert client.get(f"{base}?actor=nobody-here", **headers).json()["results"] == []
    target = client.get(f"{base}?target_id={made.public_id}", **headers).json()["results"]
    assert target and all(row["target_id"] == str(made.public_id) for row in target)
    bad = client.get(f"{base}?since=yesterday", **headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"


def test_usage_over_the_api(client, org, owner, org_admin):
    headers = _bearer(org_admin)
    base = f"/api/v1/orgs/{org.slug}/usage/"
    body = client.get(f"{base}?start=2026-11-01&end=2026-11-30", **headers).json()
    assert len(body["days"]) == 30
    assert "limits" in body
    for bad in (
        "?start=11/01/2026",
        "?start=2026-01-01&end=2026-12-31",
        "?start=2026-12-01&end=2026-11-01",
    ):
        response = client.get(f"{base}{bad}", **headers)
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "invalid"
