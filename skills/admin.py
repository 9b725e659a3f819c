from django.contrib import admin

from accounts.admin_scoping import GuardedAdminMixin
from skills.models import Skill


@admin.register(Skill)
class SkillAdmin(GuardedAdminMixin, admin.ModelAdmin):
    """The catalog is global: staff with the view permission read it, superusers edit it."""

    list_display = ["name", "slug", "mode", "active"]
    list_filter = ["mode", "active"]
    search_fields = ["name", "slug"]

    def has_add_permission(self, request):
        return request.user.is_superuser and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)
