"""Which organizations a user belongs to and which they administer: the one rule every
surface (admin, dashboard, API) scopes by.

The fetchers of each app (`automation_get_for_user`, `channel_get_for_user`, ...) build their
querysets from the pieces at the end of this module (`member_owned_q`, `org_admin_q`,
`acts_as_operator`) and fetch one row with `row_get_for_user`, so "who may see and change
what" reads the same for every kind of row."""

from __future__ import annotations

import uuid
from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from accounts.models import Membership, Organization

RowT = TypeVar("RowT", bound=Model)


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


# -- the pieces every fetcher is built from ---------------------------------------------------


def acts_as_operator(*, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Active superusers operate every org: every fetcher gives them every row (as
    `membership_acting` lets them act as any org's admin)."""
    return bool(user.is_authenticated and user.is_superuser and user.is_active)


def member_owned_q(
    *, user: AbstractBaseUser | AnonymousUser, owner_field: str, org_field: str = "organization"
) -> Q:
    """Rows whose owner (the path `owner_field`) is the user, in an org the user still
    belongs to: leaving an org leaves its rows behind."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    # A subquery rather than a join through memberships: no duplicate rows, no DISTINCT.
    member_of = Membership.objects.filter(user=user).values("organization")
    return Q(**{owner_field: user.pk, f"{org_field}__in": member_of})


def org_admin_q(*, user: AbstractBaseUser | AnonymousUser, org_field: str = "organization") -> Q:
    """Every row of the orgs the user administers."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    admin_of = Membership.objects.filter(user=user, role=Membership.Role.ADMIN).values(
        "organization"
    )
    return Q(**{f"{org_field}__in": admin_of})


def org_member_q(*, user: AbstractBaseUser | AnonymousUser, org_field: str = "organization") -> Q:
    """Every row of the orgs the user belongs to, in any role."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    return Q(**{f"{org_field}__in": Membership.objects.filter(user=user).values("organization")})


def row_get_for_user(
    *,
    readable: QuerySet[RowT],
    writable: QuerySet[RowT] | None,
    public_id: uuid.UUID | str,
    write: bool,
    what: str,
) -> RowT:
    """The one row of `readable` with this public id. Http404 when the user may not see it
    (a foreign row looks exactly like no row, and so does a malformed id); PermissionDenied
    when `write` is asked and the row is not in `writable` (they may see that it exists).
    `writable` None: whoever may see a row may change it."""
    try:
        row = readable.filter(public_id=public_id).first()
    except (ValidationError, ValueError):  # not a UUID: no row has that id
        row = None
    if row is None:
        raise Http404(f"No such {what}.")
    if write and writable is not None and not writable.filter(pk=row.pk).exists():
        raise PermissionDenied(f"You may see this {what} but not change it.")
    return row
