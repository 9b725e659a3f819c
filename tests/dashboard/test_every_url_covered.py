"""Every dashboard URL has an access case (tests/dashboard/access.py), and none is still a
placeholder."""

from __future__ import annotations

import importlib
import pkgutil

from django.urls import URLPattern

import tests.dashboard
from automations.dashboard import urls as dashboard_urls
from automations.dashboard.placeholder import not_built


def _cases():
    for info in pkgutil.iter_modules(tests.dashboard.__path__):
        if info.name.startswith("test_"):
            module = importlib.import_module(f"tests.dashboard.{info.name}")
            yield from getattr(module, "CASES", [])


def test_every_dashboard_url_has_an_access_case():
    # Placeholders are the next test's business (each area replaces its own as it lands).
    names = {
        p.name
        for p in dashboard_urls.urlpatterns
        if isinstance(p, URLPattern) and p.callback is not not_built
    }
    covered = {case.url_name for case in _cases()}
    assert names - covered == set(), "dashboard URLs without an access case"
    real = {p.name for p in dashboard_urls.urlpatterns}
    assert covered - real == set(), "access cases for URLs that do not exist"


def test_no_dashboard_url_is_a_placeholder():
    placeholders = [p.name for p in dashboard_urls.urlpatterns if p.callback is not_built]
    assert placeholders == []
