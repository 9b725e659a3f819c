"""Approvals (issue 13 part 3): what each org policy holds for an admin's approval and what it
lets through, admins exempt; covered edits send an approved automation back, uncovered ones do
not; rejecting needs a reason and tells the owner (inbox and email); a pending or rejected
automation never fires by any path; and "why didn't it fire?" says so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import AuditEvent, Membership, Organization
from automations import services
from automations.approval_policy import approval_reason, org_domains
from automations.diagnosis import automation_diagnosis
from automations.engine import run_execute
from automations.governance_preview import approval_note
from automations.models import Automation, AutomationRun
from automations.reruns import run_rerun, runs_rerunnable
from automations.run_search import RunFilter
from automations.scheduling.due import automations_fire_due
from automations.triggers.drain import inbound_process
from delivery.models import DeliveryChannel, Notification
from tests.ats import connection
from tests.factories import automation
from tests.test_event_processing import event_automation, stored

pytestmark = pytest.mark.django_db

PENDING = Automation.Status.PENDING_APPROVAL
REJECTED = Automation.Status.REJECTED
ACTIVE = Automation.Status.ACTIVE


def policy(org: Organization, value: str) -> Organization:
    org.approval_policy = value
    org.save(update_fields=["approval_policy"])
    return org


def slack(org, owner, name="Team Slack"):
    # Made directly: channel_create resolves the URL's host, and tests stay off the network.
    return DeliveryChannel.objects.create(
        organization=org,
        owner=owner,
        kind="slack",
        name=name,
        config={"url": "https://hooks.slack.com/services/T0/B0/XYZ"},
    )


# -- each policy ------------------------------------------------------------------------------


def test_none_lets_everything_start(org, owner):
    assert automation(org=org, owner=owner, skill_slug="interview-prep").status == ACTIVE


def test_all_holds_every_new_automation_of_a_member_but_not_an_admins(org, owner, org_admin):
    policy(org, "all")
    assert automation(org=org, owner=owner).status == PENDING
    assert automation(org=org, owner=org_admin).status == ACTIVE


def test_external_holds_slack_teams_webhooks_and_outside_email_only(org, owner, org_admin):
    policy(org, "external")
    assert org_domains(org) == {"example.test"}
    assert automation(org=org, owner=owner, name="inbox").status == ACTIVE
    inside = automation(
        org=org, owner=owner, name="to a colleague", channels=[{"kind": "email", "to": []}]
    )
    assert inside.status == ACTIVE
    colleague = automation(
        org=org,
        owner=owner,
        name="colleague",
        channels=[{"kind": "email", "to": ["someone@example.test"]}],
    )
    assert colleague.status == ACTIVE
    outside = automation(
        org=org, owner=owner, name="out", channels=[{"kind": "email", "to": ["x@gmail.com"]}]
    )
    assert outside.status == PENDING
    to_slack = automation(org=org, owner=owner, name="slack", channels=[slack(org, owner)])
    assert to_slack.status == PENDING
    admins = automation(
        org=org, owner=org_admin, name="admin's", channels=[slack(org, org_admin, "A")]
    )
    assert admins.status == ACTIVE
    membership = Membership.objects.get(user=owner)
    reason = approval_reason(org=org, membership=membership, automation_or_spec=to_slack)
    assert "Slack “Team Slack”" in reason


def test_llm_holds_llm_skills_only(org, owner, org_admin):
    policy(org, "llm")
    assert automation(org=org, owner=owner).status == ACTIVE
    llm = automation(org=org, owner=owner, name="prep", skill_slug="interview-prep")
    assert llm.status == PENDING
    assert automation(org=org, owner=org_admin, skill_slug="interview-prep").status == ACTIVE


def test_the_builders_note_uses_the_same_rule(org, owner):
    policy(org, "llm")
    membership = Membership.objects.get(user=owner)
    assert (
        approval_note(org=org, membership=membership, spec_or_raw={"skill": "pipeline-report"})
        is None
    )
    note = approval_note(org=org, membership=membership, spec_or_raw={"skill": "interview-prep"})
    assert "LLM skill “Interview prep”" in note


# -- edits ------------------------------------------------------------------------------------


def test_all_sends_an_edited_automation_back_and_stops_its_schedule(org, owner, org_admin):
    auto = automation(org=org, owner=owner)
    assert auto.status == ACTIVE and auto.periodic_task.enabled
    policy(org, "all")
    same = services.automation_update(automation=auto, by=owner, name=auto.name)
    assert same.status == ACTIVE  # nothing changed
    edited = services.automation_update(automation=auto, by=owner, name="Renamed")
    assert edited.status == PENDING and edited.next_run_at is None
    edited.periodic_task.refresh_from_db()
    assert not edited.periodic_task.enabled
    assert AuditEvent.objects.filter(action="automation.resubmit", actor=owner).count() == 1
    # An admin's own edit of an active one does not.
    other = automation(org=org, owner=org_admin, name="admin's")
    assert services.automation_update(automation=other, by=org_admin, name="x").status == ACTIVE


def test_external_edit_waits_only_when_it_adds_an_outside_destination(org, owner):
    policy(org, "external")
    auto = automation(org=org, owner=owner)
    renamed = services.automation_update(automation=auto, by=owner, name="Renamed")
    assert renamed.status == ACTIVE
    paused = services.automation_pause(automation=auto, by=owner)
    assert paused.status == "paused"
    out = services.automation_update(
        automation=auto, by=owner, channels=[{"kind": "email", "to": ["boss@other.test"]}]
    )
    assert out.status == PENDING


def test_llm_edit_waits_when_the_skill_becomes_an_llm_skill(org, owner):
    policy(org, "llm")
    auto = automation(
        org=org,
        owner=owner,
        trigger_type="event",
        event_type="ats.offer.created",
        skill_slug="new-candidate-alert",
    )
    assert services.automation_update(automation=auto, by=owner, name="x").status == ACTIVE
    from tests.factories import skill

    edited = services.automation_update(
        automation=auto, by=owner, skill=skill("interview-prep"), params={}
    )
    assert edited.status == PENDING


# -- approve and reject -----------------------------------------------------------------------


def test_reject_needs_an_admin_and_a_reason_and_tells_the_owner(org, owner, org_admin, member):
    policy(org, "all")
    auto = automation(org=org, owner=owner)
    for who in (owner, member):
        with pytest.raises(PermissionDenied):
            services.automation_reject(automation=auto, by=who, reason="no")
    with pytest.raises(ValidationError, match="Say why"):
        services.automation_reject(automation=auto, by=org_admin, reason="  ")
    with pytest.raises(ValidationError, match="At most 500"):
        services.automation_reject(automation=auto, by=org_admin, reason="x" * 501)
    assert Automation.objects.get(pk=auto.pk).status == PENDING

    with pytest.raises(ValidationError):  # approving an active one is refused
        services.automation_approve(automation=automation(org=org, owner=org_admin), by=org_admin)

    mail.outbox.clear()
    with django_capture_on_commit():
        rejected = services.automation_reject(
            automation=auto, by=org_admin, reason="Sends candidate data to Slack."
        )
    assert rejected.status == REJECTED
    assert (rejected.reviewed_by, rejected.review_note) == (
        org_admin,
        "Sends candidate data to Slack.",
    )
    assert rejected.reviewed_at is not None
    event = AuditEvent.objects.get(action="automation.reject")
    assert (event.actor, event.note) == (org_admin, "Sends candidate data to Slack.")
    item = Notification.objects.get(user=owner, automation=auto)
    assert "Sends candidate data to Slack." in item.body_markdown
    assert f"/automations/{auto.public_id}/" in item.body_markdown
    [email] = mail.outbox
    assert email.to == [owner.email] and "rejected" in email.subject
    assert "Sends candidate data to Slack." in email.body and str(auto.public_id) in email.body
    # Rejected stays rejected: not resumed, not paused, not approved.
    for call in (services.automation_resume, services.automation_pause):
        with pytest.raises(ValidationError, match="rejected"):
            call(automation=auto, by=owner)


def test_an_owners_edit_resubmits_a_rejected_automation_and_an_admin_approves(
    org, owner, org_admin
):
    policy(org, "all")
    auto = automation(org=org, owner=owner)
    services.automation_reject(automation=auto, by=org_admin, reason="Wrong day")
    resubmitted = services.automation_update(automation=auto, by=owner, cron_expression="0 9 * * 2")
    assert resubmitted.status == PENDING
    assert AuditEvent.objects.filter(action="automation.resubmit").count() == 1
    mail.outbox.clear()
    with django_capture_on_commit():
        approved = services.automation_approve(automation=auto, by=org_admin)
    assert approved.status == ACTIVE and approved.next_run_at is not None
    assert approved.reviewed_by == org_admin and approved.review_note == ""
    assert AuditEvent.objects.filter(action="automation.approve", actor=org_admin).exists()
    assert "approved" in mail.outbox[0].subject


# -- never fires ------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["pending", "rejected"])
def test_unapproved_never_fires_by_schedule_event_run_now_or_rerun(state, org, owner, org_admin):
    policy(org, "all")
    conn = connection(org, "greenhouse")
    cron_auto = automation(org=org, owner=owner, cron_expression="* * * * *")
    event_auto = event_automation(org, owner=owner)
    # A run from before it waited, to rerun.
    old = AutomationRun.objects.create(
        automation=cron_auto,
        organization=org,
        idempotency_key="manual:old",
        triggered_by=AutomationRun.TriggeredBy.MANUAL,
        scheduled_for=timezone.now() - timedelta(hours=1),
        status=AutomationRun.Status.COMPLETED,
    )
    if state == "rejected":
        for auto in (cron_auto, event_auto):
            services.automation_reject(automation=auto, by=org_admin, reason="No")
    # Even a stale next_run_at (a write around the services) is not picked by the scheduler.
    Automation.objects.filter(pk=cron_auto.pk).update(next_run_at=timezone.now() - timedelta(1))
    automations_fire_due(now=timezone.now())
    inbound = stored(conn, "ats.candidate.stage_changed", delivery_id="d-1")
    inbound_process(event_id=inbound.pk)
    inbound.refresh_from_db()
    entry = next(m for m in inbound.matches if m["automation"] == event_auto.pk)
    assert entry["matched"] is False
    with pytest.raises(ValidationError):
        services.automation_run_now(automation=cron_auto, by=owner)
    with pytest.raises(ValidationError):
        run_rerun(run=old, by=owner)
    assert not runs_rerunnable(user=owner, org=org, filters=RunFilter()).exists()
    assert list(AutomationRun.objects.values_list("pk", flat=True)) == [old.pk]
    # A scheduled run left behind is cancelled by the engine, never executed.
    stray = AutomationRun.objects.create(
        automation=cron_auto,
        organization=org,
        idempotency_key="cron:stray",
        triggered_by=AutomationRun.TriggeredBy.SCHEDULE,
        scheduled_for=timezone.now(),
    )
    assert run_execute(run_id=stray.pk) == AutomationRun.Status.CANCELLED


def test_why_says_who_can_approve_and_since_when_or_who_rejected_and_why(org, owner, org_admin):
    policy(org, "llm")
    auto = automation(org=org, owner=owner, skill_slug="interview-prep", params={})
    [finding] = [f for f in automation_diagnosis(automation=auto).findings if f.level == "blocked"][
        :1
    ]
    assert finding.title == "Waiting for an admin's approval"
    assert "Waiting since" in finding.detail and "LLM skill" in finding.detail
    assert org_admin.email in finding.detail
    services.automation_reject(automation=auto, by=org_admin, reason="Too costly")
    auto.refresh_from_db()
    [finding] = [f for f in automation_diagnosis(automation=auto).findings if f.level == "blocked"][
        :1
    ]
    assert finding.title == f"Rejected by {org_admin.email}"
    assert "Too costly" in finding.detail


def django_capture_on_commit():
    """Run on_commit callbacks (the owner's notification) at the end of the block, as a
    commit would."""
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)
