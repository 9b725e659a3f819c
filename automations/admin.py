"""Org admins' view of automations. Every write goes through automations.services, so the
admin refuses exactly what the dashboard and API refuse, with the same messages."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from accounts import plans
from accounts.admin_scoping import OrgScopedAdmin
from automations import cron, services
from automations.firing import manual_key, run_fire
from automations.models import Automation, AutomationRun
from automations.schedule_records import FIRE_TASK
from automations.validation import check_plan_frequency, clean_params, clean_schedule

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


class AutomationForm(forms.ModelForm):
    class Meta:
        model = Automation
        fields = FORM_FIELDS

    def clean(self):
        data = super().clean()
        org, skill = data.get("organization"), data.get("skill")
        if self.errors or org is None or skill is None:
            return data
        schedule = clean_schedule(
            trigger_type=data.get("trigger_type", ""),
            cron_expression=data.get("cron_expression", ""),
            time_zone=data.get("time_zone") or org.time_zone,
            poll_interval_seconds=data.get("poll_interval_seconds"),
            event_type=data.get("event_type", ""),
            offset_minutes=data.get("offset_minutes"),
        )
        check_plan_frequency(org=org, schedule=schedule)
        clean_params(skill=skill, params=data.get("params"))
        for channel in data.get("delivery_channels") or []:
            if channel.organization_id != org.pk:
                raise ValidationError(
                    {"delivery_channels": f"The channel {channel.name!r} is not in {org.name}."}
                )
        if self.instance.pk is None and not org.approval_required:
            plans.check_active_automation_count(
                org=org,
                active_now=Automation.objects.filter(
                    organization=org, status=Automation.Status.ACTIVE
                ).count(),
            )
        return data


class RunInline(admin.TabularInline):
    model = AutomationRun
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["idempotency_key", "status", "scheduled_for", "duration_ms", "error_code"]
    readonly_fields = fields
    ordering = ["-created_at"]
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-created_at")


@admin.register(Automation)
class AutomationAdmin(OrgScopedAdmin):
    form = AutomationForm
    list_display = [
        "name",
        "organization",
        "owner",
        "skill",
        "trigger",
        "status",
        "next_run_local",
        "consecutive_failures",
    ]
    list_filter = ["status", "trigger_type", "skill"]
    list_select_related = ["organization", "owner", "skill"]
    search_fields = ["name"]
    readonly_fields = [
        "status",
        "paused_reason",
        "schedule_preview",
        "next_run_at",
        "last_run_at",
        "consecutive_failures",
        "periodic_task",
    ]
    actions = ["pause", "resume", "approve", "run_now"]
    inlines = [RunInline]

    def get_fields(self, request, obj=None):
        return FORM_FIELDS + (self.readonly_fields if obj else [])

    @admin.display(description="Trigger")
    def trigger(self, obj: Automation) -> str:
        if obj.trigger_type == Automation.TriggerType.CRON:
            return f"{cron.describe(obj.cron_expression)} ({obj.time_zone})"
        if obj.trigger_type == Automation.TriggerType.EVENT:
            return f"On {obj.event_type}"
        if obj.trigger_type == Automation.TriggerType.POLL:
            return f"Every {obj.poll_interval_seconds} s"
        return f"{obj.offset_minutes:+d} min from each interview"

    @admin.display(description="Next run", ordering="next_run_at")
    def next_run_local(self, obj: Automation) -> str:
        if not obj.next_run_at:
            return "-"
        return obj.next_run_at.astimezone(ZoneInfo(obj.time_zone)).strftime("%a %d %b %H:%M %Z")

    @admin.display(description="Schedule")
    def schedule_preview(self, obj: Automation):
        if obj.trigger_type != Automation.TriggerType.CRON:
            return "-"
        tz = ZoneInfo(obj.time_zone)
        times = cron.fires(obj.cron_expression, obj.time_zone, timezone.now(), 5)
        return format_html(
            "{}<br>Next: {}",
            cron.describe(obj.cron_expression),
            format_html_join(
                ", ", "{}", ((t.astimezone(tz).strftime("%a %d %b %H:%M %Z"),) for t in times)
            ),
        )

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            changes = {f: data[f] for f in form.changed_data if f in services.EDITABLE}
            if "delivery_channels" in form.changed_data:
                changes["channels"] = list(data["delivery_channels"])
            saved = services.automation_update(
                automation=Automation.objects.get(pk=obj.pk), by=request.user, **changes
            )
        else:
            saved = services.automation_create(
                org=data["organization"],
                owner=data["owner"],
                channels=list(data["delivery_channels"]) or None,
                **{
                    f: data[f]
                    for f in FORM_FIELDS
                    if f not in ("organization", "owner", "delivery_channels")
                },
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

    @admin.action(description="Pause selected automations")
    def pause(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda a: services.automation_pause(automation=a, by=request.user),
            "paused",
        )

    @admin.action(description="Resume selected automations")
    def resume(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda a: services.automation_resume(automation=a, by=request.user),
            "resumed",
        )

    @admin.action(description="Approve selected automations")
    def approve(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda a: services.automation_approve(automation=a, by=request.user),
            "approved",
        )

    @admin.action(description="Run selected automations now")
    def run_now(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda a: run_fire(
                automation=a,
                key=manual_key(),
                triggered_by=AutomationRun.TriggeredBy.MANUAL,
                trigger_data={"by_user": request.user.pk},
            ),
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

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in AutomationRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AutomationPeriodicTaskAdmin(PeriodicTaskAdmin):
    """django-celery-beat's admin, with automations' records read-only and linked to their
    automation: they are changed only through the automation."""

    list_display = [*PeriodicTaskAdmin.list_display, "owning_automation"]

    @admin.display(description="Automation")
    def owning_automation(self, obj: PeriodicTask):
        automation = getattr(obj, "automation", None)
        if automation is None:
            return "-"
        url = reverse("admin:automations_automation_change", args=[automation.pk])
        return format_html('<a href="{}">{}</a>', url, automation.name)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.task == FIRE_TASK:
            return [f.name for f in PeriodicTask._meta.fields] + ["owning_automation"]
        return super().get_readonly_fields(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.task == FIRE_TASK:
            return False
        return super().has_delete_permission(request, obj)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        # Org admins see their own automations' records only.
        return qs.filter(automation__organization__memberships__user=request.user)


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, AutomationPeriodicTaskAdmin)
