"""The builder: one form to create and edit an automation, its live schedule preview, the
params form of the chosen skill, adding a channel inline, test and run now, and delete.

Every action works without JavaScript (a button's formaction posts the whole form to its
URL, which answers with the page again) and, with htmx, swaps only its fragment of
templates/dashboard/builder/page.html. Reads go through the selectors, writes through the
services; the form (builder_forms.py) only converts the inputs for the one validation path."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import Organization, time_zone_names
from accounts.selectors import membership_acting
from automations.audience import audience_label, audience_people
from automations.dashboard.access import dashboard_page, refused
from automations.dashboard.builder_forms import (
    BuilderForm,
    initial_for_automation,
    initial_for_new,
    param_errors,
    param_fields,
    params_from_form,
)
from automations.dashboard.builder_preview import preview_for
from automations.describe import trigger_words
from automations.drafts import automation_draft_builder_initial, automation_draft_get_for_user
from automations.models import Automation
from automations.selectors import automation_get_for_user, run_get_for_user
from automations.services import (
    automation_create,
    automation_delete,
    automation_run_now,
    automation_update,
)
from automations.trial import TrialResult, automation_test, automation_test_draft
from automations.validation import automation_spec_clean
from delivery.channel_services import channel_create
from delivery.models import DeliveryChannel
from delivery.selectors import channels_for_user
from skills.models import Skill
from skills.selectors import skill_get_active, skills_active

PAGE = "dashboard/builder/page.html"
CHANNEL_KINDS = (
    (DeliveryChannel.Kind.EMAIL, "Email"),
    (DeliveryChannel.Kind.SLACK, "Slack"),
    (DeliveryChannel.Kind.TEAMS, "Microsoft Teams"),
    (DeliveryChannel.Kind.WEBHOOK, "Webhook"),
    (DeliveryChannel.Kind.IN_APP, "In-app inbox"),
)


# -- what every answer of the page needs ------------------------------------------------------


def _skill(slug: str, automation: Automation | None) -> Skill | None:
    """The chosen skill: an active one, or the automation's own (kept even if switched off
    since, so the rest of it can still be edited)."""
    if automation is not None and slug == automation.skill.slug:
        return automation.skill
    return skill_get_active(slug=slug)


def _skills(automation: Automation | None) -> list[Skill]:
    skills = list(skills_active())
    if automation is not None and automation.skill not in skills:
        skills.append(automation.skill)
    return skills


def _editing(request: HttpRequest, data) -> Automation | None:
    """The automation a fragment request is about (the form's hidden `editing` id), fetched
    for writing: Http404 for anyone who may not change it."""
    public_id = data.get("editing") if data is not None else None
    if not public_id:
        return None
    return automation_get_for_user(user=request.user, public_id=public_id, write=True)


def _org(request: HttpRequest, automation: Automation | None) -> Organization:
    return automation.organization if automation is not None else request.workplace.org


def _channels(request: HttpRequest, org: Organization) -> list[DeliveryChannel]:
    return list(channels_for_user(user=request.user, org=org).order_by("name", "pk"))


def _people(request: HttpRequest, org: Organization) -> list | None:
    """The org's members, for an org admin's owner and audience inputs; None for a member,
    who may only make automations for themself."""
    if not membership_acting(user=request.user, org=org).is_admin:
        return None
    return list(audience_people(org=org))


def _form(request: HttpRequest, automation: Automation | None, data=None, initial=None):
    org = _org(request, automation)
    return BuilderForm(
        data,
        initial=initial,
        skills=_skills(automation),
        channels=_channels(request, org),
        people=_people(request, org),
    )


def _context(
    request: HttpRequest,
    form: BuilderForm,
    *,
    automation: Automation | None,
    params: dict[str, Any] | None = None,
    picked: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    org = _org(request, automation)
    skill = _skill(form.text("skill"), automation)
    by_param, params_rest = param_errors(form.extra_errors.get("params", []), skill=skill)
    data = form.data if form.is_bound else None
    if picked is None:
        picked = form.picked_channels() if form.is_bound else list(form.initial.get("channels", []))
    membership = membership_acting(user=request.user, org=org)
    return {
        "nav": "automations",
        "org": org,
        "form": form,
        "automation": automation,
        "skill": skill,
        "skills": form.fields["skill"].choices,
        "param_fields": param_fields(skill, values=params, data=data, errors=by_param),
        "params_errors": params_rest,
        "channels": form.channels,
        "picked": [str(p) for p in picked],
        "channel_kinds": CHANNEL_KINDS,
        "filter_rows": form.filter_rows(),
        "zones": time_zone_names(),
        "preview": preview_for(
            form,
            org=org,
            membership=membership,
            viewer_zone=_viewer_zone(request, org),
            editing=automation is not None,
        ),
        "form_action": (
            reverse("dashboard:automation-edit", args=[automation.public_id])
            if automation
            else reverse("dashboard:automation-new")
        ),
        "test_url": (
            reverse("dashboard:automation-test", args=[automation.public_id])
            if automation
            else reverse("dashboard:automation-test-draft")
        ),
        "trigger": trigger_words(automation) if automation else "",
        "audience_words": audience_label(automation) if automation else "",
        "audience_inputs": form.people is not None,
        **extra,
    }


def _viewer_zone(request: HttpRequest, org: Organization) -> str:
    # An operator in no org opens an automation's page: times in the org's zone.
    workplace = request.workplace
    return workplace.time_zone if workplace is not None else org.time_zone


def _page(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    return render(request, PAGE, context, status=status)


# -- create and edit --------------------------------------------------------------------------


def _template_fields(key: object) -> dict[str, Any] | None:
    """A template's builder field values (automations.templates_catalog, the list helper's:
    `template_get(key) -> {"key","title","description","fields"} | None`)."""
    if not isinstance(key, str) or not key or len(key) > 100:
        return None
    try:
        from automations.templates_catalog import template_get
    except ImportError:  # the gallery has not landed: no prefill
        return None
    template = template_get(key)
    if not template or not isinstance(template.get("fields"), dict):
        return None
    return template


def _draft_fields(request: HttpRequest, draft_id: object) -> dict[str, Any] | None:
    """A plain-English draft's builder field values ("Edit" on its card), for its own user
    only; any other id (malformed, expired and purged, someone else's) opens a blank builder."""
    if not draft_id:
        return None
    try:
        draft = automation_draft_get_for_user(
            org=request.workplace.org, user=request.user, draft_id=draft_id
        )
    except Http404:
        return None
    return automation_draft_builder_initial(draft)


def _spec_raw(form: BuilderForm, automation: Automation | None) -> dict[str, Any] | None:
    """The raw mapping for the validation path, or None after placing a preset's error."""
    skill = _skill(form.text("skill"), automation)
    params = params_from_form(skill, form.data) if skill is not None else {}
    try:
        raw = form.raw(skill=skill, params=params)
    except ValidationError as exc:
        form.place_errors(exc)
        return None
    if automation is not None and skill == automation.skill:
        # Unchanged: the spec keeps a switched-off skill rather than refusing every edit.
        del raw["skill"]
    return raw


def _save(request: HttpRequest, automation: Automation | None) -> HttpResponse:
    form = _form(request, automation, data=request.POST)
    raw = _spec_raw(form, automation)
    if raw is not None:
        try:
            who = form.audience_raw()  # an org admin's owner and audience; {} for a member
            if automation is None:
                saved = automation_create(
                    org=request.workplace.org,
                    owner=who.pop("owner", request.user),
                    by=request.user,
                    **who,
                    **raw,
                )
            else:
                saved = automation_update(automation=automation, by=request.user, **who, **raw)
        except ValidationError as exc:
            form.place_errors(exc)
        else:
            if automation is None and saved.status == Automation.Status.PENDING_APPROVAL:
                messages.success(
                    request, f"Saved “{saved.name}”. It waits for an admin's approval to run."
                )
            else:
                messages.success(request, f"Saved “{saved.name}”: {trigger_words(saved)}.")
            return redirect("dashboard:automation-edit", saved.public_id)
    return _page(request, _context(request, form, automation=automation), status=422)


@require_http_methods(["GET", "POST"])
@dashboard_page
def automation_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _save(request, None)
    template = _template_fields(request.GET.get("template"))
    fields = template["fields"] if template else _draft_fields(request, request.GET.get("draft"))
    initial = initial_for_new(org_time_zone=request.workplace.org.time_zone, fields=fields)
    initial.setdefault("owner", str(request.user.pk))
    initial.setdefault("audience", Automation.Audience.OWNER)
    form = _form(request, None, initial=initial)
    context = _context(request, form, automation=None, params=initial.get("params"))
    context["template"] = template
    return _page(request, context)


@require_http_methods(["GET", "POST"])
@dashboard_page(org_required=False)  # a foreign or unknown row: 404, for anyone
def automation_edit(request: HttpRequest, public_id) -> HttpResponse:
    automation = automation_get_for_user(user=request.user, public_id=public_id, write=True)
    if request.method == "POST":
        return _save(request, automation)
    initial = initial_for_automation(automation)
    form = _form(request, automation, initial=initial)
    picked = [str(c.public_id) for c in automation.delivery_channels.all()]
    ran = None
    if request.GET.get("run"):  # back from "Run now" without JavaScript
        try:
            ran = run_get_for_user(user=request.user, public_id=request.GET["run"])
        except Http404:  # a foreign or malformed id: just no link
            ran = None
    context = _context(
        request, form, automation=automation, params=automation.params, picked=picked, ran=ran
    )
    return _page(request, context)


# -- fragments: preview, params, channels -----------------------------------------------------


@require_http_methods(["GET", "POST"])
@dashboard_page
def automation_preview(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    automation = _editing(request, data)
    form = _form(request, automation, data=data)
    context = _context(request, form, automation=automation)
    if request.htmx:
        return render(request, f"{PAGE}#preview", context)
    return _page(request, context)


@require_safe
@dashboard_page
def automation_params(request: HttpRequest) -> HttpResponse:
    """The params inputs of the chosen skill, with its schema's defaults (htmx swaps them in
    when the skill changes)."""
    automation = _editing(request, request.GET)
    skill = _skill(request.GET.get("skill", ""), automation)
    values = automation.params if automation is not None and skill == automation.skill else None
    context = {
        "skill": skill,
        "param_fields": param_fields(skill, values=values),
        "params_errors": [],
    }
    return render(request, f"{PAGE}#params", context)


def _new_channel_config(data) -> dict[str, Any]:
    kind = data.get("new_channel_kind", "")
    if kind == DeliveryChannel.Kind.EMAIL:
        to = [a.strip() for a in data.get("new_channel_to", "").split(",") if a.strip()]
        return {"to": to}
    if kind in (
        DeliveryChannel.Kind.SLACK,
        DeliveryChannel.Kind.TEAMS,
        DeliveryChannel.Kind.WEBHOOK,
    ):
        return {"url": data.get("new_channel_url", "")}
    return {}


@require_POST
@dashboard_page
def automation_channel_add(request: HttpRequest) -> HttpResponse:
    """Create a channel (delivery.channel_services.channel_create) and show it ticked in the
    picker; a webhook's signing secret is shown this once."""
    automation = _editing(request, request.POST)
    org = _org(request, automation)
    form = _form(request, automation, data=request.POST)
    picked = form.picked_channels()
    add_errors: dict[str, list[str]] = {}
    secret = None
    try:
        channel, secret = channel_create(
            org=org,
            owner=request.user,
            kind=request.POST.get("new_channel_kind", ""),
            name=request.POST.get("new_channel_name", ""),
            config=_new_channel_config(request.POST),
        )
    except ValidationError as exc:
        keyed = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        add_errors = {
            k if k in ("name", "kind", "config") else "config": v for k, v in keyed.items()
        }
        channel = None
    else:
        picked.append(str(channel.public_id))
        form.channels = _channels(request, org)
    context = _context(
        request,
        form,
        automation=automation,
        picked=picked,
        add_errors=add_errors,
        new_channel=channel,
        new_secret=secret,
        add_open=bool(add_errors),
    )
    status = 422 if add_errors else 200
    if request.htmx:
        return render(request, f"{PAGE}#channel-picker", context, status=status)
    return _page(request, context, status=status)


# -- test, run now, delete --------------------------------------------------------------------


def _trial_answer(
    request: HttpRequest, context: dict[str, Any], trial: TrialResult | None, *, status: int = 200
) -> HttpResponse:
    context["trial"] = trial
    if request.htmx:
        return render(request, f"{PAGE}#test-output", context, status=status)
    return _page(request, context, status=status)


@require_POST
@dashboard_page
def automation_test_draft_view(request: HttpRequest) -> HttpResponse:
    """Test the create form's automation without saving it: the form is validated as for
    saving, then the skill runs on the spec; nothing is saved or sent."""
    org = request.workplace.org
    form = _form(request, None, data=request.POST)
    raw = _spec_raw(form, None)
    spec = None
    if raw is not None:
        try:
            spec = automation_spec_clean(org=org, raw=raw)
        except ValidationError as exc:
            form.place_errors(exc)
    context = _context(request, form, automation=None)
    if spec is None:
        context["test_errors"] = True
        return _trial_answer(request, context, None, status=422)
    trial = automation_test_draft(org=org, user=request.user, spec=spec)
    return _trial_answer(request, context, trial)


@require_POST
@dashboard_page(org_required=False)  # a foreign or unknown row: 404, for anyone
def automation_test_view(request: HttpRequest, public_id) -> HttpResponse:
    """Test the saved automation: a test run kept in its history, nothing delivered."""
    automation = automation_get_for_user(user=request.user, public_id=public_id, write=True)
    trial = automation_test(automation=automation, by=request.user)
    if request.htmx:
        return render(request, f"{PAGE}#test-output", {"trial": trial})
    form = _form(request, automation, initial=initial_for_automation(automation))
    picked = [str(c.public_id) for c in automation.delivery_channels.all()]
    context = _context(
        request, form, automation=automation, params=automation.params, picked=picked
    )
    return _trial_answer(request, context, trial)


@require_POST
@dashboard_page(org_required=False)  # a foreign or unknown row: 404, for anyone
def automation_run_now_view(request: HttpRequest, public_id) -> HttpResponse:
    automation = automation_get_for_user(user=request.user, public_id=public_id, write=True)
    try:
        run = automation_run_now(automation=automation, by=request.user)
    except ValidationError as exc:
        message = " ".join(exc.messages)
        if request.htmx:
            return refused(request, message, status=409)
        messages.error(request, message)
        return redirect("dashboard:automation-edit", automation.public_id)
    if request.htmx:
        return render(request, f"{PAGE}#run-now", {"ran": run, "automation": automation})
    messages.success(request, f"Started a run of “{automation.name}”.")
    url = reverse("dashboard:automation-edit", args=[automation.public_id])
    return redirect(f"{url}?run={run.public_id}")


@require_POST
@dashboard_page(org_required=False)  # a foreign or unknown row: 404, for anyone
def automation_delete_view(request: HttpRequest, public_id) -> HttpResponse:
    automation = automation_get_for_user(user=request.user, public_id=public_id, write=True)
    name = automation.name
    automation_delete(automation=automation, by=request.user)
    messages.success(request, f"Deleted “{name}” and its run history.")
    target = reverse("dashboard:automations")
    if request.htmx:
        return HttpResponseClientRedirect(target)
    return redirect(target)


urls = [
    path("automations/new/", automation_new, name="automation-new"),
    path("automations/preview/", automation_preview, name="automation-preview"),
    path("automations/params/", automation_params, name="automation-params"),
    path("automations/channels/add/", automation_channel_add, name="automation-channel-add"),
    path("automations/test/", automation_test_draft_view, name="automation-test-draft"),
    path("automations/<uuid:public_id>/", automation_edit, name="automation-edit"),
    path("automations/<uuid:public_id>/test/", automation_test_view, name="automation-test"),
    path(
        "automations/<uuid:public_id>/run-now/",
        automation_run_now_view,
        name="automation-run-now",
    ),
    path("automations/<uuid:public_id>/delete/", automation_delete_view, name="automation-delete"),
]
