"""Form fields for times people type or send, shared by the dashboard's forms and the API's
filters.

Django's DateTimeField keeps the offset it was given, and PostgreSQL refuses any offset past
±15:59 ("time zone displacement out of range"), so "2026-01-01T00:00+18:53" in a filter reached
the query as a 500 on PostgreSQL while SQLite answered. Every time a person gives us is turned
into UTC here, and one that has no UTC form (year 1 at +05:00) is a form error, not a crash.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import forms
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

OUT_OF_RANGE = "This time is out of range."


def as_utc(value: datetime | None) -> datetime | None:
    """`value` (aware; naive ones were made aware by the form) in UTC, or a ValidationError
    when UTC cannot hold it."""
    if value is None or value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValidationError(OUT_OF_RANGE, code="overflow") from None


class _UtcMixin:
    def to_python(self, value):
        try:
            result = super().to_python(value)
        except OverflowError:  # a naive time the current zone cannot make aware
            raise ValidationError(OUT_OF_RANGE, code="overflow") from None
        return as_utc(result)


class UtcDateTimeField(_UtcMixin, forms.DateTimeField):
    """A DateTimeField whose cleaned value is always in UTC (see the module's docstring)."""


class UtcIsoDateTimeField(_UtcMixin, IsoDateTimeField):
    """django-filter's ISO 8601 field, cleaned to UTC like UtcDateTimeField."""
