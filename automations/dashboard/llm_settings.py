"""/settings/llm/: the org's LLM settings (AI on/off, the month's budget and how much of it
is used, what a run does when the model cannot be used, the model per LLM skill) and whether
a key is configured (yes or no: the key itself is never shown). Org admins change them
through accounts.org_services.organization_update (the one validated, audited write path);
members see them read-only and a POST from them is refused there."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.models import Organization
from accounts.org_services import llm_priced_models, llm_skill_slugs, organization_update
from automations.dashboard.access import dashboard_page
from automations.llm_spend import llm_budget_status

PAGE = "dashboard/settings/llm.html"


def _changes(post) -> dict[str, Any]:
    """The form's fields as organization_update takes them (it judges every value)."""
    models = {}
    for slug in llm_skill_slugs():
        chosen = post.get(f"model_{slug}", "")
        if chosen:
            models[slug] = chosen
    return {
        "llm_enabled": post.get("llm_enabled") == "on",
        "llm_monthly_budget_usd": post.get("llm_monthly_budget_usd", "").strip(),
        "llm_when_unavailable": post.get("llm_when_unavailable", ""),
        "llm_models": models,
    }


def _context(request: HttpRequest, org: Organization, errors: dict | None) -> dict[str, Any]:
    budget = llm_budget_status(org=org, now=timezone.now())
    priced = llm_priced_models()
    return {
        "nav": "llm-settings",
        "org": org,
        "editable": request.workplace.is_admin,
        "budget": budget,
        "percent": round(budget.spent_fraction * 100),
        "key_configured": bool(settings.ANTHROPIC_API_KEY),
        "skills": [
            {
                "slug": slug,
                "default": settings.LLM_MODELS[slug],
                "chosen": org.llm_models.get(slug, ""),
            }
            for slug in llm_skill_slugs()
        ],
        "models": priced,
        "choices": Organization.LlmUnavailable.choices,
        "errors": errors or {},
    }


@require_http_methods(["GET", "HEAD", "POST"])
@dashboard_page
def llm_settings(request: HttpRequest) -> HttpResponse:
    org = request.workplace.org
    if request.method == "POST":
        try:
            organization_update(org=org, by=request.user, **_changes(request.POST))
        except ValidationError as exc:
            org.refresh_from_db()
            context = _context(request, org, exc.message_dict)
            return render(request, PAGE, context, status=422)
        messages.success(request, "Saved the LLM settings.")
        return redirect("dashboard:llm-settings")
    return render(request, PAGE, _context(request, org, None))


urls = [
    path("settings/llm/", llm_settings, name="llm-settings"),
]
