"""Every API URL has an isolation case (tests/api/access.py): a `CASES` list in a
tests/api/test_*.py module names it."""

from __future__ import annotations

import importlib
import pkgutil

from django.urls import URLPattern

import tests.api
from automations.api import urls as api_urls

# Not org data: the caller's own profile is checked in test_framework.py; the schema and docs
# are public.
NOT_MATRIXED = {"me"}


def _cases():
    for info in pkgutil.iter_modules(tests.api.__path__):
        if info.name.startswith("test_"):
            module = importlib.import_module(f"tests.api.{info.name}")
            yield from getattr(module, "CASES", [])


def test_every_api_url_has_an_access_case():
    names = {p.name for p in api_urls.v1 if isinstance(p, URLPattern) and p.name}
    covered = {case.url_name for case in _cases()}
    assert names - covered - NOT_MATRIXED == set(), "API URLs without an access case"
    assert covered - names == set(), "access cases for URLs that do not exist"
