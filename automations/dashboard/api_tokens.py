"""The user's personal API tokens, under the profile: list them (name, prefix, created,
expires, last used, status), make one (the token shown once, in the answer to the POST that
made it, never stored and never shown again), and revoke one (a confirmed POST).

Only the user's own tokens are reachable here (accounts.api_tokens.api_token_get_for_user):
anyone else's prefix is a 404, an org admin's and a superuser's included. Tokens belong to a
person, not an org, so the pages need no org (like the profile)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS as NON_FIELD
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.api_tokens import (
    DEFAULT_EXPIRY_DAYS,
    EXPIRY_CHOICES,
    NAME_MAX_LENGTH,
    api_token_create,
    api_token_get_for_user,
    api_token_revoke,
    api_tokens_for_user,
    token_status,
)
from accounts.models import ApiToken
from automations.dashboard.access import dashboard_page

PAGE = "dashboard/profile/tokens.html"
NEVER = "never"


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=NAME_MAX_LENGTH,
        label="Name",
        help_text="What will use it, e.g. “CI pipeline” or “Reporting script”.",
    )
    expires = forms.ChoiceField(
        label="Expires after",
        choices=[(str(days) if days else NEVER, label) for days, label in EXPIRY_CHOICES],
        initial=str(DEFAULT_EXPIRY_DAYS),
    )


def _rows(request: HttpRequest) -> list[ApiToken]:
    now = timezone.now()
    tokens = list(api_tokens_for_user(user=request.user))
    for token in tokens:
        token.status = token_status(token, now=now)
    return tokens


def _render(request: HttpRequest, form: TokenForm, **extra) -> HttpResponse:
    return render(
        request,
        PAGE,
        {"nav": "profile", "form": form, "tokens": _rows(request), **extra},
        status=422 if form.errors else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@dashboard_page(org_required=False)
def tokens(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render(request, TokenForm())
    form = TokenForm(request.POST)
    if form.is_valid():
        choice = form.cleaned_data["expires"]
        try:
            token, raw = api_token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                expires_in_days=None if choice == NEVER else int(choice),
                never_expires=choice == NEVER,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    # The service names its expiry fields expires_*: the form has one.
                    form.add_error("name" if field in ("name", NON_FIELD) else "expires", error)
        else:
            response = _render(request, TokenForm(), created=token, plaintext=raw)
            # The only answer that ever holds the token: no cache may keep it.
            response["Cache-Control"] = "no-store"
            return response
    return _render(request, form)


@require_POST
@dashboard_page(org_required=False)
def token_revoke(request: HttpRequest, prefix: str) -> HttpResponse:
    try:
        token = api_token_get_for_user(user=request.user, prefix=prefix)
    except ApiToken.DoesNotExist:
        raise Http404("No such token.") from None
    already = token.revoked_at is not None
    api_token_revoke(token=token, by=request.user)
    if not already:
        messages.success(request, f"Revoked the token {token.name} ({token.prefix}).")
    return redirect("dashboard:api-tokens")


urls = [
    path("profile/tokens/", tokens, name="api-tokens"),
    path("profile/tokens/<str:prefix>/revoke/", token_revoke, name="api-token-revoke"),
]
