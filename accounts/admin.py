"""Organizations and memberships in the admin. Memberships change only through
`accounts.membership_services` (see its docstring for who may invite whom); users and groups
are operators' business (superusers only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from accounts import membership_services, org_services
from accounts.admin_scoping import OrgScopedAdmin, superuser_only
from accounts.api_tokens import api_token_revoke, token_status
from accounts.audit import AuditAction
from accounts.audit_reads import audit_events_visible
from accounts.models import ApiToken, AuditEvent, Membership, Organization
from accounts.selectors import is_org_admin

INVITE_LABEL = "User (exact username or email)"


class MembershipForm(forms.ModelForm):
    """A new membership names its user by exact username or email, checked against the
    invite rule; an existing one changes only its role."""

    invite = forms.CharField(label=INVITE_LABEL, required=False, max_length=254)

    # Set per request by the admin that builds the form class.
    request = None

    class Meta:
        model = Membership
        fields = ["role"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["invite"].disabled = True

    def _org(self) -> Organization | None:
        org = self.cleaned_data.get("organization")
        if org is None:
            org = getattr(self.instance, "organization", None)
        return org

    def clean(self):
        data = super().clean()
        self.invited_user = None
        if self.instance.pk:
            return data
        try:
            self.invited_user = membership_services.invitable_user_find(
                by=self.request.user, org=self._org(), identifier=data.get("invite", "")
            )
        except ValidationError as exc:
            self.add_error("invite", exc.message_dict["user"])
        return data


def _form_for(request, form_class):
    return type(form_class.__name__, (form_class,), {"request": request})


class MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipForm
    extra = 0
    fields = ["user", "invite", "role"]
    readonly_fields = ["user"]  # an existing membership is never moved to another user

    def get_formset(self, request, obj=None, **kwargs):
        kwargs["form"] = _form_for(request, self.form)
        return super().get_formset(request, obj, **kwargs)

    def _administers(self, request, obj) -> bool:
        user = request.user
        return user.is_superuser or (obj is not None and is_org_admin(user=user, org=obj))

    def has_add_permission(self, request, obj):
        return super().has_add_permission(request, obj) and self._administers(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._administers(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._administers(request, obj)


class OrganizationForm(forms.ModelForm):
    """The org's settings, judged by org_services.organization_changes_clean (the one
    validation path: the dashboard and organization_update use it too)."""

    class Meta:
        model = Organization
        fields = [
            "name",
            "slug",
            "plan",
            "time_zone",
            "approval_policy",
            *org_services.LLM_EDITABLE,
        ]

    def clean(self):
        data = super().clean()
        changes = {
            f: data[f]
            for f in self.changed_data
            if f in org_services.EDITABLE and f in data and f not in self.errors
        }
        try:
            cleaned = org_services.organization_changes_clean(org=self.instance, changes=changes)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
            return data
        data.update(cleaned)
        return data


@admin.register(Organization)
class OrganizationAdmin(OrgScopedAdmin):
    """Admins of an org change its name, time zone and approval policy; the plan and slug,
    and making or deleting orgs, are superusers' business."""

    org_field = "pk"
    list_display = ["name", "slug", "plan", "time_zone", "approval_policy"]
    search_fields = ["name", "slug"]
    form = OrganizationForm
    inlines = [MembershipInline]

    def get_readonly_fields(self, request, obj=None):
        # The plan is billing's business, not an org admin's.
        return ["usage"] if request.user.is_superuser else ["plan", "slug", "usage"]

    @admin.display(description="Usage")
    def usage(self, obj: Organization | None) -> str:
        # The page lives in automations (automations/admin_usage.py), which accounts may not
        # import: linked by URL name.
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin-usage", args=[obj.public_id])
        return format_html('<a href="{}">Runs, deliveries, webhooks and LLM cost by day</a>', url)

    def has_add_permission(self, request):
        return request.user.is_superuser and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:  # creating orgs is superusers' (has_add_permission)
            return super().save_model(request, obj, form, change)
        self.check_may_save(request, obj)
        # The service holds the rules (who changes what) and audits the change.
        changes = {f: form.cleaned_data[f] for f in form.changed_data if f in org_services.EDITABLE}
        saved = org_services.organization_update(org=obj, by=request.user, **changes)
        for field in org_services.EDITABLE:
            setattr(obj, field, getattr(saved, field))

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        org, by = form.instance, request.user
        deleted = [f for f in formset.initial_forms if f in formset.deleted_forms]
        changed = [
            f
            for f in formset.initial_forms
            if f not in formset.deleted_forms and "role" in f.changed_data
        ]
        # New admins and promotions first, so "make someone else admin, then step down"
        # works in one save; removals last.
        # What Django's change message reads (it expects formset.save() to have set them).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for f in formset.extra_forms:
            if f.has_changed() and f not in formset.deleted_forms:
                formset.new_objects.append(
                    membership_services.membership_invite(
                        org=org,
                        identifier=f.cleaned_data["invite"],
                        role=f.cleaned_data["role"],
                        by=by,
                    )
                )
        changed.sort(key=lambda f: f.cleaned_data["role"] != Membership.Role.ADMIN)
        for f in changed:
            saved = membership_services.membership_set_role(
                membership=f.instance, role=f.cleaned_data["role"], by=by
            )
            formset.changed_objects.append((saved, ["role"]))
        for f in deleted:
            membership_services.membership_remove(membership=f.instance, by=by)
            formset.deleted_objects.append(f.instance)


