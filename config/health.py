"""`/ping`: liveness for load balancers: the process answers. `/status` (the parts, for
operators and monitors) is automations/ops/status.py."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def ping(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Touches nothing else (also the ceiling in
    bench/webhooks.py)."""
    return HttpResponse("ok", content_type="text/plain")
