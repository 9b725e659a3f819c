"""The dashboard's pages. Thin: every lookup goes through automations.selectors."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from automations.selectors import run_get_for_viewer
from delivery.links import RUN_LINK_PARAM, RunLinkExpired, RunLinkInvalid


def _private(response: HttpResponse) -> HttpResponse:
    # A page opened by a signed link: kept out of shared caches and search engines, and its
    # URL (which carries the token) out of Referer headers.
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def run_detail(request: HttpRequest, public_id) -> HttpResponse:
    token = request.GET.get(RUN_LINK_PARAM) or None
    if token is None and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        viewing = run_get_for_viewer(user=request.user, public_id=public_id, token=token)
    except RunLinkExpired:
        return _private(render(request, "runs/link_invalid.html", {"expired": True}, status=404))
    except (RunLinkInvalid, Http404):
        return _private(render(request, "runs/link_invalid.html", {"expired": False}, status=404))
    run = viewing.run
    context = {
        "run": run,
        "automation": run.automation,
        "via_link": viewing.via_link,
        "deliveries": [] if viewing.via_link else run.deliveries,
        "time_zone": run.automation.time_zone,
    }
    return _private(render(request, "runs/detail.html", context))
