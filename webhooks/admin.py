"""The sandbox's demo data, ATS connections and the events they sent. Every write to a
connection goes through webhooks/services.py (the same rules as every other surface); its
secrets are write-only here: set, replaced or rotated, never shown again (a secret generated
here is shown once, on a page of its own)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts.admin_scoping import OrgScopedAdmin
from webhooks import services
from webhooks.connection_forms import connection_webhook_url, write_only_field
from webhooks.models import (
    AtsConnection,
    InboundEvent,
    SandboxApplication,
    SandboxCandidate,
    SandboxJob,
)
from webhooks.selectors import connection_get_for_user


@admin.register(SandboxJob)
class SandboxJobAdmin(OrgScopedAdmin):
    list_display = ["name", "department", "status", "organization"]


@admin.register(SandboxCandidate)
class SandboxCandidateAdmin(OrgScopedAdmin):
    list_display = ["name", "email", "source", "sourced_at", "organization"]
    search_fields = ["name", "email"]


@admin.register(SandboxApplication)
class SandboxApplicationAdmin(OrgScopedAdmin):
    list_display = ["candidate", "job", "stage", "status", "last_activity_at"]
    list_filter = ["status", "stage"]
    list_select_related = ["candidate", "job"]


FORM_FIELDS = [
    "name",
    "organization",
    "provider",
    "mode",
    "base_url",
    "region",
    "poll_interval_seconds",
    "webhook_secret",
    "api_key",
]
SECRET_FIELDS = ("webhook_secret", "api_key")
# Where a secret generated while saving waits for the page that shows it once.
_SHOWN_ONCE_ATTR = "_ats_secret_shown_once"


class AtsConnectionForm(forms.ModelForm):
    """The fields only: every rule is the service's (see `save_model`)."""

    webhook_secret = write_only_field(
        "Webhook secret",
        "Write-only. Leave empty to keep the current one; when adding, one is generated (and "
        "shown once) where the ATS takes any value (Greenhouse, Ashby, Zoho).",
    )
    api_key = write_only_field("API key", "Write-only. Leave empty to keep the current one.")
    base_url = forms.URLField(
        required=False,
        max_length=200,
        assume_scheme="https",  # an ATS API is HTTPS; Django 6 makes this the default
        help_text="API base URL, e.g. https://harvest.greenhouse.io/v1 (empty: the ATS's own)",
    )

    class Meta:
        model = AtsConnection
        fields = [f for f in FORM_FIELDS if f not in SECRET_FIELDS]


@admin.register(AtsConnection)
class AtsConnectionAdmin(OrgScopedAdmin):
    form = AtsConnectionForm
    list_display = ["name", "provider", "mode", "organization", "last_event_at", "last_error_at"]
    list_filter = ["provider", "mode"]
    list_select_related = ["organization"]
    readonly_fields = [
        "webhook_url",
        "webhook_secret_state",
        "api_key_state",
        "secrets_rotated_at",
        "poll_cursor",
        "next_poll_at",
        "last_event_at",
        "last_error",
        "last_error_at",
    ]
    fixed_after_creation = ("organization", "provider")
    actions = ["test_connection", "rotate_webhook_secret"]

    def get_fields(self, request, obj=None):
        return FORM_FIELDS + (self.readonly_fields if obj else [])

    @admin.display(description="Webhook URL")
    def webhook_url(self, obj: AtsConnection) -> str:
        return connection_webhook_url(obj) if obj.pk else "-"

    @admin.display(description="Webhook secret")
    def webhook_secret_state(self, obj: AtsConnection) -> str:
        return "set" if (obj.secrets or {}).get("webhook_secret") else "not set"

    @admin.display(description="API key")
    def api_key_state(self, obj: AtsConnection) -> str:
        return "set" if (obj.secrets or {}).get("api_key") else "not set"

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        self.check_may_save(request, obj)
        secrets = {name: data[name] for name in SECRET_FIELDS if data.get(name)}
        if change:
            current = connection_get_for_user(
                user=request.user, public_id=obj.public_id, write=True
            )
            if secrets:  # first: a key set with a switch to polling mode is there for it
                services.connection_set_secrets(connection=current, by=request.user, **secrets)
            changes = {f: data[f] for f in form.changed_data if f in services.EDITABLE}
            saved = services.connection_update(connection=current, by=request.user, **changes)
        else:
            saved, generated = services.connection_create(
                org=data["organization"],
                by=request.user,
                provider=data["provider"],
                name=data["name"],
                mode=data["mode"],
                base_url=data["base_url"],
                region=data["region"],
                poll_interval_seconds=data["poll_interval_seconds"],
                **secrets,
            )
            if generated:
                setattr(request, _SHOWN_ONCE_ATTR, [(saved, generated)])
        obj.pk, obj.public_id = saved.pk, saved.public_id

    def response_add(self, request, obj, post_url_continue=None):
        shown = getattr(request, _SHOWN_ONCE_ATTR, None)
        if shown:
            return self._shown_once(request, shown)
        return super().response_add(request, obj, post_url_continue)

    def delete_model(self, request, obj):
        services.connection_delete(connection=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for connection in queryset:
            services.connection_delete(connection=connection, by=request.user)

    @admin.action(description="Test the selected connections' API keys", permissions=["change"])
    def test_connection(self, request, queryset):
        for connection in queryset:
            result = services.connection_test(connection=connection, by=request.user)
            level = messages.SUCCESS if result.ok else messages.ERROR
            self.message_user(request, f"{connection}: {result.message}", level)

    @admin.action(
        description="Rotate the selected connections' webhook secrets", permissions=["change"]
    )
    def rotate_webhook_secret(self, request, queryset):
        shown = [
            (
                connection,
                services.connection_rotate_webhook_secret(connection=connection, by=request.user),
            )
            for connection in queryset
        ]
        return self._shown_once(request, shown)

    def _shown_once(
        self, request: HttpRequest, shown: list[tuple[AtsConnection, str]]
    ) -> TemplateResponse:
        response = TemplateResponse(
            request,
            "webhooks/secrets_shown_once.html",
            {
                **self.admin_site.each_context(request),
                "title": "New webhook secret",
                "shown": [
                    {"connection": c, "url": connection_webhook_url(c), "secret": secret}
                    for c, secret in shown
                ],
                "back": reverse("admin:webhooks_atsconnection_changelist"),
            },
        )
        # Shown once: no cache, proxy or browser history may keep a copy.
        response["Cache-Control"] = "no-store"
        return response


@admin.register(InboundEvent)
class InboundEventAdmin(OrgScopedAdmin):
    org_field = "connection__organization"
    list_display = ["raw_type", "connection", "source", "status", "received_at"]
    list_filter = ["status", "source"]
    exclude = ["raw_body"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in InboundEvent._meta.fields if f.name != "raw_body"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # a record of what arrived: read-only for everyone
