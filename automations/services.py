"""Writes to automations. Every surface (admin, dashboard, API, commands) calls these, so the
same rules and messages apply everywhere. Each service is one transaction that keeps the
automation, its next_run_at and its PeriodicTask record in step."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from accounts import plans
from accounts.audit import AuditAction, audit_changes, audit_created, audit_record
from accounts.models import Membership, Organization
from accounts.selectors import membership_acting, membership_get, membership_require
from automations.approval_policy import approval_reason, subject_of
from automations.models import Automation
from automations.scheduling import cron
from automations.scheduling.schedule_records import periodic_task_remove, periodic_task_sync
from automations.selectors import automations_for_user
from automations.validation import (
    AUDIENCE_FIELDS,
    FIELDS,
    SCHEDULE_FIELDS,
    AudienceSpec,
    audience_spec_clean,
    automation_spec_clean,
    check_plan_frequency,
)
from config.rows import lock_for_update
from delivery.channel_services import channel_from_spec
from delivery.notify import notify_automation_reviewed
from skills.models import Skill

logger = logging.getLogger(__name__)

# What a user may set, on create and by edit: every field of the validated spec.
EDITABLE = frozenset(FIELDS)


def automation_check_can_manage(
    *, automation: Automation, by: AbstractBaseUser | None
) -> Membership | None:
    """PermissionDenied unless `by` may change the automation, by the one rule the fetchers
    use (`automations_for_user(write=True)`); returns the role they act in. None `by` is the
    system (scheduler, engine, management commands)."""
    if by is None:
        return None
    # First: a non-member is told so, whatever the automation.
    membership = membership_acting(user=by, org=automation.organization)
    if not automations_for_user(user=by, write=True).filter(pk=automation.pk).exists():
        if not Automation.objects.filter(pk=automation.pk).exists():
            # Deleted by another request since the caller fetched it.
            raise Http404("That automation no longer exists.")
        raise PermissionDenied("Only the automation's owner or an org admin can change it.")
    return membership


def _audit_snapshot(automation: Automation) -> dict[str, Any]:
    """The editable fields as the audit log compares them (channels by name, the skill by
    slug), so an edit logs only what changed."""
    values = {field: getattr(automation, field) for field in EDITABLE if field != "channels"}
    values["skill"] = automation.skill.slug if automation.skill_id else None
    values["owner"] = automation.owner.get_username() if automation.owner_id else None
    values["audience"] = automation.audience
    if automation.pk:
        values["channels"] = sorted(str(c) for c in automation.delivery_channels.all())
        values["audience_members"] = sorted(
            u.get_username() for u in automation.audience_members.all()
        )
    return values


def _audit(automation: Automation, by: AbstractBaseUser | None, action: str, **kwargs) -> None:
    audit_record(org=automation.organization, actor=by, action=action, target=automation, **kwargs)


def _lock_org_and_check_count(*, org: Organization, excluding: Automation | None = None) -> None:
    # Lock the org row so two concurrent enables cannot both pass the count check.
    Organization.objects.select_for_update().filter(pk=org.pk).first()
    active = Automation.objects.filter(organization=org, status=Automation.Status.ACTIVE)
    if excluding is not None and excluding.pk:
        active = active.exclude(pk=excluding.pk)
    plans.check_active_automation_count(org=org, active_now=active.count())


def compute_next_run_at(automation: Automation, *, after=None):
    after = after or timezone.now()
    if automation.status != Automation.Status.ACTIVE:
        return None
    if automation.trigger_type == Automation.TriggerType.CRON:
        return cron.next_fire(automation.cron_expression, automation.time_zone, after)
    if automation.trigger_type == Automation.TriggerType.POLL:
        return after + timedelta(seconds=automation.poll_interval_seconds)
    return None


@transaction.atomic
def automation_create(
    *,
    org: Organization,
    owner: AbstractBaseUser,
    name: str,
    skill: Skill,
    trigger_type: str,
    params: dict | None = None,
    cron_expression: str = "",
    time_zone: str | None = None,
    event_type: str = "",
    event_filter: dict | None = None,
    offset_minutes: int | None = None,
    poll_interval_seconds: int | None = None,
    channels: list | None = None,
    catch_up: str = Automation.CatchUp.LATEST,
    retry_limit: int = 3,
    by: AbstractBaseUser | None = None,
    audience: str | None = None,
    audience_members: list | None = None,
) -> Automation:
    """`by`: who is creating it, when not the owner (an org admin making it for another
    member); `audience`/`audience_members`: who gets its runs (org admins only; see
    automations.validation.audience_spec_clean)."""
    acting = _acting_membership(org=org, by=by, owner=owner)
    audience_raw: dict[str, Any] = {"owner": owner}
    if audience is not None:
        audience_raw["audience"] = audience
    if audience_members is not None:
        audience_raw["audience_members"] = audience_members
    who = audience_spec_clean(
        org=org,
        acting_is_admin=acting.is_admin,
        acting_user=by or owner,
        raw=audience_raw,
        trigger_type=trigger_type,
    )
    spec = automation_spec_clean(
        org=org,
        raw={
            "name": name,
            "skill": skill,
            "params": params,
            "trigger_type": trigger_type,
            "cron_expression": cron_expression,
            "time_zone": time_zone,
            "event_type": event_type,
            "event_filter": event_filter,
            "offset_minutes": offset_minutes,
            "poll_interval_seconds": poll_interval_seconds,
            "channels": channels,
            "catch_up": catch_up,
            "retry_limit": retry_limit,
        },
    )
    status = Automation.Status.ACTIVE
    if approval_reason(org=org, membership=acting, automation_or_spec=spec):
        status = Automation.Status.PENDING_APPROVAL
    else:
        _lock_org_and_check_count(org=org)

    automation = Automation(organization=org, owner=owner, status=status, **spec.model_values())
    automation.audience = who.audience
    automation.next_run_at = compute_next_run_at(automation)
    automation.save()
    automation.audience_members.set(who.members)
    _set_channels(automation, spec.channels)
    periodic_task_sync(automation=automation)
    _audit(
        automation,
        by or owner,
        AuditAction.AUTOMATION_CREATE,
        changes=audit_created(_audit_snapshot(automation)),
    )
    logger.info("automation %s created by user %s (%s)", automation.pk, owner.pk, status)
    return automation


@transaction.atomic
def automation_update(
    *, automation: Automation, by: AbstractBaseUser | None, **changes: Any
) -> Automation:
    membership = automation_check_can_manage(automation=automation, by=by)
    automation = lock_for_update(automation)
    who_raw = {field: changes.pop(field) for field in AUDIENCE_FIELDS if field in changes}
    who = None
    if who_raw:
        who = audience_spec_clean(
            org=automation.organization,
            # None `by` is the system (commands, the engine): it may set anything.
            acting_is_admin=membership is None or membership.is_admin,
            acting_user=by,
            raw=who_raw,
            existing=automation,
            trigger_type=changes.get("trigger_type"),
        )
    before = _audit_snapshot(automation)
    spec = automation_spec_clean(org=automation.organization, raw=changes, existing=automation)
    if who is None and automation.audience != Automation.Audience.OWNER:
        # A trigger change may make the saved audience invalid (relative: owner only).
        who = audience_spec_clean(
            org=automation.organization,
            acting_is_admin=True,
            acting_user=by,
            raw={},
            existing=automation,
            trigger_type=spec.trigger_type,
        )
    before_subject = subject_of(automation)
    schedule_changed = any(
        getattr(spec, field) != getattr(automation, field) for field in SCHEDULE_FIELDS
    )
    for field, value in spec.model_values().items():
        setattr(automation, field, value)
    if schedule_changed:
        # The new schedule takes effect at the scheduler's next tick.
        automation.next_run_at = compute_next_run_at(automation)
    if who is not None:
        _set_audience(automation, who)
    automation.save()
    if who is not None:
        automation.audience_members.set(who.members)
    if spec.channels is not None:
        _set_channels(automation, spec.channels)
    _review_again_if_covered(
        automation=automation, membership=membership, by=by, before=before_subject
    )
    periodic_task_sync(automation=automation)
    changed = audit_changes(before, _audit_snapshot(automation))
    if changed:  # a save that changed nothing is not a change
        _audit(automation, by, AuditAction.AUTOMATION_UPDATE, changes=changed)
    return automation


def _acting_membership(
    *, org: Organization, by: AbstractBaseUser | None, owner: AbstractBaseUser
) -> Membership:
    """The role of whoever creates the automation: the owner themself (who must be a
    member), or `by`, who must be an org admin to create one for another member."""
    if by is None or by.pk == owner.pk:
        return membership_require(user=owner, org=org)
    acting = membership_acting(user=by, org=org)
    if not acting.is_admin:
        raise ValidationError(
            {"owner": "Only an org admin can make an automation for another member."}
        )
    if membership_get(user=owner, org=org) is None:
        raise ValidationError({"owner": f"The owner must be a member of {org.name}."})
    return acting


def _set_audience(automation: Automation, who: AudienceSpec) -> None:
    automation.owner = who.owner
    automation.audience = who.audience


def _review_again_if_covered(
    *, automation: Automation, membership: Membership | None, by, before
) -> None:
    """After an edit (saved, channels set): an approved automation edited by a member in a way
    the policy covers waits for approval again; a rejected one edited by its owner is
    resubmitted. Judged on what was saved, so a shorthand channel and the channel it became
    compare equal."""
    if by is None or membership is None:
        return
    status = automation.status
    if status == Automation.Status.REJECTED:
        if automation.owner_id != by.pk or subject_of(automation) == before:
            return
        reason = "Edited by its owner after it was rejected."
    elif status in (Automation.Status.ACTIVE, Automation.Status.PAUSED):
        reason = approval_reason(
            org=automation.organization,
            membership=membership,
            automation_or_spec=automation,
            before=before,
        )
        if not reason:
            return
    else:
        return
    automation.status = Automation.Status.PENDING_APPROVAL
    automation.next_run_at = None
    automation.paused_reason = ""
    automation.save(update_fields=["status", "next_run_at", "paused_reason", "updated_at"])
    audit_record(
        org=automation.organization,
        actor=by,
        action="automation.resubmit",
        target=automation,
        changes={"status": {"from": status, "to": automation.status}},
        note=reason,
    )


def _set_channels(automation: Automation, specs: tuple | None) -> None:
    """The spec's channels (DeliveryChannels or shorthands, already checked); None or empty:
    the owner's inbox."""
    channels = [
        channel_from_spec(org=automation.organization, owner=automation.owner, spec=spec)
        for spec in (specs or [{"kind": "in_app"}])
    ]
    automation.delivery_channels.set(channels)


