"""The LLM settings and figures people see in the dashboard: /settings/llm/ (admins edit,
members read, never the key), the month's budget numbers and bar, a run's model, tokens,
cost and fallback label, and the usage page's LLM figures."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Organization
from automations.llm_spend import llm_period
from automations.models import AutomationRun, LlmMonthlySpend
from tests.dashboard.access import ORG_PAGE, Case, check_case
from tests.factories import automation

pytestmark = pytest.mark.django_db

SECRET_KEY = "sk-ant-test-not-a-real-key-1234567890"


def _post(w) -> dict:
    return {
        "llm_monthly_budget_usd": "33",
        "llm_when_unavailable": "fail",
        "model_interview-briefing": "claude-sonnet-5-5",
    }


def _org_llm(w):
    org = Organization.objects.get(pk=w.org.pk)
    return (org.llm_enabled, org.llm_monthly_budget_usd, org.llm_when_unavailable, org.llm_models)


CASES = [
    Case(
        "llm-settings",
        "get",
        lambda w: reverse("dashboard:llm-settings"),
        ORG_PAGE,
        hidden_from={role: [SECRET_KEY, "Org A"] for role in ("other_org_admin",)}
        | {role: [SECRET_KEY] for role in ("owner", "member", "org_admin")},
    ),
    Case(
        "llm-settings",
        "post",
        lambda w: reverse("dashboard:llm-settings"),
        {
            "owner": 403,
            "member": 403,
            "org_admin": 302,
            "outsider": 403,
            "other_org_admin": 302,  # their own org's settings
            "anonymous": 302,
        },
        data=_post,
        state=_org_llm,
    ),
]


@pytest.fixture(autouse=True)
def _a_key(settings):
    settings.ANTHROPIC_API_KEY = SECRET_KEY


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize(
    "role", ["owner", "member", "org_admin", "outsider", "other_org_admin", "anonymous"]
)
def test_access(case, role, world, client_factory):
    check_case(case, world, role, client_factory)


def _spend(org, cost: str, **fields):
    return LlmMonthlySpend.objects.create(
        organization=org, period=llm_period(timezone.now()), cost_usd=Decimal(cost), **fields
    )


def test_admin_sees_the_budget_used_and_saves_through_the_service(world, client):
    org = world.org
    Organization.objects.filter(pk=org.pk).update(llm_monthly_budget_usd=Decimal("20"))
    _spend(org, "5.00", runs=3)
    client.force_login(world.people["org_admin"])
    body = client.get(reverse("dashboard:llm-settings")).content.decode()
    assert "$5.00 of $20.00 used this month" in body
    assert '<progress max="100" value="25"' in body
    assert 'API key configured</dt><dd id="llm-key">yes' in body
    assert SECRET_KEY not in body and "sk-ant" not in body
    assert '<option value="">default (claude-haiku-5-5)</option>' in body
    response = client.post(reverse("dashboard:llm-settings"), _post(world))
    assert response.status_code == 302
    assert _org_llm(world) == (
        False,  # the box was not ticked in the post
        Decimal("33.00"),
        "fail",
        {"interview-briefing": "claude-sonnet-5-5"},
    )
    assert AuditEvent.objects.filter(organization=org, action="organization.update").exists()


def test_a_refused_value_is_shown_and_nothing_changes(world, client):
    client.force_login(world.people["org_admin"])
    before = _org_llm(world)
    response = client.post(
        reverse("dashboard:llm-settings"),
        {"llm_enabled": "on", "llm_monthly_budget_usd": "1e9", "llm_when_unavailable": "fail"},
    )
    assert response.status_code == 422
    assert "A budget in USD from 0 to 100000" in response.content.decode()
    response = client.post(
        reverse("dashboard:llm-settings"),
        {"llm_enabled": "on", "llm_when_unavailable": "fallback", "model_interview-prep": "gpt-9"},
    )
    assert response.status_code == 422
    assert "has no price" in response.content.decode()
    assert _org_llm(world) == before


def test_member_reads_without_a_form_and_no_key_says_no(world, client, settings):
    settings.ANTHROPIC_API_KEY = ""
    client.force_login(world.people["member"])
    body = client.get(reverse("dashboard:llm-settings")).content.decode()
    assert "Only the organization's admins change these." in body
    assert 'name="llm_monthly_budget_usd"' not in body
    assert 'API key configured</dt><dd id="llm-key">no' in body
    assert "$0.00 of $" in body


def test_a_spent_budget_says_what_happens(world, client):
    Organization.objects.filter(pk=world.org.pk).update(
        llm_monthly_budget_usd=Decimal("1"), llm_when_unavailable="fail"
    )
    _spend(world.org, "1.20")
    client.force_login(world.people["org_admin"])
    body = client.get(reverse("dashboard:llm-settings")).content.decode()
    assert "$1.20 of $1.00 used this month" in body and 'value="100"' in body
    assert "The budget is spent: LLM skills fail until next month." in body


def _run(auto, **fields) -> AutomationRun:
    return AutomationRun.objects.create(
        automation=auto,
        organization=auto.organization,
        triggered_by="schedule",
        status="completed",
        idempotency_key=f"test:{uuid.uuid4()}",
        scheduled_for=timezone.now(),
        **fields,
    )


def test_run_page_shows_the_models_figures_and_a_fallbacks_label(world, client):
    auto = automation(org=world.org, owner=world.people["owner"], name="Briefings")
    llm = _run(
        auto,
        llm_model="claude-haiku-5-5",
        input_tokens=1200,
        output_tokens=340,
        cache_write_tokens=900,
        cache_read_tokens=4500,
        cost_usd=Decimal("0.004825"),
    )
    fallback = _run(auto, fallback_reason="budget_spent")
    client.force_login(world.people["owner"])
    body = client.get(reverse("dashboard:run", args=[llm.public_id])).content.decode()
    assert "<dt>Model</dt><dd>claude-haiku-5-5</dd>" in body
    assert "1200 input, 340 output, 900 cache write, 4500 cache read" in body
    assert "$0.004825" in body
    assert "Made from a template" not in body
    body = client.get(reverse("dashboard:run", args=[fallback.public_id])).content.decode()
    assert "Made from a template: this month&#x27;s AI budget is spent" in body
    assert "<dt>Model</dt>" not in body
    history = client.get(reverse("dashboard:runs")).content.decode()
    assert "LLM $0.0048" in history and "from a template" in history


def test_usage_page_shows_the_months_llm_use_and_cost_per_automation(world, client):
    owner = world.people["owner"]
    mine = automation(org=world.org, owner=owner, name="Mine")
    theirs = automation(org=world.org, owner=world.people["member"], name="Theirs")
    _run(mine, input_tokens=100, output_tokens=10, cache_read_tokens=7, cost_usd=Decimal("0.5"))
    _run(theirs, input_tokens=50, output_tokens=5, cost_usd=Decimal("1.5"))
    Organization.objects.filter(pk=world.org.pk).update(llm_monthly_budget_usd=Decimal("8"))
    _spend(world.org, "2.00", runs=2, input_tokens=150, output_tokens=15, cache_read_tokens=7)
    client.force_login(world.people["org_admin"])
    body = client.get(reverse("dashboard:usage")).content.decode()
    assert "$2.00 of $8.00 used this month; 2 LLM runs, 172 tokens" in body
    assert body.index(">Theirs<") < body.index(">Mine<")  # costliest first
    assert "<td>1.500000</td>" in body
    # A member sees their own automations' LLM cost, not the org's budget or colleagues'.
    client.force_login(owner)
    body = client.get(reverse("dashboard:usage")).content.decode()
    assert "used this month" not in body
    assert ">Mine<" in body and ">Theirs<" not in body
    assert "<td>100 / 10</td><td>0 / 7</td><td>0.500000</td>" in body
