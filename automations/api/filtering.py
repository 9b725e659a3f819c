"""django-filter for every list, strict about what it was given: a typed filter (a date, a
choice, a UUID) sent with an empty value is a 400, not "no filter", so a client's bug
(`?received_until=` from an unset variable) is told, not silently widened to everything."""

from __future__ import annotations

from typing import Any

import django_filters
from django_filters.rest_framework import DjangoFilterBackend

from automations.api.errors import ApiError
from config.form_fields import UtcIsoDateTimeField


class StrictFilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request: Any, queryset: Any, view: Any) -> Any:
        # A NUL in any filter value is no value anything could match, and PostgreSQL refuses
        # it in a text parameter (a 500 if it reached the query).
        nul = sorted(
            name[:100]
            for name, values in request.query_params.lists()
            if any("\x00" in value for value in values)
        )
        if nul:
            raise ApiError(
                400,
                "invalid",
                "Remove the NUL character.",
                {name: ["Remove the NUL character."] for name in nul[:20]},
            )
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            empty = sorted(
                name
                for name, declared in filterset_class.base_filters.items()
                if not isinstance(declared, django_filters.CharFilter)
                and name in request.query_params
                and any(value == "" for value in request.query_params.getlist(name))
            )
            if empty:
                raise ApiError(
                    400,
                    "invalid",
                    "Give a value for each filter you send, or leave it out.",
                    {name: ["Give a value, or leave the filter out."] for name in empty},
                )
        return super().filter_queryset(request, queryset, view)


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 time filter whose value reaches the query in UTC: PostgreSQL refuses an
    offset past ±15:59, which a client may send (see config.form_fields)."""

    field_class = UtcIsoDateTimeField


def validated_only(queryset, name, value):
    """The `method` of a filter that is only validated here and applied elsewhere (by a
    selector that takes the cleaned values). `value` has no type hint on purpose: with one,
    drf-spectacular types the parameter from the hint (`Any`: no type at all) instead of from
    the filter's class (a date-time, a UUID, a choice)."""
    return queryset
