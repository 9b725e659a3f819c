"""The headers every page is built to pass: a content security policy with no inline script
or style, and the browser features the product never uses switched off.

The dashboard loads only its own files (htmx from django-htmx, static/dashboard/*): no inline
<script>, no style="" attributes, no CDN, and htmx's own indicator <style> is turned off in
the page's htmx-config. The Django admin draws some inline styles of its own, so its pages
get the same policy with inline styles allowed (still no inline script)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

_COMMON = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}
_ADMIN = {**_COMMON, "style-src": "'self' 'unsafe-inline'"}
# The API's docs page (Swagger UI, its files from our static): a <style> block of its own and
# styles set by its script; its script is all files ('self'), none inline.
_API_DOCS = {**_COMMON, "style-src": "'self' 'unsafe-inline'"}


def _policy(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


DASHBOARD_POLICY = _policy(_COMMON)
ADMIN_POLICY = _policy(_ADMIN)
API_DOCS_POLICY = _policy(_API_DOCS)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/admin/"):
            policy = ADMIN_POLICY
        elif request.path.startswith("/api/docs/"):
            policy = API_DOCS_POLICY
        else:
            policy = DASHBOARD_POLICY
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        # SecurityMiddleware sets nosniff, Referrer-Policy and COOP; X-Frame-Options comes from
        # XFrameOptionsMiddleware. These two it does not.
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response
