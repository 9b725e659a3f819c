from __future__ import annotations

import secrets

import factory
from django.contrib.auth import get_user_model

from accounts.models import Membership, Organization
from automations.models import Automation
from automations.services import automation_create
from skills.catalog import CATALOG
from skills.models import Skill

TEST_SKILLS = {
    "test-fails": "Always fails",
    "test-crashes": "Crashes",
    "test-slow": "Slow",
}


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    plan = Organization.Plan.PRO
    time_zone = "America/New_York"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password("pw-for-tests")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Membership.Role.MEMBER


def member(org: Organization, *, role: str = Membership.Role.MEMBER, **user_fields):
    user = UserFactory(**user_fields)
    MembershipFactory(user=user, organization=org, role=role)
    return user


def skill(slug: str) -> Skill:
    """The catalog skill (or a test plugin skill), created if a transactional test's flush
    removed it."""
    if slug in TEST_SKILLS:
        defaults = {
            "name": TEST_SKILLS[slug],
            "description": "test",
            "mode": "deterministic",
            "params_schema": {"type": "object"},
        }
    else:
        entry = next(e for e in CATALOG if e["slug"] == slug)
        defaults = {k: v for k, v in entry.items() if k != "slug"}
    return Skill.objects.get_or_create(slug=slug, defaults=defaults)[0]


def automation(
    *, org: Organization | None = None, owner=None, skill_slug: str = "pipeline-report", **kwargs
) -> Automation:
    """An automation made through the service, as every surface makes them."""
    org = org or OrganizationFactory()
    owner = owner or member(org)
    kwargs.setdefault("name", "Weekly pipeline")
    kwargs.setdefault("trigger_type", Automation.TriggerType.CRON)
    if kwargs["trigger_type"] == Automation.TriggerType.CRON:
        kwargs.setdefault("cron_expression", "0 9 * * 1")
    return automation_create(org=org, owner=owner, skill=skill(skill_slug), **kwargs)


def made_up_secret(label: str) -> str:
    """A made-up secret in the form the whole-suite leak check greps for
    (tests/log_leaks.py TEST_SECRET): any log line carrying one fails the suite."""
    return f"sk-test-secret-{label}-{secrets.token_hex(8)}"
