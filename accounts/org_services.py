"""Writes to an organization's own settings. Every surface (the admin's Organization page
today, the dashboard and API later) calls `organization_update`, so the rules are here once.

The rules:

- An org's admins change its name, time zone and approval policy.
- Its plan and slug are operators' business (billing, URLs): only a superuser changes them.
- An org's admins also change its LLM settings (issue 14): on/off, the month's budget (empty:
  the plan's), what a run does when the model cannot be used, and the model per LLM skill.
- Every change is audited ("organization.update") with the fields that changed.

`organization_changes_clean` is the one validation path: the admin's form calls it in its
clean, `organization_update` calls it again before writing.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.audit import AuditAction, audit_changes, audit_record
from accounts.models import Organization, validate_time_zone
from accounts.selectors import org_admin_require
from config.rows import lock_for_update

LLM_EDITABLE = ("llm_enabled", "llm_monthly_budget_usd", "llm_when_unavailable", "llm_models")
ADMIN_EDITABLE = ("name", "time_zone", "approval_policy", *LLM_EDITABLE)
SUPERUSER_EDITABLE = ("slug", "plan")
EDITABLE = (*ADMIN_EDITABLE, *SUPERUSER_EDITABLE)
MAX_NAME_CHARS = Organization._meta.get_field("name").max_length
MAX_LLM_BUDGET_USD = Decimal("100000")


def llm_skill_slugs() -> tuple[str, ...]:
    """The LLM skills an org may pick a model for: the ones settings gives a default model."""
    return tuple(settings.LLM_MODELS)


def llm_priced_models() -> tuple[str, ...]:
    """Models with a price in settings.LLM_PRICES: only these can be costed, so only these
    can be chosen (a run on an unpriced model would spend without counting)."""
    return tuple(sorted({str(p["model"]) for p in settings.LLM_PRICES}))


def _clean_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError({"name": "Give the organization a name."})
    value = value.strip()
    if len(value) > MAX_NAME_CHARS or "\x00" in value:
        raise ValidationError({"name": f"At most {MAX_NAME_CHARS} characters, no NUL."})
    return value


def _clean_time_zone(value: object) -> str:
    try:
        validate_time_zone(value)
    except ValidationError as exc:
        raise ValidationError({"time_zone": exc.messages}) from None
    return value  # type: ignore[return-value]


def _clean_choice(field: str, choices: type) -> Any:
    def clean(value: object) -> str:
        if value not in choices.values:
            raise ValidationError({field: f"Choose one of {', '.join(choices.values)}."})
        return value  # type: ignore[return-value]

    return clean


def _clean_bool(field: str):
    def clean(value: object) -> bool:
        if not isinstance(value, bool):
            raise ValidationError({field: "Choose on or off."})
        return value

    return clean


def _clean_llm_budget(value: object) -> Decimal | None:
    if value is None or value == "":
        return None  # the plan's budget
    message = f"A budget in USD from 0 to {MAX_LLM_BUDGET_USD}, at most 2 decimals, or empty."
    # A float is refused by its exactness too: Decimal(0.1) has 55 decimals.
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValidationError({"llm_monthly_budget_usd": message})
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError({"llm_monthly_budget_usd": message})
    text = value.strip() if isinstance(value, str) else value
    # "1e9" and "NaN" parse as Decimals: only plain digits with an optional point are money.
    if isinstance(text, str) and not text.replace(".", "", 1).isdigit():
        raise ValidationError({"llm_monthly_budget_usd": message})
    try:
        amount = Decimal(str(text))
    except InvalidOperation:
        raise ValidationError({"llm_monthly_budget_usd": message}) from None
    if (
        not amount.is_finite()
        or amount < 0
        or amount > MAX_LLM_BUDGET_USD
        or amount != amount.quantize(Decimal("0.01"))
    ):
        raise ValidationError({"llm_monthly_budget_usd": message})
    return amount.quantize(Decimal("0.01"))


def _clean_llm_models(value: object) -> dict[str, str]:
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise ValidationError(
            {"llm_models": 'A mapping of skill to model, e.g. {"interview-briefing": "..."}.'}
        )
    skills, models = llm_skill_slugs(), llm_priced_models()
    cleaned: dict[str, str] = {}
    for key, model in value.items():
        if key not in skills:
            raise ValidationError(
                {"llm_models": f"{str(key)[:80]!r} is not an LLM skill ({', '.join(skills)})."}
            )
        if model in (None, ""):
            continue  # the default model for that skill
        if not isinstance(model, str) or model not in models:
            raise ValidationError(
                {
                    "llm_models": f"{key}: {str(model)[:80]!r} has no price in the price table "
                    f"(choose one of {', '.join(models)})."
                }
            )
        cleaned[key] = model
    return dict(sorted(cleaned.items()))


def _clean_slug(org: Organization):
    def clean(value: object) -> str:
        field = Organization._meta.get_field("slug")
        try:
            value = field.clean(value, org)
        except ValidationError as exc:
            raise ValidationError({"slug": exc.messages}) from None
        if Organization.objects.filter(slug=value).exclude(pk=org.pk).exists():
            raise ValidationError({"slug": "Another organization has this slug."})
        return value

    return clean


def organization_changes_clean(*, org: Organization, changes: dict[str, Any]) -> dict[str, Any]:
    """The changes, cleaned; ValidationError keyed by field (every bad field, not only the
    first). Who may make them is organization_update's check."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError({name: "This cannot be changed here." for name in sorted(unknown)})
    cleaners = {
        "name": _clean_name,
        "time_zone": _clean_time_zone,
        "approval_policy": _clean_choice("approval_policy", Organization.ApprovalPolicy),
        "plan": _clean_choice("plan", Organization.Plan),
        "slug": _clean_slug(org),
        "llm_enabled": _clean_bool("llm_enabled"),
        "llm_monthly_budget_usd": _clean_llm_budget,
        "llm_when_unavailable": _clean_choice("llm_when_unavailable", Organization.LlmUnavailable),
        "llm_models": _clean_llm_models,
    }
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for field, value in changes.items():
        try:
            cleaned[field] = cleaners[field](value)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def organization_update(*, org: Organization, by: AbstractBaseUser, **changes: Any) -> Organization:
    """Change any of EDITABLE; PermissionDenied unless `by` administers `org` (the plan and
    slug: unless `by` is a superuser); ValidationError keyed by field."""
    org_admin_require(user=by, org=org)
    org = lock_for_update(org)
    cleaned = organization_changes_clean(org=org, changes=changes)
    operator = by.is_superuser and by.is_active
    if not operator:
        refused = [f for f in SUPERUSER_EDITABLE if f in cleaned and cleaned[f] != getattr(org, f)]
        if refused:
            raise PermissionDenied(f"Only an operator can change the {' and '.join(refused)}.")
    before = {field: getattr(org, field) for field in EDITABLE}
    for field, value in cleaned.items():
        setattr(org, field, value)
    after = {field: getattr(org, field) for field in EDITABLE}
    changed = audit_changes(before, after)
    if changed:
        org.save(update_fields=[*changed, "updated_at"])
        audit_record(
            org=org, actor=by, action=AuditAction.ORGANIZATION_UPDATE, target=org, changes=changed
        )
    return org
