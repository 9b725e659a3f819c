"""The automations list (filters, search, keyset pages, bulk and inline pause / resume /
delete) and the templates gallery."""

from __future__ import annotations

from django.urls import path

from automations.dashboard.placeholder import not_built

urls = [
    path("automations/", not_built, name="automations"),
    path("templates/", not_built, name="templates"),
]
