"""ATS connections, for org admins: connect a provider (the webhook URL and secret shown once),
edit it, set the API key (write-only), rotate the webhook secret (shown once), test it with one
API call, delete it, and see its health and recent deliveries, refusals included.

Every write is webhooks/services.py's (the same rules as the admin); every read is
webhooks/selectors.py's. A member of the org gets a page saying only admins manage
connections; another org's connection is a 404 (the fetcher's rule)."""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from automations.dashboard.access import dashboard_page
from automations.dashboard.connection_setup import setup_for
from webhooks import services
from webhooks.connection_forms import connection_webhook_url, write_only_field
from webhooks.models import AtsConnection
from webhooks.providers.registry import PROVIDERS, provider_get
from webhooks.selectors import (
    connection_get_for_user,
    connections_with_health_for_user,
    deliveries_last_day,
    events_recent_for_user,
    refusals_recent_for_user,
)

ADMINS_ONLY = "Only your organization's admins manage its ATS connections."
PAGE = "dashboard/connections/page.html"
SHOWN_ONCE = "dashboard/connections/shown_once.html"
# connection_test's kinds, as the page names them.
TEST_OUTCOMES = {
    "ok": "OK",
    "no_api_key": "No API key",
    "bad_key": "API key refused",
    "refused": "URL not allowed",
    "unreachable": "Unreachable",
    "timeout": "Timed out",
    "http": "Error answer",
    "bad_answer": "Bad answer",
    "too_large": "Answer too large",
}
# A service's error key -> the form field that shows it.
FIELD_OF = {"poll_interval_seconds": "poll_minutes"}


def provider_choices() -> list[tuple[str, str]]:
    """The registry's providers, by their display names."""
    labels = dict(AtsConnection.Provider.choices)
    return sorted(((name, labels.get(name, name)) for name in PROVIDERS), key=lambda c: c[1])


def _write_only(label: str, help_text: str) -> forms.CharField:
    return write_only_field(label, help_text, max_length=services.MAX_API_KEY_CHARS)


class ConnectionForm(forms.Form):
    """The editable fields; every rule is the service's."""

    name = forms.CharField(
        max_length=services.MAX_NAME_CHARS,
        help_text="How your team knows it, e.g. “Greenhouse (EU)”.",
    )
    mode = forms.ChoiceField(
        label="How events arrive",
        choices=AtsConnection.Mode.choices,
        help_text="Webhooks: the ATS sends each change. Polling: we ask its API for changes "
        "(needs an API key). Both: either way, counted once.",
    )
    base_url = forms.CharField(
        label="API URL",
        required=False,
        max_length=services.MAX_URL_CHARS,
        help_text="Leave empty for the ATS's own API host. Workable has none: enter "
        "https://<your subdomain>.workable.com/spi/v3.",
    )
    region = forms.CharField(
        label="Region or subdomain",
        required=False,
        max_length=services.MAX_REGION_CHARS,
        help_text="Optional: your Zoho data centre or Workable subdomain, for reference.",
    )
    poll_minutes = forms.IntegerField(
        label="Poll every (minutes)",
        min_value=services.MIN_POLL_SECONDS // 60,
        max_value=services.MAX_POLL_SECONDS // 60,
        initial=15,
        help_text="With polling: how often we ask the ATS for changes (1 to 1440).",
    )


class ConnectForm(ConnectionForm):
    provider = forms.ChoiceField(label="ATS", choices=provider_choices)
    webhook_secret = _write_only(
        "Webhook secret",
        "Only for Lever, Workable and SmartRecruiters, which issue it (you can paste it later). "
        "For the others we make one and show it once.",
    )
    api_key = _write_only(
        "API key",
        "Write-only: never shown again. Needed for polling and for skills reading your ATS.",
    )
    field_order = ["provider", "name", "mode", "base_url", "region", "poll_minutes"]


