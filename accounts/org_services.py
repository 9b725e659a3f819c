"""Writes to an organization's own settings. Every surface (the admin's Organization page
today, the dashboard and API later) calls `organization_update`, so the rules are here once.

The rules:

- An org's admins change its name, time zone and approval policy.
- Its plan and slug are operators' business (billing, URLs): only a superuser changes them.
- Every change is audited ("organization.update") with the fields that changed.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.audit import AuditAction, audit_changes, audit_record
from accounts.models import Organization, validate_time_zone
from accounts.selectors import org_admin_require

ADMIN_EDITABLE = ("name", "time_zone", "approval_policy")
SUPERUSER_EDITABLE = ("slug", "plan")
EDITABLE = (*ADMIN_EDITABLE, *SUPERUSER_EDITABLE)
MAX_NAME_CHARS = Organization._meta.get_field("name").max_length


def _clean_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError({"name": "Give the organization a name."})
    value = value.strip()
    if len(value) > MAX_NAME_CHARS or "\x00" in value:
        raise ValidationError({"name": f"At most {MAX_NAME_CHARS} characters, no NUL."})
    return value


def _clean_time_zone(value: object) -> str:
    try:
        validate_time_zone(value)
    except ValidationError as exc:
        raise ValidationError({"time_zone": exc.messages}) from None
    return value  # type: ignore[return-value]


def _clean_choice(field: str, choices: type) -> Any:
    def clean(value: object) -> str:
        if value not in choices.values:
            raise ValidationError({field: f"Choose one of {', '.join(choices.values)}."})
        return value  # type: ignore[return-value]

    return clean


def _clean_slug(org: Organization):
    def clean(value: object) -> str:
        field = Organization._meta.get_field("slug")
        try:
            value = field.clean(value, org)
        except ValidationError as exc:
            raise ValidationError({"slug": exc.messages}) from None
        if Organization.objects.filter(slug=value).exclude(pk=org.pk).exists():
            raise ValidationError({"slug": "Another organization has this slug."})
        return value

    return clean


@transaction.atomic
def organization_update(*, org: Organization, by: AbstractBaseUser, **changes: Any) -> Organization:
    """Change any of EDITABLE; PermissionDenied unless `by` administers `org` (the plan and
    slug: unless `by` is a superuser); ValidationError keyed by field."""
    org_admin_require(user=by, org=org)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError({name: "This cannot be changed here." for name in sorted(unknown)})
    org = Organization.objects.select_for_update().get(pk=org.pk)
    operator = by.is_superuser and by.is_active
    if not operator:
        refused = [f for f in SUPERUSER_EDITABLE if f in changes and changes[f] != getattr(org, f)]
        if refused:
            raise PermissionDenied(f"Only an operator can change the {' and '.join(refused)}.")
    cleaners = {
        "name": _clean_name,
        "time_zone": _clean_time_zone,
        "approval_policy": _clean_choice("approval_policy", Organization.ApprovalPolicy),
        "plan": _clean_choice("plan", Organization.Plan),
        "slug": _clean_slug(org),
    }
    before = {field: getattr(org, field) for field in EDITABLE}
    for field, value in changes.items():
        setattr(org, field, cleaners[field](value))
    after = {field: getattr(org, field) for field in EDITABLE}
    changed = audit_changes(before, after)
    if changed:
        org.save(update_fields=[*changed, "updated_at"])
        audit_record(
            org=org, actor=by, action=AuditAction.ORGANIZATION_UPDATE, target=org, changes=changed
        )
    return org
