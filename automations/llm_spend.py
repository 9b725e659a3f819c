"""An org's LLM budget for the month and what it has spent of it (one LlmMonthlySpend row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from accounts.models import Organization
from accounts.plans import limits_for
from automations.models import LlmMonthlySpend


def llm_period(now: datetime) -> str:
    """The budget's month, "YYYY-MM", in UTC (the same for every org and process)."""
    return now.astimezone(UTC).strftime("%Y-%m")


@dataclass(frozen=True)
class LlmBudget:
    period: str
    budget_usd: Decimal  # the org's own, else its plan's
    own_budget: bool  # False: the plan's
    spent_usd: Decimal
    runs: int
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int

    @property
    def remaining_usd(self) -> Decimal:
        return max(self.budget_usd - self.spent_usd, Decimal("0"))

    @property
    def spent_fraction(self) -> float:
        if self.budget_usd <= 0:
            return 1.0 if self.spent_usd > 0 else 0.0
        return min(float(self.spent_usd / self.budget_usd), 1.0)

    @property
    def is_spent(self) -> bool:
        return self.spent_usd >= self.budget_usd

    @property
    def tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_write_tokens
            + self.cache_read_tokens
        )


def llm_budget_status(*, org: Organization, now: datetime) -> LlmBudget:
    period = llm_period(now)
    own = org.llm_monthly_budget_usd
    budget = own if own is not None else limits_for(org).llm_monthly_budget_usd
    row = LlmMonthlySpend.objects.filter(organization=org, period=period).first()
    return LlmBudget(
        period=period,
        budget_usd=Decimal(budget),
        own_budget=own is not None,
        spent_usd=row.cost_usd if row else Decimal("0"),
        runs=row.runs if row else 0,
        input_tokens=row.input_tokens if row else 0,
        output_tokens=row.output_tokens if row else 0,
        cache_write_tokens=row.cache_write_tokens if row else 0,
        cache_read_tokens=row.cache_read_tokens if row else 0,
    )
