"""Creating, editing, pausing, resuming and deleting automations, and their schedule
records."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from accounts.models import Membership
from automations import services
from automations.models import Automation
from automations.scheduling.schedule_records import FIRE_TASK
from tests.factories import OrganizationFactory, automation, member, skill

pytestmark = pytest.mark.django_db

MONDAY_8AM_UTC = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@time_machine.travel(MONDAY_8AM_UTC, tick=False)
def test_create_cron_automation_writes_schedule_record_and_next_run():
    auto = automation(cron_expression="0 9 * * 1", time_zone="America/Los_Angeles")
    # Monday 09:00 in Los Angeles is 17:00 UTC the same day.
    assert auto.next_run_at == datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    task = auto.periodic_task
    assert task.task == FIRE_TASK and task.enabled
    assert task.crontab.hour == "9" and task.crontab.day_of_week == "1"
    assert str(task.crontab.timezone) == "America/Los_Angeles"


def test_schedule_rows_are_shared_between_automations():
    org = OrganizationFactory()
    a = automation(org=org, cron_expression="0 9 * * 1", time_zone="UTC")
    b = automation(org=org, cron_expression="0 9 * * 1", time_zone="UTC", name="other")
    assert a.periodic_task.crontab_id == b.periodic_task.crontab_id
    assert CrontabSchedule.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"cron_expression": "0 25 * * *"}, "cron_expression", "not a valid cron expression"),
        ({"cron_expression": "0 9 * *"}, "cron_expression", "5 fields"),
        ({"time_zone": "Moon/Base"}, "time_zone", "not a known time zone"),
        ({"params": {"days": "ten"}}, "params", "is not of type 'integer'"),
        ({"channels": [{"kind": "fax"}]}, "channels", "Unknown channel"),
        ({"channels": [{"kind": "email", "to": ["nope"]}]}, "channels", "not an email"),
        ({"retry_limit": 11}, "retry_limit", "between 0 and 10"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_changes_nothing(fields, field, message):
    org = OrganizationFactory()
    owner = member(org)
    with pytest.raises(ValidationError) as excinfo:
        services.automation_create(
            org=org,
            owner=owner,
            name="x",
            skill=skill("stale-candidates"),
            trigger_type="cron",
            cron_expression=fields.pop("cron_expression", "0 9 * * *"),
            **fields,
        )
    assert message in " ".join(excinfo.value.message_dict[field])
    assert not Automation.objects.exists()
    assert not PeriodicTask.objects.filter(task=FIRE_TASK).exists()


@time_machine.travel(MONDAY_8AM_UTC, tick=False)
def test_edit_schedule_moves_next_run_and_record():
    auto = automation(cron_expression="0 9 * * 1", time_zone="UTC")
    auto = services.automation_update(automation=auto, by=auto.owner, cron_expression="30 8 * * *")
    assert auto.next_run_at == datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    auto.periodic_task.refresh_from_db()
    assert auto.periodic_task.crontab.minute == "30"


def test_pause_and_resume():
    auto = automation()
    paused = services.automation_pause(automation=auto, by=auto.owner)
    assert paused.status == Automation.Status.PAUSED and paused.next_run_at is None
    paused.periodic_task.refresh_from_db()
    assert not paused.periodic_task.enabled
    resumed = services.automation_resume(automation=paused, by=auto.owner)
    assert resumed.status == Automation.Status.ACTIVE and resumed.next_run_at is not None
    resumed.periodic_task.refresh_from_db()
    assert resumed.periodic_task.enabled


def test_delete_removes_the_schedule_record():
    auto = automation()
    task_pk = auto.periodic_task_id
    services.automation_delete(automation=auto, by=auto.owner)
    assert not Automation.objects.exists()
    assert not PeriodicTask.objects.filter(pk=task_pk).exists()


def test_poll_automation_gets_an_interval_record():
    auto = automation(
        trigger_type="poll", poll_interval_seconds=900, skill_slug="new-candidate-alert"
    )
    assert auto.periodic_task.interval.every == 900
    assert auto.periodic_task.interval.period == IntervalSchedule.SECONDS


def test_event_automation_has_no_schedule():
    auto = automation(
        trigger_type="event",
        event_type="ats.candidate.stage_changed",
        event_filter={"stage.to": "Interview"},
        skill_slug="new-candidate-alert",
    )
    assert auto.periodic_task is None and auto.next_run_at is None


def test_same_org_member_who_is_not_owner_cannot_edit_outsider_cannot_either(
    org, owner, member, outsider, other_org_admin
):
    auto = automation(org=org, owner=owner)
    for user in (member, outsider, other_org_admin):
        with pytest.raises(PermissionDenied):
            services.automation_pause(automation=auto, by=user)
    auto.refresh_from_db()
    assert auto.status == Automation.Status.ACTIVE


def test_org_admin_can_edit_members_automation(org, owner, org_admin):
    auto = automation(org=org, owner=owner)
    assert services.automation_pause(automation=auto, by=org_admin).status == "paused"


def test_approval_flow():
    org = OrganizationFactory(approval_policy="all")
    auto = automation(org=org)
    assert auto.status == Automation.Status.PENDING_APPROVAL
    assert auto.next_run_at is None and not auto.periodic_task.enabled
    with pytest.raises(PermissionDenied):
        services.automation_approve(automation=auto, by=auto.owner)
    admin = member(org, role=Membership.Role.ADMIN)
    approved = services.automation_approve(automation=auto, by=admin)
    assert approved.status == Automation.Status.ACTIVE and approved.next_run_at is not None


def test_a_pending_automation_cannot_be_paused_and_resumed_past_its_approval():
    org = OrganizationFactory(approval_policy="all")
    auto = automation(org=org)
    with pytest.raises(ValidationError, match="waiting for an admin's approval"):
        services.automation_pause(automation=auto, by=auto.owner)
    auto.refresh_from_db()
    assert auto.status == Automation.Status.PENDING_APPROVAL
    with pytest.raises(ValidationError, match="waiting for an admin's approval"):
        services.automation_resume(automation=auto, by=auto.owner)
    assert Automation.objects.get(pk=auto.pk).status == Automation.Status.PENDING_APPROVAL


def test_owner_must_belong_to_the_org():
    with pytest.raises(PermissionDenied):
        services.automation_create(
            org=OrganizationFactory(),
            owner=member(OrganizationFactory()),
            name="x",
            skill=skill("pipeline-report"),
            trigger_type="cron",
            cron_expression="0 9 * * 1",
        )


@pytest.mark.parametrize(
    ("event_filter", "message"),
    [
        (["stage.to"], "A filter is a JSON object"),
        ({"stage.to": {"startswith": "Int"}}, "stage.to: use one of contains, equals, in"),
        ({"stage.to": {"in": "Interview"}}, "'in' takes a list"),
    ],
)
def test_bad_event_filter_is_refused(event_filter, message):
    with pytest.raises(ValidationError) as excinfo:
        automation(
            trigger_type="event",
            event_type="ats.candidate.stage_changed",
            event_filter=event_filter,
            skill_slug="new-candidate-alert",
        )
    assert message in " ".join(excinfo.value.message_dict["event_filter"])
    assert not Automation.objects.exists()
