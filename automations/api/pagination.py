"""Cursor (keyset) pagination for every list: `?cursor=` from the previous page's
`next`/`previous`, `?page_size=` (default 50, at most 100). The answer is
{"results": [...], "next": url|null, "previous": url|null}. A list view sets `ordering`
(a unique-enough, indexed key, newest first by default)."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import CursorPagination
from rest_framework.response import Response


class CursorPage(CursorPagination):
    page_size = 50
    max_page_size = 100
    page_size_query_param = "page_size"
    ordering = ("-created_at", "-id")

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
