"""Helpers skills share: render a markdown template with every value escaped as data, show
times in the automation's zone.

Candidates type their own names, and every other ATS value (job titles, departments, sources,
stage names, later LLM output) is just as foreign: it enters a template as DATA, never as
markdown. `render_markdown` escapes every string in the context before the template sees it
(nobody has to remember a filter), so the only markup in a result is what our own templates
write. A template that needs to insert markdown of ours from a value wraps it in `Markdown`.

The escaping is portable markdown (CommonMark and Python-Markdown read it the same way):
`&`, `<` and `>` become entities, the other markdown metacharacters get a backslash, and
whatever a linkifier would turn into a link (a scheme's `://`, a dotted host name, an `@`) gets
an invisible WORD JOINER that breaks the pattern without changing what the reader sees."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from config.markdown_escape import escape_markdown


class Markdown(str):
    """Markdown we wrote ourselves (a link to our own page): passed to templates unescaped."""


def markdown_data(value: Any) -> Any:
    """Escape every string inside `value` (dicts, lists, dataclasses, any depth). Numbers,
    booleans, dates and `Markdown` pass; any other object becomes its escaped text, so an
    object a skill forgets to convert is still data."""
    if isinstance(value, Markdown):
        return SafeString(value)
    if isinstance(value, str):
        return SafeString(escape_markdown(value))
    if value is None or isinstance(value, bool | int | float | Decimal | date | datetime):
        return value
    if isinstance(value, Mapping):
        return {key: markdown_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [markdown_data(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: markdown_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return SafeString(escape_markdown(str(value)))


def render_markdown(template: str, context: dict[str, Any]) -> str:
    # The templates wrap their body in {% autoescape off %}: Django's escaping is for HTML,
    # and every value has been escaped for markdown here already. Channels then convert this
    # markdown to their own format (delivery/formatting.py), treating text as text.
    return render_to_string(f"skills/{template}", markdown_data(context)).strip() + "\n"


def local(dt: datetime | None, time_zone: str) -> str:
    if dt is None:
        return ""
    return dt.astimezone(ZoneInfo(time_zone)).strftime("%a %d %b %Y %H:%M")


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"