@admin.register(Membership)
class MembershipAdmin(OrgScopedAdmin):
    """Memberships of the orgs one administers; a member sees only their own, read-only."""

    form = MembershipForm
    owner_field = "user"
    list_display = ["user", "organization", "role"]
    list_filter = ["role"]

    def get_fields(self, request, obj=None):
        return ["user", "organization", "role"] if obj else ["organization", "invite", "role"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "organization"] if obj else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        return _form_for(request, super().get_form(request, obj, change=change, **kwargs))

    def save_model(self, request, obj, form, change):
        if change:
            membership_services.membership_set_role(
                membership=obj, role=form.cleaned_data["role"], by=request.user
            )
            return
        saved = membership_services.membership_invite(
            org=form.cleaned_data["organization"],
            identifier=form.cleaned_data["invite"],
            role=form.cleaned_data["role"],
            by=request.user,
        )
        obj.pk, obj.user, obj.organization = saved.pk, saved.user, saved.organization

    def delete_model(self, request, obj):
        membership_services.membership_remove(membership=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset:
            membership_services.membership_remove(membership=membership, by=request.user)


@admin.register(AuditEvent)
class AuditEventAdmin(OrgScopedAdmin):
    """The audit log of the orgs one administers, read-only: it is written only by
    `accounts.audit.audit_record`, in the transaction of the change it records."""

    scoped_queryset = staticmethod(audit_events_visible)
    list_display = [
        "created_at",
        "actor_label",
        "surface",
        "action_words",
        "target_type",
        "target_label",
        "changes_shown",
    ]
    list_filter = ["action", "surface", "target_type"]
    search_fields = ["actor_label", "target_label"]
    date_hierarchy = "created_at"
    list_select_related = ["organization"]
    fields = [
        "created_at",
        "organization",
        "actor_label",
        "surface",
        "action",
        "target_type",
        "target_id",
        "target_label",
        "changes_shown",
        "note",
    ]
    readonly_fields = fields

    @admin.display(description="action", ordering="action")
    def action_words(self, obj: AuditEvent) -> str:
        return AuditAction.label(obj.action)

    @admin.display(description="changes")
    def changes_shown(self, obj: AuditEvent) -> str:
        return "; ".join(
            f"{field}: {change.get('from')!r} -> {change.get('to')!r}"
            if isinstance(change, dict)
            else f"{field}: {change!r}"
            for field, change in (obj.changes or {}).items()
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Accounts and groups are operators' business: an org admin holding a stray "change user"
# permission could otherwise make themselves a superuser.
for _model, _admin_class in ((get_user_model(), UserAdmin), (Group, GroupAdmin)):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, superuser_only(_admin_class))


class _ApiTokenAdminBase(admin.ModelAdmin):
    """Personal API tokens, for operators: who has which, and when each was used; revoked
    through the service (audited in every org of the user). The hash is never shown, and
    tokens are made only by their owners, in the dashboard."""

    list_display = [
        "name",
        "user",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "status",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__username", "user__email"]
    list_select_related = ["user"]
    fields = ["user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    @admin.display(description="Status")
    def status(self, obj: ApiToken) -> str:
        return token_status(obj).capitalize()

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        done = 0
        for token in queryset:
            if token.revoked_at is None:
                api_token_revoke(token=token, by=request.user)
                done += 1
        self.message_user(request, f"Revoked {done} token(s).", messages.SUCCESS)

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Deleting would drop a token without the audited revoke: use "Revoke".
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        # Deleting a user deletes their tokens, and Django asks this admin's permission for
        # it; a token deleted here on its own is revoked first, so the audit log says so.
        api_token_revoke(token=obj, by=request.user)
        super().delete_model(request, obj)


@admin.register(ApiToken)
class ApiTokenAdmin(superuser_only(_ApiTokenAdminBase)):
    def has_add_permission(self, request, *args):
        return False  # made only by their owners, who see the token once
