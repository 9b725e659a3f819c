"""Org scoping for the Django admin: staff who are not superusers see and pick only rows of
the organizations they belong to."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.http import HttpRequest

from accounts.models import Organization
from accounts.selectors import organizations_for_user


class OrgScopedAdmin(admin.ModelAdmin):
    org_field = "organization"

    def user_orgs(self, request: HttpRequest):
        return organizations_for_user(user=request.user)

    def get_queryset(self, request: HttpRequest):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.org_field}__in": self.user_orgs(request)})

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if not request.user.is_superuser:
            orgs = self.user_orgs(request)
            if db_field.related_model is Organization:
                kwargs["queryset"] = orgs
            elif db_field.related_model is get_user_model():
                kwargs["queryset"] = (
                    get_user_model().objects.filter(memberships__organization__in=orgs).distinct()
                )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs):
        model = db_field.related_model
        if not request.user.is_superuser and any(
            f.name == "organization" for f in model._meta.fields
        ):
            kwargs["queryset"] = model.objects.filter(organization__in=self.user_orgs(request))
        return super().formfield_for_manytomany(db_field, request, **kwargs)
