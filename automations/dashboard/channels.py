"""Delivery channels: list, create, edit, delete, send a test message."""

from __future__ import annotations

from django.urls import path

from automations.dashboard.placeholder import not_built

urls = [
    path("channels/", not_built, name="channels"),
]
