"""The audit log page (/audit/, org admins only): the org's changes, newest first, paged by
cursor, with filters by action, person and kind of object. Reads go through
accounts.audit_reads, the one rule every surface uses (admins see their org's log, members
none of it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import require_safe

from accounts.audit import AuditAction
from accounts.audit_reads import (
    SYSTEM_ACTOR,
    AuditFilter,
    audit_events_for_user,
    audit_page,
)
from accounts.models import AuditEvent, Membership
from automations.dashboard.access import dashboard_page
from automations.dashboard.page_cursor import cursor_make, cursor_read
from automations.selectors import automations_for_user, runs_for_user
from config.form_fields import UtcDateTimeField

TEMPLATE = "dashboard/audit/log.html"
CURSOR = "audit"
ADMINS_ONLY = "Only your organization's admins see its audit log."
# The person picker lists at most this many members (by name): enough for an org's admins
# to find someone; the log itself is never cut.
PERSON_CHOICES = 300
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]

# The kinds of object the log names (AuditEvent.target_type: the model's name), in words.
WHAT = [
    ("automation", "Automations"),
    ("automationrun", "Runs"),
    ("rerunbatch", "Bulk reruns"),
    ("deliverychannel", "Channels"),
    ("atsconnection", "ATS connections"),
    ("membership", "Members"),
    ("organization", "Organization settings"),
    ("apitoken", "API tokens"),
]
ACTION_GROUPS = [
    ("automation", "Any automation change"),
    ("connection", "Any ATS connection change"),
    ("channel", "Any channel change"),
    ("membership", "Any membership change"),
]


def _local_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False)
    person = forms.ChoiceField(required=False, label="Person")
    what = forms.ChoiceField(required=False, label="What", choices=[("", "Anything"), *WHAT])
    target = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    since = UtcDateTimeField(
        required=False,
        label="From",
        input_formats=DATETIME_FORMATS,
        widget=_local_input(),
        help_text="In your time zone.",
    )
    until = UtcDateTimeField(
        required=False, label="To", input_formats=DATETIME_FORMATS, widget=_local_input()
    )

    def __init__(self, data, *, org):
        super().__init__(data)
        self.fields["action"].choices = [
            ("", "Any action"),
            *ACTION_GROUPS,
            *[(value, label.capitalize()) for value, label in AuditAction.choices()],
        ]
        people = (
            Membership.objects.filter(organization=org)
            .select_related("user")
            .order_by("user__username", "pk")[:PERSON_CHOICES]
        )
        self.fields["person"].choices = [
            ("", "Anyone"),
            (SYSTEM_ACTOR, "The system (scheduler, automatic pauses)"),
            *[(str(m.user_id), m.user.email or m.user.get_username()) for m in people],
        ]

    def clean_target(self) -> str:
        value = (self.cleaned_data.get("target") or "").strip()
        if "\x00" in value:
            raise forms.ValidationError("Not an id.")
        return value

    def clean(self):
        data = super().clean()
        start, end = data.get("since"), data.get("until")
        if start and end and end <= start:
            self.add_error("until", "To must be after From.")
        return data

    def audit_filter(self) -> AuditFilter:
        data = self.cleaned_data
        return AuditFilter(
            action=data.get("action") or "",
            actor=data.get("person") or "",
            target_type=data.get("what") or "",
            target_id=data.get("target") or "",
            since=data.get("since"),
            until=data.get("until"),
        )


@dataclass(frozen=True)
class Row:
    event: AuditEvent
    action_words: str
    link: str | None
    changes: list[tuple[str, Any, Any]]


def _uuids(values: set[str]) -> list[uuid.UUID]:
    out = []
    for value in values:
        try:
            out.append(uuid.UUID(value))
        except ValueError:
            continue
    return out


def _links(request: HttpRequest, org, events: list[AuditEvent]) -> dict[tuple[str, str], str]:
    """Links for the events' automations and runs that still exist (and the viewer may
    see): two queries for the whole page."""
    wanted: dict[str, set[str]] = {"automation": set(), "automationrun": set()}
    for event in events:
        if event.target_type in wanted and event.target_id:
            wanted[event.target_type].add(event.target_id)
    links: dict[tuple[str, str], str] = {}
    if wanted["automation"]:
        found = automations_for_user(user=request.user, org=org).filter(
            public_id__in=_uuids(wanted["automation"])
        )
        for public_id in found.values_list("public_id", flat=True):
            links[("automation", str(public_id))] = reverse(
                "dashboard:automation-edit", args=[public_id]
            )
    if wanted["automationrun"]:
        found = runs_for_user(user=request.user).filter(
            organization=org, public_id__in=_uuids(wanted["automationrun"])
        )
        for public_id in found.values_list("public_id", flat=True):
            links[("automationrun", str(public_id))] = reverse("dashboard:run", args=[public_id])
    return links


def _changes(event: AuditEvent) -> list[tuple[str, Any, Any]]:
    out = []
    for field, change in (event.changes or {}).items():
        if isinstance(change, dict) and ("from" in change or "to" in change):
            out.append((str(field), change.get("from"), change.get("to")))
        else:  # a plain value (a bulk rerun's filter, say)
            out.append((str(field), None, change))
    return out


def _filter_query(params: QueryDict) -> str:
    kept = params.copy()
    kept.pop("after", None)
    return kept.urlencode()


@require_safe
@dashboard_page
def audit_log(request: HttpRequest) -> HttpResponse:
    if not request.workplace.is_admin:
        raise PermissionDenied(ADMINS_ONLY)
    org = request.workplace.org
    params = request.GET
    form = AuditFilterForm(params or None, org=org)
    status, rows, next_cursor = 200, [], None
    if form.is_bound and not form.is_valid():
        status = 422
    else:
        filters = form.audit_filter() if form.is_bound else AuditFilter()
        page = audit_page(
            audit_events_for_user(user=request.user, org=org, filters=filters),
            after=cursor_read(params.get("after"), what=CURSOR),
        )
        links = _links(request, org, page.events)
        rows = [
            Row(
                event=e,
                action_words=AuditAction.label(e.action),
                link=links.get((e.target_type, e.target_id)),
                changes=_changes(e),
            )
            for e in page.events
        ]
        if page.next_key is not None:
            next_cursor = cursor_make(what=CURSOR, key=page.next_key)
    context = {
        "nav": "audit",
        "form": form,
        "rows": rows,
        "next_cursor": next_cursor,
        "filter_query": _filter_query(params),
        "searched": form.is_bound,
    }
    template = f"{TEMPLATE}#results" if request.htmx else TEMPLATE
    return render(request, template, context, status=status)


urls = [path("audit/", audit_log, name="audit")]
