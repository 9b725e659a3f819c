"""The operations endpoints' views: thin, the checks are in automations/ops/status.py."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from automations.ops.status import status_report


@never_cache
@require_GET
def status(request: HttpRequest) -> HttpResponse:
    """JSON for monitors; a small page for people (a browser asks for text/html, or
    ?format=html). 200 when healthy, 503 naming the failing parts."""
    report = status_report()
    code = 200 if report.ok else 503
    wants_html = request.GET.get("format") == "html" or (
        "text/html" in request.headers.get("Accept", "") and request.GET.get("format") != "json"
    )
    if wants_html:
        return render(request, "ops/status.html", {"report": report.as_dict()}, status=code)
    return JsonResponse(report.as_dict(), status=code)
