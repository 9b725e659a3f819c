"""Org-wide automations: an org admin makes an automation for another member, or for a set of
members; each slot gives one run per member, delivered to that member and scoped to the
jobs the ATS says are theirs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Membership
from automations import services
from automations.engine import run_execute
from automations.firing import run_fire
from automations.models import Automation, AutomationRun
from automations.reruns import run_rerun
from automations.run_keys import manual_key
from automations.scheduling.due import automations_fire_due
from delivery.models import Notification
from tests.factories import automation, skill
from tests.factories import member as make_member
from webhooks.models import SandboxApplication, SandboxJob
from webhooks.sandbox_seed import seed_sandbox

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # Monday 09:00 in Los Angeles


def _weekly(org, owner, **kwargs) -> Automation:
    return automation(
        org=org,
        owner=owner,
        cron_expression="0 9 * * 1",
        time_zone="America/Los_Angeles",
        **kwargs,
    )


# -- who may set owner and audience -------------------------------------------------------


def test_an_admin_makes_an_automation_for_another_member(org, org_admin, member):
    auto = automation(org=org, owner=member, by=org_admin)
    assert auto.owner == member and auto.audience == Automation.Audience.OWNER


def test_a_member_cannot_make_one_for_someone_else(org, owner, member):
    with pytest.raises(ValidationError) as exc:
        automation(org=org, owner=member, by=owner)
    assert "Only an org admin" in exc.value.message_dict["owner"][0]
    assert not Automation.objects.exists()


def test_a_member_cannot_set_an_audience(org, owner, member):
    with pytest.raises(ValidationError) as exc:
        automation(org=org, owner=owner, audience="all_members")
    assert "Only an org admin" in exc.value.message_dict["audience"][0]
    with pytest.raises(ValidationError):
        automation(org=org, owner=owner, audience="members", audience_members=[member])
    assert not Automation.objects.exists()


def test_an_admin_sets_chosen_members_but_only_of_the_org(org, org_admin, owner, outsider):
    with pytest.raises(ValidationError) as exc:
        automation(org=org, owner=org_admin, audience="members", audience_members=[outsider])
    assert "must be a member" in exc.value.message_dict["audience_members"][0]
    with pytest.raises(ValidationError) as exc:
        automation(org=org, owner=org_admin, audience="members", audience_members=[])
    assert "at least one" in exc.value.message_dict["audience_members"][0]
    with pytest.raises(ValidationError) as exc:
        automation(org=org, owner=outsider, by=org_admin)
    assert not Automation.objects.exists()
    auto = automation(org=org, owner=org_admin, audience="members", audience_members=[owner])
    assert list(auto.audience_members.all()) == [owner]


def test_an_outsider_or_another_orgs_admin_is_refused(org, member, outsider, other_org_admin):
    with pytest.raises(PermissionDenied):
        automation(org=org, owner=member, by=other_org_admin)
    with pytest.raises(PermissionDenied):
        automation(org=org, owner=outsider)


def test_editing_audience_is_for_admins_only(org, org_admin, owner, member):
    auto = automation(org=org, owner=owner)
    with pytest.raises(ValidationError):
        services.automation_update(automation=auto, by=owner, audience="all_members")
    with pytest.raises(ValidationError):
        services.automation_update(automation=auto, by=owner, owner=member)
    auto.refresh_from_db()
    assert auto.audience == "owner" and auto.owner == owner
    services.automation_update(automation=auto, by=org_admin, audience="all_members")
    auto.refresh_from_db()
    assert auto.audience == "all_members"
    # The owner may still edit the rest of it.
    services.automation_update(automation=auto, by=owner, name="Renamed")
    auto.refresh_from_db()
    assert auto.name == "Renamed" and auto.audience == "all_members"


def test_relative_automations_are_for_their_owner_only(org, org_admin):
    with pytest.raises(ValidationError) as exc:
        automation(
            org=org,
            owner=org_admin,
            skill_slug="new-candidate-alert",
            trigger_type="relative",
            offset_minutes=-30,
            audience="all_members",
        )
    assert "owner only" in exc.value.message_dict["audience"][0]


# -- one run per member per slot ----------------------------------------------------------


def test_one_slot_makes_one_run_per_member_exactly_once(org, org_admin, owner, member):
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        auto = _weekly(org, org_admin, audience="all_members")
        plain = _weekly(org, owner)
    with time_machine.travel(T0 + timedelta(seconds=2), tick=False):
        assert automations_fire_due().fired == 2
        runs = list(AutomationRun.objects.filter(automation=auto).order_by("for_user_id"))
        assert {r.for_user_id for r in runs} == {org_admin.pk, owner.pk, member.pk}
        assert {r.idempotency_key for r in runs} == {
            f"cron:2026-11-23T17:00:00Z:u{u.pk}" for u in (org_admin, owner, member)
        }
        (mine,) = AutomationRun.objects.filter(automation=plain)
        assert mine.for_user_id is None and mine.idempotency_key == "cron:2026-11-23T17:00:00Z"
        # A replay of the same slot (another beat, a redelivery) makes nobody a second run.
        _run, created = run_fire(
            automation=auto, key="cron:2026-11-23T17:00:00Z", triggered_by="schedule", send=False
        )
        assert not created and AutomationRun.objects.filter(automation=auto).count() == 3


def test_every_member_is_whoever_is_a_member_when_it_fires(org, org_admin, owner, member):
    auto = automation(org=org, owner=org_admin, audience="all_members")
    Membership.objects.filter(user=member, organization=org).delete()
    newcomer = make_member(org, username="newcomer")
    run_fire(automation=auto, key="manual:1", triggered_by="manual", send=False)
    users = set(AutomationRun.objects.filter(automation=auto).values_list("for_user", flat=True))
    assert users == {org_admin.pk, owner.pk, newcomer.pk}


def test_the_hourly_cap_is_each_members_for_an_org_wide_automation(org, org_admin):
    """Every member gets their run though the org has more members than the automation's
    runs an hour; a second slot within the hour still fits each member's own count."""
    for n in range(6):
        make_member(org, username=f"recruiter{n}")
    auto = automation(org=org, owner=org_admin, audience="all_members")
    Automation.objects.filter(pk=auto.pk).update(max_runs_per_hour=2)
    auto.refresh_from_db()
    for slot in ("manual:1", "manual:2", "manual:3"):
        run_fire(automation=auto, key=slot, triggered_by="manual", send=False)
    runs = AutomationRun.objects.filter(automation=auto)
    members = org.memberships.count()
    # Two slots an hour for each member: the third is skipped for every one of them.
    assert runs.exclude(status="skipped").count() == 2 * members
    skipped = runs.filter(status="skipped")
    assert skipped.count() == members
    assert {r.error_code for r in skipped} == {"cap_hourly"}


