"""Reads of automations and runs, each scoped to what the caller may see."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from automations.models import Automation, AutomationRun


def automations_visible_to(*, user: AbstractBaseUser) -> QuerySet[Automation]:
    """Every automation in the user's organizations."""
    if user.is_superuser:
        return Automation.objects.all()
    return Automation.objects.filter(organization__memberships__user=user)


def runs_visible_to(*, user: AbstractBaseUser) -> QuerySet[AutomationRun]:
    if user.is_superuser:
        return AutomationRun.objects.all()
    return AutomationRun.objects.filter(organization__memberships__user=user)


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
