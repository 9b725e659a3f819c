"""`manage.py run_automation ID --dry-run` for an LLM skill: the result, then the model, the
tokens and the cost (or why the template made it), with nothing delivered and no run kept."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Organization
from automations.models import AutomationRun, LlmMonthlySpend
from delivery.models import Notification
from tests.factories import automation

pytestmark = pytest.mark.django_db


def dry_run(auto) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("run_automation", str(auto.pk), "--dry-run", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_dry_run_prints_the_result_tokens_and_cost(sandbox_org, fake_llm):
    auto = automation(org=sandbox_org, skill_slug="interview-briefing", name="Brief")
    usage = {
        "input_tokens": 2000,
        "output_tokens": 300,
        "cache_creation_input_tokens": 1000,
        "cache_read_input_tokens": 0,
    }
    fake_llm.reply_result(title="Briefing", body_markdown="Panel of three.", usage=usage)
    out, err = dry_run(auto)
    assert "# Briefing\n\nPanel of three." in out
    # haiku: 2000 x $1 + 300 x $5 + 1000 x $1.25 per million tokens
    assert (
        "model: claude-haiku-5-5, 1 round(s); tokens: 2000 in, 300 out, 1000 cache write, "
        "0 cache read; cost: $0.004750" in out
    )
    assert "nothing delivered" in err
    assert not AutomationRun.objects.filter(automation=auto).exists()
    assert not Notification.objects.exists()
    # The provider bills a dry run: it counts against the month's budget.
    assert LlmMonthlySpend.objects.get(organization=sandbox_org).cost_usd == Decimal("0.004750")


def test_dry_run_says_when_the_template_made_the_result(sandbox_org, fake_llm):
    Organization.objects.filter(pk=sandbox_org.pk).update(llm_enabled=False)
    auto = automation(org=sandbox_org, skill_slug="interview-prep", name="Prep")
    out, _ = dry_run(auto)
    assert "made from the template, without the AI model: the organization turned AI off" in out
    assert fake_llm.requests == []


def test_dry_run_of_a_refusal_prints_the_error_and_what_it_spent(sandbox_org, fake_llm):
    auto = automation(org=sandbox_org, skill_slug="interview-briefing", name="Brief")
    fake_llm.stop("refusal")
    with pytest.raises(SystemExit) as exc:
        dry_run(auto)
    assert exc.value.code == 1
