"""The automations list (filters, search, keyset pages, bulk and inline pause / resume /
delete). The templates gallery is automation_templates.py.

Every action works without JavaScript (a POST that redirects back with a message) and with
htmx (the row or the results fragment swapped in place)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from automations import templates_catalog
from automations.bulk import ACTIONS, MAX_BULK_IDS, automations_bulk, bulk_ids_clean, bulk_targets
from automations.dashboard import automation_templates
from automations.dashboard.access import back_to, dashboard_page
from automations.dashboard.automation_list_query import (
    FILTER_FIELDS,
    automation_rows,
    filters_for,
    page_of,
    query_string,
)
from automations.dashboard.usage import usage_tile
from automations.describe import trigger_words
from automations.models import Automation
from automations.selectors import automation_get_for_user, automations_for_user
from automations.services import automation_pause, automation_resume

PAGE = "dashboard/automations/list.html"


def _listing(request: HttpRequest, data: QueryDict) -> dict:
    """The list's context for the filters and cursor in `data` (a GET's query, or a bulk
    POST's hidden copies of them)."""
    workplace = request.workplace
    form = filters_for(data=data, user=request.user, org=workplace.org, is_admin=workplace.is_admin)
    filters = form.values()
    page = page_of(
        automation_rows(user=request.user, org=workplace.org, filters=filters),
        after=data.get("after"),
        before=data.get("before"),
    )
    any_at_all = bool(page.rows) or bool(filters) or data.get("after") or data.get("before")
    if not any_at_all:
        any_at_all = automations_for_user(user=request.user, org=workplace.org).exists()
    here = query_string(filters, after=data.get("after"), before=data.get("before"))
    return {
        "nav": "automations",
        "form": form,
        "filters": filters,
        "page": page,
        "rows": [_row(a) for a in page.rows],
        "has_any": any_at_all,
        "here": here,
        "list_url": reverse("dashboard:automations"),
        "after": data.get("after", "") if page.rows else "",
        "before": data.get("before", "") if page.rows else "",
        "next_query": query_string(filters, after=page.next_cursor) if page.next_cursor else "",
        "previous_query": (
            query_string(filters, before=page.previous_cursor) if page.previous_cursor else ""
        ),
        "templates": templates_catalog.TEMPLATES,
        "actions": ACTIONS,
        "max_bulk": MAX_BULK_IDS,
    }


def list_page(request: HttpRequest, *, status: int = 200, **extra) -> HttpResponse:
    """The whole list page, unfiltered, with `extra` in its context (the "Describe it" box's
    card or help, when it is posted without JavaScript)."""
    context = _listing(request, QueryDict())
    context["usage_tile"] = usage_tile(request)
    context.update(extra)
    return render(request, PAGE, context, status=status)


def _row(automation: Automation) -> Automation:
    # The trigger's words are computed here, once per row, not in the template.
    automation.trigger_text = trigger_words(automation)
    return automation


def _list_url(query: str = "") -> str:
    url = reverse("dashboard:automations")
    return f"{url}?{query}" if query else url


@require_GET
@dashboard_page
def automation_list(request: HttpRequest) -> HttpResponse:
    context = _listing(request, request.GET)
    if not request.htmx:
        # The usage tile only on the whole page: filtering swaps the results alone.
        context["usage_tile"] = usage_tile(request)
    template = f"{PAGE}#results" if request.htmx else PAGE
    return render(request, template, context)


def _row_answer(request: HttpRequest, automation: Automation, *, error: str = "") -> HttpResponse:
    """The row fragment for htmx (fetched again with everything a row shows), or back to
    the list with a message."""
    if not request.htmx:
        if error:
            messages.error(request, f"{automation.name}: {error}")
        return back_to(request, fallback=reverse("dashboard:automations"))
    row = (
        automation_rows(user=request.user, org=automation.organization)
        .filter(pk=automation.pk)
        .first()
    )
    return render(
        request,
        f"{PAGE}#row",
        {
            "automation": _row(row),
            "row_error": error,
            "here": request.POST.get("here", ""),
            "list_url": reverse("dashboard:automations"),
        },
        status=422 if error else 200,
    )


