"""Template context for every dashboard page: the workplace (set by access.dashboard_page),
the unread count for the header's badge, counted only when a page shows it, and the open
operations alerts the viewer is told about (automations/ops/alerts.py) for the banner."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from automations.models import Automation
from automations.ops.alerts import open_alerts_for_user
from delivery.selectors import notifications_for_user


def dashboard(request: HttpRequest) -> dict:
    workplace = getattr(request, "workplace", None)
    if workplace is None:
        return {"workplace": None}

    def unread() -> int:
        return notifications_for_user(user=request.user, org=workplace.org, unread=True).count()

    def pending_approvals() -> int:
        # The nav's badge, for admins only: the org's automations waiting for approval.
        if not workplace.is_admin:
            return 0
        return Automation.objects.filter(
            organization=workplace.org, status=Automation.Status.PENDING_APPROVAL
        ).count()

    def open_alerts() -> list:
        return open_alerts_for_user(user=request.user, organization_id=workplace.org.pk)

    return {
        "workplace": workplace,
        "open_alerts": SimpleLazyObject(open_alerts),
        "unread_count": SimpleLazyObject(unread),
        "pending_approvals_count": SimpleLazyObject(pending_approvals),
    }
