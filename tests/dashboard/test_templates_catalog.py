"""The templates gallery's data: every template is a valid automation for a Pro org, the
ones not marked `needs_pro` for a Free org too, and the marked ones are refused on Free."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Organization
from automations.templates_catalog import TEMPLATES, template_get
from automations.validation import automation_spec_clean
from skills.models import Skill
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

ISSUE_CASES = {
    "weekly-pipeline-report",
    "daily-sourcing-recap",
    "new-applicant-alert",
    "stale-candidate-sla",
    "interview-prep-on-stage-change",
    "interview-briefing",
    "offer-accepted-alert",
}


def _raw(template: dict) -> dict:
    fields = dict(template["fields"])
    fields["skill"] = Skill.objects.get(slug=fields["skill"])
    return fields


def test_the_issue_asks_for_these_templates_and_keys_are_unique():
    keys = [t["key"] for t in TEMPLATES]
    assert len(keys) == len(set(keys))
    assert set(keys) == ISSUE_CASES
    for template in TEMPLATES:
        assert {"key", "title", "description", "fields"} <= set(template)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t["key"])
def test_every_template_is_valid_for_a_pro_org(template):
    org = OrganizationFactory(plan=Organization.Plan.PRO)
    spec = automation_spec_clean(org=org, raw=_raw(template))
    assert spec.skill.slug == template["fields"]["skill"]
    assert spec.time_zone == org.time_zone  # left out: the org's zone


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t["key"])
def test_free_templates_are_valid_on_free_and_pro_ones_refused(template):
    org = OrganizationFactory(plan=Organization.Plan.FREE)
    if template["needs_pro"]:
        with pytest.raises(ValidationError) as refused:
            automation_spec_clean(org=org, raw=_raw(template))
        assert "Free plan" in str(refused.value)
    else:
        automation_spec_clean(org=org, raw=_raw(template))


def test_template_get_returns_a_copy_and_none_for_unknown_keys():
    got = template_get("weekly-pipeline-report")
    assert got["fields"]["skill"] == "pipeline-report"
    got["fields"]["params"]["new_days"] = 99
    assert template_get("weekly-pipeline-report")["fields"]["params"]["new_days"] == 7
    assert template_get("nope") is None
    assert template_get("") is None
    assert template_get(None) is None  # type: ignore[arg-type]
