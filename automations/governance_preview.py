"""What the builder says before saving about the org's policies: the plan's count of active
automations, and whether a new automation would wait for an admin's approval and why. The
rules themselves live in automations.services (automation_create) and accounts.plans; this
explains them ahead of time, so it grows with them (the API/governance issue extends the
approval policy)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accounts import plans
from accounts.models import Membership, Organization
from automations.selectors import active_automation_count


def approval_note(
    *, org: Organization, membership: Membership, spec_or_raw: Mapping[str, Any] | Any
) -> str | None:
    """Why saving this new automation would leave it waiting for approval, or None when it
    would start at once (today's rule in automation_create: the org requires approval and
    the creator is not one of its admins; the spec is not consulted yet)."""
    if org.approval_policy != Organization.ApprovalPolicy.NONE and not membership.is_admin:
        return (
            f"This one would need an admin's approval before it runs, because {org.name} "
            "requires approval for automations created by members."
        )
    return None


def plan_note(*, org: Organization) -> str:
    """'Free plan: 4 of 5 active', or the plan's name with 'no limit'."""
    limits = plans.limits_for(org)
    active = active_automation_count(org=org)
    if limits.max_active_automations is None:
        return f"{limits.name} plan: {active} active, no limit."
    return f"{limits.name} plan: {active} of {limits.max_active_automations} active."


def plan_full(*, org: Organization) -> bool:
    """Whether one more active automation would pass the plan's limit."""
    limits = plans.limits_for(org)
    if limits.max_active_automations is None:
        return False
    return active_automation_count(org=org) >= limits.max_active_automations
