"""Request middleware: changes made while serving a request are logged with the surface the
URL belongs to (the API, the admin, else the dashboard)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from accounts.audit import audit_surface
from accounts.models import AuditEvent


def surface_for_path(path: str) -> str:
    if path.startswith("/api/"):
        return AuditEvent.Surface.API
    if path.startswith("/admin/"):
        return AuditEvent.Surface.ADMIN
    if path.startswith("/mcp"):
        return AuditEvent.Surface.MCP
    return AuditEvent.Surface.DASHBOARD


class AuditSurfaceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with audit_surface(surface_for_path(request.path)):
            return self.get_response(request)
