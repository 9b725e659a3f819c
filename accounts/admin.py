from django.contrib import admin

from accounts.admin_scoping import OrgScopedAdmin
from accounts.models import Membership, Organization


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(OrgScopedAdmin):
    org_field = "pk"
    list_display = ["name", "slug", "plan", "time_zone", "approval_required"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]

    def get_readonly_fields(self, request, obj=None):
        # The plan is billing's business, not an org admin's.
        return [] if request.user.is_superuser else ["plan", "slug"]


@admin.register(Membership)
class MembershipAdmin(OrgScopedAdmin):
    list_display = ["user", "organization", "role"]
    list_filter = ["role"]
