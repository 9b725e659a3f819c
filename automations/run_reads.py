"""Reads for the run page and the rerun batch page, each starting from a row the caller was
already allowed (run_get_for_user) or from the fetchers' rule (rerun_batch_get_for_user)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Prefetch, Q, QuerySet

from accounts.selectors import acts_as_operator, member_owned_q, org_admin_q, row_get_for_user
from automations.engine import backoff
from automations.models import AutomationRun, RerunBatch
from automations.selectors import runs_for_user
from delivery.models import Delivery, DeliveryAttempt


def run_delivery_records(*, run: AutomationRun) -> list[Delivery]:
    """Each channel's delivery of this run with its attempts in order: two queries."""
    return list(
        Delivery.objects.filter(run=run)
        .select_related("channel")
        .prefetch_related(
            Prefetch(
                "attempt_log",
                queryset=DeliveryAttempt.objects.order_by("started_at", "pk"),
                to_attr="attempts_in_order",
            )
        )
        .order_by("channel__name", "pk")
    )


def run_reruns(
    *, run: AutomationRun, user: AbstractBaseUser | AnonymousUser, limit: int = 20
) -> list[AutomationRun]:
    """The newest reruns of `run` the user may see."""
    return list(
        runs_for_user(user=user)
        .filter(rerun_of=run)
        .only("public_id", "status", "created_at")
        .order_by("-created_at", "-pk")[:limit]
    )


@dataclass(frozen=True)
class RetryStep:
    attempt: int
    at: datetime


@dataclass(frozen=True)
class RetrySchedule:
    """A failed attempt waiting to be retried: when the next attempts would start if each
    fails again (engine.backoff), and how many are left in all."""

    steps: list[RetryStep]
    limit: int  # attempts in all: the first and retry_limit retries


def run_retry_schedule(*, run: AutomationRun) -> RetrySchedule | None:
    """None unless the run is pending after a failed attempt (the engine set its
    scheduled_for to the next attempt's time)."""
    if run.status != AutomationRun.Status.PENDING or run.attempt == 0:
        return None
    limit = run.automation.retry_limit + 1
    steps, at = [], run.scheduled_for
    for attempt in range(run.attempt + 1, limit + 1):
        steps.append(RetryStep(attempt, at))
        at = at + backoff(attempt)
    return RetrySchedule(steps, limit)


# -- rerun batches ----------------------------------------------------------------------------


def _batch_q(user: AbstractBaseUser | AnonymousUser) -> Q:
    # Whoever made it (still a member of its org) and the org's admins, as for runs.
    return member_owned_q(user=user, owner_field="created_by") | org_admin_q(user=user)


def rerun_batches_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[RerunBatch]:
    batches = RerunBatch.objects.all()
    if not acts_as_operator(user=user):
        batches = batches.filter(_batch_q(user))
    return batches


def rerun_batch_get_for_user(*, user: AbstractBaseUser | AnonymousUser, public_id) -> RerunBatch:
    """The batch, for its maker and its org's admins; Http404 for everyone else."""
    return row_get_for_user(
        readable=rerun_batches_for_user(user=user).select_related("organization", "created_by"),
        writable=None,
        public_id=public_id,
        write=False,
        what="rerun batch",
    )


QUEUED = (AutomationRun.Status.PENDING, AutomationRun.Status.RUNNING)
DONE = (AutomationRun.Status.COMPLETED, AutomationRun.Status.SKIPPED)
FAILED = (AutomationRun.Status.FAILED, AutomationRun.Status.CANCELLED)


@dataclass(frozen=True)
class BatchProgress:
    queued: int
    done: int
    failed: int

    @property
    def finished(self) -> bool:
        return self.queued == 0


def rerun_batch_progress(*, batch: RerunBatch) -> BatchProgress:
    """Counted live from the batch's runs (one query, on the rerun_batch index)."""
    counts = AutomationRun.objects.filter(rerun_batch=batch).aggregate(
        queued=Count("pk", filter=Q(status__in=QUEUED)),
        done=Count("pk", filter=Q(status__in=DONE)),
        failed=Count("pk", filter=Q(status__in=FAILED)),
    )
    return BatchProgress(**counts)