class SecretsForm(forms.Form):
    api_key = _write_only(
        "New API key", "Write-only: never shown again. Leave empty to keep the current one."
    )
    remove_api_key = forms.BooleanField(
        label="Remove the API key", required=False, help_text="Refused while the connection polls."
    )

    def __init__(self, *args, issued_by_ats: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if issued_by_ats:
            self.fields["webhook_secret"] = _write_only(
                "New webhook secret",
                "The one your ATS issued. Write-only. Leave empty to keep the current one.",
            )


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    for key, errors in exc.message_dict.items():
        field = FIELD_OF.get(key, key)
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


def _admins_only(request: HttpRequest) -> None:
    if not request.workplace.is_admin:
        raise PermissionDenied(ADMINS_ONLY)


def _fetch(request: HttpRequest, public_id: UUID) -> AtsConnection:
    """The connection the user may change: 404 for another org's, 403 for a member."""
    _admins_only(request)
    return connection_get_for_user(user=request.user, public_id=public_id, write=True)


def _issued_by_ats(connection: AtsConnection) -> bool:
    provider = provider_get(connection.provider)
    return provider is not None and not provider.we_choose_webhook_secret


def _initial(connection: AtsConnection) -> dict:
    return {
        "name": connection.name,
        "mode": connection.mode,
        "base_url": connection.base_url,
        "region": connection.region,
        "poll_minutes": connection.poll_interval_seconds // 60,
    }


def _page(
    request: HttpRequest,
    connection: AtsConnection,
    *,
    form: ConnectionForm | None = None,
    secrets_form: SecretsForm | None = None,
    status: int = 200,
) -> HttpResponse:
    refusals = refusals_recent_for_user(user=request.user, connection=connection)
    context = {
        "nav": "connections",
        "connection": connection,
        "webhook_url": connection_webhook_url(connection),
        "setup": setup_for(connection.provider),
        "issued_by_ats": _issued_by_ats(connection),
        "has_webhook_secret": bool((connection.secrets or {}).get("webhook_secret")),
        "has_api_key": bool((connection.secrets or {}).get("api_key")),
        "form": form or ConnectionForm(initial=_initial(connection)),
        "secrets_form": secrets_form
        or SecretsForm(issued_by_ats=_issued_by_ats(connection), prefix="secrets"),
        "deliveries": deliveries_last_day(connections=[connection])[connection.pk],
        "events": events_recent_for_user(user=request.user, connection=connection),
        "refusals": refusals,
        "last_refusal": refusals[0] if refusals else None,
    }
    return render(request, PAGE, context, status=status)


def _shown_once(
    request: HttpRequest, connection: AtsConnection, secret: str | None, *, created: bool
) -> HttpResponse:
    """The webhook URL and, this once, the secret: rendered into the POST's own answer
    (nowhere stored for a later GET), so a reload shows it no more."""
    context = {
        "nav": "connections",
        "connection": connection,
        "webhook_url": connection_webhook_url(connection),
        "secret": secret,
        "created": created,
        "setup": setup_for(connection.provider),
        "issued_by_ats": _issued_by_ats(connection),
    }
    template = f"{SHOWN_ONCE}#secret-panel" if request.htmx else SHOWN_ONCE
    response = render(request, template, context)
    # Shown once: no cache, proxy or browser history may keep a copy.
    response["Cache-Control"] = "no-store"
    return response


# -- the pages ----------------------------------------------------------------------------------


@require_http_methods(["GET"])
@dashboard_page
def connection_list(request: HttpRequest) -> HttpResponse:
    _admins_only(request)
    connections = list(
        connections_with_health_for_user(user=request.user, org=request.workplace.org)
    )
    deliveries = deliveries_last_day(connections=connections)
    rows = [(c, deliveries[c.pk]) for c in connections]
    return render(request, "dashboard/connections/list.html", {"nav": "connections", "rows": rows})


@require_http_methods(["GET", "POST"])
@dashboard_page
def connection_new(request: HttpRequest) -> HttpResponse:
    _admins_only(request)
    form = ConnectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            connection, generated = services.connection_create(
                org=request.workplace.org,
                by=request.user,
                provider=data["provider"],
                name=data["name"],
                mode=data["mode"],
                base_url=data["base_url"],
                region=data["region"],
                poll_interval_seconds=data["poll_minutes"] * 60,
                webhook_secret=data["webhook_secret"] or None,
                api_key=data["api_key"] or None,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return _shown_once(request, connection, generated, created=True)
    return render(
        request,
        "dashboard/connections/new.html",
        {"nav": "connections", "form": form},
        status=422 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@dashboard_page
def connection_edit(request: HttpRequest, public_id: UUID) -> HttpResponse:
    connection = _fetch(request, public_id)
    if request.method != "POST":
        return _page(request, connection)
    form = ConnectionForm(request.POST, initial=_initial(connection))
    if form.is_valid():
        data = form.cleaned_data
        changes = {
            ("poll_interval_seconds" if f == "poll_minutes" else f): (
                data[f] * 60 if f == "poll_minutes" else data[f]
            )
            for f in form.changed_data
        }
        try:
            services.connection_update(connection=connection, by=request.user, **changes)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Saved." if changes else "Nothing changed.")
            return redirect("dashboard:connection-edit", public_id=connection.public_id)
    return _page(request, connection, form=form, status=422)


@require_POST
@dashboard_page
def connection_secrets(request: HttpRequest, public_id: UUID) -> HttpResponse:
    connection = _fetch(request, public_id)
    form = SecretsForm(request.POST, issued_by_ats=_issued_by_ats(connection), prefix="secrets")
    if form.is_valid():
        data = form.cleaned_data
        changes = {}
        if data["remove_api_key"]:
            changes["api_key"] = ""
        elif data["api_key"]:
            changes["api_key"] = data["api_key"]
        if data.get("webhook_secret"):
            changes["webhook_secret"] = data["webhook_secret"]
        if not changes:
            form.add_error(None, "Paste a new value to save (or tick “Remove the API key”).")
        else:
            try:
                services.connection_set_secrets(connection=connection, by=request.user, **changes)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                what = " and ".join(
                    {"api_key": "API key", "webhook_secret": "webhook secret"}[k] for k in changes
                )
                done = "removed" if changes.get("api_key") == "" else "saved"
                messages.success(request, f"The {what} {done}. It is not shown again.")
                return redirect("dashboard:connection-edit", public_id=connection.public_id)
    return _page(request, connection, secrets_form=form, status=422)


@require_POST
@dashboard_page
def connection_rotate(request: HttpRequest, public_id: UUID) -> HttpResponse:
    connection = _fetch(request, public_id)
    try:
        secret = services.connection_rotate_webhook_secret(connection=connection, by=request.user)
    except ValidationError as exc:
        message = " ".join(exc.messages)
        if request.htmx:
            response = render(request, "dashboard/refused.html#message", {"message": message})
            response.status_code = 409
            return response
        messages.error(request, message)
        return redirect("dashboard:connection-edit", public_id=connection.public_id)
    return _shown_once(request, connection, secret, created=False)


@require_POST
@dashboard_page
def connection_test(request: HttpRequest, public_id: UUID) -> HttpResponse:
    connection = _fetch(request, public_id)
    result = services.connection_test(connection=connection, by=request.user)
    outcome = TEST_OUTCOMES.get(result.kind, result.kind)
    if request.htmx:
        return render(request, f"{PAGE}#test-result", {"result": result, "outcome": outcome})
    report = messages.success if result.ok else messages.error
    report(request, f"Test: {outcome}. {result.message}")
    return redirect("dashboard:connection-edit", public_id=connection.public_id)


@require_POST
@dashboard_page
def connection_delete(request: HttpRequest, public_id: UUID) -> HttpResponse:
    connection = _fetch(request, public_id)
    name = connection.name
    services.connection_delete(connection=connection, by=request.user)
    messages.success(
        request,
        f"Deleted the connection {name} with its events. Remove the webhook from your ATS too.",
    )
    return redirect("dashboard:connections")


urls = [
    path("connections/", connection_list, name="connections"),
    path("connections/new/", connection_new, name="connection-new"),
    path("connections/<uuid:public_id>/", connection_edit, name="connection-edit"),
    path("connections/<uuid:public_id>/secrets/", connection_secrets, name="connection-secrets"),
    path("connections/<uuid:public_id>/rotate/", connection_rotate, name="connection-rotate"),
    path("connections/<uuid:public_id>/test/", connection_test, name="connection-test"),
    path("connections/<uuid:public_id>/delete/", connection_delete, name="connection-delete"),
]
