"""Which organizations a user belongs to and which they administer: the one rule every
surface (admin, dashboard, API) scopes by."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from accounts.models import Membership, Organization


def organizations_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Organization]:
    """The orgs the user is a member of, in any role."""
    if not user.is_authenticated or not user.is_active:
        return Organization.objects.none()
    return Organization.objects.filter(memberships__user=user)


def admin_organizations_for_user(
    *, user: AbstractBaseUser | AnonymousUser
) -> QuerySet[Organization]:
    """The orgs where the user is an ADMIN: the only ones whose data they may change."""
    if not user.is_authenticated or not user.is_active:
        return Organization.objects.none()
    return Organization.objects.filter(
        memberships__user=user, memberships__role=Membership.Role.ADMIN
    )


def is_org_admin(*, user: AbstractBaseUser | AnonymousUser, org: Organization) -> bool:
    return admin_organizations_for_user(user=user).filter(pk=org.pk).exists()


def membership_get(*, user: AbstractBaseUser, org: Organization) -> Membership | None:
    return Membership.objects.filter(user=user, organization=org).first()


def membership_require(*, user: AbstractBaseUser, org: Organization) -> Membership:
    """The user's membership of the org, or PermissionDenied: the check every write makes."""
    membership = membership_get(user=user, org=org)
    if membership is None:
        raise PermissionDenied(f"You are not a member of {org.name}.")
    return membership


def membership_acting(*, user: AbstractBaseUser, org: Organization) -> Membership:
    """The role the user acts in for the org: their membership, or for an active superuser who
    is not a member an admin's role (unsaved: superusers operate every org, as the admin lets
    them); PermissionDenied for anyone else."""
    if getattr(user, "is_superuser", False) and user.is_active:
        membership = membership_get(user=user, org=org)
        return membership or Membership(user=user, organization=org, role=Membership.Role.ADMIN)
    return membership_require(user=user, org=org)


def org_admin_require(*, user: AbstractBaseUser, org: Organization) -> None:
    """PermissionDenied unless the user administers the org (superusers do: they operate it)."""
    if getattr(user, "is_superuser", False) and user.is_active:
        return
    if not is_org_admin(user=user, org=org):
        raise PermissionDenied(f"Only an admin of {org.name} can do this.")
