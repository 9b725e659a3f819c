from django.contrib import admin

from accounts.admin_scoping import OrgScopedAdmin
from webhooks.models import SandboxApplication, SandboxCandidate, SandboxJob


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
