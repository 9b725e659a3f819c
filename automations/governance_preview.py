"""What the builder says before saving about the org's policies: the plan's count of active
automations, and whether a new automation would wait for an admin's approval and why. The
rules themselves live in automations.approval_policy and accounts.plans; this explains them
ahead of time with the same code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accounts import plans
from accounts.models import Membership, Organization
from automations.approval_policy import approval_reason
from automations.selectors import active_automation_count


def approval_note(
    *, org: Organization, membership: Membership, spec_or_raw: Mapping[str, Any] | Any
) -> str | None:
    """Why saving this new automation would leave it waiting for approval, or None when it
    would start at once: the rule automation_create applies (automations.approval_policy),
    read from the builder's form as it is."""
    reason = approval_reason(org=org, membership=membership, automation_or_spec=spec_or_raw)
    if reason is None:
        return None
    return f"This one would need an admin's approval before it runs. {reason}"


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
