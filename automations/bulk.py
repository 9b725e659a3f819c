"""Pause, resume or delete many automations at once (the dashboard list's bulk actions).

Each row goes through its own single service (automation_pause / automation_resume /
automation_delete), each in its own transaction, so one row's refusal (a plan limit on
resume, a pending approval) neither stops nor undoes the others, and every rule those
services hold applies unchanged. Only the rows `automations_for_user(write=True, org=org)`
gives are touched; any other id is reported "not found", exactly as a foreign row looks to
the fetchers (no telling apart "not yours" from "no such row")."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet

from accounts.models import Organization
from automations.models import Automation
from automations.selectors import automations_for_user
from automations.services import automation_delete, automation_pause, automation_resume

# One request changes at most this many rows: each is its own transaction and scheduler
# sync, and a page shows far fewer.
MAX_BULK_IDS = 500

ACTIONS = {"pause": "paused", "resume": "resumed", "delete": "deleted"}


@dataclass(frozen=True)
class RowOutcome:
    public_id: str
    name: str
    message: str = ""


@dataclass
class BulkOutcome:
    action: str
    done: list[RowOutcome] = field(default_factory=list)
    unchanged: list[RowOutcome] = field(default_factory=list)  # already in the wanted state
    failed: list[RowOutcome] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)

    def sentences(self) -> list[str]:
        """What happened, for people: "Paused 3.", "1 could not be resumed: Weekly: The
        Free plan allows 5 active automations ...", "2 were not found ..."."""
        verb = ACTIONS[self.action]
        out = []
        if self.done:
            out.append(f"{verb.capitalize()} {len(self.done)}.")
        if self.unchanged:
            already = "already paused" if self.action == "pause" else "already active"
            out.append(f"{len(self.unchanged)} {_were(len(self.unchanged))} {already}.")
        if self.failed:
            reasons = "; ".join(f"{row.name}: {row.message}" for row in self.failed)
            out.append(f"{len(self.failed)} could not be {verb}: {reasons}")
        if self.not_found:
            out.append(
                f"{len(self.not_found)} {_were(len(self.not_found))} not found "
                "(deleted, or not yours to change)."
            )
        return out or ["Nothing was selected."]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_found


def _were(count: int) -> str:
    return "was" if count == 1 else "were"


def bulk_ids_clean(public_ids: Iterable[object]) -> tuple[list[uuid.UUID], list[str]]:
    """(the well-formed ids, in order and without repeats; the malformed ones as text).
    ValidationError (key "ids") past MAX_BULK_IDS or when none is given."""
    given = list(public_ids)
    if not given:
        raise ValidationError({"ids": "Select at least one automation."})
    if len(given) > MAX_BULK_IDS:
        raise ValidationError(
            {"ids": f"At most {MAX_BULK_IDS} automations at a time (this has {len(given)})."}
        )
    good: list[uuid.UUID] = []
    bad: list[str] = []
    for value in given:
        try:
            parsed = uuid.UUID(str(value))
        except ValueError:
            bad.append(str(value)[:40])
            continue
        if parsed not in good:
            good.append(parsed)
    return good, bad


def bulk_targets(
    *, user: AbstractBaseUser, org: Organization, public_ids: Iterable[uuid.UUID]
) -> QuerySet[Automation]:
    """The rows of `public_ids` the user may change in `org`, by name (the confirm page's
    list and the bulk action's work)."""
    return (
        automations_for_user(user=user, org=org, write=True)
        .filter(public_id__in=list(public_ids))
        .select_related("organization", "owner")
        .order_by("name", "pk")
    )


def _apply(action: str, automation: Automation, user: AbstractBaseUser) -> bool:
    """Run the single service; False when the row was already as asked (nothing written)."""
    if action == "pause":
        if automation.status == Automation.Status.PAUSED:
            return False  # keep the reason it was paused for (by whom, or the failure rule)
        if automation.status == Automation.Status.PENDING_APPROVAL:
            # Pausing and resuming would activate it without an admin's approval.
            raise ValidationError("It is waiting for an admin's approval.")
        automation_pause(
            automation=automation,
            by=user,
            reason=f"Paused by {user.get_username()} from the dashboard",
        )
    elif action == "resume":
        if automation.status == Automation.Status.ACTIVE:
            return False
        automation_resume(automation=automation, by=user)
    else:
        automation_delete(automation=automation, by=user)
    return True


def automations_bulk(
    *, user: AbstractBaseUser, org: Organization, public_ids: Iterable[object], action: str
) -> BulkOutcome:
    """Apply `action` ("pause", "resume" or "delete") to each automation of `public_ids`
    the user may change in `org`; every other id is reported not found and left alone.
    ValidationError keyed "action" or "ids" for a request that cannot be done at all."""
    if action not in ACTIONS:
        raise ValidationError({"action": f"Choose one of {', '.join(ACTIONS)}."})
    good, bad = bulk_ids_clean(public_ids)
    outcome = BulkOutcome(action=action, not_found=list(bad))
    rows = list(bulk_targets(user=user, org=org, public_ids=good))
    found = {row.public_id for row in rows}
    outcome.not_found += [str(public_id) for public_id in good if public_id not in found]
    for automation in rows:
        row = RowOutcome(public_id=str(automation.public_id), name=automation.name)
        try:
            changed = _apply(action, automation, user)
        except (ValidationError, PermissionDenied) as exc:
            message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            outcome.failed.append(RowOutcome(row.public_id, row.name, message))
            continue
        (outcome.done if changed else outcome.unchanged).append(row)
    return outcome
