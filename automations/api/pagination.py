"""Cursor (keyset) pagination for every list: `?cursor=` from the previous page's
`next`/`previous`, `?page_size=` (default 50, at most 100). The answer is
{"results": [...], "next": url|null, "previous": url|null}. A list view sets `ordering`
(a unique-enough, indexed key, newest first by default)."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from automations.api.errors import ApiError

BAD_PAGE_SIZE = "Give page_size as a whole number from 1 to 100."


class CursorPage(CursorPagination):
    page_size = 50
    max_page_size = 100
    page_size_query_param = "page_size"
    ordering = ("-created_at", "-id")

    def get_page_size(self, request: Any) -> int:
        """`page_size` as given (1 to 100), else a 400: a typo is told, not ignored."""
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        raw = values[-1]
        if len(values) > 1 or not raw.isascii() or not raw.isdigit():
            raise ApiError(400, "invalid", BAD_PAGE_SIZE, {"page_size": [BAD_PAGE_SIZE]})
        size = int(raw)
        if not 1 <= size <= self.max_page_size:
            raise ApiError(400, "invalid", BAD_PAGE_SIZE, {"page_size": [BAD_PAGE_SIZE]})
        return size

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
        return parameters

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "results": data,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["results", "next", "previous"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "format": "uri", "nullable": True},
                "previous": {"type": "string", "format": "uri", "nullable": True},
            },
        }
