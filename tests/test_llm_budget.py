"""The engine's gate for LLM skills: AI off, no key, the month's budget (fall back or fail, as
the org chose), the admins told once a month, and what every run spent added to the run and
to the month."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.models import Organization
from automations.engine import run_execute
from automations.firing import run_fire
from automations.llm_gate import llm_gate_for, llm_spend_add
from automations.llm_spend import llm_budget_status, llm_period
from automations.models import AutomationRun, LlmMonthlySpend
from automations.run_keys import manual_key
from delivery.models import Notification
from skills.llm.pricing import worst_case_cost
from skills.results import LlmUsage, SkillError
from tests.factories import automation, member
from webhooks.models import SandboxInterview


def interview_event(org: Organization) -> dict:
    """The canonical event of one of the sandbox's scheduled interviews."""
    interview = (
        SandboxInterview.objects.filter(organization=org, status="scheduled")
        .select_related("application__candidate", "application__job")
        .order_by("start_at")
        .first()
    )
    app = interview.application
    return {
        "type": "ats.interview.scheduled",
        "provider": "sandbox",
        "delivery_id": f"d-{interview.pk}",
        "occurred_at": timezone.now().isoformat(),
        "candidate": {
            "id": str(app.candidate_id),
            "name": app.candidate.name,
            "email": app.candidate.email,
        },
        "application": {"id": str(app.pk), "job_id": str(app.job_id), "job_name": app.job.name},
        "stage": {"from": None, "to": None},
        "interview": {"id": str(interview.pk), "start_at": interview.start_at.isoformat()},
        "raw_type": "interview_scheduled",
    }


def briefing(org: Organization, **kwargs):
    kwargs.setdefault("channels", [{"kind": "in_app"}])
    return automation(org=org, skill_slug="interview-briefing", name="Briefing", **kwargs)


def run_once(auto) -> AutomationRun:
    run, _ = run_fire(
        automation=auto,
        key=manual_key(),
        triggered_by=AutomationRun.TriggeredBy.MANUAL,
        trigger_data=interview_event(auto.organization),
        send=False,
    )
    run_execute(run_id=run.pk)
    run.refresh_from_db()
    return run


def spend(org: Organization, usd: str) -> None:
    LlmMonthlySpend.objects.update_or_create(
        organization=org, period=llm_period(timezone.now()), defaults={"cost_usd": Decimal(usd)}
    )


def test_ai_switched_off_uses_the_template_and_calls_nobody(sandbox_org, fake_llm):
    Organization.objects.filter(pk=sandbox_org.pk).update(llm_enabled=False)
    run = run_once(briefing(sandbox_org))
    assert run.status == "completed"
    assert run.fallback_reason == "llm_off"
    assert run.cost_usd == 0 and run.input_tokens == 0 and run.llm_model == ""
    assert fake_llm.requests == []
    item = Notification.objects.get(run=run)
    assert "template" in item.body_markdown.lower()


def test_no_key_falls_back_by_default_and_fails_when_the_org_chose_so(
    sandbox_org, fake_llm, settings
):
    settings.ANTHROPIC_API_KEY = ""
    run = run_once(briefing(sandbox_org))
    assert run.status == "completed" and run.fallback_reason == "no_key"

    Organization.objects.filter(pk=sandbox_org.pk).update(llm_when_unavailable="fail")
    run = run_once(briefing(sandbox_org))
    assert run.status == "failed" and run.error_code == "llm_no_key"
    assert run.attempt == 1  # not retried: retrying cannot bring a key
    assert fake_llm.requests == []


def test_a_run_that_could_exceed_the_budget_falls_back_and_admins_are_told_once(
    sandbox_org, fake_llm, mailoutbox, django_capture_on_commit_callbacks
):
    admin = member(sandbox_org, role="admin", email="lead@example.com")
    model = llm_gate_for(org=sandbox_org, slug="interview-briefing").model
    worst = worst_case_cost(model, timezone.now(), 60_000)
    budget = llm_budget_status(org=sandbox_org, now=timezone.now()).budget_usd
    assert budget == Decimal("200.00")  # the pro plan's
    # Not spent yet, but not enough left for this run's worst case.
    spend(sandbox_org, str(budget - worst + Decimal("0.01")))
    auto = briefing(sandbox_org)
    with django_capture_on_commit_callbacks(execute=True):  # as when the run commits
        first, second = run_once(auto), run_once(auto)
    for run in (first, second):
        assert run.status == "completed" and run.fallback_reason == "budget_spent"
        assert run.cost_usd == 0
    assert fake_llm.requests == []
    alerts = Notification.objects.filter(user=admin, title__startswith="AI budget spent")
    assert alerts.count() == 1
    assert "$200.00" in alerts.get().body_markdown
    assert [m.to for m in mailoutbox if m.subject.startswith("AI budget spent")] == [
        ["lead@example.com"]
    ]


def test_budget_spent_fails_fast_when_the_org_chose_to_fail(sandbox_org, fake_llm):
    Organization.objects.filter(pk=sandbox_org.pk).update(
        llm_when_unavailable="fail", llm_monthly_budget_usd=Decimal("5.00")
    )
    spend(sandbox_org, "5.00")
    run = run_once(briefing(sandbox_org))
    assert run.status == "failed" and run.error_code == "llm_budget_spent"
    assert "budget" in run.error_message and "Nothing was sent" in run.error_message
    assert run.attempt == 1
    assert fake_llm.requests == []


def test_the_org_budget_overrides_the_plan_and_a_new_month_starts_afresh(sandbox_org, fake_llm):
    Organization.objects.filter(pk=sandbox_org.pk).update(llm_monthly_budget_usd=Decimal("50"))
    sandbox_org.refresh_from_db()
    Organization.objects.filter(pk=sandbox_org.pk).update(plan="free")
    sandbox_org.refresh_from_db()
    spend(sandbox_org, "20.00")  # past the free plan's $10, within the org's own $50
    assert llm_gate_for(org=sandbox_org, slug="interview-briefing").use_llm
    spend(sandbox_org, "50.00")
    assert llm_gate_for(org=sandbox_org, slug="interview-briefing").reason == "budget_spent"
    with time_machine.travel(timezone.now() + timedelta(days=32)):
        assert llm_gate_for(org=sandbox_org, slug="interview-briefing").use_llm


def test_a_model_without_a_price_is_never_called(sandbox_org, fake_llm):
    Organization.objects.filter(pk=sandbox_org.pk).update(
        llm_models={"interview-briefing": "claude-unpriced-1"}
    )
    sandbox_org.refresh_from_db()
    with pytest.raises(SkillError) as exc:
        llm_gate_for(org=sandbox_org, slug="interview-briefing")
    assert exc.value.code == "llm_no_price" and not exc.value.retryable


def test_spend_adds_up_per_month(sandbox_org):
    usage = LlmUsage(
        model="claude-haiku-5-5",
        input_tokens=100,
        output_tokens=50,
        cache_write_tokens=10,
        cache_read_tokens=5,
        cost_usd=Decimal("0.001250"),
    )
    llm_spend_add(org_id=sandbox_org.pk, usage=usage)
    llm_spend_add(org_id=sandbox_org.pk, usage=usage)
    row = LlmMonthlySpend.objects.get(organization=sandbox_org)
    assert row.period == llm_period(timezone.now())
    assert (row.runs, row.input_tokens, row.output_tokens) == (2, 200, 100)
    assert (row.cache_write_tokens, row.cache_read_tokens) == (20, 10)
    assert row.cost_usd == Decimal("0.002500")
    assert mail.outbox == []
