from django.contrib import admin

from skills.models import Skill


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "mode", "active"]
    list_filter = ["mode", "active"]
    search_fields = ["name", "slug"]

    def get_readonly_fields(self, request, obj=None):
        return [] if request.user.is_superuser else [f.name for f in Skill._meta.fields]
