"""Every dashboard URL has an access case (tests/dashboard/access.py)."""

from __future__ import annotations

import importlib
import pkgutil

from django.urls import URLPattern

import tests.dashboard
from automations.dashboard import urls as dashboard_urls


def _cases():
    for info in pkgutil.iter_modules(tests.dashboard.__path__):
        if info.name.startswith("test_"):
            module = importlib.import_module(f"tests.dashboard.{info.name}")
            yield from getattr(module, "CASES", [])


def test_every_dashboard_url_has_an_access_case():
    names = {p.name for p in dashboard_urls.urlpatterns if isinstance(p, URLPattern)}
    covered = {case.url_name for case in _cases()}
    assert names - covered == set(), "dashboard URLs without an access case"
    assert covered - names == set(), "access cases for URLs that do not exist"
