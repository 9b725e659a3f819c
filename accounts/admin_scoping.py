"""Who may do what in the Django admin.

Django's model permissions (from groups such as "Org admins") are global: a user with
`change_organization` may change *every* organization. Everything here narrows them per object,
using the one rule in `accounts.selectors`:

- superusers: everything;
- org admins: view, change, delete and add rows of the organizations they ADMINISTER, and pick
  only such rows (and those orgs' members) in every form field, inline and action;
- plain members: at most their own rows (an admin's `owner_field`), read-only unless the admin
  says the owner may change them (`owner_may_change`, where a service allows the owner);
- everyone else: nothing (403), whatever their groups say.

The Django permission is still required as well: scoping only ever takes away. Where an app
has a fetcher list for the model (`automations_for_user`, `runs_for_user`, `channels_for_user`),
the ModelAdmin names it in `scoped_queryset` and the rows it may view come from there, so the
admin, the dashboard and the API show the same rows.

`GuardedAdminMixin` holds what every admin gets, org-scoped or not: every action is checked
per selected object and runs in one transaction, and a ValidationError raised by a service while
saving is shown on the form (beside its field) instead of answering 500.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models, router, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponseRedirect

from accounts.models import Organization
from accounts.selectors import admin_organizations_for_user, organizations_for_user

# Where a refused save's errors wait for the second, read-only pass over the same POST.
_REFUSAL_ATTR = "_admin_service_refusal"


def validation_messages(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _refusal_to_field_errors(
    exc: ValidationError, form_fields: Iterable[str], field_map: dict[str, str]
) -> dict[str | None, list[str]]:
    """The service's errors keyed by the form's field names; unknown keys become non-field
    errors, with the key named so the message still says what it is about."""
    fields = set(form_fields)
    out: dict[str | None, list[str]] = {}
    if not hasattr(exc, "error_dict"):
        return {None: list(exc.messages)}
    for key, errors in exc.message_dict.items():
        name = field_map.get(key, key)
        if name in fields:
            out.setdefault(name, []).extend(errors)
        elif key == NON_FIELD_ERRORS:
            out.setdefault(None, []).extend(errors)
        else:
            out.setdefault(None, []).extend(f"{key}: {e}" for e in errors)
    return out


class GuardedAdminMixin:
    """Actions checked per object and atomic; service refusals shown on the form."""

    # Service error keys that have another name in this admin's form.
    service_field_map: dict[str, str] = {}

    # -- saving: a service's ValidationError is a form error, never a 500 ---------------------

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method != "POST":
            return super().changeform_view(request, object_id, form_url, extra_context)
        try:
            # Django runs the POST in a transaction: a refusal raised from save_model or
            # save_related rolls back everything the save had written so far.
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            if getattr(request, _REFUSAL_ATTR, None) is not None:
                raise  # the second pass refused again: do not loop
            setattr(request, _REFUSAL_ATTR, exc)
        # Second pass over the same POST: the form adds the refusal's errors in its clean(),
        # is invalid, and Django renders it (200) with each error beside its field.
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        refusal = getattr(request, _REFUSAL_ATTR, None)
        if refusal is None:
            return form_class
        field_map = self.service_field_map

        class RefusedForm(form_class):
            def clean(self):
                data = super().clean()
                for field, errors in _refusal_to_field_errors(
                    refusal, self.fields, field_map
                ).items():
                    for error in errors:
                        self.add_error(field, error)
                return data

        RefusedForm.__name__ = form_class.__name__
        return RefusedForm

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as exc:
            # Django's delete view already ran in a transaction that this rolled back.
            self.message_user(request, validation_messages(exc), messages.ERROR)
            return HttpResponseRedirect(request.path)

    # -- actions: every selected object is checked, all or nothing ----------------------------

    def get_actions(self, request):
        actions = super().get_actions(request)
        guarded = {}
        for name, (func, action_name, description) in actions.items():
            perms = self._action_permissions(func)
            if not all(self._has_perm(request, perm, None) for perm in perms):
                continue  # Django shows an action with any one of its perms; we want all
            guarded[name] = (self._guarded_action(func, perms), action_name, description)
        return guarded

    def response_action(self, request, queryset):
        # Selected ids that are not ids would fail in the query (500) before any action runs.
        to_python = self.model._meta.pk.to_python
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                to_python(value)
        except (ValidationError, ValueError, TypeError):
            self.message_user(request, "Those are not valid selections.", messages.ERROR)
            return None
        return super().response_action(request, queryset)

    @staticmethod
    def _action_permissions(func) -> tuple[str, ...]:
        # An action that names no permission changes things: it needs "change".
        return tuple(getattr(func, "allowed_permissions", None) or ("change",))

    def _has_perm(self, request, perm: str, obj) -> bool:
        check = getattr(self, f"has_{perm}_permission")
        if perm == "add":
            return check(request)
        return check(request, obj)

    def _guarded_action(self, func: Callable, perms: tuple[str, ...]) -> Callable:
        def guarded(modeladmin, request, queryset):
            refused = [
                obj
                for obj in queryset
                if not all(self._has_perm(request, perm, obj) for perm in perms)
            ]
            if refused:
                names = ", ".join(str(obj) for obj in refused[:5])
                more = f" and {len(refused) - 5} more" if len(refused) > 5 else ""
                self.message_user(
                    request,
                    f"Nothing was done: you may not do this to {names}{more}.",
                    messages.ERROR,
                )
                return None
            try:
                with transaction.atomic(using=router.db_for_write(self.model)):
                    return func(modeladmin, request, queryset)
            except (ValidationError, PermissionDenied) as exc:
                text = (
                    validation_messages(exc)
                    if isinstance(exc, ValidationError)
                    else str(exc) or "Permission denied."
                )
                self.message_user(request, f"Nothing was done: {text}", messages.ERROR)
                return None

        guarded.short_description = getattr(func, "short_description", None)
        guarded.allowed_permissions = perms
        return guarded


def superuser_only(admin_class: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:
    """A subclass of `admin_class` (e.g. a third-party admin) that only superusers reach: for
    records only operators should touch (users and groups, django-celery-beat's schedules and
    tasks), every other user gets 403 on every page and no actions, whatever their groups."""

    class SuperuserOnly(GuardedAdminMixin, admin_class):
        def has_module_permission(self, request):
            return request.user.is_active and request.user.is_superuser

        def has_view_permission(self, request, obj=None):
            return request.user.is_active and request.user.is_superuser

        def has_change_permission(self, request, obj=None):
            return request.user.is_active and request.user.is_superuser

        def has_add_permission(self, request, *args):
            return request.user.is_active and request.user.is_superuser

        def has_delete_permission(self, request, obj=None):
            return request.user.is_active and request.user.is_superuser

    SuperuserOnly.__name__ = f"SuperuserOnly{admin_class.__name__}"
    SuperuserOnly.__qualname__ = SuperuserOnly.__name__
    return SuperuserOnly


class OrgScopedAdmin(GuardedAdminMixin, admin.ModelAdmin):
    # The path from this model to its Organization ("pk" for Organization itself).
    org_field = "organization"
    # The path to the user who owns a row (members see their own rows); None: admins only.
    owner_field: str | None = None
    # Whether the owner may change their own row here (only where a service lets them).
    owner_may_change = False
    # The app's fetcher list for this model (`automations_for_user`, ...), called as
    # `scoped_queryset(user=...)`: where set, the rows a non-superuser may view come from it,
    # so the admin shows exactly what the dashboard and the API fetch. It must give the same
    # rows as org_field/owner_field would (which still decide add, change and delete).
    scoped_queryset: Callable[..., QuerySet] | None = None

    # -- the rule ---------------------------------------------------------------------------

    def admin_orgs(self, request: HttpRequest) -> QuerySet[Organization]:
        return admin_organizations_for_user(user=request.user)

    def member_orgs(self, request: HttpRequest) -> QuerySet[Organization]:
        return organizations_for_user(user=request.user)

    def _org_ids(self, request: HttpRequest, *, admin_only: bool) -> set[int]:
        # Asked many times per page (every row, every field): once per request is enough.
        cache = request.__dict__.setdefault("_admin_org_ids", {})
        if admin_only not in cache:
            orgs = self.admin_orgs(request) if admin_only else self.member_orgs(request)
            cache[admin_only] = set(orgs.values_list("pk", flat=True))
        return cache[admin_only]

    def _admin_q(self, request: HttpRequest) -> Q:
        return Q(**{f"{self.org_field}__in": self._org_ids(request, admin_only=True)})

    def _owner_q(self, request: HttpRequest) -> Q:
        if self.owner_field is None:
            return Q(pk__in=[])
        return Q(
            **{
                self.owner_field: request.user.pk,
                f"{self.org_field}__in": self._org_ids(request, admin_only=False),
            }
        )

    def _scope_q(self, request: HttpRequest, *, write: bool) -> Q:
        if write and not self.owner_may_change:
            return self._admin_q(request)
        return self._admin_q(request) | self._owner_q(request)

    def _viewable(self, request: HttpRequest) -> QuerySet:
        """The rows a non-superuser may view: the fetcher's list where there is one."""
        if self.scoped_queryset is not None:
            return self.scoped_queryset(user=request.user)
        return self.model._default_manager.filter(self._scope_q(request, write=False))

    def _in_scope(self, request: HttpRequest, obj, *, write: bool, admin_only: bool = False):
        if request.user.is_superuser:
            return True
        if not write and not admin_only:
            return self._viewable(request).filter(pk=obj.pk).exists()
        q = self._admin_q(request) if admin_only else self._scope_q(request, write=write)
        return self.model._default_manager.filter(q, pk=obj.pk).exists()

    def _may_reach_any(self, request: HttpRequest, *, write: bool, admin_only: bool = False):
        if request.user.is_superuser:
            return True
        if self._org_ids(request, admin_only=True):
            return True
        if admin_only or self.owner_field is None or (write and not self.owner_may_change):
            return False
        return bool(self._org_ids(request, admin_only=False))

    # -- Django's hooks ---------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        if self.scoped_queryset is not None:
            # A subquery of the fetcher's rows: the admin's own ordering and joins stay.
            return qs.filter(pk__in=self._viewable(request).values("pk"))
        return qs.filter(self._scope_q(request, write=False))

    def has_module_permission(self, request):
        return super().has_module_permission(request) and self._may_reach_any(request, write=False)

    def has_view_permission(self, request, obj=None):
        if not super().has_view_permission(request, obj):
            return False
        if obj is None:
            return self._may_reach_any(request, write=False)
        return self._in_scope(request, obj, write=False)

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        if obj is None:
            return self._may_reach_any(request, write=True)
        return self._in_scope(request, obj, write=True)

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        if obj is None:
            return self._may_reach_any(request, write=True, admin_only=True)
        return self._in_scope(request, obj, write=True, admin_only=True)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and self._may_reach_any(
            request, write=True, admin_only=True
        )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        # Who owns a row and where it lives never change after creation.
        if obj is not None:
            for name in self.fixed_after_creation:
                if name not in fields:
                    fields.append(name)
        return fields

    # Fields that are set once, when the row is made.
    fixed_after_creation: tuple[str, ...] = ()

    # -- choices in forms -------------------------------------------------------------------

    def scoped_choices(self, request: HttpRequest, model: type[models.Model]) -> QuerySet | None:
        """What a non-superuser may pick for a relation to `model`; None: not org data."""
        if request.user.is_superuser:
            return None
        admin_ids = self._org_ids(request, admin_only=True)
        if model is Organization:
            return Organization.objects.filter(pk__in=admin_ids)
        if model is get_user_model():
            return (
                get_user_model().objects.filter(memberships__organization__in=admin_ids).distinct()
            )
        if any(f.name == "organization" for f in model._meta.fields):
            return model._default_manager.filter(organization__in=admin_ids)
        return None

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        choices = self.scoped_choices(request, db_field.related_model)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs):
        choices = self.scoped_choices(request, db_field.related_model)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        org_field = self.org_field

        class SameOrgForm(form_class):
            """Every picked row and user belongs to the row's own organization: an admin of
            two orgs cannot wire one org's data into the other's."""

            def clean(self):
                data = super().clean()
                org_id = _org_id_of(self.instance, data, org_field)
                if org_id is None:
                    return data
                for name, value in list(data.items()):
                    for item in _related_values(value):
                        if not _belongs_to_org(item, org_id):
                            self.add_error(name, f"{item} is not in this organization.")
                            break
                return data

        SameOrgForm.__name__ = form_class.__name__
        return SameOrgForm

    def save_model(self, request, obj, form, change):
        self.check_may_save(request, obj)
        super().save_model(request, obj, form, change)

    def check_may_save(self, request: HttpRequest, obj) -> None:
        """The last word before a write: the row's org must be one the user administers
        (or, for an owner's own row, one they belong to)."""
        if request.user.is_superuser:
            return
        org_id = _org_id_of(obj, {}, self.org_field)
        if org_id in self._org_ids(request, admin_only=True):
            return
        if (
            self.owner_may_change
            and obj.pk is not None
            and self._in_scope(request, obj, write=True)
        ):
            return
        raise PermissionDenied


def _org_id_of(instance, data: dict[str, Any], org_field: str) -> int | None:
    if org_field == "pk":
        return instance.pk
    head = org_field.split("__")[0]
    value = data.get(head) if head in data else getattr(instance, head, None)
    for part in org_field.split("__")[1:]:
        if value is None:
            return None
        value = getattr(value, part, None)
    if isinstance(value, Organization):
        return value.pk
    return None


def _related_values(value) -> list:
    if isinstance(value, models.Model):
        return [value]
    if isinstance(value, QuerySet | list | tuple):
        return [v for v in value if isinstance(v, models.Model)]
    return []


def _belongs_to_org(item: models.Model, org_id: int) -> bool:
    if isinstance(item, Organization):
        return item.pk == org_id
    if isinstance(item, get_user_model()):
        return item.memberships.filter(organization_id=org_id).exists()
    item_org = getattr(item, "organization_id", None)
    return item_org is None or item_org == org_id