def test_a_chosen_member_who_left_is_dropped(org, org_admin, owner, member):
    auto = automation(
        org=org, owner=org_admin, audience="members", audience_members=[owner, member]
    )
    Membership.objects.filter(user=member, organization=org).delete()
    run_fire(automation=auto, key=manual_key(), triggered_by="manual", send=False)
    assert list(AutomationRun.objects.values_list("for_user", flat=True)) == [owner.pk]


def test_a_rerun_repeats_one_members_run_only(org, org_admin, owner, member):
    auto = automation(
        org=org, owner=org_admin, audience="members", audience_members=[owner, member]
    )
    run, _ = run_fire(automation=auto, key="manual:x", triggered_by="manual", send=False)
    rerun = run_rerun(run=run, by=org_admin)
    assert rerun.for_user_id == run.for_user_id
    assert AutomationRun.objects.filter(automation=auto).count() == 3


# -- delivery and scope -------------------------------------------------------------------


@pytest.fixture
def team(db):
    """An org with a sandbox ATS whose four jobs belong to two recruiters, alternately."""
    from tests.factories import OrganizationFactory

    org = OrganizationFactory(slug="orgwide-team")
    admin = make_member(org, role=Membership.Role.ADMIN, username="boss", email="boss@a.test")
    alice = make_member(org, username="alice", email="alice@a.test")
    bob = make_member(org, username="bob", email="bob@a.test")
    from django.utils import timezone

    seed_sandbox(org, now=timezone.now(), owners=["alice@a.test", "bob@a.test"])
    return org, admin, alice, bob


def _execute_all(auto):
    for run in AutomationRun.objects.filter(automation=auto, status="pending"):
        assert run_execute(run_id=run.pk) == "completed"


