"""Org admins' view of automations. Every write goes through automations.services, so the
admin refuses exactly what the dashboard and API refuse, with the same messages."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from accounts.admin_scoping import OrgScopedAdmin, superuser_only
from automations import services
from automations.approval_policy import flagged
from automations.describe import trigger_words
from automations.models import Automation, AutomationRun
from automations.scheduling import cron
from automations.scheduling.schedule_records import FIRE_TASK
from automations.selectors import automations_for_user, runs_for_user
from automations.validation import AutomationSpec, automation_raw_from_form, automation_spec_clean

FORM_FIELDS = [
    "name",
    "organization",
    "owner",
    "skill",
    "params",
    "trigger_type",
    "cron_expression",
    "time_zone",
    "event_type",
    "event_filter",
    "offset_minutes",
    "poll_interval_seconds",
    "delivery_channels",
    "catch_up",
    "retry_limit",
]


# The form's fields that are the spec's, by their spec name (the relation is the form's).
SPEC_FIELDS = {
    name: "channels" if name == "delivery_channels" else name
    for name in FORM_FIELDS
    if name not in ("organization", "owner")
}


def _hand_on(field: forms.Field) -> None:
    """Keep the field's widget, label, help text and initial value, but let it judge nothing:
    its clean gives the typed value where there is one (a skill row for its id) and the
    submitted text otherwise, for automation_spec_clean to judge with its own messages (a
    form field's "Enter a whole number." or "Select a valid choice." would pre-empt them)."""
    field.required = False
    model_choice = isinstance(field, forms.ModelChoiceField)

    def clean(value):
        if model_choice:
            try:
                return field.to_python(value)
            except ValidationError:
                return value  # "Choose a skill from the catalog.", from the spec
        return value

    field.clean = clean


class AutomationForm(forms.ModelForm):
    """Every rule is the validation path's: clean() calls automation_spec_clean and shows its
    errors beside the fields; save_model hands the validated spec to the services. The
    channel picker alone keeps its choices: which channels an admin may pick is scoping (see
    accounts.admin_scoping), not input."""

    class Meta:
        model = Automation
        fields = FORM_FIELDS

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.spec: AutomationSpec | None = None
        for name, field in self.fields.items():
            if name in SPEC_FIELDS and name != "delivery_channels":
                _hand_on(field)

    def clean(self) -> dict:
        data = super().clean()
        if self.instance.pk:
            org, existing = self.instance.organization, self.instance
        else:
            org, existing = data.get("organization"), None
        if org is None:
            return data  # the organization field has its own error
        raw = automation_raw_from_form(
            {
                SPEC_FIELDS[name]: data[name]
                for name in self.fields
                if name in data and name in SPEC_FIELDS
            }
        )
        try:
            self.spec = automation_spec_clean(org=org, raw=raw, existing=existing)
        except ValidationError as exc:
            # Field-keyed from the spec; a message without a field goes above the form.
            keyed = exc.error_dict if hasattr(exc, "error_dict") else {None: exc.error_list}
            for key, errors in keyed.items():
                name = "delivery_channels" if key == "channels" else key
                if name in self.fields:
                    self.add_error(name, errors)
                elif key in (None, NON_FIELD_ERRORS):
                    self.add_error(None, errors)
                else:
                    self.add_error(None, [f"{key}: {m}" for e in errors for m in e.messages])
        return data

    def _get_validation_exclusions(self) -> set[str]:
        # The model's field checks (max_length, choices, validators) would judge the spec's
        # fields again, in other words; the spec has judged them.
        return set(super()._get_validation_exclusions()) | set(SPEC_FIELDS)

    def _save_m2m(self) -> None:
        # The services set the channels (the owner's inbox when none is picked); the admin's
        # save_related must not set them again from the picker.
        pass


RECENT_RUNS = 10


class _RecentRuns(BaseInlineFormSet):
    """The automation's newest runs only: its history can be a million rows (the run admin
    and the dashboard's history page them)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.queryset = self.queryset.order_by("-created_at", "-pk")[:RECENT_RUNS]


class RunInline(admin.TabularInline):
    model = AutomationRun
    formset = _RecentRuns
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["status", "triggered_by", "scheduled_for", "duration_ms", "error_code"]
    readonly_fields = fields
    ordering = ["-created_at"]
    show_change_link = True
    verbose_name_plural = f"Recent runs (the last {RECENT_RUNS})"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-created_at")


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,  # the service says why an empty one is refused
        help_text="Its owner is told this, e.g. “Sends candidate data to an outside Slack.”",
    )


@admin.register(Automation)
class AutomationAdmin(OrgScopedAdmin):
    form = AutomationForm
    list_display = [
        "name",
        "organization",
        "owner",
        "skill",
        "trigger",
        "status_with_reason",
        "next_run_local",
        "consecutive_failures",
    ]
    list_filter = ["status", "trigger_type", "skill"]
    list_select_related = ["organization", "owner", "skill", "reviewed_by"]
    search_fields = ["name"]
    readonly_fields = [
        "status_with_reason",
        "trigger",
        "schedule_preview",
        "next_run_at",
        "last_run_at",
        "consecutive_failures",
        "periodic_task",
    ]
    actions = ["pause", "resume", "approve", "reject", "run_now"]
    inlines = [RunInline]
    owner_field = "owner"  # members see their own automations, read-only (the dashboard edits)
    scoped_queryset = staticmethod(automations_for_user)
    fixed_after_creation = ("organization", "owner")
    service_field_map = {"channels": "delivery_channels"}

    def get_fields(self, request, obj=None):
        return FORM_FIELDS + (self.readonly_fields if obj else [])

    @admin.display(description="Trigger")
    def trigger(self, obj: Automation) -> str:
        try:
            return trigger_words(obj)
        except (ValueError, TypeError):  # a stored value no description accepts
            return obj.get_trigger_type_display()

    @admin.display(description="Status", ordering="status")
    def status_with_reason(self, obj: Automation) -> str:
        label = obj.get_status_display()
        if obj.status == Automation.Status.PAUSED and obj.paused_reason:
            return f"{label}: {obj.paused_reason}"
        if obj.status == Automation.Status.REJECTED:
            who = obj.reviewed_by.get_username() if obj.reviewed_by else "an admin"
            return f"{label} by {who}: {obj.review_note}"
        if obj.status == Automation.Status.PENDING_APPROVAL:
            return f"{label}: {flagged(automation=obj)}"
        return label

    @admin.display(description="Next run", ordering="next_run_at")
    def next_run_local(self, obj: Automation) -> str:
        """In the org's zone, which is what an org admin reads the whole org's runs in."""
        if not obj.next_run_at:
            return "-"
        try:
            tz = ZoneInfo(obj.organization.time_zone)
        except (ValueError, ZoneInfoNotFoundError):
            return obj.next_run_at.isoformat()
        return obj.next_run_at.astimezone(tz).strftime("%a %d %b %H:%M %Z")

    @admin.display(description="Schedule")
    def schedule_preview(self, obj: Automation):
        # The saved schedule: on a refused form `obj` holds the values the user typed, which
        # may not be a schedule at all.
        obj = Automation.objects.filter(pk=obj.pk).first() if obj.pk else obj
        if obj is None or obj.trigger_type != Automation.TriggerType.CRON:
            return "-"
        try:
            tz = ZoneInfo(obj.time_zone)
            times = cron.fires(obj.cron_expression, obj.time_zone, timezone.now(), 5)
            described = cron.describe(obj.cron_expression)
        except (ValueError, ZoneInfoNotFoundError):
            return "-"
        return format_html(
            "{}<br>Next: {}",
            described,
            format_html_join(
                ", ", "{}", ((t.astimezone(tz).strftime("%a %d %b %H:%M %Z"),) for t in times)
            ),
        )

    def save_model(self, request, obj, form, change):
        self.check_may_save(request, obj)
        spec = form.spec  # the form is valid, so its spec is there
        if change:
            changes = {
                SPEC_FIELDS[name]: getattr(spec, SPEC_FIELDS[name])
                for name in form.changed_data
                if name in SPEC_FIELDS
            }
            saved = services.automation_update(
                automation=Automation.objects.get(pk=obj.pk), by=request.user, **changes
            )
        else:
            data = form.cleaned_data
            saved = services.automation_create(
                org=data["organization"],
                owner=data["owner"],
                **{field: getattr(spec, field) for field in SPEC_FIELDS.values()},
            )
        obj.pk = saved.pk
        obj.public_id = saved.public_id

    def delete_model(self, request, obj):
        services.automation_delete(automation=obj, by=request.user)

    def _each(self, request, queryset, action, done: str) -> None:
        ok = 0
        for automation in queryset:
            try:
                action(automation)
                ok += 1
            except (ValidationError, PermissionDenied) as exc:
                text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                self.message_user(request, f"{automation.name}: {text}", messages.ERROR)
        if ok:
            self.message_user(request, f"{ok} automation(s) {done}.", messages.SUCCESS)

    @admin.action(description="Pause selected automations", permissions=["change"])
    def pause(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda a: services.automation_pause(automation=a, by=request.user),
            "paused",
        )

    @admin.action(description="Resume selected automations", permissions=["change"])
    def resume(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda a: services.automation_resume(automation=a, by=request.user),
            "resumed",
        )

    @admin.action(description="Approve selected automations", permissions=["change"])
    def approve(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda a: services.automation_approve(automation=a, by=request.user),
            "approved",
        )

    @admin.action(description="Reject selected automations (asks why)", permissions=["change"])
    def reject(self, request, queryset):
        """An intermediate page asks the reason; the owner is told it."""
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            if reason.strip():
                self._each(
                    request,
                    queryset,
                    lambda a: services.automation_reject(
                        automation=a, by=request.user, reason=reason
                    ),
                    "rejected",
                )
                return None
            form.add_error("reason", "Say why, so its owner knows what to change.")
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject automations",
            "opts": self.model._meta,
            "automations": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/automations/reject.html", context)

    @admin.action(description="Run selected automations now", permissions=["change"])
    def run_now(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda a: services.automation_run_now(automation=a, by=request.user),
            "queued to run now",
        )


@admin.register(AutomationRun)
class AutomationRunAdmin(OrgScopedAdmin):
    list_display = [
        "automation",
        "status",
        "triggered_by",
        "scheduled_for",
        "attempt",
        "duration_ms",
        "error_code",
    ]
    list_filter = ["status", "triggered_by"]
    list_select_related = ["automation"]
    date_hierarchy = "scheduled_for"
    owner_field = "automation__owner"
    scoped_queryset = staticmethod(runs_for_user)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in AutomationRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AutomationPeriodicTaskAdmin(superuser_only(PeriodicTaskAdmin)):
    """django-celery-beat's admin, for superusers only (its records carry every org's task
    names and automation ids). An automation's own record is read-only here, linked to its
    automation, and no action touches it: it changes only through the automation's services,
    so it never says "off" while the automation says active."""

    list_display = [*PeriodicTaskAdmin.list_display, "owning_automation"]

    @admin.display(description="Automation")
    def owning_automation(self, obj: PeriodicTask):
        automation = getattr(obj, "automation", None)
        if automation is None:
            return "-"
        url = reverse("admin:automations_automation_change", args=[automation.pk])
        return format_html('<a href="{}">{}</a>', url, automation.name)

    def has_change_permission(self, request: HttpRequest, obj=None):
        if obj is not None and obj.task == FIRE_TASK:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None):
        if obj is not None and obj.task == FIRE_TASK:
            return False
        return super().has_delete_permission(request, obj)


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, AutomationPeriodicTaskAdmin)

# The schedule records behind every PeriodicTask: superusers only, like the tasks.
for _model in (CrontabSchedule, IntervalSchedule, ClockedSchedule, SolarSchedule):
    _stock = type(admin.site._registry[_model])
    admin.site.unregister(_model)
    admin.site.register(_model, superuser_only(_stock))
