"""What error reports may show. Django's filter hides settings named like API, KEY, PASS,
SECRET, TOKEN...; connection URLs carry passwords under names it does not catch
(DATABASE_URL, REDIS_URL, and the same names in request.META, which runserver fills from the
process environment)."""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter


class CredentialHidingFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|AUTH|_URL$|^URL$|DSN|BROKER|DATABASES",
        flags=re.IGNORECASE,
    )
