"""The plain-English setup's Claude fallback against the fake Messages API: a forced tool whose
schema is the draft, the answer checked like the grammar's drafts, any failure "not understood"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from accounts.models import Organization
from automations.models import LlmMonthlySpend
from automations.plain_english_llm import claude_draft
from automations.scheduling import cron
from tests.factories import OrganizationFactory
from tests.llm_fake import draft_answer

pytestmark = pytest.mark.django_db

TEXT = "ping me fortnightly-ish on the first monday, the pipeline thing, slack #recruiting"


def test_claude_drafts_what_the_grammar_could_not(fake_llm):
    org = OrganizationFactory()
    fake_llm.reply_tool_use("draft_automation", draft_answer())
    draft = claude_draft(org=org, text=TEXT, time_zone="America/New_York")
    assert draft is not None
    assert draft.trigger == {"type": "cron", "cron": "0 9 1-7 * 1", "timezone": "Europe/London"}
    assert (draft.skill, draft.params) == ("pipeline-report", {"new_days": 14})
    assert (draft.channel, draft.channel_config) == ("slack", {"channel": "#recruiting"})
    assert "Europe/London" in draft.trigger_words and "Claude" in draft.notes[0]
    start = datetime(2027, 1, 1, tzinfo=UTC)
    assert cron.fires(draft.trigger["cron"], "Europe/London", start, 3)  # cronsim reads it

    [request] = [r.body for r in fake_llm.requests]
    assert request["tool_choice"] == {"type": "tool", "name": "draft_automation"}
    assert request["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert TEXT in request["messages"][0]["content"]
    assert "<description>" in request["messages"][0]["content"]
    assert TEXT not in str(request["system"])  # the static, cached part holds no user text
    spend = LlmMonthlySpend.objects.get(organization=org)
    assert spend.runs == 1 and spend.cost_usd > 0


@pytest.mark.parametrize(
    "bad",
    [
        {"cron": "61 9 * * 1"},
        {"cron": "every monday"},
        {"timezone": "Narnia/Cair_Paravel"},
        {"skill": "send-sms"},
        {"params": {"new_days": 9999}},
        {"params": {"unknown": 1}},
        {"trigger_type": "poll", "every_minutes": 0},
        {"trigger_type": "relative", "offset_minutes": 10**7},
        {"trigger_type": "event", "event": "ats.world.ended"},
        {"channel": "sms"},
        {"channel": "webhook", "channel_url": "http://insecure.example/hook"},
        {"channel": "email", "channel_to": ["not an address"]},
        {"understood": False, "question": "What should it do?"},
        {"trigger_type": None},
    ],
)
def test_an_answer_that_does_not_hold_is_not_understood(fake_llm, bad):
    fake_llm.reply_tool_use("draft_automation", draft_answer(**bad))
    assert claude_draft(org=OrganizationFactory(), text=TEXT, time_zone="UTC") is None


def test_no_key_ai_off_or_a_failing_model_cost_nothing_and_say_not_understood(fake_llm, settings):
    org = OrganizationFactory()
    Organization.objects.filter(pk=org.pk).update(llm_enabled=False)
    org.refresh_from_db()
    assert claude_draft(org=org, text=TEXT, time_zone="UTC") is None
    Organization.objects.filter(pk=org.pk).update(llm_enabled=True)
    org.refresh_from_db()
    settings.ANTHROPIC_API_KEY = ""
    assert claude_draft(org=org, text=TEXT, time_zone="UTC") is None
    assert fake_llm.requests == []

    settings.ANTHROPIC_API_KEY = "test-key"
    for _ in range(settings.LLM_MAX_RETRIES + 1):
        fake_llm.error(529, "overloaded_error", "Overloaded")
    assert claude_draft(org=org, text=TEXT, time_zone="UTC") is None
    fake_llm.stop("refusal")
    assert claude_draft(org=org, text=TEXT, time_zone="UTC") is None
