"""Plan limits: the same refusal, with the same message, whatever the surface."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Organization
from accounts.plans import PlanLimitError
from automations import services
from automations.models import Automation
from tests.factories import OrganizationFactory, automation, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def free_org():
    return OrganizationFactory(plan=Organization.Plan.FREE)


def test_free_plan_refuses_a_sixth_active_automation(free_org):
    owner = member(free_org)
    for i in range(5):
        automation(org=free_org, owner=owner, name=f"a{i}")
    with pytest.raises(PlanLimitError) as excinfo:
        automation(org=free_org, owner=owner, name="sixth")
    message = excinfo.value.messages[0]
    assert "allows 5 active automations" in message
    assert "Pause or delete one, or upgrade to Pro" in message
    assert Automation.objects.filter(organization=free_org).count() == 5


def test_free_plan_refuses_resuming_a_sixth(free_org):
    owner = member(free_org)
    autos = [automation(org=free_org, owner=owner, name=f"a{i}") for i in range(5)]
    services.automation_pause(automation=autos[0], by=owner)
    automation(org=free_org, owner=owner, name="replacement")
    with pytest.raises(PlanLimitError, match="allows 5 active"):
        services.automation_resume(automation=autos[0], by=owner)
    autos[0].refresh_from_db()
    assert autos[0].status == Automation.Status.PAUSED


def plan_error(excinfo, field: str) -> str:
    """The plan's frequency refusal, beside the field that sets how often it runs."""
    (error,) = excinfo.value.error_dict[field]
    assert error.code == "plan_limit"
    return error.messages[0]


@pytest.mark.parametrize("expr", ["0 * * * *", "0 9,17 * * *", "*/5 * * * *"])
def test_free_plan_refuses_schedules_more_than_daily(free_org, expr):
    with pytest.raises(ValidationError) as excinfo:
        automation(org=free_org, cron_expression=expr)
    assert "at most once a day" in plan_error(excinfo, "cron_expression")
    assert "upgrade to Pro" in plan_error(excinfo, "cron_expression")
    assert not Automation.objects.exists()


def test_free_plan_allows_daily_and_weekday_schedules(free_org):
    automation(org=free_org, cron_expression="30 1 * * *", time_zone="America/New_York")
    automation(org=free_org, cron_expression="0 8 * * 1-5", name="weekdays")


def test_free_plan_refuses_frequent_polling(free_org):
    with pytest.raises(ValidationError) as excinfo:
        automation(
            org=free_org,
            trigger_type="poll",
            poll_interval_seconds=900,
            skill_slug="new-candidate-alert",
        )
    assert "at most once a day" in plan_error(excinfo, "poll_interval_seconds")


def test_free_plan_refuses_editing_to_hourly(free_org):
    auto = automation(org=free_org)
    with pytest.raises(ValidationError) as excinfo:
        services.automation_update(automation=auto, by=auto.owner, cron_expression="0 * * * *")
    assert "at most once a day" in plan_error(excinfo, "cron_expression")
    auto.refresh_from_db()
    assert auto.cron_expression == "0 9 * * 1"


def test_pro_plan_allows_every_minute_and_many_automations():
    org = OrganizationFactory(plan=Organization.Plan.PRO)
    owner = member(org)
    for i in range(7):
        automation(org=org, owner=owner, cron_expression="* * * * *", name=f"a{i}")
    assert Automation.objects.filter(organization=org, status="active").count() == 7
