from django.contrib import admin

from accounts.admin_scoping import OrgScopedAdmin
from webhooks.models import (
    AtsConnection,
    InboundEvent,
    SandboxApplication,
    SandboxCandidate,
    SandboxJob,
)


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


@admin.register(AtsConnection)
class AtsConnectionAdmin(OrgScopedAdmin):
    list_display = ["name", "provider", "mode", "organization", "last_event_at", "last_error_at"]
    list_filter = ["provider", "mode"]
    readonly_fields = [
        "webhook_url",
        "poll_cursor",
        "next_poll_at",
        "last_event_at",
        "last_error",
        "last_error_at",
    ]
    exclude = ["secrets", "stage_names"]  # secrets are set through the services, never shown
    fixed_after_creation = ("organization", "provider")

    @admin.display(description="Webhook URL")
    def webhook_url(self, obj):
        if not obj.pk:
            return "-"
        from django.conf import settings
        from django.urls import reverse

        return settings.SITE_URL + reverse("ats-webhook", args=[obj.provider, obj.public_id])


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
