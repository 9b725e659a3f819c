"""Who an automation's runs are for, when they fire: its owner (the default, and the fast
path: no query at all), its chosen members, or every member of the org. Resolved at each
slot, never stored: "every member" is whoever is a member when the slot fires (people who
joined since are included), and anyone who left the org is dropped from a chosen list."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from accounts.models import Membership
from automations.models import Automation


def audience_user_ids(automation: Automation) -> list[int] | None:
    """The ids of the members one run each is made for, in id order; None for an
    owner-only automation (one run, for its owner)."""
    if automation.audience == Automation.Audience.OWNER:
        return None
    return audience_user_ids_bulk([automation]).get(automation.pk, [])


def audience_user_ids_bulk(automations: Iterable[Automation]) -> dict[int, list[int]]:
    """audience_user_ids for many automations in at most two queries (the scheduler's herd);
    owner-only automations are left out of the answer."""
    chosen = [a for a in automations if a.audience == Automation.Audience.MEMBERS]
    whole_org = [a for a in automations if a.audience == Automation.Audience.ALL_MEMBERS]
    out: dict[int, list[int]] = {}
    if whole_org:
        by_org: dict[int, list[int]] = defaultdict(list)
        rows = Membership.objects.filter(
            organization_id__in={a.organization_id for a in whole_org}
        ).values_list("organization_id", "user_id")
        for org_id, user_id in rows:
            by_org[org_id].append(user_id)
        for automation in whole_org:
            out[automation.pk] = sorted(by_org.get(automation.organization_id, []))
    if chosen:
        through = Automation.audience_members.through
        orgs = {a.pk: a.organization_id for a in chosen}
        members = set(
            Membership.objects.filter(organization_id__in=set(orgs.values())).values_list(
                "organization_id", "user_id"
            )
        )
        picked: dict[int, list[int]] = defaultdict(list)
        for automation_id, user_id in through.objects.filter(
            automation_id__in=list(orgs)
        ).values_list("automation_id", "user_id"):
            # A member who left the org gets nothing more from it.
            if (orgs[automation_id], user_id) in members:
                picked[automation_id].append(user_id)
        for automation in chosen:
            out[automation.pk] = sorted(picked.get(automation.pk, []))
    return out


def audience_label(automation: Automation) -> str:
    """Who it is for, for people: "Alice", "3 chosen members", "every member"."""
    if automation.audience == Automation.Audience.ALL_MEMBERS:
        return "every member of the org"
    if automation.audience == Automation.Audience.MEMBERS:
        count = automation.audience_members.count()
        return f"{count} chosen member{'' if count == 1 else 's'}"
    owner = automation.owner
    return owner.get_full_name() or owner.get_username()


def audience_people(*, org):
    """The org's members, by name: who an org admin may make an automation for."""
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(memberships__organization=org)
        .order_by("first_name", "last_name", "username", "pk")
    )
