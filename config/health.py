"""`/status`: a health check for operators and load balancers."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from automations.selectors import run_backlog


def ping(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Touches nothing else (also the ceiling in
    bench/webhooks.py)."""
    return HttpResponse("ok", content_type="text/plain")


def status(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        backlog = run_backlog()
    except Exception as exc:  # any database failure makes us unhealthy
        return JsonResponse({"ok": False, "database": str(exc)}, status=503)
    return JsonResponse({"ok": True, "database": "ok", "runs": backlog})
