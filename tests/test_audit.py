"""The audit log: every write service logs exactly one event per object changed, with the
action, the actor, the surface and the changed fields; a refused write logs nothing; no
secret value ever reaches the log; and only an org's admins read it (service and admin)."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse

from accounts import membership_services, org_services
from accounts.audit import AuditAction, audit_surface
from accounts.audit_reads import SYSTEM_ACTOR, AuditFilter, audit_events_for_user, audit_page
from accounts.models import AuditEvent, Membership, Organization
from automations import services
from automations.bulk import automations_bulk
from automations.firing import run_fire
from automations.models import Automation, AutomationRun
from automations.reruns import run_rerun, runs_rerun_bulk
from automations.run_keys import manual_key
from automations.run_search import RunFilter
from automations.trial import automation_test
from delivery import channel_services
from delivery.services import channel_send_test
from tests.factories import UserFactory, automation
from webhooks import services as connections

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _loopback_is_allowed(settings):
    # Channel URLs are vetted when saved; nothing here sends to them.
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]


SURFACE = AuditEvent.Surface
SLACK_URL = "http://127.0.0.1:9/services/T000/B000/very-secret-slack-path"
API_KEY = "gh-api-key-never-in-the-log-0123"
PASTED_SECRET = "pasted-webhook-secret-never-logged"


def events(org=None, **filters):
    qs = AuditEvent.objects.order_by("pk")
    if org is not None:
        qs = qs.filter(organization=org)
    return list(qs.filter(**filters))


def only_event(**filters) -> AuditEvent:
    found = events(**filters)
    assert len(found) == 1, [(e.action, e.target_label) for e in found]
    return found[0]


@pytest.fixture
def auto(org, owner):
    made = automation(org=org, owner=owner, name="Weekly")
    AuditEvent.objects.all().delete()  # each test looks at its own change only
    return made


# -- automations ------------------------------------------------------------------------------


def test_create_logs_the_new_automation_with_its_fields(org, owner):
    with audit_surface(SURFACE.DASHBOARD):
        made = automation(org=org, owner=owner, name="Weekly")
    event = only_event()
    assert event.action == AuditAction.AUTOMATION_CREATE
    assert (event.organization, event.actor, event.actor_label) == (org, owner, owner.email)
    assert event.surface == SURFACE.DASHBOARD
    assert (event.target_type, event.target_id) == ("automation", str(made.public_id))
    assert event.target_label == "Weekly"
    assert event.changes["name"] == {"from": None, "to": "Weekly"}
    assert event.changes["cron_expression"]["to"] == "0 9 * * 1"
    assert event.changes["skill"]["to"] == "pipeline-report"


def test_an_edit_logs_only_the_fields_that_changed(auto, owner):
    with audit_surface(SURFACE.API):
        services.automation_update(automation=auto, by=owner, name="Renamed", retry_limit=5)
    event = only_event()
    assert event.action == AuditAction.AUTOMATION_UPDATE and event.surface == SURFACE.API
    assert event.changes == {
        "name": {"from": "Weekly", "to": "Renamed"},
        "retry_limit": {"from": 3, "to": 5},
    }


def test_an_edit_that_changes_nothing_logs_nothing(auto, owner):
    services.automation_update(automation=auto, by=owner, name="Weekly")
    assert events() == []


def test_a_refused_edit_logs_nothing(auto, owner, member):
    with pytest.raises(ValidationError):
        services.automation_update(automation=auto, by=owner, cron_expression="0 25 * * *")
    with pytest.raises(PermissionDenied):
        services.automation_update(automation=auto, by=member, name="Mine now")
    with pytest.raises(PermissionDenied):
        services.automation_pause(automation=auto, by=member)
    with pytest.raises(PermissionDenied):
        services.automation_delete(automation=auto, by=member)
    assert events() == []


def test_pause_resume_run_now_and_delete_each_log_one_event(auto, owner, org_admin):
    with audit_surface(SURFACE.ADMIN):
        services.automation_pause(automation=auto, by=owner, reason="holiday")
        services.automation_resume(automation=auto, by=org_admin)
        services.automation_resume(automation=auto, by=org_admin)  # already active: no change
        run = services.automation_run_now(automation=auto, by=owner)
        public_id = str(auto.public_id)
        services.automation_delete(automation=auto, by=org_admin)
    pause, resume, run_now, delete = events()
    assert pause.action == AuditAction.AUTOMATION_PAUSE and pause.actor == owner
    assert pause.changes == {"status": {"from": "active", "to": "paused"}}
    assert pause.note == "holiday"
    assert resume.action == AuditAction.AUTOMATION_RESUME and resume.actor == org_admin
    assert resume.changes == {"status": {"from": "paused", "to": "active"}}
    assert run_now.action == AuditAction.AUTOMATION_RUN_NOW and str(run.public_id) in run_now.note
    assert delete.action == AuditAction.AUTOMATION_DELETE
    assert delete.target_id == public_id and delete.target_label == "Weekly"
    assert {e.surface for e in (pause, resume, run_now, delete)} == {SURFACE.ADMIN}


def test_approval_is_logged(org, owner, org_admin):
    Organization.objects.filter(pk=org.pk).update(approval_policy="all")
    org.refresh_from_db()
    pending = automation(org=org, owner=owner)
    assert pending.status == Automation.Status.PENDING_APPROVAL
    services.automation_approve(automation=pending, by=org_admin)
    event = only_event(action=AuditAction.AUTOMATION_APPROVE)
    assert event.actor == org_admin
    assert event.changes == {"status": {"from": "pending_approval", "to": "active"}}


def test_the_systems_automatic_pause_is_logged_without_an_actor(auto):
    # Even inside a request's surface: a change with no person behind it is the system's.
    with audit_surface(SURFACE.DASHBOARD):
        services.automation_pause(automation=auto, by=None, reason="Failed 5 times in a row")
    event = only_event()
    assert event.actor is None and event.actor_label == ""
    assert event.surface == SURFACE.SYSTEM
    assert event.action == AuditAction.AUTOMATION_PAUSE


def test_a_bulk_pause_logs_one_event_per_automation_changed(org, owner):
    autos = [automation(org=org, owner=owner, name=f"A{i}") for i in range(3)]
    services.automation_pause(automation=autos[0], by=owner)  # already paused: unchanged
    AuditEvent.objects.all().delete()
    outcome = automations_bulk(
        user=owner, org=org, public_ids=[a.public_id for a in autos], action="pause"
    )
    assert len(outcome.done) == 2
    logged = events(action=AuditAction.AUTOMATION_PAUSE)
    assert sorted(e.target_label for e in logged) == ["A1", "A2"]
    assert {e.actor for e in logged} == {owner}


def test_a_test_run_is_logged(auto, owner):
    result = automation_test(automation=auto, by=owner)
    event = only_event()
    assert event.action == AuditAction.AUTOMATION_TEST_RUN and event.actor == owner
    assert str(result.run.public_id) in event.note


def _failed_run(auto):
    run, _ = run_fire(
        automation=auto, key=manual_key(), triggered_by=AutomationRun.TriggeredBy.MANUAL, send=False
    )
    AutomationRun.objects.filter(pk=run.pk).update(status=AutomationRun.Status.FAILED)
    run.refresh_from_db()
    return run


def test_a_rerun_and_a_bulk_rerun_are_logged(auto, org, owner, member):
    run = _failed_run(auto)
    with pytest.raises(PermissionDenied):
        run_rerun(run=run, by=member)
    assert events() == []
    rerun = run_rerun(run=run, by=owner)
    event = only_event()
    assert event.action == AuditAction.RUN_RERUN and event.actor == owner
    assert (event.target_type, event.target_id) == ("automationrun", str(run.public_id))
    assert str(rerun.public_id) in event.note
    batch = runs_rerun_bulk(user=owner, org=org, filters=RunFilter(status="failed"), name="Redo")
    event = only_event(action=AuditAction.RERUN_BATCH_CREATE)
    assert event.target_id == str(batch.public_id) and event.target_label == "Redo"
    assert event.changes["runs"] == batch.total == 1


# -- channels ---------------------------------------------------------------------------------


def test_channel_create_update_test_and_delete_are_logged(org, owner, member):
    channel, _ = channel_services.channel_create(
        org=org, owner=owner, kind="email", name="Team", config={"to": ["a@x.test"]}
    )
    with pytest.raises(PermissionDenied):
        channel_services.channel_update(channel=channel, by=member, name="Mine")
    channel_services.channel_update(
        channel=channel, by=owner, name="Team mail", config={"to": ["b@x.test"]}
    )
    channel_services.channel_update(channel=channel, by=owner, name="Team mail")  # no change
    inbox, _ = channel_services.channel_create(org=org, owner=owner, kind="in_app", name="Box")
    channel_send_test(channel=inbox, by=owner)
    channel_services.channel_delete(channel=channel, by=owner)
    create, update, _create_inbox, test, delete = events()
    assert create.action == AuditAction.CHANNEL_CREATE and create.target_label == "Team"
    assert create.changes["to"] == {"from": None, "to": ["a@x.test"]}
    assert update.action == AuditAction.CHANNEL_UPDATE
    assert update.changes == {
        "name": {"from": "Team", "to": "Team mail"},
        "to": {"from": ["a@x.test"], "to": ["b@x.test"]},
    }
    assert test.action == AuditAction.CHANNEL_TEST and test.note == "delivered"
    assert delete.action == AuditAction.CHANNEL_DELETE and delete.target_label == "Team mail"


def test_a_channels_secret_url_is_logged_as_set(org, owner):
    channel, _ = channel_services.channel_create(
        org=org, owner=owner, kind="slack", name="Slack", config={"url": SLACK_URL}
    )
    channel_services.channel_update(
        channel=channel, by=owner, config={"url": SLACK_URL + "-rotated"}
    )
    create, update = events()
    assert create.changes["url"] == {"from": None, "to": "(set)"}
    assert update.changes == {"url": {"from": "(set)", "to": "(set)"}}


# -- ATS connections --------------------------------------------------------------------------


def test_connection_writes_are_logged_with_secrets_only_named(org, org_admin, member):
    connection, generated = connections.connection_create(
        org=org, by=org_admin, provider="greenhouse", name="GH"
    )
    with pytest.raises(PermissionDenied):
        connections.connection_update(connection=connection, by=member, name="Mine")
    with pytest.raises(ValidationError):
        connections.connection_update(connection=connection, by=org_admin, mode="polling")
    connections.connection_update(connection=connection, by=org_admin, name="Greenhouse")
    connections.connection_set_secrets(connection=connection, by=org_admin, api_key=API_KEY)
    rotated = connections.connection_rotate_webhook_secret(connection=connection, by=org_admin)
    connections.connection_delete(connection=connection, by=org_admin)
    create, update, secrets, rotate, delete = events()
    assert create.action == AuditAction.CONNECTION_CREATE and create.actor == org_admin
    assert create.changes["provider"] == {"from": None, "to": "greenhouse"}
    assert create.changes["webhook_secret"] == {"from": None, "to": "(set)"}
    assert update.changes == {"name": {"from": "GH", "to": "Greenhouse"}}
    assert secrets.action == AuditAction.CONNECTION_SECRET_SET
    assert secrets.changes == {"api_key": {"from": None, "to": "(set)"}}
    assert rotate.action == AuditAction.CONNECTION_SECRET_ROTATE
    assert rotate.changes == {"webhook_secret": {"from": "(set)", "to": "(set)"}}
    assert delete.action == AuditAction.CONNECTION_DELETE
    dumped = json.dumps([e.changes for e in events()]) + "".join(e.note for e in events())
    assert generated not in dumped and rotated not in dumped and API_KEY not in dumped


def test_a_connection_test_is_logged_with_its_outcome_kind_only(org, org_admin):
    connection, _ = connections.connection_create(
        org=org, by=org_admin, provider="greenhouse", name="GH"
    )
    result = connections.connection_test(connection=connection, by=org_admin)
    event = only_event(action=AuditAction.CONNECTION_TEST)
    assert event.note == result.kind == "no_api_key"


def test_no_secret_value_appears_anywhere_in_the_log(org, owner, org_admin):
    """The sweep: set and rotate every kind of secret, then look for each value in every
    column of every event."""
    slack, _ = channel_services.channel_create(
        org=org, owner=owner, kind="slack", name="Slack", config={"url": SLACK_URL}
    )
    channel_services.channel_update(channel=slack, by=owner, config={"url": SLACK_URL + "2"})
    _hook, hook_secret = channel_services.channel_create(
        org=org,
        owner=owner,
        kind="webhook",
        name="Hook",
        config={"url": "http://127.0.0.1:9/in?token=hook-url-token"},
    )
    connection, generated = connections.connection_create(
        org=org, by=org_admin, provider="greenhouse", name="GH", api_key=API_KEY
    )
    connections.connection_set_secrets(
        connection=connection, by=org_admin, webhook_secret=PASTED_SECRET, api_key=API_KEY + "b"
    )
    rotated = connections.connection_rotate_webhook_secret(connection=connection, by=org_admin)
    connections.connection_set_secrets(connection=connection, by=org_admin, api_key="")
    rows = list(AuditEvent.objects.values())
    assert len(rows) >= 7
    dumped = json.dumps(rows, cls=DjangoJSONEncoder)
    for secret in (
        SLACK_URL,
        "very-secret-slack-path",
        "hook-url-token",
        hook_secret,
        generated,
        rotated,
        PASTED_SECRET,
        API_KEY,
    ):
        assert secret not in dumped, secret
    assert "(set)" in dumped


# -- memberships and the organization ---------------------------------------------------------


def test_membership_add_role_change_and_remove_are_logged(org, org_admin):
    newcomer = UserFactory(username="newcomer")  # an account in no organization
    added = membership_services.membership_invite(
        org=org, identifier="newcomer", role="member", by=org_admin
    )
    membership_services.membership_set_role(membership=added, role="admin", by=org_admin)
    membership_services.membership_remove(membership=added, by=org_admin)
    add, role, remove = events(org=org)
    assert add.action == AuditAction.MEMBERSHIP_ADD and add.target_label == newcomer.email
    assert add.changes == {"role": {"from": None, "to": "member"}}
    assert role.action == AuditAction.MEMBERSHIP_ROLE_CHANGE
    assert role.changes == {"role": {"from": "member", "to": "admin"}}
    assert remove.action == AuditAction.MEMBERSHIP_REMOVE and remove.actor == org_admin


def test_a_refused_membership_change_logs_nothing(org, org_admin, owner):
    last_admin = Membership.objects.get(user=org_admin, organization=org)
    with pytest.raises(ValidationError):
        membership_services.membership_set_role(membership=last_admin, role="member", by=org_admin)
    with pytest.raises(PermissionDenied):
        membership_services.membership_remove(membership=last_admin, by=owner)
    assert events() == []


def test_organization_update_logs_the_changed_settings(org, org_admin):
    org_services.organization_update(
        org=org, by=org_admin, name="Org A Inc", time_zone="Europe/Paris", approval_policy="llm"
    )
    event = only_event()
    assert event.action == AuditAction.ORGANIZATION_UPDATE
    assert (event.target_type, event.actor) == ("organization", org_admin)
    assert event.changes == {
        "approval_policy": {"from": "none", "to": "llm"},
        "name": {"from": "Org A", "to": "Org A Inc"},
        "time_zone": {"from": "America/New_York", "to": "Europe/Paris"},
    }
    org_services.organization_update(org=org, by=org_admin, name="Org A Inc")  # no change
    assert len(events()) == 1


def test_organization_update_rules(org, org_admin, owner, other_org_admin, superuser):
    with pytest.raises(PermissionDenied):
        org_services.organization_update(org=org, by=owner, name="Ours")
    with pytest.raises(PermissionDenied):
        org_services.organization_update(org=org, by=other_org_admin, name="Ours")
    with pytest.raises(PermissionDenied):  # the plan is billing's, the slug operators'
        org_services.organization_update(org=org, by=org_admin, plan="free")
    with pytest.raises(ValidationError):
        org_services.organization_update(org=org, by=org_admin, time_zone="Moon/Base")
    with pytest.raises(ValidationError):
        org_services.organization_update(org=org, by=org_admin, approval_policy="sometimes")
    with pytest.raises(ValidationError):
        org_services.organization_update(org=org, by=org_admin, name="  ")
    assert events() == []
    org.refresh_from_db()
    assert (org.name, org.plan) == ("Org A", "pro")
    org_services.organization_update(org=org, by=superuser, plan="free")
    assert only_event().changes == {"plan": {"from": "pro", "to": "free"}}


# -- reading the log --------------------------------------------------------------------------


def test_only_the_orgs_admins_read_its_log(
    auto, org, owner, member, org_admin, other_org_admin, outsider, superuser
):
    services.automation_pause(automation=auto, by=owner)
    assert audit_events_for_user(user=org_admin, org=org).count() == 1
    assert audit_events_for_user(user=superuser, org=org).count() == 1
    for user in (owner, member, other_org_admin, outsider):
        assert audit_events_for_user(user=user, org=org).count() == 0


def test_the_filters(auto, org, owner, org_admin):
    services.automation_pause(automation=auto, by=owner)
    services.automation_resume(automation=auto, by=org_admin)
    services.automation_pause(automation=auto, by=None)
    inbox, _ = channel_services.channel_create(org=org, owner=owner, kind="in_app", name="Box")

    def actions(**filters):
        found = audit_events_for_user(user=org_admin, org=org, filters=AuditFilter(**filters))
        return sorted(found.values_list("action", flat=True))

    assert actions(action="automation.pause") == ["automation.pause"] * 2
    assert actions(action="automation") == sorted(
        ["automation.pause", "automation.pause", "automation.resume"]
    )
    assert actions(actor=str(org_admin.pk)) == ["automation.resume"]
    assert actions(actor=SYSTEM_ACTOR) == ["automation.pause"]
    assert actions(actor="not-a-user") == []
    assert actions(actor="9" * 40) == []
    assert actions(target_type="deliverychannel") == ["channel.create"]
    assert actions(target_type="automation", target_id=str(inbox.public_id)) == []


def test_pages_are_newest_first_and_complete(auto, org, owner, org_admin):
    for i in range(7):
        services.automation_update(automation=auto, by=owner, name=f"Name {i}")
    seen, after = [], None
    while True:
        page = audit_page(audit_events_for_user(user=org_admin, org=org), after=after, size=3)
        seen += [e.pk for e in page.events]
        if page.next_key is None:
            break
        after = page.next_key
    assert seen == sorted(seen, reverse=True) and len(seen) == 7
    # A key that is not one of ours is the first page.
    assert len(audit_page(AuditEvent.objects.all(), after=["nonsense"], size=3).events) == 3


# -- the admin --------------------------------------------------------------------------------


@pytest.fixture
def admin_staff(db):
    call_command("seed_demo", "--quiet")  # the "Org admins" group

    def make(user):
        from django.contrib.auth.models import Group

        user.is_staff = True
        user.save(update_fields=["is_staff"])
        user.groups.add(Group.objects.get(name="Org admins"))
        return user

    return make


def test_the_admin_log_is_read_only_and_scoped_to_ones_orgs(
    client, admin_staff, auto, org, owner, org_admin, other_org, other_org_admin
):
    services.automation_pause(automation=auto, by=owner)
    theirs = automation(org=other_org, owner=other_org_admin, name="Theirs secretly")
    services.automation_pause(automation=theirs, by=other_org_admin)
    ours = only_event(organization=org)
    client.force_login(admin_staff(org_admin))
    listing = client.get(reverse("admin:accounts_auditevent_changelist"))
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "Weekly" in page and "Theirs secretly" not in page
    detail = client.get(reverse("admin:accounts_auditevent_change", args=[ours.pk]))
    assert detail.status_code == 200 and "paused" in detail.content.decode()
    theirs_event = only_event(organization=other_org, action=AuditAction.AUTOMATION_PAUSE)
    hidden = client.get(reverse("admin:accounts_auditevent_change", args=[theirs_event.pk]))
    assert hidden.status_code in (302, 403, 404)
    assert client.get(reverse("admin:accounts_auditevent_add")).status_code == 403
    delete = reverse("admin:accounts_auditevent_delete", args=[ours.pk])
    response = client.post(delete, {"post": "yes"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(pk=ours.pk).exists()
    # Filters and search answer.
    url = reverse("admin:accounts_auditevent_changelist")
    assert client.get(url, {"action": "automation.pause", "q": "Weekly"}).status_code == 200


def test_a_member_has_no_admin_log(client, admin_staff, auto, owner):
    services.automation_pause(automation=auto, by=owner)
    client.force_login(admin_staff(owner))  # the group, but a member of the org only
    assert client.get(reverse("admin:accounts_auditevent_changelist")).status_code == 403


def test_saving_the_org_in_the_admin_goes_through_the_service(client, admin_staff, org, org_admin):
    client.force_login(admin_staff(org_admin))
    url = reverse("admin:accounts_organization_change", args=[org.pk])
    form = {
        "name": "Renamed in admin",
        "time_zone": "America/New_York",
        "approval_policy": "all",
        # The LLM settings as the page renders them, unchanged.
        "llm_enabled": "on",
        "llm_monthly_budget_usd": "",
        "llm_when_unavailable": "fallback",
        "llm_models": "{}",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    event = only_event(action=AuditAction.ORGANIZATION_UPDATE)
    assert event.surface == SURFACE.ADMIN and event.actor == org_admin
    assert event.changes == {
        "approval_policy": {"from": "none", "to": "all"},
        "name": {"from": "Org A", "to": "Renamed in admin"},
    }
