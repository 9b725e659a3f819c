"""What an org has spent on LLM skills this month, against its budget. The engine's budget
check and every surface (dashboard settings and usage, the admin's usage page) read it here,
so "x of $y used" means the same everywhere."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, Sum

from accounts.models import Organization
from accounts.plans import limits_for
from automations.models import AutomationRun, LlmMonthlySpend
from skills.llm.fallbacks import reason_words


def llm_period(now: dt.datetime) -> str:
    """The budget's month, "YYYY-MM", in UTC (a month is the same for every org, whatever
    its time zone, so one row per org and month counts it)."""
    return now.astimezone(dt.UTC).strftime("%Y-%m")


@dataclass(frozen=True)
class LlmBudget:
    period: str
    budget_usd: Decimal  # the org's own, or its plan's
    spent_usd: Decimal
    runs: int
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    own_budget: bool  # False: the plan's

    @property
    def tokens(self) -> int:
        cache = self.cache_write_tokens + self.cache_read_tokens
        return self.input_tokens + self.output_tokens + cache

    @property
    def remaining_usd(self) -> Decimal:
        return max(self.budget_usd - self.spent_usd, Decimal("0"))

    @property
    def spent_fraction(self) -> float:
        """0..1 (capped: a run may finish a little over); a zero budget counts as spent."""
        if self.budget_usd <= 0:
            return 1.0
        return min(float(self.spent_usd / self.budget_usd), 1.0)

    @property
    def is_spent(self) -> bool:
        return self.spent_usd >= self.budget_usd


def llm_budget_usd(org: Organization) -> Decimal:
    """The org's monthly budget: its own, or (empty) its plan's."""
    if org.llm_monthly_budget_usd is not None:
        return org.llm_monthly_budget_usd
    return limits_for(org).llm_monthly_budget_usd


def llm_budget_status(*, org: Organization, now: dt.datetime) -> LlmBudget:
    period = llm_period(now)
    row = LlmMonthlySpend.objects.filter(organization=org, period=period).first()
    return LlmBudget(
        period=period,
        budget_usd=llm_budget_usd(org),
        spent_usd=row.cost_usd if row else Decimal("0"),
        runs=row.runs if row else 0,
        input_tokens=row.input_tokens if row else 0,
        output_tokens=row.output_tokens if row else 0,
        cache_write_tokens=row.cache_write_tokens if row else 0,
        cache_read_tokens=row.cache_read_tokens if row else 0,
        own_budget=org.llm_monthly_budget_usd is not None,
    )


def llm_month_start(now: dt.datetime) -> dt.datetime:
    """The first instant of llm_period(now) (UTC)."""
    utc = now.astimezone(dt.UTC)
    return utc.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def llm_cost_by_automation(
    *, org: Organization, now: dt.datetime, owner: AbstractBaseUser | None = None
) -> list[dict[str, Any]]:
    """This budget month's LLM cost and tokens per automation, costliest first; `owner`:
    only that user's automations (a member's personal view of the usage page). Runs that
    used no model (deterministic skills, fallbacks) are left out."""
    runs = AutomationRun.objects.filter(organization=org, created_at__gte=llm_month_start(now))
    if owner is not None:
        runs = runs.filter(automation__owner=owner)
    # Annotations may not share a field's name: summed as sum_<field>.
    fields = (
        "cost_usd",
        "input_tokens",
        "output_tokens",
        "cache_write_tokens",
        "cache_read_tokens",
    )
    return list(
        runs.values("automation__public_id", "automation__name")
        .annotate(llm_runs=Count("pk"), **{f"sum_{f}": Sum(f) for f in fields})
        .filter(Q(sum_cost_usd__gt=0) | Q(sum_input_tokens__gt=0) | Q(sum_output_tokens__gt=0))
        .order_by("-sum_cost_usd", "automation__name")
    )


# What a run's fallback_reason means, in a recruiter's words (the run page, the history).


def fallback_label(reason: str) -> str:
    """ "Made from a template: <why>", or "" when the model made the result."""
    if not reason:
        return ""
    return f"Made from a template: {reason_words(reason)}"
