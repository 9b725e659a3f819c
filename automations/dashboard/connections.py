"""ATS connections, for org admins: connect, secrets once, API key, test, health."""

from __future__ import annotations

from django.urls import path

from automations.dashboard.placeholder import not_built

urls = [
    path("connections/", not_built, name="connections"),
]
