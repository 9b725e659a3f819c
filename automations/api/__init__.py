"""The JSON API under /api/ (DRF), the top layer: it may use every app, and holds no rules of
its own: reads go through the apps' fetchers, writes through their services.

Adding an endpoint (the full guide is in docs: the module docstrings below say the details):
- a view: `class XViewSet(OrgScoped, ApiViewSet)` (automations/api/base.py) under
  `/api/v1/orgs/<slug:org>/...`: `self.org` is resolved and membership checked on every
  request (a non-member gets the org's 404); fetch rows with the app's `*_for_user` fetchers;
- errors: raise what the services raise (Django ValidationError -> 400 with `fields`,
  PermissionDenied -> 403, Http404 -> 404) or `errors.ApiError(status, code, message)`;
- lists: the default CursorPage (automations/api/pagination.py) with an `ordering`, and a
  django-filter FilterSet (`filterset_class`);
- a POST that must not act twice: `@idempotent` (automations/api/idempotency.py);
- throttles apply by default (automations/api/throttling.py);
- tests: a `CASES` list of tests/api/access.py Cases; regenerate docs/openapi.yaml with
  `make openapi`."""
