"""The templates gallery: one card per template of automations.templates_catalog, each
opening the builder pre-filled (`/automations/new/?template=<key>`)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from accounts.plans import limits_for
from automations.dashboard.access import dashboard_page
from automations.templates_catalog import TEMPLATES
from skills.catalog import CATALOG
from skills.models import Skill

# The catalog's own words stand in for a skill row that is not there (yet).
_CATALOG = {entry["slug"]: entry for entry in CATALOG}


def gallery_cards(*, org) -> list[dict]:
    """The templates as cards: each with its skill's name and whether the skill runs today
    (an `llm` skill fails "not available" until the LLM runner ships) and whether this org's
    plan allows it."""
    slugs = {t["fields"]["skill"] for t in TEMPLATES}
    skills = {s.slug: s for s in Skill.objects.filter(slug__in=slugs)}
    on_free = limits_for(org).at_most_daily
    cards = []
    for template in TEMPLATES:
        slug = template["fields"]["skill"]
        skill = skills.get(slug) or _CATALOG.get(slug, {"name": slug, "mode": ""})
        name = skill.name if isinstance(skill, Skill) else skill["name"]
        mode = skill.mode if isinstance(skill, Skill) else skill["mode"]
        cards.append(
            {
                **template,
                "skill_name": name,
                "llm": mode == Skill.Mode.LLM,
                "blocked_by_plan": template["needs_pro"] and on_free,
            }
        )
    return cards


@require_GET
@dashboard_page
def templates_gallery(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "dashboard/automations/templates.html",
        {"nav": "automations", "cards": gallery_cards(org=request.workplace.org)},
    )


urls = [path("templates/", templates_gallery, name="templates")]
