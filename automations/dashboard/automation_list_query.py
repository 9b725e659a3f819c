"""The automations list's query: its filters (a GET form whose bad values are ignored, never
a 500), the rows with what each shows (skill, owner, channels, the last run) in a constant
number of queries, and keyset pages ordered by (name, pk).

The cursor is the (name, pk) of the row a page starts after (or ends before), signed so a
hand-edited one is refused (and ignored) rather than trusted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import QueryDict

from accounts.models import Organization
from automations.dashboard import page_cursor
from automations.models import Automation, AutomationRun
from automations.selectors import automations_for_user, runs_for_user
from skills.models import Skill

PAGE_SIZE = 50
FILTER_FIELDS = ("q", "status", "trigger", "skill", "owner")


class ListFilters(forms.Form):
    """The list's filters. Choices are built per request (skills, and the owners an admin
    may pick); a value outside them is an error shown beside its field and the filter is
    not applied."""

    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search by name",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(required=False, label="Status")
    trigger = forms.ChoiceField(required=False, label="Trigger")
    skill = forms.ChoiceField(required=False, label="Skill")
    owner = forms.ChoiceField(required=False, label="Owner")

    def __init__(self, data: QueryDict, *, skills: list[tuple[str, str]], owners: list | None):
        super().__init__(data)
        self.fields["status"].choices = [("", "Any status"), *Automation.Status.choices]
        self.fields["trigger"].choices = [("", "Any trigger"), *Automation.TriggerType.choices]
        self.fields["skill"].choices = [("", "Any skill"), *skills]
        if owners is None:  # members see their own rows only: no owner to choose
            del self.fields["owner"]
        else:
            self.fields["owner"].choices = [("", "Anyone"), *owners]

    def values(self) -> dict[str, str]:
        """The valid, non-empty filter values (an invalid one is dropped)."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {name: cleaned[name] for name in FILTER_FIELDS if cleaned.get(name)}


def filters_for(
    *, data: QueryDict, user: AbstractBaseUser, org: Organization, is_admin: bool
) -> ListFilters:
    skills = list(Skill.objects.order_by("name").values_list("slug", "name"))
    owners = None
    if is_admin:
        # The owners of the org's automations (not every member: a filter that can only
        # return nothing is noise). One grouped query over the org's rows.
        owners = list(
            automations_for_user(user=user, org=org)
            .order_by("owner__username")
            .values_list("owner__username", "owner__username")
            .distinct()
        )
    return ListFilters(data, skills=skills, owners=owners)


def automation_rows(
    *, user: AbstractBaseUser, org: Organization, filters: dict[str, str] | None = None
) -> QuerySet[Automation]:
    """The automations the user may see in `org`, filtered, with everything a row shows:
    skill and owner joined, channels prefetched (one query), and the last run's status and
    time as subqueries over the page's rows only (each an index lookup on
    run_automation_recent_idx), so the query count never grows with the rows."""
    filters = filters or {}
    rows = automations_for_user(user=user, org=org)
    if filters.get("q"):
        rows = rows.filter(name__icontains=filters["q"])
    if filters.get("status"):
        rows = rows.filter(status=filters["status"])
    if filters.get("trigger"):
        rows = rows.filter(trigger_type=filters["trigger"])
    if filters.get("skill"):
        rows = rows.filter(skill__slug=filters["skill"])
    if filters.get("owner"):
        rows = rows.filter(owner__username=filters["owner"])
    # Test runs render output and deliver nothing: they are not the automation's last run.
    last = (
        runs_for_user(user=user)
        .filter(automation=OuterRef("pk"))
        .exclude(triggered_by=AutomationRun.TriggeredBy.TEST)
        .order_by("-created_at", "-pk")
    )
    return (
        rows.select_related("skill", "owner")
        .prefetch_related("delivery_channels")
        .annotate(
            last_outcome=Subquery(last.values("status")[:1]),
            last_outcome_at=Subquery(
                last.annotate(at=Coalesce("finished_at", "started_at", "scheduled_for")).values(
                    "at"
                )[:1]
            ),
        )
    )


def cursor_make(row: Automation) -> str:
    return page_cursor.cursor_make(what="automations", key=[row.name, row.pk])


def cursor_read(value: str | None) -> tuple[str, int] | None:
    """The (name, pk) of a cursor, or None for a missing, tampered or malformed one (the
    list then starts at the top)."""
    key = page_cursor.cursor_read(value, what="automations")
    if key is None or len(key) != 2:
        return None
    name, pk = key
    if not isinstance(name, str) or isinstance(pk, bool) or not isinstance(pk, int):
        return None
    return name, pk


@dataclass
class Page:
    rows: list[Automation]
    next_cursor: str | None
    previous_cursor: str | None


def page_of(rows: QuerySet[Automation], *, after: str | None, before: str | None) -> Page:
    """One page of `rows` by (name, pk): after a cursor, before one, or the first."""
    size = PAGE_SIZE
    back = cursor_read(before)
    start = cursor_read(after) if back is None else None
    if back is not None:
        name, pk = back
        found = list(
            rows.filter(Q(name__lt=name) | Q(name=name, pk__lt=pk)).order_by("-name", "-pk")[
                : size + 1
            ]
        )
        page = list(reversed(found[:size]))
        more_before = len(found) > size
        return Page(
            rows=page,
            next_cursor=cursor_make(page[-1]) if page else None,
            previous_cursor=cursor_make(page[0]) if page and more_before else None,
        )
    ordered = rows.order_by("name", "pk")
    if start is not None:
        name, pk = start
        ordered = ordered.filter(Q(name__gt=name) | Q(name=name, pk__gt=pk))
    found = list(ordered[: size + 1])
    page = found[:size]
    return Page(
        rows=page,
        next_cursor=cursor_make(page[-1]) if len(found) > size else None,
        # After a cursor there were rows before this page (at the time it was made).
        previous_cursor=cursor_make(page[0]) if page and start is not None else None,
    )


def query_string(filters: dict[str, Any], **extra: str | None) -> str:
    """The filters (and a cursor) as a URL's query, for links that keep them."""
    params = QueryDict(mutable=True)
    for name, value in {**filters, **extra}.items():
        if value:
            params[name] = value
    return params.urlencode()
