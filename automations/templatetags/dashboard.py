"""Template filters for the dashboard: times in the viewer's zone (the active one, set by
automations.dashboard.access) and, where it differs, in the automation's.

    {{ run.started_at|when }}                       Mon 7 Dec 2026, 09:00 PST
    {{ automation.next_run_at|when_both:automation.time_zone }}
                                                    Mon 7 Dec 2026, 18:00 CET (09:00 PST there)
    {{ run.status|status_class }}                   a CSS class for the status pill
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

from accounts.models import is_time_zone

register = template.Library()

FORMAT = "%a %-d %b %Y, %H:%M %Z"
SHORT = "%H:%M %Z"


@register.filter
def when(value: datetime | None, empty: str = "—") -> str:
    """The instant in the viewer's zone, with the zone's abbreviation."""
    if not value:
        return empty
    return timezone.localtime(value).strftime(FORMAT)


@register.filter
def when_both(value: datetime | None, zone: str) -> str:
    """The instant in the viewer's zone, and in `zone` (the automation's) when that gives a
    different wall-clock reading: '... (09:00 PST there)', the date added if it differs."""
    if not value:
        return "—"
    mine = timezone.localtime(value)
    shown = mine.strftime(FORMAT)
    if not is_time_zone(zone):
        return shown
    theirs = timezone.localtime(value, timezone=_zone(zone))
    if theirs.utcoffset() == mine.utcoffset() and theirs.tzname() == mine.tzname():
        return shown
    there = theirs.strftime(SHORT if theirs.date() == mine.date() else FORMAT)
    return f"{shown} ({there} in {zone})"


@register.filter
def in_zone(value: datetime | None, zone: str) -> str:
    """The instant in `zone`, whatever the viewer's."""
    if not value or not is_time_zone(zone):
        return "—"
    return timezone.localtime(value, timezone=_zone(zone)).strftime(FORMAT)


@register.filter
def status_class(value: str) -> str:
    return f"status {value}" if value else "status"


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
