"""Turning a skill's markdown into each channel's format."""

from __future__ import annotations

import re

import markdown
from django.conf import settings
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
BOLD = re.compile(r"\*\*(.+?)\*\*")
HEADING = re.compile(r"^#{1,6}\s+(.*)$", re.MULTILINE)


def markdown_to_html(text: str) -> SafeString:
    # Escape first: ATS data (a candidate's name) must never become markup in an email.
    return mark_safe(markdown.markdown(escape(text), extensions=["sane_lists"]))


def markdown_to_slack(text: str) -> str:
    """Slack's mrkdwn: & < > escaped, *bold*, <url|text> links, headings as bold lines."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", text)
    text = BOLD.sub(r"*\1*", text)
    return HEADING.sub(r"*\1*", text)


def markdown_to_teams(text: str) -> str:
    """Adaptive Card TextBlocks take a markdown subset without headings."""
    return HEADING.sub(r"**\1**", text)


def cut(text: str, limit: int, *, suffix: str) -> tuple[str, bool]:
    """At most `limit` characters, cut at a line end when possible, with `suffix` appended
    when cut."""
    if len(text) <= limit:
        return text, False
    room = limit - len(suffix)
    head = text[:room]
    if "\n" in head[room // 2 :]:
        head = head[: head.rfind("\n")]
    return head.rstrip() + suffix, True


def run_url(run_pk: int) -> str:
    # The run's page; the admin until the dashboard has one.
    return settings.SITE_URL + reverse("admin:automations_automationrun_change", args=[run_pk])
