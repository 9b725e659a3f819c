"""What every dashboard page needs before its own work: a signed-in user working in one of
their orgs (`request.workplace`, accounts.profile.Workplace), times shown in their zone, and
refusals answered as pages rather than errors.

A person in no org gets a page that says so (403). A row the user may not see is a 404 from
its fetcher; a write they may not make (PermissionDenied from a service or fetcher) is a 403
page; neither changes anything, since the service refused before writing."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from accounts.profile import workplace_for
from config import logs

View = Callable[..., HttpResponse]


def _private(response: HttpResponse) -> HttpResponse:
    # Pages show an org's data: never kept by a shared cache or the browser's back-forward
    # cache after signing out.
    response.headers.setdefault("Cache-Control", "private, no-store")
    return response


def back_to(request: HttpRequest, *, fallback: str) -> HttpResponseRedirect:
    """Redirect a no-JS POST back to the page it came from (its `next` field): only a path on
    this site, without control characters; anything else goes to `fallback`. (Not
    `redirect()`, which would read a bare word as a URL name to reverse.)"""
    next_url = request.POST.get("next") or ""
    if (
        next_url.startswith("/")
        and next_url.isprintable()
        and url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return HttpResponseRedirect(next_url)
    return HttpResponseRedirect(fallback)


def refused(request: HttpRequest, message: str, *, status: int = 403) -> HttpResponse:
    """The page (or, for htmx, the fragment) that says what was refused and why."""
    template = "dashboard/refused.html#message" if request.htmx else "dashboard/refused.html"
    response = render(request, template, {"message": message}, status=status)
    if request.htmx:
        # Swap the message in where the action's result would go; htmx does not swap 4xx
        # answers unless told (static/dashboard/app.js lets 403 and 422 through).
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
    return _private(response)


def dashboard_page(view: View | None = None, *, org_required: bool = True):
    """Decorate a dashboard view. `org_required=False`: pages for anyone signed in (the
    profile, signing out)."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                if request.htmx:
                    # A fragment request after the session ended: send the whole page to
                    # the sign-in form instead of swapping it into a corner.
                    return HttpResponseClientRedirect(
                        redirect_to_login(request.htmx.current_url_abs_path or "/").url
                    )
                return redirect_to_login(request.get_full_path())
            request.workplace = workplace_for(user=request.user)
            if request.workplace is not None:
                logs.bind(org_id=request.workplace.org.pk)
            if request.workplace is None and org_required:
                return _private(
                    render(request, "dashboard/no_org.html", status=403),
                )
            zone = request.workplace.time_zone if request.workplace else "UTC"
            with timezone.override(zone):
                try:
                    response = view(request, *args, **kwargs)
                except PermissionDenied as exc:
                    response = refused(request, str(exc) or "You may not do that.")
            return _private(response)

        return wrapped

    return decorate(view) if view is not None else decorate
