"""Rerunning runs: one from its page, or every run a history filter matches, as a batch.

A rerun is a new run of the same automation with the original's trigger data, linked to it
(`rerun_of`), keyed `rerun:<original>:<n>` (automations/run_keys.py) and made by
automations/firing.py like every other run. It is triggered_by `manual` (a test run's rerun
stays `test`, so it still delivers nothing): the engine runs manual runs whatever the slot
and status (engine.ALWAYS_RUN), so a rerun of a past cron slot runs now.

Paused automations: a rerun runs, as "Run now" does. A person asked for it, on purpose,
usually to repeat runs that failed before they paused it or fixed a channel; refusing would
make them resume it first, letting the schedule fire too. An automation waiting for approval
is the exception, as for Run now (automations.services.automation_run_now): only an admin's
rerun runs it, since its owner's would sidestep the approval policy.

Who may rerun: whoever may rerun the run by `runs_for_user(write=True)`, the fetchers' rule:
the automation's owner (still a member) and the org's admins. A bulk rerun takes only those
runs of the filter, so a member's takes only their own automations' runs."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import Organization
from accounts.selectors import membership_acting
from automations.dispatch import runs_send
from automations.firing import run_fire, runs_fire_bulk
from automations.models import Automation, AutomationRun, RerunBatch
from automations.run_keys import rerun_key
from automations.run_search import RunFilter, runs_filtered
from automations.selectors import runs_for_user

BULK_RERUN_CAP = 10_000
NAME_MAX = 200
SEND_CHUNK = 1000  # runs_send claims at most this many at a time
WAITING_FOR_APPROVAL = "This automation is waiting for an admin's approval."
WAS_REJECTED = "This automation was rejected by an admin; edit it to send it for approval again."
# Not approved: only an admin's rerun runs these (a rejected one is as unapproved as a
# pending one).
UNREVIEWED = (Automation.Status.PENDING_APPROVAL, Automation.Status.REJECTED)


def _rerun_triggered_by(original: AutomationRun) -> str:
    if original.triggered_by == AutomationRun.TriggeredBy.TEST:
        return AutomationRun.TriggeredBy.TEST
    return AutomationRun.TriggeredBy.MANUAL


def run_rerun(*, run: AutomationRun, by: AbstractBaseUser) -> AutomationRun:
    """A new run repeating `run` now. PermissionDenied for whoever may not rerun it;
    ValidationError when its automation waits for approval and `by` is not an admin."""
    with transaction.atomic():
        membership = membership_acting(user=by, org=run.organization)
        if not runs_for_user(user=by, write=True).filter(pk=run.pk).exists():
            raise PermissionDenied("Only the automation's owner or an org admin can rerun it.")
        automation = Automation.objects.get(pk=run.automation_id)
        if automation.status in UNREVIEWED and not membership.is_admin:
            raise ValidationError(
                WAS_REJECTED
                if automation.status == Automation.Status.REJECTED
                else WAITING_FOR_APPROVAL
            )
        # The n-th rerun of this original: a second click racing the first gets the same
        # key, and the unique constraint makes it the same run.
        number = AutomationRun.objects.filter(rerun_of=run).count() + 1
        rerun, created = run_fire(
            automation=automation,
            key=rerun_key(run.public_id, number),
            triggered_by=_rerun_triggered_by(run),
            trigger_data=run.trigger_data,
            # A member's run is repeated for that member only.
            for_user_id=run.for_user_id,
            fan_out=False,
        )
        if created:
            # In the same transaction: the worker, sent the run after commit, sees the link.
            AutomationRun.objects.filter(pk=rerun.pk).update(rerun_of=run)
            rerun.rerun_of = run
            audit_record(
                org=run.organization,
                actor=by,
                action=AuditAction.RUN_RERUN,
                target=run,
                target_label=f"{automation.name}: run {run.public_id}",
                note=f"rerun {rerun.public_id}",
            )
    return rerun


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name this rerun, so you can find it later."})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"At most {NAME_MAX} characters."})
    return name


def runs_rerunnable(
    *, user: AbstractBaseUser, org: Organization, filters: RunFilter
) -> QuerySet[AutomationRun]:
    """The runs a bulk rerun of `filters` takes (and the history's "Rerun all N" counts): the
    ones the page shows that the user may rerun, finished (a pending or running run is still
    being done: a rerun would do the same work twice), and, for a member, not of an
    automation waiting for approval (only an admin's rerun may run it)."""
    membership = membership_acting(user=user, org=org)
    runs = runs_filtered(user=user, org=org, filters=filters, write=True).filter(
        status__in=AutomationRun.FINISHED
    )
    if not membership.is_admin:
        runs = runs.exclude(automation__status__in=UNREVIEWED)
    return runs


def runs_rerun_bulk(
    *, user: AbstractBaseUser, org: Organization, filters: RunFilter, name: str
) -> RerunBatch:
    """Rerun every run of `org` the history shows for `filters` that the user may rerun, as
    one named batch. Refused (ValidationError) when none match or more than BULK_RERUN_CAP
    do: the batch is then all of what the page shows, or nothing."""
    name = _clean_name(name)
    now = timezone.now()
    with transaction.atomic():
        runs = runs_rerunnable(user=user, org=org, filters=filters)
        reruns_so_far = (
            AutomationRun.objects.filter(rerun_of=OuterRef("pk"))
            .order_by()
            .values("rerun_of")
            .annotate(n=Count("pk"))
            .values("n")
        )
        originals = list(
            runs.annotate(
                reruns_so_far=Coalesce(
                    Subquery(reruns_so_far, output_field=IntegerField()), Value(0)
                )
            )
            .order_by("created_at", "pk")
            .values(
                "pk",
                "public_id",
                "automation_id",
                "triggered_by",
                "trigger_data",
                "reruns_so_far",
                "for_user_id",
            )[: BULK_RERUN_CAP + 1]
        )
        if not originals:
            raise ValidationError("No runs you may rerun match this filter.")
        if len(originals) > BULK_RERUN_CAP:
            raise ValidationError(
                f"More than {BULK_RERUN_CAP:,} runs match: narrow the filter (a shorter time "
                f"range, one status or one automation) to rerun at most {BULK_RERUN_CAP:,} at "
                "once."
            )
        batch = RerunBatch.objects.create(
            organization=org, created_by=user, name=name, filters=filters.as_record()
        )
        test = AutomationRun.TriggeredBy.TEST
        runs_fire_bulk(
            [
                AutomationRun(
                    automation_id=row["automation_id"],
                    organization_id=org.pk,
                    idempotency_key=rerun_key(row["public_id"], row["reruns_so_far"] + 1),
                    triggered_by=test
                    if row["triggered_by"] == test
                    else AutomationRun.TriggeredBy.MANUAL,
                    scheduled_for=now,
                    trigger_data=row["trigger_data"] or {},
                    rerun_of_id=row["pk"],
                    rerun_batch=batch,
                    for_user_id=row["for_user_id"],
                )
                for row in originals
            ]
        )
        # A rerun made at the same moment by its page (same key) is skipped by the insert;
        # the batch counts what it made.
        ids = list(batch.runs.values_list("pk", flat=True))
        batch.total = len(ids)
        batch.save(update_fields=["total", "updated_at"])
        audit_record(
            org=org,
            actor=user,
            action=AuditAction.RERUN_BATCH_CREATE,
            target=batch,
            target_label=name,
            changes={"filters": batch.filters, "runs": batch.total},
        )

        def send() -> None:
            for start in range(0, len(ids), SEND_CHUNK):
                runs_send(ids[start : start + SEND_CHUNK])

        transaction.on_commit(send)
    return batch
