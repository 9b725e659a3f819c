"""The approval rule, in one place: which automations made or edited by members wait for an
admin's approval, and why. automation_create and automation_update apply it, the builder's
note (governance_preview.approval_note) explains it ahead of time, and the Approvals page and
"why didn't it fire?" say what it flagged.

The org's policy (Organization.approval_policy):
- none: nothing waits;
- all: every new automation, and every edit that changes its spec;
- external: automations that send outside the org (webhooks, Slack, Teams, email to an
  outside domain); an edit waits when it adds an outside destination;
- llm: automations whose skill is an LLM skill; an edit waits when the skill becomes one.
Org admins never wait: they are the ones who approve."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError

from accounts.models import AuditEvent, Membership, Organization
from automations.models import Automation
from automations.validation import FIELDS, AutomationSpec
from delivery.channel_services import channel_spec_check, clean_recipients
from delivery.models import DeliveryChannel
from skills.models import Skill
from skills.selectors import skill_get_active

Policy = Organization.ApprovalPolicy
# Channel kinds that always leave the org: their destination is a URL someone else runs.
OUTSIDE_KINDS = {
    DeliveryChannel.Kind.SLACK: "Slack",
    DeliveryChannel.Kind.TEAMS: "Microsoft Teams",
    DeliveryChannel.Kind.WEBHOOK: "webhook",
}


@dataclass(frozen=True)
class Subject:
    """What the rule looks at, from an automation, a validated spec or a builder's raw form:
    the spec's values (to tell an edit), the skill, and the destinations (the owner's email
    stands for an email channel with no recipients)."""

    values: Mapping[str, Any]
    skill: Skill | None
    channels: tuple[Any, ...]


def subject_of(automation: Automation) -> Subject:
    """The saved automation as the rule sees it (the "before" of an edit)."""
    values = {field: getattr(automation, field) for field in FIELDS if field != "channels"}
    values["channels"] = tuple(sorted(automation.delivery_channels.values_list("pk", flat=True)))
    return Subject(
        values=values, skill=automation.skill, channels=tuple(automation.delivery_channels.all())
    )


def _subject_of_spec(spec: AutomationSpec, *, before: Subject | None) -> Subject:
    values = spec.model_values()
    if spec.channels is None and before is not None:  # channels not given: unchanged
        channels = before.channels
    else:
        channels = tuple(spec.channels or ())
    values["channels"] = tuple(
        sorted(
            str(c.pk) if isinstance(c, DeliveryChannel) else repr(sorted(c.items()))
            for c in channels
        )
    )
    return Subject(values=values, skill=spec.skill, channels=channels)


def _subject_of_raw(org: Organization, raw: Mapping[str, Any]) -> Subject:
    """A half-filled form, read leniently (the builder's note before saving): a skill slug
    and the picked channels' public ids; anything that is not one is left out."""
    slug = raw.get("skill")
    skill = raw.get("skill") if isinstance(slug, Skill) else None
    if skill is None and isinstance(slug, str) and slug:
        skill = skill_get_active(slug=slug)
    picked = raw.getlist("channels") if hasattr(raw, "getlist") else raw.get("channels") or []
    channels = []
    for spec in picked if isinstance(picked, list | tuple) else []:
        try:
            channels.append(channel_spec_check(org=org, spec=spec))
        except ValidationError:
            continue
    return Subject(values=dict(raw), skill=skill, channels=tuple(channels))


def org_domains(org: Organization) -> set[str]:
    """The org's own email domains: the domains of its members' addresses. (A member with a
    public webmail address makes that domain "inside"; we accept that rather than keep a
    list of webmail providers.)"""
    addresses = org.memberships.values_list("user__email", flat=True)
    return {a.rpartition("@")[2].lower() for a in addresses if a and "@" in a}


def outside_destinations(
    *, org: Organization, channels: Iterable[Any], domains: set[str] | None = None
) -> dict[str, str]:
    """{key: what it is} for each destination outside the org: every Slack, Teams and webhook
    channel, and each email recipient whose domain is not one of the org's. An email channel
    with no recipients goes to its owner, a member: inside."""
    domains = org_domains(org) if domains is None else domains
    out: dict[str, str] = {}
    for channel in channels:
        if isinstance(channel, DeliveryChannel):
            if channel.kind in OUTSIDE_KINDS:
                out[f"channel:{channel.pk}"] = f"{OUTSIDE_KINDS[channel.kind]} “{channel.name}”"
                continue
            if channel.kind != DeliveryChannel.Kind.EMAIL:
                continue
            config = channel.config or {}
        elif isinstance(channel, Mapping) and channel.get("kind") == "email":
            config = channel
        else:
            continue
        try:
            recipients = clean_recipients(config.get("to"))
        except ValidationError:
            recipients = []
        for address in recipients:
            if address.rpartition("@")[2].lower() not in domains:
                out[f"email:{address.lower()}"] = f"email to {address}"
    return out


def _is_llm(skill: Skill | None) -> bool:
    return skill is not None and skill.mode == Skill.Mode.LLM


def _listed(descriptions: Iterable[str]) -> str:
    items = list(descriptions)
    shown = ", ".join(items[:5])
    return shown + (f" and {len(items) - 5} more" if len(items) > 5 else "")


def policy_reason(
    *, org: Organization, subject: Subject, before: Subject | None = None
) -> str | None:
    """The policy's reason for `subject` (new, or an edit of `before`), whoever acts."""
    policy = org.approval_policy
    if policy == Policy.ALL:
        if before is None:
            return f"{org.name} requires approval for every new automation."
        if dict(subject.values) != dict(before.values):
            return f"{org.name} requires approval for every edited automation."
        return None
    if policy == Policy.EXTERNAL:
        now = outside_destinations(org=org, channels=subject.channels)
        if before is not None:
            was = outside_destinations(org=org, channels=before.channels)
            now = {key: text for key, text in now.items() if key not in was}
        if not now:
            return None
        return (
            f"It sends outside {org.name} ({_listed(now.values())}), and {org.name} requires "
            "approval for automations that do."
        )
    if policy == Policy.LLM:
        if not _is_llm(subject.skill) or (before is not None and _is_llm(before.skill)):
            return None
        return (
            f"It uses the LLM skill “{subject.skill.name}”, and {org.name} requires approval "
            "for automations that use LLM skills."
        )
    return None


def approval_reason(
    *,
    org: Organization,
    membership: Membership | None,
    automation_or_spec: Automation | AutomationSpec | Subject | Mapping[str, Any],
    before: Automation | Subject | None = None,
) -> str | None:
    """Why saving this (new, or an edit of `before`) must wait for an admin's approval, or
    None when it need not. `membership` is the role of whoever saves it; org admins (and
    the system, None) never need approval."""
    if membership is None or membership.is_admin or org.approval_policy == Policy.NONE:
        return None
    if isinstance(before, Automation):
        before = subject_of(before)
    subject = automation_or_spec
    if isinstance(subject, Automation):
        subject = subject_of(subject)
    elif isinstance(subject, AutomationSpec):
        subject = _subject_of_spec(subject, before=before)
    elif not isinstance(subject, Subject):
        subject = _subject_of_raw(org, subject)
    return policy_reason(org=org, subject=subject, before=before)


def flagged(*, automation: Automation) -> str:
    """What the policy flags on a waiting automation today (the Approvals page's "why"),
    whoever its owner is."""
    reason = policy_reason(org=automation.organization, subject=subject_of(automation))
    if reason:
        return reason
    label = Policy(automation.organization.approval_policy).label
    return f"The policy ({label.lower()}) no longer flags it; approve it to start it."


def pending_since(automation: Automation) -> datetime:
    """When it began waiting: its last resubmission (an edit that sent it back, from the
    audit log), else its creation."""
    last = (
        AuditEvent.objects.filter(
            organization_id=automation.organization_id,
            action="automation.resubmit",
            target_type="automation",
            target_id=str(automation.public_id),
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return last or automation.created_at


def approvers(org: Organization) -> list[str]:
    """Who can approve: the org's admins, by address (at most five, then "and N more")."""
    emails = list(
        org.memberships.filter(role=Membership.Role.ADMIN)
        .order_by("user__email", "pk")
        .values_list("user__email", flat=True)
    )
    shown = [e for e in emails if e][:5]
    if len(emails) > len(shown):
        shown.append(f"{len(emails) - len(shown)} more")
    return shown
