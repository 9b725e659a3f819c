"""Run history (the org's and one automation's) with its filter, bulk rerun and the rerun
batch page. The run page and its Rerun button are in run_page.py.

The filter (RunFilterForm) is read the same way by the page and by the bulk rerun, and both
ask automations.run_search.runs_filtered, so "Rerun all N matching" reruns exactly the runs
the page lists (those the user may rerun)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from automations.dashboard import run_page
from automations.dashboard.access import dashboard_page
from automations.models import Automation, AutomationRun
from automations.reruns import BULK_RERUN_CAP, runs_rerun_bulk, runs_rerunnable
from automations.run_reads import rerun_batch_get_for_user, rerun_batch_progress
from automations.run_search import SEARCH_MAX, RunFilter, runs_filtered, runs_page
from automations.selectors import automation_get_for_user, automations_for_user
from config.form_fields import UtcDateTimeField

TEMPLATE = "dashboard/runs/history.html"
# The org list's automation picker: a select of this many (by name) keeps the page light
# in an org of 10,000; any other automation's runs are on its own history page.
AUTOMATION_CHOICES = 300
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
PRESETS = [
    ("", "Any time (or From/To below)"),
    ("hour", "Last hour"),
    ("today", "Today"),
    ("7d", "Last 7 days"),
]


def _local_input(**attrs) -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local", **attrs}, format="%Y-%m-%dT%H:%M")


class RunFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *AutomationRun.Status.choices]
    )
    trigger = forms.ChoiceField(
        required=False,
        label="Trigger",
        choices=[("", "Any trigger"), *AutomationRun.TriggeredBy.choices],
    )
    range = forms.ChoiceField(required=False, label="When", choices=PRESETS)
    created_from = UtcDateTimeField(
        required=False,
        label="From",
        input_formats=DATETIME_FORMATS,
        widget=_local_input(),
        help_text="In your time zone; when the run was made.",
    )
    created_to = UtcDateTimeField(
        required=False,
        label="To",
        input_formats=DATETIME_FORMATS,
        widget=_local_input(),
        help_text="In your time zone; runs before this time.",
    )
    automation = forms.CharField(required=False, label="Automation", widget=forms.Select)
    q = forms.CharField(
        required=False,
        max_length=SEARCH_MAX,
        label="Search",
        help_text="Searches the trigger data and summaries of runs still within the "
        "retention period.",
        widget=forms.TextInput(attrs={"type": "search"}),
    )

    def __init__(self, data, *, user, org, automation: Automation | None = None):
        super().__init__(data)
        self.user, self.org, self.fixed = user, org, automation
        if automation is not None:
            del self.fields["automation"]
            return
        mine = automations_for_user(user=user, org=org).order_by("name", "pk")
        choices = [("", "Any automation")] + [
            (str(pid), name)
            for pid, name in mine.values_list("public_id", "name")[:AUTOMATION_CHOICES]
        ]
        picked = (data or {}).get("automation") or ""
        if picked and picked not in {value for value, _ in choices}:
            found = self._automation(picked)
            if found is not None:
                choices.append((str(found.public_id), found.name))
        self.fields["automation"].widget.choices = choices

    def _automation(self, value: str) -> Automation | None:
        try:
            mine = automations_for_user(user=self.user, org=self.org)
            return mine.filter(public_id=value).first()
        except (ValidationError, ValueError):
            return None

    def clean_automation(self) -> Automation | None:
        value = self.cleaned_data.get("automation") or ""
        if not value:
            return None
        found = self._automation(value)
        if found is None:
            raise ValidationError("Choose one of your organization's automations.")
        return found

    def clean(self):
        data = super().clean()
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and end <= start:
            self.add_error("created_to", "To must be after From.")
        return data

    def run_filter(self) -> RunFilter:
        data = self.cleaned_data
        start, end = data.get("created_from"), data.get("created_to")
        now = timezone.now()
        if data.get("range") == "hour":
            start, end = now - timedelta(hours=1), None
        elif data.get("range") == "today":
            midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
            start, end = midnight, None
        elif data.get("range") == "7d":
            start, end = now - timedelta(days=7), None
        return RunFilter(
            status=data.get("status") or "",
            triggered_by=data.get("trigger") or "",
            created_from=start,
            created_to=end,
            automation=self.fixed or data.get("automation"),
            search=(data.get("q") or "").strip(),
        )


class BulkRerunForm(forms.Form):
    name = forms.CharField(
        max_length=200,
        label="Name this rerun",
        help_text="Shown on the rerun's progress page, e.g. “Monday's failed reports”.",
    )


def _filter_query(params: QueryDict) -> str:
    """The filter's part of a query string (no cursor), for 'more' links and the bulk form."""
    kept = params.copy()
    for key in ("after", "name", "csrfmiddlewaretoken"):
        kept.pop(key, None)
    return kept.urlencode()


