""" "Why didn't it fire?": one readable panel per automation."""

from __future__ import annotations

from django.urls import path

from automations.dashboard.placeholder import not_built

urls = [
    path("automations/<uuid:public_id>/why/", not_built, name="automation-why"),
]
