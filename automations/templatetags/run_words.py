"""Template filters for the run pages: lateness, durations and short error text.

{{ run|lateness }}        "on time", "2 min late", "not started"
{{ run.duration_ms|ms }}  "850 ms", "4.2 s", "3 min 5 s"
{{ text|short:80 }}       the first 80 characters, with an ellipsis when cut
"""

from __future__ import annotations

from django import template

register = template.Library()

# Within this, a run counts as on time (the scheduler's tick and the queue take a moment).
ON_TIME_SECONDS = 5


def _span(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min" + (f" {seconds} s" if seconds else "")
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{hours // 24} days"


@register.filter
def lateness(run) -> str:
    if not run.started_at or not run.scheduled_for:
        return "not started"
    late = (run.started_at - run.scheduled_for).total_seconds()
    if late <= ON_TIME_SECONDS:
        return "on time"
    return f"{_span(late)} late"


@register.filter
def ms(value) -> str:
    if value is None or value == "":
        return "—"
    value = int(value)
    if value < 1000:
        return f"{value} ms"
    if value < 60_000:
        return f"{value / 1000:.1f} s"
    return _span(value / 1000)


@register.filter
def short(value, length: int = 80) -> str:
    text = " ".join(str(value or "").split())
    length = int(length)
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"
