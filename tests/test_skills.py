"""The deterministic skills on the sandbox ATS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from automations.engine import build_context
from skills.models import Skill
from skills.registry import implementation_for, validate_params
from tests.factories import automation, skill
from webhooks.models import SandboxApplication, SandboxCandidate

pytestmark = pytest.mark.django_db


def run_skill(org, slug, params=None, trigger=None, since=None):
    auto = automation(org=org, skill_slug=slug, params=params or {})
    auto.last_run_at = since
    ctx = build_context(automation=auto, trigger=trigger or {}, now=timezone.now())
    return implementation_for(auto.skill)(ctx)


def test_pipeline_report_counts_active_applications_by_stage(sandbox_org):
    result = run_skill(sandbox_org, "pipeline-report")
    active = SandboxApplication.objects.filter(organization=sandbox_org, status="active").count()
    assert result.data["total_active"] == active
    for row in result.data["jobs"]:
        assert sum(s["count"] for s in row["stages"]) == row["active"]
    assert f"**{active} active applications**" in result.body_markdown
    assert result.summary.startswith("4 open jobs")


def test_stale_candidates_lists_only_idle_active_ones_oldest_first(sandbox_org):
    result = run_skill(sandbox_org, "stale-candidates", {"days": 10})
    cutoff = timezone.now() - timedelta(days=10)
    expected = SandboxApplication.objects.filter(
        organization=sandbox_org, status="active", last_activity_at__lt=cutoff
    ).count()
    assert result.data["count"] == expected > 0
    idle = [c["idle_days"] for c in result.data["candidates"]]
    assert idle == sorted(idle, reverse=True)


def test_stale_candidates_with_none_is_empty_and_says_so(sandbox_org):
    SandboxApplication.objects.update(last_activity_at=timezone.now())
    result = run_skill(sandbox_org, "stale-candidates", {"days": 10})
    assert result.empty and "Nobody has been idle" in result.body_markdown


def test_new_candidate_alert_since_last_run(sandbox_org):
    since = timezone.now() - timedelta(days=3)
    result = run_skill(sandbox_org, "new-candidate-alert", since=since)
    expected = SandboxApplication.objects.filter(applied_at__gte=since).count()
    assert result.data["count"] == expected


def test_new_candidate_alert_from_an_event():
    from tests.factories import OrganizationFactory

    result = run_skill(
        OrganizationFactory(),
        "new-candidate-alert",
        trigger={"candidate": {"name": "Zoë Müller"}, "application": {"job_name": "Data Engineer"}},
    )
    assert "**Zoë Müller** applied for Data Engineer" in result.body_markdown
    assert "Zoë" not in result.summary


def test_sourcing_recap_by_source(sandbox_org):
    result = run_skill(sandbox_org, "sourcing-recap", {"days": 45})
    total = SandboxCandidate.objects.filter(
        organization=sandbox_org, sourced_at__gte=timezone.now() - timedelta(days=45)
    ).count()
    assert result.data["candidates"] == total
    assert sum(s["count"] for s in result.data["by_source"]) == total


def test_offer_accepted_alert_lists_hires_since_last_run(sandbox_org):
    result = run_skill(
        sandbox_org, "offer-accepted-alert", since=timezone.now() - timedelta(days=60)
    )
    hired = SandboxApplication.objects.filter(organization=sandbox_org, status="hired").count()
    assert result.data["count"] == hired


def test_skills_only_see_their_own_orgs_data(sandbox_org):
    from tests.factories import OrganizationFactory

    result = run_skill(OrganizationFactory(), "pipeline-report")
    assert result.data["total_active"] == 0 and "No open jobs" in result.body_markdown


@pytest.mark.parametrize(
    "slug", ["interview-prep", "interview-briefing", "interview-followup", "candidate-email-draft"]
)
def test_every_llm_skill_of_the_catalog_has_an_implementation(slug):
    from skills.llm.skills import LLM_SKILLS

    assert callable(implementation_for(skill(slug)))
    assert LLM_SKILLS[slug].slug == slug


def test_catalog_is_complete():
    slugs = set(Skill.objects.values_list("slug", flat=True))
    assert {
        "pipeline-report",
        "sourcing-recap",
        "new-candidate-alert",
        "stale-candidates",
        "offer-accepted-alert",
        "interview-prep",
        "interview-briefing",
        "interview-followup",
        "candidate-email-draft",
    } <= slugs


def test_params_defaults_and_errors():
    stale = skill("stale-candidates")
    assert validate_params(skill=stale, params={}) == {"days": 14}
    with pytest.raises(ValueError, match="days: 0 is less than the minimum of 1"):
        validate_params(skill=stale, params={"days": 0})
    with pytest.raises(ValueError, match="Additional properties"):
        validate_params(skill=stale, params={"dayz": 3})
