from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from accounts.models import Membership, Organization


def organizations_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Organization]:
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(memberships__user=user)


def admin_organizations_for_user(*, user: AbstractBaseUser) -> QuerySet[Organization]:
    return Organization.objects.filter(
        memberships__user=user, memberships__role=Membership.Role.ADMIN
    )


def membership_get(*, user: AbstractBaseUser, org: Organization) -> Membership | None:
    return Membership.objects.filter(user=user, organization=org).first()


def membership_require(*, user: AbstractBaseUser, org: Organization) -> Membership:
    """The user's membership of the org, or PermissionDenied: the check every write makes."""
    membership = membership_get(user=user, org=org)
    if membership is None:
        raise PermissionDenied(f"You are not a member of {org.name}.")
    return membership