def _history(
    request: HttpRequest, *, params: QueryDict, automation: Automation | None = None
) -> HttpResponse:
    org = automation.organization if automation is not None else request.workplace.org
    form = RunFilterForm(params or None, user=request.user, org=org, automation=automation)
    page = None
    status = 200
    filters = RunFilter(automation=automation)
    if form.is_bound and not form.is_valid():
        status = 422
    else:
        if form.is_bound:
            filters = form.run_filter()
        page = runs_page(
            runs_filtered(user=request.user, org=org, filters=filters), after=params.get("after")
        )
    bulk_query = _filter_query(params)
    if automation is not None:
        bulk_query = f"{bulk_query}&automation={automation.public_id}".lstrip("&")
    context = {
        "nav": "runs",
        "form": form,
        "page": page,
        "automation": automation,
        "filters": filters,
        "filter_query": _filter_query(params),
        # The bulk rerun panel counts what it would take in a request of its own (loaded
        # by htmx once the page is shown, or a link without JavaScript): counting up to
        # the cap costs tens of milliseconds at a million runs, the page itself a few.
        "bulk_offered": filters != RunFilter(automation=automation),
        "bulk_query": bulk_query,
        "retention_hours": settings.RETENTION_HOURS,
    }
    template = f"{TEMPLATE}#results" if request.htmx else TEMPLATE
    return render(request, template, context, status=status)


@require_safe
@dashboard_page
def history(request: HttpRequest) -> HttpResponse:
    return _history(request, params=request.GET)


@require_safe
@dashboard_page
def automation_history(request: HttpRequest, public_id) -> HttpResponse:
    automation = automation_get_for_user(user=request.user, public_id=public_id)
    return _history(request, params=request.GET, automation=automation)


@require_http_methods(["GET", "HEAD", "POST"])
@dashboard_page
def rerun_bulk(request: HttpRequest) -> HttpResponse:
    """GET: how many runs the filter would rerun, and the form to name and start it (the
    history loads it as a panel). POST: make the batch and go to its progress page."""
    org = request.workplace.org
    posted = request.method == "POST"
    params = request.POST if posted else request.GET
    form = RunFilterForm(params, user=request.user, org=org)
    bulk_form = BulkRerunForm(request.POST if posted else None)
    matching, status = None, 200
    if not form.is_valid():
        status = 422
    else:
        filters = form.run_filter()
        if posted and bulk_form.is_valid():
            try:
                batch = runs_rerun_bulk(
                    user=request.user,
                    org=org,
                    filters=filters,
                    name=bulk_form.cleaned_data["name"],
                )
            except ValidationError as exc:
                _add_errors(bulk_form, exc)
            else:
                messages.success(request, f"Rerunning {batch.total:,} runs as “{batch.name}”.")
                return redirect("dashboard:rerun-batch", public_id=batch.public_id)
        if posted:
            status = 422
        # How many a bulk rerun would take (the runs the user may rerun), counted no
        # further than the cap.
        matching = (
            runs_rerunnable(user=request.user, org=org, filters=filters)
            .order_by("-created_at", "-pk")[: BULK_RERUN_CAP + 1]
            .count()
        )
    query = _filter_query(params)
    picked = form.cleaned_data.get("automation") if form.is_valid() else None
    back = reverse("dashboard:automation-runs", args=[picked.public_id]) if picked else None
    context = {
        "nav": "runs",
        "form": form,
        "bulk_form": bulk_form,
        "matching": matching,
        "cap": BULK_RERUN_CAP,
        "bulk_params": list(QueryDict(query).lists()),
        "history_url": (back or reverse("dashboard:runs")) + (f"?{query}" if query else ""),
    }
    template = "dashboard/runs/bulk.html#panel" if request.htmx else "dashboard/runs/bulk.html"
    return render(request, template, context, status=status)


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    else:
        for error in exc.messages:
            form.add_error(None, error)


@require_safe
@dashboard_page
def rerun_batch(request: HttpRequest, public_id) -> HttpResponse:
    batch = rerun_batch_get_for_user(user=request.user, public_id=public_id)
    progress = rerun_batch_progress(batch=batch)
    reruns = list(
        batch.runs.select_related("automation", "rerun_of")
        .defer("trigger_data", "rerun_of__trigger_data")
        .order_by("pk")[:50]
    )
    context = {
        "nav": "runs",
        "batch": batch,
        "progress": progress,
        "reruns": reruns,
        "filters": _batch_filter_words(batch.filters),
    }
    template = "dashboard/runs/batch.html#progress" if request.htmx else "dashboard/runs/batch.html"
    return render(request, template, context)


def _batch_filter_words(record: dict) -> list[str]:
    """The batch's filter as short phrases (the record of RunFilter.as_record)."""
    if not isinstance(record, dict):
        return []
    words = []
    if record.get("status"):
        words.append(f"status {record['status']}")
    if record.get("triggered_by"):
        words.append(f"trigger {record['triggered_by']}")
    for key, label in (("created_from", "from"), ("created_to", "before")):
        value = record.get(key)
        if value:
            try:
                stamp = timezone.localtime(datetime.fromisoformat(value))
            except (TypeError, ValueError):
                continue
            words.append(f"{label} {stamp:%a %-d %b %Y, %H:%M %Z}")
    if record.get("automation"):
        words.append("one automation")
    if record.get("searched"):
        words.append("a search (its text is not kept)")
    return words


urls = [
    path("runs/", history, name="runs"),
    path("runs/rerun/", rerun_bulk, name="runs-rerun-bulk"),
    path("runs/reruns/<uuid:public_id>/", rerun_batch, name="rerun-batch"),
    path("automations/<uuid:public_id>/runs/", automation_history, name="automation-runs"),
    *run_page.urls,
]
