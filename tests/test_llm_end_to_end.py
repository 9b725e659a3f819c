"""End to end: an interview scheduled in a posted (signed) webhook -> the briefing run 30
minutes before it -> the LLM skill against the fake Messages API -> delivered to Slack (a
listener on 127.0.0.1), with the tokens and the cost on the run and in the org's month."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from automations.engine import run_execute
from automations.models import AutomationRun, LlmMonthlySpend
from automations.triggers.drain import inbound_process
from delivery.channel_services import channel_create
from skills.llm.pricing import cost_of
from tests.ats import connection, post, signed
from tests.factories import automation
from webhooks.models import InboundEvent, SandboxInterview

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]


def ashby_interview_scheduled(interview: SandboxInterview, start: datetime) -> bytes:
    """Ashby's interviewScheduleCreate for one of the sandbox's interviews, at `start`."""
    when = start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return json.dumps(
        {
            "webhookActionId": f"e2e-{interview.pk}",
            "action": "interviewScheduleCreate",
            "data": {
                "interviewSchedule": {
                    "id": str(interview.pk),
                    "status": "Scheduled",
                    "applicationId": str(interview.application_id),
                    "candidateId": str(interview.application.candidate_id),
                    "interviewEvents": [{"id": "ev-1", "startTime": when, "endTime": when}],
                    "createdAt": when,
                    "updatedAt": when,
                }
            },
        }
    ).encode()


def test_interview_webhook_to_llm_briefing_on_slack(client, sandbox_org, fake_llm, httpserver):
    conn = connection(sandbox_org, "ashby")
    auto = automation(
        org=sandbox_org,
        skill_slug="interview-briefing",
        name="Brief me before interviews",
        trigger_type="relative",
        offset_minutes=-30,
    )
    slack, _ = channel_create(
        org=sandbox_org,
        owner=auto.owner,
        kind="slack",
        name="Hiring",
        config={"url": httpserver.url_for("/slack")},
    )
    auto.delivery_channels.set([slack])
    httpserver.expect_oneshot_request("/slack", method="POST").respond_with_data("ok")

    interview = (
        SandboxInterview.objects.filter(organization=sandbox_org, status="scheduled")
        .select_related("application__candidate", "application__job")
        .first()
    )
    start = (timezone.now() + timedelta(minutes=45)).replace(microsecond=0)
    body, headers, query = signed("ashby", ashby_interview_scheduled(interview, start))
    response = post(client, conn, body, headers, query)
    assert response.status_code == 200, response.content

    inbound_process(event_id=InboundEvent.objects.get(connection=conn).pk)
    run = AutomationRun.objects.get(automation=auto)
    assert run.status == "pending" and run.triggered_by == "relative"
    assert run.scheduled_for == start - timedelta(minutes=30)

    # The model reads the candidate's interviews, then answers through the result tool.
    usage = [
        {
            "input_tokens": 1200,
            "output_tokens": 40,
            "cache_creation_input_tokens": 900,
            "cache_read_input_tokens": 0,
        },
        {
            "input_tokens": 1500,
            "output_tokens": 220,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 900,
        },
    ]
    fake_llm.reply_tool_use(
        "list_interviews",
        {"candidate_id": str(interview.application.candidate_id)},
        usage=usage[0],
    )
    fake_llm.reply_result(
        title="Briefing: Onsite interview in 30 minutes",
        body_markdown="## Who\nA backend engineer.\n\n## Watch for\n- System design depth",
        summary="Briefing for one interview.",
        usage=usage[1],
    )
    with time_machine.travel(run.scheduled_for + timedelta(seconds=1), tick=True):
        assert run_execute(run_id=run.pk) == "completed"

    run.refresh_from_db()
    assert [d["status"] for d in run.deliveries] == ["sent"]
    [(request, _)] = httpserver.log
    assert "System design depth" in request.get_data(as_text=True)

    requests = [r.body for r in fake_llm.requests]
    assert len(requests) == 2  # the tool round and the answer
    [tool_result] = [
        block
        for block in requests[1]["messages"][-1]["content"]
        if block.get("type") == "tool_result"
    ]
    assert not tool_result.get("is_error")  # the sandbox answered the model's read
    assert run.llm_model == "claude-haiku-5-5"
    expected = {
        "input_tokens": sum(u["input_tokens"] for u in usage),
        "output_tokens": sum(u["output_tokens"] for u in usage),
        "cache_write_tokens": sum(u["cache_creation_input_tokens"] for u in usage),
        "cache_read_tokens": sum(u["cache_read_input_tokens"] for u in usage),
    }
    assert {k: getattr(run, k) for k in expected} == expected
    assert run.cost_usd == cost_of("claude-haiku-5-5", run.started_at, **expected) > Decimal(0)
    month = LlmMonthlySpend.objects.get(organization=sandbox_org)
    assert month.cost_usd == run.cost_usd and month.runs == 1
