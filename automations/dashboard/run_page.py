"""The run page and its Rerun button.

One URL, /runs/<uuid>/, named `run-detail` (email, Slack and Teams links reverse it) and
`dashboard:run`. Opened with a signed link (`?k=`, delivery.links) by someone who may have no
account, it is the minimal page of templates/runs/detail.html: the run and its summary,
nothing about other recipients or channels. Opened by a signed-in member who may see the run,
it is the dashboard's run page: trigger data (within retention), the output summary, each
channel's delivery attempts, the retry schedule, rerun links and Rerun."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST, require_safe

from automations.dashboard.access import dashboard_page, refused
from automations.llm_spend import fallback_label
from automations.reruns import run_rerun
from automations.run_reads import run_delivery_records, run_reruns, run_retry_schedule
from automations.run_search import search_window_start
from automations.selectors import run_get_for_user, run_get_for_viewer, runs_for_user
from delivery.links import RUN_LINK_PARAM, RunLinkExpired, RunLinkInvalid


def _link_page(response: HttpResponse) -> HttpResponse:
    # A page opened by a signed link: kept out of shared caches and search engines, and its
    # URL (which carries the token) out of Referer headers.
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def run_detail(request: HttpRequest, public_id) -> HttpResponse:
    token = request.GET.get(RUN_LINK_PARAM) or None
    if token is None:
        # Members only: signed in (or asked to), the dashboard's run page.
        return _dashboard_run_page(request, public_id=public_id)
    try:
        viewing = run_get_for_viewer(user=request.user, public_id=public_id, token=token)
    except RunLinkExpired:
        return _link_page(render(request, "runs/link_invalid.html", {"expired": True}, status=404))
    except (RunLinkInvalid, Http404):
        return _link_page(render(request, "runs/link_invalid.html", {"expired": False}, status=404))
    if not viewing.via_link:
        return _link_page(_dashboard_run_page(request, public_id=public_id))
    run = viewing.run
    context = {
        "run": run,
        "automation": run.automation,
        "via_link": True,
        "time_zone": run.automation.time_zone,
    }
    return _link_page(render(request, "runs/detail.html", context))


# Not org_required: a person in no org gets the fetcher's 404 (no run is theirs), as before
# the dashboard; an operator in no org still sees the run.
@dashboard_page(org_required=False)
def _dashboard_run_page(request: HttpRequest, *, public_id) -> HttpResponse:
    run = run_get_for_user(user=request.user, public_id=public_id)
    context = {
        "nav": "runs",
        "run": run,
        "automation": run.automation,
        "deliveries": run_delivery_records(run=run),
        "trigger_json": json.dumps(run.trigger_data, indent=2, ensure_ascii=False, default=str),
        "outcomes": run.deliveries if isinstance(run.deliveries, list) else [],
        "retry": run_retry_schedule(run=run),
        "reruns": run_reruns(run=run, user=request.user),
        "original": _original(run, request),
        # Older runs had their trigger data and summary purged (automations/maintenance.py).
        "purged": run.finished_at is not None and run.finished_at < search_window_start(),
        "retention_hours": settings.RETENTION_HOURS,
        "fallback": fallback_label(run.fallback_reason),
        "other_org": request.workplace is not None
        and run.organization_id != request.workplace.org.pk,
    }
    return render(request, "dashboard/runs/run.html", context)


def _original(run, request):
    """The run this one repeats, if the viewer may see it."""
    if run.rerun_of_id is None:
        return None
    return (
        runs_for_user(user=request.user)
        .filter(pk=run.rerun_of_id)
        .only("public_id", "status", "created_at")
        .first()
    )


@require_POST
@dashboard_page
def rerun(request: HttpRequest, public_id) -> HttpResponse:
    run = run_get_for_user(user=request.user, public_id=public_id, write=True)
    try:
        new = run_rerun(run=run, by=request.user)
    except ValidationError as exc:
        return refused(request, " ".join(exc.messages), status=409)
    messages.success(request, "Rerun queued: this is the new run.")
    return redirect("dashboard:run", public_id=new.public_id)


urls = [
    # The same view as `run-detail` (automations/urls.py), under the dashboard's names.
    path("runs/<uuid:public_id>/", run_detail, name="run"),
    path("runs/<uuid:public_id>/rerun/", rerun, name="run-rerun"),
]