@require_POST
@dashboard_page(org_required=False)
def automation_pause_view(request: HttpRequest, public_id) -> HttpResponse:
    automation = automation_get_for_user(user=request.user, public_id=public_id, write=True)
    if automation.status == Automation.Status.PENDING_APPROVAL:
        # Pausing then resuming would activate it without an admin's approval.
        return _row_answer(request, automation, error="It is waiting for an admin's approval.")
    if automation.status == Automation.Status.REJECTED:
        return _row_answer(request, automation, error="It was rejected; edit it to resubmit it.")
    if automation.status != Automation.Status.PAUSED:
        automation = automation_pause(
            automation=automation,
            by=request.user,
            reason=f"Paused by {request.user.get_username()} from the dashboard",
        )
    if not request.htmx:
        messages.success(request, f"Paused {automation.name}.")
    return _row_answer(request, automation)


@require_POST
@dashboard_page(org_required=False)
def automation_resume_view(request: HttpRequest, public_id) -> HttpResponse:
    automation = automation_get_for_user(user=request.user, public_id=public_id, write=True)
    try:
        automation = automation_resume(automation=automation, by=request.user)
    except ValidationError as exc:
        return _row_answer(request, automation, error=" ".join(exc.messages))
    if not request.htmx:
        messages.success(request, f"Resumed {automation.name}.")
    return _row_answer(request, automation)


def _bulk_error(request: HttpRequest, data: QueryDict, message: str) -> HttpResponse:
    if not request.htmx:
        messages.error(request, message)
        return redirect(_list_url(_kept_query(data)))
    context = _listing(request, data)
    context["bulk_errors"] = [message]
    return render(request, f"{PAGE}#results", context, status=422)


def _kept_query(data: QueryDict) -> str:
    """The filters and cursor a bulk form carried (hidden copies of the list's query)."""
    kept = {name: data.get(name, "") for name in (*FILTER_FIELDS, "after", "before")}
    return query_string({k: v[:1000] for k, v in kept.items() if isinstance(v, str)})


@require_POST
@dashboard_page
def automations_bulk_view(request: HttpRequest) -> HttpResponse:
    data = request.POST
    action = data.get("action", "")
    ids = data.getlist("ids")
    if action not in ACTIONS:
        return _bulk_error(request, data, "Choose what to do with the selected automations.")
    try:
        good, _bad = bulk_ids_clean(ids)
    except ValidationError as exc:
        return _bulk_error(request, data, " ".join(exc.messages))
    if action == "delete" and data.get("confirm") != "yes":
        # Deleting cannot be undone: a page (or fragment) that names what would go, with
        # its own button, whether or not JavaScript runs.
        targets = list(bulk_targets(user=request.user, org=request.workplace.org, public_ids=good))
        context = {
            "nav": "automations",
            "targets": targets,
            "missing": len(ids) - len(targets),
            "kept": _kept_query(data),
            "kept_fields": [
                (name, data.get(name))
                for name in (*FILTER_FIELDS, "after", "before")
                if data.get(name)
            ],
        }
        template = "dashboard/automations/confirm_delete.html"
        return render(request, f"{template}#confirm" if request.htmx else template, context)
    try:
        outcome = automations_bulk(
            user=request.user, org=request.workplace.org, public_ids=ids, action=action
        )
    except ValidationError as exc:
        return _bulk_error(request, data, " ".join(exc.messages))
    if not request.htmx:
        for sentence in outcome.sentences():
            level = messages.success if outcome.ok else messages.warning
            level(request, sentence)
        return redirect(_list_url(_kept_query(data)))
    context = _listing(request, QueryDict(_kept_query(data)))
    context["bulk_outcome"] = outcome
    return render(request, f"{PAGE}#results", context)


urls = [
    path("automations/", automation_list, name="automations"),
    path("automations/bulk/", automations_bulk_view, name="automations-bulk"),
    path("automations/<uuid:public_id>/pause/", automation_pause_view, name="automation-pause"),
    path(
        "automations/<uuid:public_id>/resume/",
        automation_resume_view,
        name="automation-resume",
    ),
    *automation_templates.urls,
]
