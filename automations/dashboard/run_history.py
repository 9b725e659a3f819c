"""Run history (the org's and one automation's), the run page, rerun and bulk rerun."""

from __future__ import annotations

from django.urls import path

from automations.dashboard.placeholder import not_built

urls = [
    path("runs/", not_built, name="runs"),
    path("automations/<uuid:public_id>/runs/", not_built, name="automation-runs"),
]
