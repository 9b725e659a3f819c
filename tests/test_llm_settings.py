"""An org's LLM settings: one validated, audited write path (organization_update), the
admin's form through the same rules, and the month's budget read (automations/llm_spend)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse

from accounts.audit import AuditAction
from accounts.models import AuditEvent, Organization
from accounts.org_services import organization_update
from automations.llm_spend import llm_budget_status, llm_period
from automations.models import LlmMonthlySpend

pytestmark = pytest.mark.django_db


def _refused(org, by, field, value) -> str:
    with pytest.raises(ValidationError) as exc:
        organization_update(org=org, by=by, **{field: value})
    return " ".join(exc.value.message_dict[field])


def test_admin_changes_every_llm_setting_and_it_is_audited(org, org_admin):
    saved = organization_update(
        org=org,
        by=org_admin,
        llm_enabled=False,
        llm_monthly_budget_usd="25.50",
        llm_when_unavailable="fail",
        llm_models={"interview-briefing": "claude-sonnet-5-5"},
    )
    org.refresh_from_db()
    assert saved.llm_enabled is False and org.llm_enabled is False
    assert org.llm_monthly_budget_usd == Decimal("25.50")
    assert org.llm_when_unavailable == "fail"
    assert org.llm_models == {"interview-briefing": "claude-sonnet-5-5"}
    event = AuditEvent.objects.get(organization=org, action=AuditAction.ORGANIZATION_UPDATE)
    assert event.actor == org_admin
    assert set(event.changes) == {
        "llm_enabled",
        "llm_monthly_budget_usd",
        "llm_when_unavailable",
        "llm_models",
    }
    assert event.changes["llm_monthly_budget_usd"] == {"from": None, "to": "25.50"}


def _free(org):
    Organization.objects.filter(pk=org.pk).update(plan=Organization.Plan.FREE)
    org.refresh_from_db()


def test_empty_budget_means_the_plans(org, org_admin):
    _free(org)
    organization_update(org=org, by=org_admin, llm_monthly_budget_usd="5")
    organization_update(org=org, by=org_admin, llm_monthly_budget_usd="")
    org.refresh_from_db()
    assert org.llm_monthly_budget_usd is None
    assert llm_budget_status(org=org, now=dt.datetime.now(dt.UTC)).budget_usd == Decimal("10.00")


@pytest.mark.parametrize(
    "value",
    [
        "-1",
        -0.01,
        "100000.01",
        10**9,
        "1e9",
        "NaN",
        "nan",
        float("nan"),
        float("inf"),
        "1.005",
        "ten",
        [],
        {},
        True,
        "1,5",
    ],
)
def test_hostile_budgets_are_refused_and_nothing_changes(org, org_admin, value):
    message = _refused(org, org_admin, "llm_monthly_budget_usd", value)
    assert "0 to 100000" in message
    org.refresh_from_db()
    assert org.llm_monthly_budget_usd is None
    assert not AuditEvent.objects.filter(organization=org).exists()


@pytest.mark.parametrize("value", ["0", "100000", 12, "0.5", " 7.25 "])
def test_budget_edges_are_accepted(org, org_admin, value):
    organization_update(org=org, by=org_admin, llm_monthly_budget_usd=value)
    org.refresh_from_db()
    assert org.llm_monthly_budget_usd == Decimal(str(value).strip())


@pytest.mark.parametrize("value", ["yes", 1, None, "fallback "])
def test_other_hostile_values_are_refused(org, org_admin, value):
    field = "llm_enabled" if value != "fallback " else "llm_when_unavailable"
    assert _refused(org, org_admin, field, value)


@pytest.mark.parametrize(
    ("models", "named"),
    [
        (["claude-haiku-5-5"], "mapping"),
        ("claude-haiku-5-5", "mapping"),
        ({"pipeline-report": "claude-haiku-5-5"}, "'pipeline-report' is not an LLM skill"),
        ({"interview-prep": "gpt-9"}, "interview-prep: 'gpt-9' has no price"),
        ({"interview-prep": 5}, "interview-prep: '5' has no price"),
    ],
)
def test_models_must_be_priced_models_of_llm_skills(org, org_admin, models, named):
    assert named in _refused(org, org_admin, "llm_models", models)
    org.refresh_from_db()
    assert org.llm_models == {}


def test_an_unpriced_model_is_refused_once_its_price_is_gone(org, org_admin, settings):
    settings.LLM_PRICES = [p for p in settings.LLM_PRICES if p["model"] != "claude-sonnet-5-5"]
    message = _refused(org, org_admin, "llm_models", {"candidate-email-draft": "claude-sonnet-5-5"})
    assert "has no price" in message


def test_member_and_outsider_are_refused(org, member, other_org_admin):
    for user in (member, other_org_admin):
        with pytest.raises(PermissionDenied):
            organization_update(org=org, by=user, llm_enabled=False)
    org.refresh_from_db()
    assert org.llm_enabled is True


def test_superuser_may_change_them(org, superuser):
    organization_update(org=org, by=superuser, llm_when_unavailable="fail")
    org.refresh_from_db()
    assert org.llm_when_unavailable == "fail"


def _admin_post(client, org, **overrides):
    data = {
        "name": org.name,
        "time_zone": org.time_zone,
        "approval_policy": org.approval_policy,
        "llm_enabled": "on",
        "llm_monthly_budget_usd": "",
        "llm_when_unavailable": org.llm_when_unavailable,
        "llm_models": "{}",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return client.post(reverse("admin:accounts_organization_change", args=[org.pk]), data)


@pytest.fixture
def staff_admin(org_admin):
    call_command("seed_demo", "--quiet")  # the admin groups
    org_admin.is_staff = True
    org_admin.save(update_fields=["is_staff"])
    org_admin.groups.add(Group.objects.get(name="Org admins"))
    return org_admin


def test_admin_form_saves_through_the_service_and_refuses_what_it_refuses(client, org, staff_admin):
    client.force_login(staff_admin)
    page = _admin_post(client, org, llm_models=json.dumps({"interview-prep": "gpt-9"}))
    assert page.status_code == 200
    assert "interview-prep: &#x27;gpt-9&#x27; has no price" in page.content.decode()
    page = _admin_post(client, org, llm_monthly_budget_usd="-3")
    assert page.status_code == 200
    org.refresh_from_db()
    assert org.llm_models == {} and org.llm_monthly_budget_usd is None
    response = _admin_post(
        client,
        org,
        llm_monthly_budget_usd="40",
        llm_models=json.dumps({"interview-prep": "claude-haiku-5-5"}),
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.llm_monthly_budget_usd == Decimal("40.00")
    assert org.llm_models == {"interview-prep": "claude-haiku-5-5"}
    event = AuditEvent.objects.get(organization=org, action=AuditAction.ORGANIZATION_UPDATE)
    assert set(event.changes) == {"llm_monthly_budget_usd", "llm_models"}


def test_llm_period_is_the_utc_month():
    late_in_new_york = dt.datetime(2026, 1, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert llm_period(late_in_new_york) == "2026-02"


def test_budget_status_reads_this_months_row_and_the_plans_budget(org):
    _free(org)
    now = dt.datetime(2026, 3, 15, tzinfo=dt.UTC)
    empty = llm_budget_status(org=org, now=now)
    assert (empty.period, empty.spent_usd, empty.runs, empty.tokens) == ("2026-03", 0, 0, 0)
    assert empty.budget_usd == Decimal("10.00") and not empty.is_spent
    LlmMonthlySpend.objects.create(organization=org, period="2026-02", cost_usd="9.99")
    LlmMonthlySpend.objects.create(
        organization=org,
        period="2026-03",
        cost_usd="2.5",
        input_tokens=100,
        output_tokens=20,
        cache_write_tokens=3,
        cache_read_tokens=4,
        runs=2,
    )
    status = llm_budget_status(org=org, now=now)
    assert status.spent_usd == Decimal("2.5") and status.remaining_usd == Decimal("7.50")
    assert status.spent_fraction == 0.25 and status.tokens == 127 and status.runs == 2
    Organization.objects.filter(pk=org.pk).update(llm_monthly_budget_usd="2.50")
    org.refresh_from_db()
    spent = llm_budget_status(org=org, now=now)
    assert spent.is_spent and spent.remaining_usd == 0 and spent.spent_fraction == 1.0


def test_pro_plan_budget_and_zero_budget(org):
    Organization.objects.filter(pk=org.pk).update(plan=Organization.Plan.PRO)
    org.refresh_from_db()
    now = dt.datetime(2026, 3, 15, tzinfo=dt.UTC)
    assert llm_budget_status(org=org, now=now).budget_usd == Decimal("200.00")
    Organization.objects.filter(pk=org.pk).update(llm_monthly_budget_usd=0)
    org.refresh_from_db()
    assert llm_budget_status(org=org, now=now).is_spent
