"""Writes to memberships: who is in an organization and with which role. Every surface (the
admin's Organization inline and Membership pages, later the dashboard and API) calls these.

The rules:

- Only an admin of the organization (or a superuser) changes its memberships; nobody changes a
  membership of an org they do not administer, whatever other orgs they administer.
- A membership's user and organization never change: to move someone, remove them and invite
  them again, each step needing the right org's admin.
- Inviting: the user is named by their exact username or email address (no browsing of other
  orgs' people). An org admin may invite an active user who belongs to no organization, or only
  to organizations that this admin also administers: so nobody pulls another org's people (its
  admin, say) into their own org. A superuser may invite anyone. A refused and an unknown name
  get the same answer, so the form cannot be used to find out who has an account.
- An organization always keeps at least one admin: the last admin can be neither demoted nor
  removed (make someone else admin first).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from accounts.audit import AuditAction, audit_changes, audit_created, audit_record
from accounts.models import Membership, Organization
from accounts.selectors import admin_organizations_for_user, org_admin_require
from config.rows import lock_for_update


def invitable_user_find(
    *, by: AbstractBaseUser, org: Organization | None, identifier: str
) -> AbstractBaseUser:
    """The user `by` may add to `org`, named by exact username or email; else ValidationError
    on "user". `org` None: an organization being created (its admin is its creator)."""
    identifier = (identifier or "").strip()
    if not identifier or len(identifier) > 254:
        raise ValidationError({"user": "Enter the exact username or email address to invite."})
    users = get_user_model().objects.filter(
        Q(username=identifier) | Q(email__iexact=identifier), is_active=True
    )
    refused = ValidationError(
        {"user": f"No user you can invite is called {identifier!r} (exact username or email)."}
    )
    if len(users) != 1:  # none, or an email shared by several accounts: be exact
        raise refused
    user = users[0]
    if not by.is_superuser:
        allowed_orgs = set(admin_organizations_for_user(user=by).values_list("pk", flat=True))
        their_orgs = set(user.memberships.values_list("organization_id", flat=True))
        if not their_orgs <= allowed_orgs:
            raise refused
    if org is not None and org.pk and user.memberships.filter(organization=org).exists():
        raise ValidationError({"user": f"{user} is already a member of {org.name}."})
    return user


@transaction.atomic
def membership_invite(
    *, org: Organization, identifier: str, role: str, by: AbstractBaseUser
) -> Membership:
    org_admin_require(user=by, org=org)
    _check_role(role)
    user = invitable_user_find(by=by, org=org, identifier=identifier)
    membership = Membership.objects.create(user=user, organization=org, role=role)
    _audit(membership, by, AuditAction.MEMBERSHIP_ADD, changes=audit_created({"role": role}))
    return membership


def _audit(membership: Membership, by: AbstractBaseUser, action: str, **kwargs) -> None:
    user = membership.user
    audit_record(
        org=membership.organization,
        actor=by,
        action=action,
        target=membership,
        target_label=getattr(user, "email", "") or user.get_username(),
        **kwargs,
    )


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str, by: AbstractBaseUser) -> Membership:
    org_admin_require(user=by, org=membership.organization)
    _check_role(role)
    membership = lock_for_update(membership)
    if membership.role == role:
        return membership
    if membership.is_admin:
        _keep_one_admin(membership)
    was = membership.role
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    _audit(
        membership,
        by,
        AuditAction.MEMBERSHIP_ROLE_CHANGE,
        changes=audit_changes({"role": was}, {"role": role}),
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, by: AbstractBaseUser) -> None:
    org_admin_require(user=by, org=membership.organization)
    membership = lock_for_update(membership)
    if membership.is_admin:
        _keep_one_admin(membership)
    _audit(membership, by, AuditAction.MEMBERSHIP_REMOVE)
    membership.delete()


def _check_role(role: str) -> None:
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"Choose one of {', '.join(Membership.Role.values)}."})


def _keep_one_admin(leaving: Membership) -> None:
    # Lock the org row so two admins demoting each other at once cannot both pass.
    Organization.objects.select_for_update().filter(pk=leaving.organization_id).first()
    others = (
        Membership.objects.filter(
            organization_id=leaving.organization_id, role=Membership.Role.ADMIN
        )
        .exclude(pk=leaving.pk)
        .exists()
    )
    if not others:
        raise ValidationError(
            {
                "role": f"{leaving.user} is the last admin of {leaving.organization.name}; "
                "make someone else admin first."
            }
        )
