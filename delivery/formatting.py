"""Turning a skill's markdown into each channel's format."""

from __future__ import annotations

import markdown
from django.conf import settings
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def markdown_to_html(text: str) -> SafeString:
    # Escape first: ATS data (a candidate's name) must never become markup in an email.
    return mark_safe(markdown.markdown(escape(text), extensions=["sane_lists"]))


def run_url(run_pk: int) -> str:
    # The run's page; the admin until the dashboard has one.
    return settings.SITE_URL + reverse("admin:automations_automationrun_change", args=[run_pk])
