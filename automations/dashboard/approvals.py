"""The Approvals page for org admins: the org's automations waiting for approval, with what
the policy flagged, their owner and when they were made or last edited, and approve and
reject (reason required) buttons. The decisions are the services' (automation_approve,
automation_reject): audited, and the owner told."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST, require_safe

from accounts.selectors import org_admin_require
from automations.approval_policy import flagged, pending_since
from automations.dashboard.access import dashboard_page
from automations.models import Automation
from automations.selectors import automation_get_for_user, automations_for_user
from automations.services import automation_approve, automation_reject

PAGE = "dashboard/approvals/page.html"
SHOWN = 200  # a page of waiting automations; an org with more approves these first


def pending_for_admin(request: HttpRequest):
    """The org's waiting automations, oldest first (the admin's own fetcher: every row of
    the org)."""
    return (
        automations_for_user(user=request.user, org=request.workplace.org)
        .filter(status=Automation.Status.PENDING_APPROVAL)
        .select_related("owner", "skill", "organization")
        .order_by("created_at", "pk")
    )


def _row(automation: Automation) -> Automation:
    automation.why = flagged(automation=automation)
    automation.waiting_since = pending_since(automation)
    return automation


@require_safe
@dashboard_page
def approvals(request: HttpRequest) -> HttpResponse:
    org_admin_require(user=request.user, org=request.workplace.org)
    rows = [_row(a) for a in pending_for_admin(request)[:SHOWN]]
    return render(request, PAGE, {"nav": "approvals", "pending": rows})


def _answer(request: HttpRequest, automation: Automation, *, done: str = "", error: str = ""):
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, done)
        return redirect(reverse("dashboard:approvals"))
    context = {"a": automation, "done": done, "error": error}
    if not done:
        automation = _row(automation)
    return render(request, f"{PAGE}#row", context, status=422 if error else 200)


@require_POST
@dashboard_page
def approval_approve(request: HttpRequest, public_id) -> HttpResponse:
    automation = automation_get_for_user(user=request.user, public_id=public_id, write=True)
    try:
        automation = automation_approve(automation=automation, by=request.user)
    except ValidationError as exc:
        return _answer(request, automation, error=" ".join(exc.messages))
    return _answer(request, automation, done=f"Approved “{automation.name}”; it now runs.")


@require_POST
@dashboard_page
def approval_reject(request: HttpRequest, public_id) -> HttpResponse:
    automation = automation_get_for_user(user=request.user, public_id=public_id, write=True)
    reason = request.POST.get("reason", "")
    try:
        automation = automation_reject(automation=automation, by=request.user, reason=reason)
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "reason" in exc.error_dict:
            error = " ".join(exc.message_dict["reason"])
        else:
            error = " ".join(exc.messages)
        if request.htmx:
            automation = _row(automation)
            context = {"a": automation, "reason_error": error, "reason": reason[:600]}
            return render(request, f"{PAGE}#row", context, status=422)
        return _answer(request, automation, error=error)
    return _answer(request, automation, done=f"Rejected “{automation.name}”; its owner is told.")


urls = [
    path("approvals/", approvals, name="approvals"),
    path("approvals/<uuid:public_id>/approve/", approval_approve, name="approval-approve"),
    path("approvals/<uuid:public_id>/reject/", approval_reject, name="approval-reject"),
]
