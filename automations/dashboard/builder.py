"""The builder: one form to create and edit an automation, its live schedule preview, test
and run now."""

from __future__ import annotations

from django.urls import path

from automations.dashboard.placeholder import not_built

urls = [
    path("automations/new/", not_built, name="automation-new"),
    path("automations/<uuid:public_id>/", not_built, name="automation-edit"),
]
