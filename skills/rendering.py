"""Helpers skills share: render a markdown template, show times in the automation's zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string


def render_markdown(template: str, context: dict[str, Any]) -> str:
    # Templates wrap their body in {% autoescape off %}: this is markdown, not HTML. Channels
    # escape it for their own format (see delivery/formatting.py).
    return render_to_string(f"skills/{template}", context).strip() + "\n"


def local(dt: datetime | None, time_zone: str) -> str:
    if dt is None:
        return ""
    return dt.astimezone(ZoneInfo(time_zone)).strftime("%a %d %b %Y %H:%M")


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"