def test_each_member_gets_their_own_scoped_report(team):
    org, admin, alice, bob = team
    auto = automation(
        org=org,
        owner=admin,
        audience="members",
        audience_members=[alice, bob],
        channels=[{"kind": "in_app"}, {"kind": "email", "to": []}],
    )
    run_fire(automation=auto, key=manual_key(), triggered_by="manual", send=False)
    _execute_all(auto)
    alice_jobs = set(
        SandboxJob.objects.filter(owner_emails=["alice@a.test"]).values_list("name", flat=True)
    )
    bob_jobs = set(
        SandboxJob.objects.filter(owner_emails=["bob@a.test"]).values_list("name", flat=True)
    )
    assert alice_jobs and bob_jobs and not alice_jobs & bob_jobs
    note_a = Notification.objects.get(user=alice)
    note_b = Notification.objects.get(user=bob)
    assert not Notification.objects.filter(user=admin).exists()
    assert "for alice" in note_a.title.lower()
    assert all(job in note_a.body_markdown for job in alice_jobs)
    assert not any(job in note_a.body_markdown for job in bob_jobs)
    assert all(job in note_b.body_markdown for job in bob_jobs)
    assert not any(job in note_b.body_markdown for job in alice_jobs)
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@a.test", "bob@a.test"]


def test_stale_candidates_only_lists_the_members_applications(team):
    org, admin, alice, _bob = team
    auto = automation(
        org=org,
        owner=admin,
        skill_slug="stale-candidates",
        params={"days": 1},
        audience="members",
        audience_members=[alice],
    )
    run_fire(automation=auto, key=manual_key(), triggered_by="manual", send=False)
    _execute_all(auto)
    body = Notification.objects.get(user=alice).body_markdown
    theirs = SandboxApplication.objects.filter(job__owner_emails=["alice@a.test"])
    others = SandboxApplication.objects.exclude(job__owner_emails=["alice@a.test"])
    assert any(a.candidate.name in body for a in theirs)
    only_others = {a.candidate.name for a in others} - {a.candidate.name for a in theirs}
    assert not any(name in body for name in only_others)


def test_without_owners_in_the_ats_the_report_says_it_is_not_scoped(sandbox_org):
    admin = make_member(sandbox_org, role=Membership.Role.ADMIN, username="chief")
    alice = make_member(sandbox_org, username="alice2")
    auto = automation(org=sandbox_org, owner=admin, audience="members", audience_members=[alice])
    run_fire(automation=auto, key=manual_key(), triggered_by="manual", send=False)
    _execute_all(auto)
    body = Notification.objects.get(user=alice).body_markdown
    assert "not scoped" in body
    assert all(job.name in body for job in SandboxJob.objects.filter(organization=sandbox_org))


def test_an_owner_only_automation_is_unchanged(team):
    org, _admin, alice, _bob = team
    auto = automation(org=org, owner=alice)
    run, _ = run_fire(automation=auto, key=manual_key(), triggered_by="manual", send=False)
    assert run.for_user_id is None
    _execute_all(auto)
    note = Notification.objects.get(user=alice)
    assert "(for" not in note.title and "not scoped" not in note.body_markdown
    # Every job is in an owner's own report.
    jobs = SandboxJob.objects.filter(organization=org)
    assert all(job.name in note.body_markdown for job in jobs)


def test_skill_of_a_test_run_is_not_fanned_out(team):
    from automations.trial import automation_test

    org, admin, _alice, _bob = team
    auto = automation(org=org, owner=admin, audience="all_members")
    automation_test(automation=auto, by=admin)
    assert AutomationRun.objects.filter(automation=auto).count() == 1
    assert skill("pipeline-report")


def test_a_poll_delivers_each_members_copy_even_when_they_match(org, org_admin, owner):
    auto = automation(
        org=org,
        owner=org_admin,
        trigger_type="poll",
        poll_interval_seconds=900,
        audience="members",
        audience_members=[org_admin, owner],
    )
    run_fire(automation=auto, key="poll:1", triggered_by="poll", send=False)
    for run in AutomationRun.objects.filter(automation=auto):
        run_execute(run_id=run.pk)
    assert set(Notification.objects.values_list("user", flat=True)) == {org_admin.pk, owner.pk}
