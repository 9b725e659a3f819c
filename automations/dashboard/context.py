"""Template context for every dashboard page: the workplace (set by access.dashboard_page)
and the unread count for the header's badge, counted only when a page shows it."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from automations.models import Automation
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

    return {
        "workplace": workplace,
        "unread_count": SimpleLazyObject(unread),
        "pending_approvals_count": SimpleLazyObject(pending_approvals),
    }
