"""An LLM run's figures in the API: the model, the four token counts, the cost as a decimal
string and why a template made the result, on the runs list and a run's detail; the list's
query count stays constant however many runs it shows."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automations.models import AutomationRun
from tests.api.test_runs_access import make_run
from tests.factories import automation as make_automation

pytestmark = pytest.mark.django_db

FIGURES = {
    "llm_model": "claude-haiku-5-5",
    "input_tokens": 1200,
    "output_tokens": 340,
    "cache_write_tokens": 900,
    "cache_read_tokens": 4500,
    "cost_usd": "0.004825",
    "fallback_reason": "",
}


def _llm_run(auto, **overrides):
    run = make_run(auto)
    values = {**FIGURES, **overrides}
    AutomationRun.objects.filter(pk=run.pk).update(
        **{**values, "cost_usd": Decimal(values["cost_usd"])}
    )
    return run


def test_run_list_and_detail_carry_the_llm_figures(api, org, owner):
    auto = make_automation(org=org, owner=owner, name="Briefings")
    run = _llm_run(auto)
    client = api(owner)
    row = client.get(f"/api/v1/orgs/{org.slug}/runs/").json()["results"][0]
    assert {key: row[key] for key in FIGURES} == FIGURES
    detail = client.get(f"/api/v1/orgs/{org.slug}/runs/{run.public_id}/").json()
    assert {key: detail[key] for key in FIGURES} == FIGURES


def test_a_fallback_run_says_why_and_costs_nothing(api, org, owner):
    auto = make_automation(org=org, owner=owner, name="Briefings")
    _llm_run(
        auto,
        llm_model="",
        input_tokens=0,
        output_tokens=0,
        cache_write_tokens=0,
        cache_read_tokens=0,
        cost_usd="0",
        fallback_reason="budget_spent",
    )
    row = api(owner).get(f"/api/v1/orgs/{org.slug}/runs/").json()["results"][0]
    assert row["fallback_reason"] == "budget_spent"
    assert row["cost_usd"] == "0.000000" and row["input_tokens"] == 0


def test_run_list_queries_stay_constant_with_llm_figures(api, org, owner):
    client = api(owner)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/api/v1/orgs/{org.slug}/runs/").status_code == 200
        return len(captured)

    _llm_run(make_automation(org=org, owner=owner, name="A"))
    few = queries()
    for n in range(10):
        _llm_run(make_automation(org=org, owner=owner, name=f"A{n}"))
    assert queries() == few