@transaction.atomic
def automation_pause(
    *, automation: Automation, by: AbstractBaseUser | None, reason: str = ""
) -> Automation:
    automation_check_can_manage(automation=automation, by=by)
    automation = lock_for_update(automation)
    if automation.status == Automation.Status.PENDING_APPROVAL:
        # Paused, it could then be resumed by its owner: approval would be skipped.
        raise ValidationError(
            "This automation is waiting for an admin's approval; it cannot be paused."
        )
    if automation.status == Automation.Status.REJECTED:
        raise ValidationError(REJECTED_MESSAGE)
    was = automation.status
    automation.status = Automation.Status.PAUSED
    automation.paused_reason = str(reason or "")[:300]
    automation.next_run_at = None
    automation.save(update_fields=["status", "paused_reason", "next_run_at", "updated_at"])
    periodic_task_sync(automation=automation)
    _audit(
        automation,
        by,
        AuditAction.AUTOMATION_PAUSE,
        changes=audit_changes({"status": was}, {"status": automation.status}),
        # Not the last error an automatic pause quotes: it can name a candidate, and the log
        # keeps no personal data (retention purges it from the automation itself).
        note=automation.paused_reason.split("Last error:", 1)[0].strip(),
    )
    return automation


@transaction.atomic
def automation_resume(*, automation: Automation, by: AbstractBaseUser | None) -> Automation:
    automation_check_can_manage(automation=automation, by=by)
    automation = lock_for_update(automation)
    if automation.status == Automation.Status.PENDING_APPROVAL:
        raise ValidationError("This automation is waiting for an admin's approval.")
    if automation.status == Automation.Status.REJECTED:
        raise ValidationError(REJECTED_MESSAGE)
    if automation.status == Automation.Status.ACTIVE:
        return automation
    was = automation.status
    automation = _activate(automation)
    _audit(
        automation,
        by,
        AuditAction.AUTOMATION_RESUME,
        changes=audit_changes({"status": was}, {"status": automation.status}),
    )
    return automation


