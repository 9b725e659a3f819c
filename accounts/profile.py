"""A person's own settings (UserProfile) and the org they work in: read and written only
here, so the dashboard, the API and the MCP server agree on which org and zone apply."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import Membership, Organization, UserProfile, validate_time_zone


@dataclass(frozen=True)
class Workplace:
    """Who the user is acting as right now: the org, their membership of it, and the zone
    their times are shown in (their own, else the org's)."""

    org: Organization
    membership: Membership
    time_zone: str
    # Every org they belong to, for the switcher (name order).
    orgs: tuple[Organization, ...]

    @property
    def is_admin(self) -> bool:
        return self.membership.is_admin


def profile_for(*, user: AbstractBaseUser) -> UserProfile:
    """The user's profile, made on first use."""
    profile, _ = UserProfile.objects.get_or_create(user=user)
    return profile


def workplace_for(*, user: AbstractBaseUser) -> Workplace | None:
    """The org the user is working in (their chosen one while they still belong to it, else
    their first by name) or None for someone in no org. Two queries."""
    memberships = list(
        Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by("organization__name", "organization__pk")
    )
    if not memberships:
        return None
    profile = UserProfile.objects.filter(user=user).first()
    chosen = profile.current_organization_id if profile else None
    membership = next((m for m in memberships if m.organization_id == chosen), memberships[0])
    own_zone = profile.time_zone if profile else ""
    return Workplace(
        org=membership.organization,
        membership=membership,
        time_zone=own_zone or membership.organization.time_zone,
        orgs=tuple(m.organization for m in memberships),
    )


@transaction.atomic
def org_switch(*, user: AbstractBaseUser, org_public_id) -> Organization:
    """Work in another of the user's orgs. PermissionDenied for an org they are not in (or
    no such org: the two look the same)."""
    try:
        membership = (
            Membership.objects.select_related("organization")
            .filter(user=user, organization__public_id=org_public_id)
            .first()
        )
    except (ValidationError, ValueError):  # not a UUID
        membership = None
    if membership is None:
        raise PermissionDenied("You are not a member of that organization.")
    profile = profile_for(user=user)
    profile.current_organization = membership.organization
    profile.save(update_fields=["current_organization", "updated_at"])
    return membership.organization


@transaction.atomic
def profile_update(*, user: AbstractBaseUser, time_zone: str) -> UserProfile:
    """Set the user's own time zone ("" to follow the org's). ValidationError keyed by field."""
    time_zone = (time_zone or "").strip() if isinstance(time_zone, str) else time_zone
    if time_zone:
        try:
            validate_time_zone(time_zone)
        except ValidationError as exc:
            raise ValidationError({"time_zone": exc.messages}) from None
    profile = profile_for(user=user)
    profile.time_zone = time_zone or ""
    profile.save(update_fields=["time_zone", "updated_at"])
    return profile
