from urllib.parse import urlsplit

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from accounts.admin_scoping import OrgScopedAdmin
from delivery.channel_services import channel_update
from delivery.models import Delivery, DeliveryAttempt, DeliveryChannel, Notification
from delivery.selectors import channels_for_user
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
    owner_field = "user"
    owner_may_change = True  # marking one's own item read
    # Not notifications_for_user: that is the recipient's inbox, and here org admins also
    # see their members' items.

    def has_add_permission(self, request):
        return False


@admin.register(DeliveryChannel)
class DeliveryChannelAdmin(OrgScopedAdmin):
    """Channels, without their secrets. Where a channel lives, whose it is and its kind are
    fixed; its name changes through `channel_update` and the test goes through
    `channel_send_test`, each with the owner-or-org-admin rule every surface uses."""

    list_display = ["name", "kind", "owner", "organization", "status", "last_error_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [
        "organization",
        "owner",
        "kind",
        "status",
        "last_error",
        "last_error_at",
        "configured",
    ]
    fields = ["organization", "owner", "kind", "name", *readonly_fields[3:]]
    actions = ["send_test"]
    owner_field = "owner"
    owner_may_change = True  # the service lets owners rename and test their own channels
    scoped_queryset = staticmethod(channels_for_user)

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

    def save_model(self, request, obj, form, change):
        if not change:  # never: there is no add page
            raise PermissionDenied
        channel_update(
            channel=DeliveryChannel.objects.get(pk=obj.pk),
            by=request.user,
            name=form.cleaned_data["name"] if "name" in form.changed_data else None,
        )

    @admin.action(description="Send a test message", permissions=["change"])
    def send_test(self, request, queryset):
        for channel in queryset:
            outcome = channel_send_test(channel=channel, by=request.user)
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
    owner_field = "channel__owner"
    list_display = ["run", "channel", "status", "attempts", "permanent", "sent_at"]
    list_filter = ["status", "permanent"]
    inlines = [DeliveryAttemptInline]

    def get_readonly_fields(self, request, obj=None):
        return ["run", "channel", "status", "attempts", "permanent", "last_error", "sent_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # a record of what was sent: read-only for everyone
