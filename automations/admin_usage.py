"""The Django admin's usage page: one organization's usage by local day with the plan's limits
(automations.usage), at /admin/usage/<org public id>/, linked from the Organization change page.

Who reaches it is the Organization admin's own rule (accounts.admin_scoping, through the
registered OrganizationAdmin): staff who may view that organization there, that is its admins
and superusers; anyone else gets a 404, as for an organization they cannot open. The range
(`start`, `end`: ISO dates, at most automations.usage.MAX_DAYS days) defaults to the last 30
local days; a bad one is said on the page, never a 500."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from accounts.models import Organization
from automations.llm_spend import llm_budget_status
from automations.usage import local_today, usage_for_viewer, usage_range_check

DEFAULT_DAYS = 30


class UsageRangeForm(forms.Form):
    start = forms.DateField(required=False, help_text="e.g. 2026-03-01")
    end = forms.DateField(required=False, help_text="e.g. 2026-03-31")

    def __init__(self, *args, today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        end = data.get("end") or self.today
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        try:
            usage_range_check(start=start, end=end)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None
        data["start"], data["end"] = start, end
        return data


def _org_for(request: HttpRequest, public_id) -> Organization:
    org_admin = admin.site._registry[Organization]
    org = org_admin.get_queryset(request).filter(public_id=public_id).first()
    if org is None or not org_admin.has_view_permission(request, org):
        raise Http404("No such organization.")
    return org


def organization_usage(request: HttpRequest, public_id) -> HttpResponse:
    org = _org_for(request, public_id)
    today = local_today(org=org)
    form = UsageRangeForm(request.GET or None, today=today)
    usage = None
    if not form.is_bound:
        start, end = today - timedelta(days=DEFAULT_DAYS - 1), today
        usage = usage_for_viewer(user=request.user, org=org, start=start, end=end)
    elif form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        usage = usage_for_viewer(user=request.user, org=org, start=start, end=end)
    context = {
        **admin.site.each_context(request),
        "title": f"Usage of {org.name}",
        "org": org,
        "opts": Organization._meta,
        "form": form,
        "usage": usage,
        "days": list(reversed(usage["days"])) if usage else [],
        # The budget month is UTC, whatever range the table shows.
        "llm_budget": llm_budget_status(org=org, now=timezone.now()),
    }
    return TemplateResponse(request, "admin/usage.html", context)


urlpatterns = [
    path("<uuid:public_id>/", admin.site.admin_view(organization_usage), name="admin-usage"),
]
