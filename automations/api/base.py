"""The base classes every API view is built on.

- `ApiView` / `ApiViewSet`: JSON, the error format, 401 with `WWW-Authenticate: Bearer`,
  RateLimit-* headers (automations/api/throttling.py).
- `OrgScoped` (mixed in first): the org in the URL (`/api/v1/orgs/<org>/...`, the org's slug)
  resolved on EVERY request before throttling, as `self.org` and `self.membership`; a user
  who is not a member (and not an operator) gets the same 404 as for an org that does not
  exist. Views still fetch rows through the app's fetchers (`automations_for_user(user=,
  org=self.org)`, `automation_get_for_user(...)`): the org check is not the row check.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from rest_framework import exceptions, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Membership, Organization
from accounts.selectors import membership_acting

# The scheme clients are told to use (the API token; the session needs no challenge).
WWW_AUTHENTICATE = 'Bearer realm="api"'
ORG_NOT_FOUND = "No such organization."


class _ApiMixin:
    def get_authenticate_header(self, request: Request) -> str:
        # With only SessionAuthentication configured DRF would answer 403 to anonymous
        # requests; the API always says 401 and names its scheme.
        return super().get_authenticate_header(request) or WWW_AUTHENTICATE  # type: ignore[misc]

    def finalize_response(self, request: Request, response: Response, *args, **kwargs) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        limits = getattr(request, "rate_limits", None)
        if limits:
            limit, remaining, reset = min(limits, key=lambda item: item[1])
            response.headers.setdefault("RateLimit-Limit", str(limit))
            response.headers.setdefault("RateLimit-Remaining", str(remaining))
            response.headers.setdefault("RateLimit-Reset", str(reset))
        return response


class OrgScoped:
    """Resolve `self.org` from the URL's `org` kwarg and check membership, after the
    permission classes (so anonymous is a 401 first) and before the throttles."""

    org: Organization
    membership: Membership

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)  # type: ignore[misc]
        slug = self.kwargs.get("org", "")  # type: ignore[attr-defined]
        org = Organization.objects.filter(slug=str(slug)[:80]).first()
        if org is None:
            raise exceptions.NotFound(ORG_NOT_FOUND)
        try:
            self.membership = membership_acting(user=request.user, org=org)
        except DjangoPermissionDenied:
            raise exceptions.NotFound(ORG_NOT_FOUND) from None
        self.org = org


class ApiView(_ApiMixin, APIView):
    pass


class ApiViewSet(_ApiMixin, viewsets.GenericViewSet):
    pass
