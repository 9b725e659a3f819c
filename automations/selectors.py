"""Reads of automations and runs, each scoped to what the caller may see."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone

from accounts.models import Membership
from automations.models import AutomationRun
from delivery.links import RunLinkInvalid, run_link_check


def run_backlog() -> dict[str, int]:
    """Counts for /status: due runs not yet sent, runs queued, runs running."""
    now = timezone.now()
    return AutomationRun.objects.filter(
        status__in=[AutomationRun.Status.PENDING, AutomationRun.Status.RUNNING]
    ).aggregate(
        unsent=Count(
            "pk", filter=Q(status="pending", dispatched_at__isnull=True, scheduled_for__lte=now)
        ),
        queued=Count("pk", filter=Q(status="pending", dispatched_at__isnull=False)),
        running=Count("pk", filter=Q(status="running")),
    )


def run_get_for_user(*, user: AbstractBaseUser, public_id) -> AutomationRun:
    """The run, for its automation's owner (still a member of the org) or an admin of the
    run's org; Http404 for everyone else, so a foreign run looks like no run at all."""
    if not user.is_authenticated:
        raise Http404("No such run.")
    runs = AutomationRun.objects.select_related("automation", "organization")
    if not user.is_superuser:
        runs = runs.filter(
            Q(
                automation__owner=user,
                organization__memberships__user=user,
            )
            | Q(
                organization__memberships__user=user,
                organization__memberships__role=Membership.Role.ADMIN,
            )
        ).distinct()
    run = runs.filter(public_id=public_id).first()
    if run is None:
        raise Http404("No such run.")
    return run


@dataclass(frozen=True)
class RunViewing:
    run: AutomationRun
    # True when opened through an email's signed link (the viewer may have no account): the
    # page then shows nothing about other recipients or channels.
    via_link: bool


def run_get_for_viewer(
    *, user: AbstractBaseUser | AnonymousUser, public_id, token: str | None = None
) -> RunViewing:
    """The run for whoever opens its page: a member who may see it (run_get_for_user), or the
    holder of a signed link made for this run (delivery.links). A bad or another run's token
    falls back to the user's own rights; RunLinkExpired is raised only when those do not
    cover the run, so the page can say the link expired."""
    if token:
        try:
            run_link_check(token, run_public_id=public_id)
        except RunLinkInvalid as link_error:
            if not user.is_authenticated:
                raise
            try:
                return RunViewing(run_get_for_user(user=user, public_id=public_id), False)
            except Http404:
                raise link_error from None  # say the link expired, if it did
        run = (
            AutomationRun.objects.select_related("automation", "organization")
            .filter(public_id=public_id)
            .first()
        )
        if run is None:
            raise Http404("No such run.")
        return RunViewing(run, True)
    return RunViewing(run_get_for_user(user=user, public_id=public_id), False)
