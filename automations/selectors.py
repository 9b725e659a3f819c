"""Reads of automations and runs, each scoped to what the caller may see.

The fetchers (`automation_get_for_user`, `run_get_for_user`) and their lists
(`automations_for_user`, `runs_for_user`) are the one place that says who may see and change
an automation or a run: the admin scopes its pages with the lists, the services check writes
with them, and the dashboard and API fetch through them. Each kind's rule is one Q
(`_automation_q`, `_run_q`), so a list and a get can never disagree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Organization
from accounts.selectors import acts_as_operator, member_owned_q, org_admin_q, row_get_for_user
from automations.models import Automation, AutomationRun
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


def runs_failed_since(*, since: datetime) -> int:
    """For /metrics: runs that ended failed since then (an indexed count)."""
    return AutomationRun.objects.filter(
        status=AutomationRun.Status.FAILED, finished_at__gte=since
    ).count()


# -- automations ------------------------------------------------------------------------------


def _automation_q(user: AbstractBaseUser | AnonymousUser) -> Q:
    # Read: the owner while still a member of the org, and the org's admins; other members
    # of the org see only their own (as the admin's owner_field has always said).
    # Write: the same people: the services let an owner edit, pause, resume, delete and run
    # their own automation (the admin keeps members read-only on its own pages).
    return member_owned_q(user=user, owner_field="owner") | org_admin_q(user=user)


def automations_for_user(
    *,
    user: AbstractBaseUser | AnonymousUser,
    org: Organization | None = None,
    write: bool = False,
) -> QuerySet[Automation]:
    """The automations the user may see (`write`: may change), optionally of one org: exactly
    the rows `automation_get_for_user` gives them."""
    automations = Automation.objects.all()
    if not acts_as_operator(user=user):
        automations = automations.filter(_automation_q(user))
    if org is not None:
        automations = automations.filter(organization=org)
    return automations


def automation_get_for_user(
    *, user: AbstractBaseUser | AnonymousUser, public_id, write: bool = False
) -> Automation:
    """The automation, for its owner (still a member of its org), an admin of its org or a
    superuser; Http404 for everyone else."""
    return row_get_for_user(
        readable=automations_for_user(user=user).select_related("organization", "owner"),
        writable=None,  # read and write are the same people (_automation_q)
        public_id=public_id,
        write=write,
        what="automation",
    )


# -- runs -------------------------------------------------------------------------------------


def _run_q(user: AbstractBaseUser | AnonymousUser) -> Q:
    # Read: the automation's owner while still a member of the run's org, and that org's
    # admins. Write (rerun, cancel): the same people, as for running the automation now.
    return member_owned_q(user=user, owner_field="automation__owner") | org_admin_q(user=user)


def runs_for_user(
    *,
    user: AbstractBaseUser | AnonymousUser,
    automation: Automation | None = None,
    org: Organization | None = None,
    write: bool = False,
) -> QuerySet[AutomationRun]:
    """The runs the user may see (`write`: may rerun or cancel), optionally of one automation
    or org: exactly the rows `run_get_for_user` gives them."""
    runs = AutomationRun.objects.all()
    if not acts_as_operator(user=user):
        runs = runs.filter(_run_q(user))
    if automation is not None:
        runs = runs.filter(automation=automation)
    if org is not None:
        runs = runs.filter(organization=org)
    return runs


def run_get_for_user(
    *, user: AbstractBaseUser | AnonymousUser, public_id, write: bool = False
) -> AutomationRun:
    """The run, for its automation's owner (still a member of the org), an admin of the
    run's org or a superuser; Http404 for everyone else, so a foreign run looks like no run
    at all."""
    return row_get_for_user(
        readable=runs_for_user(user=user).select_related("automation", "organization"),
        writable=None,  # read and write are the same people (_run_q)
        public_id=public_id,
        write=write,
        what="run",
    )


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


def active_automation_count(*, org: Organization) -> int:
    """How many of the org's automations are active: the number the plan limits (served by
    automation_org_status_idx, so it stays cheap with thousands of rows)."""
    return Automation.objects.filter(organization=org, status=Automation.Status.ACTIVE).count()
