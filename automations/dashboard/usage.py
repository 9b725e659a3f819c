"""Usage in the dashboard: the tile on the automations page (today's runs against the daily
cap, active automations against the plan, this month's LLM cost) and /usage/, the last 30
days as a table with a bar per day (plain CSS, no script).

Both read automations.usage.usage_for_viewer: an org admin sees the org's usage, a plain
member a personal view of their own automations' runs (no inbound webhooks, no org-wide use
of the limits), so the dashboard shows what the API and the admin show."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_safe

from automations.dashboard.access import dashboard_page
from automations.llm_spend import llm_budget_status, llm_cost_by_automation
from automations.usage import local_today, usage_for_viewer
from delivery.models import DeliveryChannel

PAGE = "dashboard/usage/page.html"
TABLE_DAYS = 30
# Bars are drawn in 5% steps by class (usage-w0 ... usage-w20): the dashboard's CSP allows no
# inline style attributes.
_BAR_STEPS = 20


def _limit(usage: dict[str, Any], key: str) -> dict[str, Any]:
    return next(limit for limit in usage["limits"] if limit["key"] == key)


def usage_tile(request: HttpRequest) -> dict[str, Any]:
    """The tile's figures for the current workplace: this month so far (local days)."""
    org = request.workplace.org
    today = local_today(org=org)
    usage = usage_for_viewer(user=request.user, org=org, start=today.replace(day=1), end=today)
    runs_cap = _limit(usage, "max_runs_per_day")
    active = _limit(usage, "max_active_automations")
    return {
        "scope": usage["scope"],
        "runs_today": usage["days"][-1]["runs"]["total"],
        "runs_cap": runs_cap["limit"],
        "org_runs_today": runs_cap["used"],
        "active_used": active["used"],
        "active_limit": active["limit"],
        "month_cost": usage["totals"]["llm"]["cost_usd"],
    }


def _rows(usage: dict[str, Any]) -> list[dict[str, Any]]:
    """The days newest first, each with its bar's step (runs against the busiest day)."""
    busiest = max((day["runs"]["total"] for day in usage["days"]), default=0)
    rows = []
    for day in reversed(usage["days"]):
        runs = day["runs"]["total"]
        step = round(_BAR_STEPS * runs / busiest) if busiest else 0
        rows.append({**day, "bar": step, "failed": day["runs"]["by_status"]["failed"]})
    return rows


@require_safe
@dashboard_page
def usage_page(request: HttpRequest) -> HttpResponse:
    org = request.workplace.org
    today = local_today(org=org)
    usage = usage_for_viewer(
        user=request.user, org=org, start=today - timedelta(days=TABLE_DAYS - 1), end=today
    )
    deliveries = usage["totals"]["deliveries"]
    context = {
        "nav": "usage",
        "usage": usage,
        "rows": _rows(usage),
        "channels": [
            {"label": DeliveryChannel.Kind(kind).label, **counts}
            for kind, counts in deliveries["by_channel"].items()
            if counts["total"]
        ],
        "personal": usage["scope"] == "personal",
    }
    # The LLM budget month (UTC): the org's spend against its budget is the org's business
    # (admins); a member sees their own automations' LLM cost.
    now = timezone.now()
    personal = context["personal"]
    context["llm_budget"] = None if personal else llm_budget_status(org=org, now=now)
    context["llm_by_automation"] = llm_cost_by_automation(
        org=org, now=now, owner=request.user if personal else None
    )
    return render(request, PAGE, context)


urls = [
    path("usage/", usage_page, name="usage"),
]
