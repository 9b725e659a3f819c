"""Plan limits, in one place. Services call these checks so the dashboard, the API and the
admin all refuse the same things with the same message."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError

from accounts.models import Organization


@dataclass(frozen=True)
class PlanLimits:
    name: str
    max_active_automations: int | None  # None: unlimited
    # No schedule may fire more than once on a local calendar day. (Counted per day, not as
    # a 24-hour gap: a daily job is 23 or 25 hours apart across a DST change.)
    at_most_daily: bool
    # Runaway protection (issue 13): runs an org may start a day and at once. A run held
    # back by a cap is skipped with the reason, never silently dropped.
    max_runs_per_day: int
    max_concurrent_runs: int
    # The event-storm guard: an automation matched by more events than this in a minute is
    # paused and the org's admins are told.
    max_events_per_minute: int
    # LLM skills' spend a calendar month (UTC), unless the org sets its own.
    llm_monthly_budget_usd: Decimal = Decimal("0")


PLANS: dict[str, PlanLimits] = {
    Organization.Plan.FREE: PlanLimits(
        name="Free",
        max_active_automations=5,
        at_most_daily=True,
        max_runs_per_day=500,
        max_concurrent_runs=3,
        max_events_per_minute=60,
        llm_monthly_budget_usd=Decimal("10.00"),
    ),
    Organization.Plan.PRO: PlanLimits(
        name="Pro",
        max_active_automations=None,
        at_most_daily=False,
        max_runs_per_day=50_000,
        max_concurrent_runs=25,
        max_events_per_minute=300,
        llm_monthly_budget_usd=Decimal("200.00"),
    ),
}


class PlanLimitError(ValidationError):
    """A plan limit refused the change. The message says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="plan_limit")


def limits_for(org: Organization) -> PlanLimits:
    return PLANS[org.plan]


def check_active_automation_count(*, org: Organization, active_now: int) -> None:
    """Raise if enabling one more automation would pass the plan's limit."""
    limits = limits_for(org)
    if limits.max_active_automations is None:
        return
    if active_now >= limits.max_active_automations:
        raise PlanLimitError(
            f"The {limits.name} plan allows {limits.max_active_automations} active automations "
            f"and {org.name} already has {active_now}. Pause or delete one, or upgrade to Pro "
            "for unlimited automations."
        )


def check_schedule_frequency(*, org: Organization, fires_twice_a_day: bool) -> None:
    """Raise if a schedule fires more often than the plan allows. (Minute level, Pro's floor,
    is the finest a cron schedule or a poll interval can be.)"""
    limits = limits_for(org)
    if limits.at_most_daily and fires_twice_a_day:
        raise PlanLimitError(
            f"The {limits.name} plan runs each automation at most once a day, and this schedule "
            "fires more often. Choose a daily or weekly time, or upgrade to Pro for schedules "
            "down to every minute."
        )
