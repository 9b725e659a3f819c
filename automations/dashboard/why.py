""" "Why didn't it fire?": one readable panel per automation (automations/diagnosis.py reads
everything; this view only fetches the automation and renders)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from automations.dashboard.access import dashboard_page
from automations.diagnosis import automation_diagnosis
from automations.selectors import automation_get_for_user


@dashboard_page
def why(request: HttpRequest, public_id) -> HttpResponse:
    # Http404 for anyone but the owner (still a member), the org's admins and operators.
    automation = automation_get_for_user(user=request.user, public_id=public_id)
    context = {
        "nav": "automations",
        "automation": automation,
        "diagnosis": automation_diagnosis(automation=automation),
    }
    # "Check again" asks for the panel alone; the page is the same panel inside the layout.
    template = "dashboard/why/panel.html#panel" if request.htmx else "dashboard/why/panel.html"
    return render(request, template, context)


urls = [
    path("automations/<uuid:public_id>/why/", why, name="automation-why"),
]
