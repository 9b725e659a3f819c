"""The in-app inbox and the header's unread badge."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_safe

from automations.dashboard.access import dashboard_page
from automations.dashboard.placeholder import not_built
from delivery.selectors import notifications_for_user


@require_safe
@dashboard_page
def badge(request: HttpRequest) -> HttpResponse:
    """The header's unread count, refreshed by htmx while the page is visible."""
    unread = notifications_for_user(
        user=request.user, org=request.workplace.org, unread=True
    ).count()
    return render(request, "dashboard/base.html#inbox-badge", {"unread_count": unread})


urls = [
    path("inbox/", not_built, name="inbox"),
    path("inbox/badge/", badge, name="inbox-badge"),
]
