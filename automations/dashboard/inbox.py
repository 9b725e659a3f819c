"""The in-app inbox and the header's unread badge.

Items are the user's own in the current org (delivery.selectors.notifications_for_user: the
recipient only, never an admin or a superuser), newest first, paged by (created_at, id).
Their bodies are skills' markdown, rendered by delivery.formatting (text escaped, only links
to our own site kept): never HTML from the body itself."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST, require_safe
from django_htmx.http import trigger_client_event

from automations.dashboard.access import dashboard_page
from automations.dashboard.page_cursor import cursor_make, cursor_read
from delivery.formatting import markdown_to_html
from delivery.inbox import notification_mark_read, notifications_mark_all_read
from delivery.models import Notification
from delivery.selectors import notification_get_for_user, notifications_for_user

PAGE_SIZE = 25
# What an item shows; the run and automation rows are joined for a name and an id only.
SHOWN = (
    "public_id",
    "kind",
    "title",
    "body_markdown",
    "read_at",
    "created_at",
    "user_id",
    "organization_id",
    "automation__public_id",
    "automation__name",
    "run__public_id",
)


def _shown(rows: QuerySet[Notification]) -> QuerySet[Notification]:
    return rows.select_related("automation", "run").only(*SHOWN)


def _cursor_key(value: str | None) -> tuple[datetime, int] | None:
    key = cursor_read(value, what="inbox")
    if not key or len(key) != 2 or not isinstance(key[0], str) or not isinstance(key[1], int):
        return None
    try:
        created_at = datetime.fromisoformat(key[0])
    except ValueError:
        return None
    return (created_at, key[1]) if created_at.tzinfo is not None else None


def _with_body(items: list[Notification]) -> list[Notification]:
    for item in items:
        item.body_html = markdown_to_html(item.body_markdown)
    return items


def _page(request: HttpRequest, after: str | None) -> dict:
    """One page of the inbox from the cursor `after` (not ours or malformed: the first)."""
    rows = _shown(notifications_for_user(user=request.user, org=request.workplace.org))
    key = _cursor_key(after)
    if key is not None:
        created_at, pk = key
        # Newest first: the rows after the cursor are older, or as old with a smaller id.
        rows = rows.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))
    items = list(rows[: PAGE_SIZE + 1])
    more = len(items) > PAGE_SIZE
    items = _with_body(items[:PAGE_SIZE])
    last = items[-1] if items else None
    return {
        "nav": "inbox",
        "notifications": items,
        "after": after if key is not None else "",
        "next_after": cursor_make(what="inbox", key=[last.created_at.isoformat(), last.pk])
        if more
        else None,
    }


def _back(after: str) -> str:
    url = reverse("dashboard:inbox")
    return f"{url}?{urlencode({'after': after})}" if _cursor_key(after) else url


@require_safe
@dashboard_page
def inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/inbox/page.html", _page(request, request.GET.get("after")))


@require_POST
@dashboard_page
def notification_read(request: HttpRequest, public_id) -> HttpResponse:
    item = notification_get_for_user(user=request.user, public_id=public_id, write=True)
    notification_mark_read(notification=item, by=request.user)
    after = request.POST.get("after", "")
    if not request.htmx:
        messages.success(request, f"Marked {item.title!r} read.")
        return redirect(_back(after))
    shown = _with_body(list(_shown(notifications_for_user(user=request.user)).filter(pk=item.pk)))
    response = render(
        request,
        "dashboard/inbox/page.html#item",
        {"n": shown[0], "after": after if _cursor_key(after) else ""},
    )
    # The header's badge counts again (it listens for this event on <body>).
    return trigger_client_event(response, "inbox-refresh")


@require_POST
@dashboard_page
def inbox_read_all(request: HttpRequest) -> HttpResponse:
    count = notifications_mark_all_read(user=request.user, org=request.workplace.org)
    message = f"Marked {count} item{'s' if count != 1 else ''} read."
    after = request.POST.get("after", "")
    if not request.htmx:
        messages.success(request, message)
        return redirect(_back(after))
    response = render(
        request, "dashboard/inbox/page.html#list", {**_page(request, after), "message": message}
    )
    return trigger_client_event(response, "inbox-refresh")


@require_safe
@dashboard_page
def badge(request: HttpRequest) -> HttpResponse:
    """The header's unread count, refreshed by htmx while the page is visible."""
    unread = notifications_for_user(
        user=request.user, org=request.workplace.org, unread=True
    ).count()
    return render(request, "dashboard/base.html#inbox-badge", {"unread_count": unread})


urls = [
    path("inbox/", inbox, name="inbox"),
    path("inbox/badge/", badge, name="inbox-badge"),
    path("inbox/read-all/", inbox_read_all, name="inbox-read-all"),
    path("inbox/<uuid:public_id>/read/", notification_read, name="notification-read"),
]
