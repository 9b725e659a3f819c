from urllib.parse import urlsplit

from django.contrib import admin, messages
from django.db.models import Q

from accounts.admin_scoping import OrgScopedAdmin
from accounts.selectors import admin_organizations_for_user
from delivery.models import Delivery, DeliveryAttempt, DeliveryChannel, Notification
from delivery.services import channel_send_test


@admin.register(Notification)
class NotificationAdmin(OrgScopedAdmin):
    """The in-app inbox, until the dashboard shows it: members see their own items, org admins
    everyone's in their orgs."""

    list_display = ["title", "user", "kind", "created_at", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    readonly_fields = [
        "organization",
        "user",
        "kind",
        "title",
        "body_markdown",
        "automation",
        "run",
        "created_at",
    ]
    fields = [*readonly_fields, "read_at"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        admin_orgs = admin_organizations_for_user(user=request.user)
        return qs.filter(Q(user=request.user) | Q(organization__in=admin_orgs))

    def has_add_permission(self, request):
        return False


@admin.register(DeliveryChannel)
class DeliveryChannelAdmin(OrgScopedAdmin):
    """Channels, without their secrets: the configuration is write-only here."""

    list_display = ["name", "kind", "owner", "organization", "status", "last_error_at"]
    list_filter = ["kind", "status"]
    readonly_fields = ["status", "last_error", "last_error_at", "configured"]
    fields = ["organization", "owner", "kind", "name", *readonly_fields]
    actions = ["send_test"]

    @admin.display(description="Configuration")
    def configured(self, obj):
        config = obj.config or {}
        if obj.kind == "email":
            return ", ".join(config.get("to") or []) or "the owner's address"
        if "url" in config:
            host = urlsplit(config["url"]).hostname or "?"
            return f"webhook on {host} (URL hidden)"
        return "-"

    def has_add_permission(self, request):
        return False  # channels are made in the dashboard or API, where secrets are shown once

    @admin.action(description="Send a test message")
    def send_test(self, request, queryset):
        for channel in queryset:
            outcome = channel_send_test(channel=channel)
            if outcome["ok"]:
                self.message_user(request, f"{channel.name}: {outcome['detail']}", messages.SUCCESS)
            else:
                self.message_user(request, f"{channel.name}: {outcome['error']}", messages.ERROR)


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["started_at", "ok", "http_status", "duration_ms", "error", "permanent"]
    readonly_fields = fields


@admin.register(Delivery)
class DeliveryAdmin(OrgScopedAdmin):
    org_field = "channel__organization"
    list_display = ["run", "channel", "status", "attempts", "permanent", "sent_at"]
    list_filter = ["status", "permanent"]
    inlines = [DeliveryAttemptInline]

    def get_readonly_fields(self, request, obj=None):
        return ["run", "channel", "status", "attempts", "permanent", "last_error", "sent_at"]

    def has_add_permission(self, request):
        return False