REJECTED_MESSAGE = (
    "This automation was rejected by an admin; edit it to send it for approval again."
)
MAX_REVIEW_NOTE = Automation._meta.get_field("review_note").max_length


def _pending_for_review(*, automation: Automation, by: AbstractBaseUser, verb: str) -> Automation:
    """The automation, locked, for an org admin's review; PermissionDenied for anyone else,
    ValidationError unless it is waiting for approval."""
    membership = membership_acting(user=by, org=automation.organization)
    if not membership.is_admin:
        raise PermissionDenied(f"Only an org admin can {verb} automations.")
    automation = lock_for_update(automation)
    if automation.status != Automation.Status.PENDING_APPROVAL:
        raise ValidationError(
            f"“{automation.name}” is not waiting for approval (it is "
            f"{automation.get_status_display().lower()})."
        )
    return automation


@transaction.atomic
def automation_approve(*, automation: Automation, by: AbstractBaseUser) -> Automation:
    """Start a waiting automation (an org admin's decision): audited, and its owner told."""
    automation = _pending_for_review(automation=automation, by=by, verb="approve")
    automation = _activate(automation)
    automation.reviewed_by, automation.reviewed_at = by, timezone.now()
    automation.review_note = ""
    automation.save(update_fields=["reviewed_by", "reviewed_at", "review_note", "updated_at"])
    audit_record(
        org=automation.organization,
        actor=by,
        action="automation.approve",
        target=automation,
        changes={"status": {"from": "pending_approval", "to": automation.status}},
    )
    _tell_owner(automation=automation, by=by, approved=True)
    return automation


