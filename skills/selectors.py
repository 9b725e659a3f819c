"""Reads of the skill catalog. The catalog is the product's, the same for every org: any
signed-in surface may list the active skills."""

from __future__ import annotations

from django.db.models import QuerySet

from skills.models import Skill

SLUG_MAX = Skill._meta.get_field("slug").max_length


def skills_active() -> QuerySet[Skill]:
    """The skills a new automation may use, by name."""
    return Skill.objects.filter(active=True).order_by("name", "pk")


def skill_get_active(*, slug: str) -> Skill | None:
    """The active skill with this slug, or None (an unknown or switched-off slug, or one no
    skill could have: too long, or with a NUL, which PostgreSQL refuses in a query)."""
    if not isinstance(slug, str) or not slug or len(slug) > SLUG_MAX or "\x00" in slug:
        return None
    return skills_active().filter(slug=slug).first()
