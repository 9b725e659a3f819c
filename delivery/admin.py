from django.contrib import admin
from django.db.models import Q

from accounts.admin_scoping import OrgScopedAdmin
from accounts.selectors import admin_organizations_for_user
from delivery.models import Notification


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