@transaction.atomic
def automation_reject(*, automation: Automation, by: AbstractBaseUser, reason: str) -> Automation:
    """Refuse a waiting automation with a reason (required, at most 500 characters), which
    its owner is told; it never fires until its owner edits it and an admin approves it."""
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationError({"reason": "Say why, so its owner knows what to change."})
    if len(reason) > MAX_REVIEW_NOTE:
        raise ValidationError(
            {"reason": f"At most {MAX_REVIEW_NOTE} characters (this has {len(reason)})."}
        )
    if "\x00" in reason:
        raise ValidationError({"reason": "Remove the NUL character."})
    automation = _pending_for_review(automation=automation, by=by, verb="reject")
    automation.status = Automation.Status.REJECTED
    automation.next_run_at = None
    automation.reviewed_by, automation.reviewed_at = by, timezone.now()
    automation.review_note = reason
    automation.save(
        update_fields=[
            "status",
            "next_run_at",
            "reviewed_by",
            "reviewed_at",
            "review_note",
            "updated_at",
        ]
    )
    periodic_task_sync(automation=automation)
    audit_record(
        org=automation.organization,
        actor=by,
        action="automation.reject",
        target=automation,
        changes={"status": {"from": "pending_approval", "to": automation.status}},
        note=reason,
    )
    _tell_owner(automation=automation, by=by, approved=False)
    return automation


def _tell_owner(*, automation: Automation, by: AbstractBaseUser, approved: bool) -> None:
    # After commit: a rolled-back review sends nothing (the email cannot be taken back).
    link = settings.SITE_URL + reverse("dashboard:automation-edit", args=[automation.public_id])
    transaction.on_commit(
        lambda: notify_automation_reviewed(
            automation=automation, by=by, approved=approved, link=link
        )
    )


def _activate(automation: Automation) -> Automation:
    # The validation path's plan rule, on the saved schedule: the plan may have changed
    # since it was written.
    check_plan_frequency(org=automation.organization, schedule=automation)
    _lock_org_and_check_count(org=automation.organization, excluding=automation)
    automation.status = Automation.Status.ACTIVE
    automation.paused_reason = ""
    automation.consecutive_failures = 0
    # Slots that passed while paused are not caught up: the user paused on purpose.
    automation.next_run_at = compute_next_run_at(automation)
    automation.save(
        update_fields=[
            "status",
            "paused_reason",
            "consecutive_failures",
            "next_run_at",
            "updated_at",
        ]
    )
    periodic_task_sync(automation=automation)
    return automation


@transaction.atomic
def automation_delete(*, automation: Automation, by: AbstractBaseUser | None) -> None:
    automation_check_can_manage(automation=automation, by=by)
    periodic_task_remove(automation=automation)
    # Logged before the row goes: the event keeps its id and name.
    _audit(automation, by, AuditAction.AUTOMATION_DELETE)
    automation.delete()


def automation_run_now(*, automation: Automation, by: AbstractBaseUser | None):
    """Queue a manual run now (the admin's "Run now"): for the automation's owner or an org
    admin, like every other change. An automation still waiting for approval runs only at an
    admin's hand: running it on its owner's say would sidestep the approval policy."""
    # Imported here: firing is the engine side, and this keeps the hunk self-contained.
    from automations.firing import run_fire
    from automations.models import AutomationRun
    from automations.run_keys import manual_key

    membership = automation_check_can_manage(automation=automation, by=by)
    if membership is not None and not membership.is_admin:
        if automation.status == Automation.Status.PENDING_APPROVAL:
            raise ValidationError("This automation is waiting for an admin's approval.")
        if automation.status == Automation.Status.REJECTED:
            raise ValidationError(REJECTED_MESSAGE)
    with transaction.atomic():
        run, _created = run_fire(
            automation=automation,
            key=manual_key(),
            triggered_by=AutomationRun.TriggeredBy.MANUAL,
            trigger_data={"by_user": by.pk if by is not None else None},
        )
        _audit(automation, by, AuditAction.AUTOMATION_RUN_NOW, note=f"run {run.public_id}")
    return run
