"""Reads of the skill catalog. The catalog is the product's, the same for every org: any
signed-in surface may list the active skills."""

from __future__ import annotations

from django.db.models import QuerySet

from skills.models import Skill


def skills_active() -> QuerySet[Skill]:
    """The skills a new automation may use, by name."""
    return Skill.objects.filter(active=True).order_by("name", "pk")


def skill_get_active(*, slug: str) -> Skill | None:
    """The active skill with this slug, or None (an unknown or switched-off slug)."""
    if not isinstance(slug, str) or not slug:
        return None
    return skills_active().filter(slug=slug).first()
