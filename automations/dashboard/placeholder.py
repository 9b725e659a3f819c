"""A page not built yet. Each area's helper replaces its placeholder routes with real views;
nothing may link here once the dashboard lands (tests/dashboard checks no route uses it)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from automations.dashboard.access import dashboard_page


@dashboard_page
def not_built(request: HttpRequest, **kwargs) -> HttpResponse:
    return render(request, "dashboard/placeholder.html", status=501)
