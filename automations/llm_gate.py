"""Whether a run of an LLM skill calls the model, and with which; and adding what it spent
to the org's month.

The engine asks `llm_gate_for` before the skill runs. The model is not called when the org
turned AI off (always the template), when no key is configured or when the month's budget
cannot cover the run (the template, or a clear failure, as the org chose). A run is let
through only if its worst case (LLM_MAX_TOKENS_PER_RUN at the model's dearest rate) still
fits the budget, so a run never takes the month past it by more than what runs started at
the same moment spend together."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Organization
from automations.llm_spend import llm_budget_status, llm_period
from automations.models import LlmMonthlySpend
from delivery.notify import notify_admins_llm_budget_spent
from skills.llm.fallbacks import REASONS
from skills.llm.pricing import PriceUnknown, worst_case_cost
from skills.results import LlmGate, LlmUsage, SkillError

logger = logging.getLogger(__name__)


def llm_model_for(*, org: Organization, slug: str) -> str:
    """The org's model for this skill, else the server's, else the default."""
    chosen = (org.llm_models or {}).get(slug) if isinstance(org.llm_models, dict) else None
    return chosen or settings.LLM_MODELS.get(slug) or settings.LLM_DEFAULT_MODEL


def llm_gate_for(*, org: Organization, slug: str, now: datetime | None = None) -> LlmGate:
    """The gate for one run of `slug`. Raises SkillError when the org chose to fail rather
    than fall back, or when the model has no price (a run must never spend unknown money)."""
    now = now or timezone.now()
    model, reason = llm_state(org=org, slug=slug, now=now)
    if reason == "budget_spent":
        budget = llm_budget_status(org=org, now=now)
        _tell_admins_once(org, budget.budget_usd, budget.period, now)
    if reason == "llm_off":
        return LlmGate(use_llm=False, model=model, reason=reason)
    if reason:
        return _unavailable(org, model, reason)
    return LlmGate(use_llm=True, model=model)


def llm_state(*, org: Organization, slug: str, now: datetime) -> tuple[str, str]:
    """(model, why the model would not be used now: "" | "llm_off" | "no_key" |
    "budget_spent"), changing nothing (the diagnosis asks this too)."""
    model = llm_model_for(org=org, slug=slug)
    if not org.llm_enabled:
        return model, "llm_off"
    if not settings.ANTHROPIC_API_KEY:
        return model, "no_key"
    try:
        worst = worst_case_cost(model, now, settings.LLM_MAX_TOKENS_PER_RUN)
    except PriceUnknown:
        raise SkillError(
            f"The model {model!r} has no price in LLM_PRICES, so its cost cannot be counted "
            "against the budget. Add its price or choose another model under Settings → AI.",
            code="llm_no_price",
            retryable=False,
        ) from None
    budget = llm_budget_status(org=org, now=now)
    if budget.spent_usd + worst > budget.budget_usd:
        return model, "budget_spent"
    return model, ""


def _unavailable(org: Organization, model: str, reason: str) -> LlmGate:
    if org.llm_when_unavailable == Organization.LlmUnavailable.FAIL:
        what = {
            "no_key": "Ask your administrator to set ANTHROPIC_API_KEY, or choose “use the "
            "template” under Settings → AI.",
            "budget_spent": "Raise the budget under Settings → AI, wait for next month, or "
            "choose “use the template” there.",
        }[reason]
        raise SkillError(
            f"Not run: {REASONS[reason]}. {what} Nothing was sent.",
            code=f"llm_{reason}",
            retryable=False,
        )
    return LlmGate(use_llm=False, model=model, reason=reason)


def _tell_admins_once(org: Organization, budget_usd, period: str, now: datetime) -> None:
    """Mark the month's row as told (one conditional update, so two workers cannot both
    tell) and tell the admins once that is committed."""
    _month_row(org, period)
    told = LlmMonthlySpend.objects.filter(
        organization=org, period=period, budget_notified_at__isnull=True
    ).update(budget_notified_at=now)
    if told:
        falls_back = org.llm_when_unavailable != Organization.LlmUnavailable.FAIL
        transaction.on_commit(
            lambda: notify_admins_llm_budget_spent(
                org=org, budget_usd=budget_usd, period=period, falls_back=falls_back
            )
        )
        logger.warning("org %s: LLM budget for %s spent; admins told", org.pk, period)


def _month_row(org: Organization, period: str) -> None:
    if LlmMonthlySpend.objects.filter(organization=org, period=period).exists():
        return
    try:
        with transaction.atomic():
            LlmMonthlySpend.objects.create(organization=org, period=period)
    except IntegrityError:  # another worker made it first
        pass


def llm_spend_add(*, org_id: int, usage: LlmUsage, now: datetime | None = None) -> None:
    """Add one run's spend to its org's month (F() expressions: concurrent runs add up)."""
    now = now or timezone.now()
    period = llm_period(now)
    changes = {
        "cost_usd": F("cost_usd") + usage.cost_usd,
        "input_tokens": F("input_tokens") + usage.input_tokens,
        "output_tokens": F("output_tokens") + usage.output_tokens,
        "cache_write_tokens": F("cache_write_tokens") + usage.cache_write_tokens,
        "cache_read_tokens": F("cache_read_tokens") + usage.cache_read_tokens,
        "runs": F("runs") + 1,
    }
    if LlmMonthlySpend.objects.filter(organization_id=org_id, period=period).update(**changes):
        return
    try:
        with transaction.atomic():
            LlmMonthlySpend.objects.create(organization_id=org_id, period=period)
    except IntegrityError:
        pass
    LlmMonthlySpend.objects.filter(organization_id=org_id, period=period).update(**changes)
