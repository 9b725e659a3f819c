"""Delivery channels: list, create, edit, delete, send a test message.

Reads go through delivery.selectors (channels_for_user / channel_get_for_user: the owner and
the org's admins; a colleague's channel is a 404), writes through delivery.channel_services
and delivery.services.channel_send_test, which check the same owner-or-admin rule and vet
outbound URLs. A stored URL or signing secret never goes back to the browser: a webhook's
secret is shown once, in the answer to the POST that created it, and nowhere else."""

from __future__ import annotations

import re
import time

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from automations.dashboard.access import dashboard_page, refused
from automations.dashboard.page_cursor import cursor_make, cursor_read
from automations.selectors import automations_for_user
from delivery.channel_services import (
    MAX_URL_LENGTH,
    URL_KINDS,
    channel_create,
    channel_delete,
    channel_update,
)
from delivery.models import DeliveryChannel
from delivery.selectors import channel_get_for_user, channels_for_user
from delivery.services import channel_send_test

PAGE_SIZE = 50
Kind = DeliveryChannel.Kind

KIND_HELP = {
    Kind.EMAIL: "Results arrive by email, as a formatted message with a link to the run.",
    Kind.SLACK: "Results are posted to a Slack channel through an incoming webhook.",
    Kind.TEAMS: "Results are posted to a Microsoft Teams channel through a Workflows webhook.",
    Kind.WEBHOOK: "Results are POSTed as signed JSON (Standard Webhooks) to your own endpoint.",
    Kind.IN_APP: "Results appear in your inbox here, with the unread count in the header.",
}
URL_LABELS = {
    Kind.SLACK: (
        "Slack incoming-webhook URL",
        "In Slack: Apps, Incoming Webhooks, Add to Slack, pick the channel; paste the URL it "
        "gives (https://hooks.slack.com/services/...).",
    ),
    Kind.TEAMS: (
        "Teams workflow URL",
        "In Teams: the channel's Workflows, 'Post to a channel when a webhook request is "
        "received'; paste the URL it gives.",
    ),
    Kind.WEBHOOK: (
        "Endpoint URL",
        "Your HTTPS endpoint; each result is POSTed to it as JSON, signed with a secret "
        "shown once after you add the channel.",
    ),
}


# -- forms ------------------------------------------------------------------------------------


class ChannelForm(forms.Form):
    """The fields a channel of one kind has; the services do the real checks (addresses,
    outbound URLs) and their field-keyed errors are put beside these fields."""

    name = forms.CharField(
        max_length=DeliveryChannel._meta.get_field("name").max_length,
        label="Name",
        help_text="How you pick it in the builder, e.g. 'Hiring team Slack'.",
    )
    recipients = forms.CharField(
        required=False,
        label="Recipients",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    url = forms.CharField(
        required=False,
        max_length=MAX_URL_LENGTH,
        strip=True,
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, kind: str, editing: bool, owner_email: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        if kind != Kind.EMAIL:
            del self.fields["recipients"]
        else:
            yourself = f"yourself ({owner_email})" if owner_email else "yourself"
            self.fields["recipients"].help_text = (
                "Email addresses, one per line or separated by commas. "
                f"Leave empty to send to {yourself}."
            )
        if kind not in URL_KINDS:
            del self.fields["url"]
        else:
            label, help_text = URL_LABELS[kind]
            url = self.fields["url"]
            if editing:
                # The stored URL is a secret (anyone holding a Slack or Teams URL can post
                # to that channel): it is never sent back, only replaced.
                url.label = f"Replace the {label[0].lower()}{label[1:]}"
                url.help_text = "A URL is set and is not shown. Leave empty to keep it."
            else:
                url.label, url.help_text, url.required = label, help_text, True

    def config(self) -> dict | None:
        """The configuration to hand the service; None: leave the stored one as it is."""
        data = self.cleaned_data
        if self.kind == Kind.EMAIL:
            return {"to": [a for a in re.split(r"[\s,;]+", data.get("recipients", "")) if a]}
        if self.kind in URL_KINDS:
            return {"url": data["url"]} if data.get("url") else None
        return None

    def add_service_errors(self, exc: ValidationError) -> None:
        """A service's ValidationError beside the field it is about ("config" is the
        recipients or the URL, whichever this kind has)."""
        config_field = "recipients" if "recipients" in self.fields else "url"
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for key, messages_ in errors.items():
            field = config_field if key == "config" else key
            for message in messages_:
                self.add_error(field if field in self.fields else None, message)


def _kind_from(value: object) -> str | None:
    return value if isinstance(value, str) and value in Kind.values else None


# -- reads ------------------------------------------------------------------------------------


def _listed(request: HttpRequest) -> QuerySet[DeliveryChannel]:
    """The workplace's channels the user may see, each with how many automations use it:
    a correlated count per shown row (not a GROUP BY over every channel's automations)."""
    through = DeliveryChannel.automations.through
    using = (
        through.objects.filter(deliverychannel_id=OuterRef("pk"))
        .order_by()
        .values("deliverychannel_id")
        .annotate(n=Count("*"))
        .values("n")
    )
    return (
        channels_for_user(user=request.user, org=request.workplace.org)
        .select_related("owner")
        .annotate(automation_count=Coalesce(Subquery(using, output_field=IntegerField()), 0))
    )


def _page(request: HttpRequest) -> tuple[list[DeliveryChannel], str | None]:
    """One page in name order, from `?after=` (a cursor of this list; anything else: the
    first page)."""
    rows = _listed(request).order_by("name", "pk")
    key = cursor_read(request.GET.get("after"), what="channels")
    if key and len(key) == 2 and isinstance(key[0], str) and isinstance(key[1], int):
        rows = rows.filter(Q(name__gt=key[0]) | Q(name=key[0], pk__gt=key[1]))
    page = list(rows[: PAGE_SIZE + 1])
    more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    after = cursor_make(what="channels", key=[page[-1].name, page[-1].pk]) if more else None
    return page, after


def _users_of(request: HttpRequest, channel: DeliveryChannel) -> list:
    """The automations using the channel that the viewer may see, for its page."""
    return list(
        automations_for_user(user=request.user, org=channel.organization)
        .filter(delivery_channels=channel)
        .order_by("name", "pk")
        .only("public_id", "name")[:20]
    )


# -- pages ------------------------------------------------------------------------------------


@require_safe
@dashboard_page
def channel_list(request: HttpRequest) -> HttpResponse:
    channels, after = _page(request)
    return render(
        request,
        "dashboard/channels/list.html",
        {
            "nav": "channels",
            "channels": channels,
            "next_after": after,
            "paged": bool(request.GET.get("after")),
            "show_owner": request.workplace.is_admin,
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
@dashboard_page
def channel_new(request: HttpRequest) -> HttpResponse:
    asked = request.POST.get("kind") if request.method == "POST" else request.GET.get("kind")
    kind = _kind_from(asked) or Kind.EMAIL
    form = ChannelForm(
        request.POST if request.method == "POST" else None,
        kind=kind,
        editing=False,
        owner_email=request.user.email,
    )
    context = {"nav": "channels", "kind": kind, "kinds": Kind.choices, "form": form}
    context["kind_help"] = KIND_HELP[kind]
    if request.method == "POST":
        if _kind_from(asked) is None:
            form.add_error(None, f"Choose one of: {', '.join(Kind.labels)}.")
        elif form.is_valid():
            try:
                channel, secret = channel_create(
                    org=request.workplace.org,
                    owner=request.user,
                    kind=kind,
                    name=form.cleaned_data["name"],
                    config=form.config() or {},
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                if secret is not None:
                    # Shown in this answer only (the page is no-store, like every dashboard
                    # page): nothing keeps it for a reload to find.
                    return render(
                        request,
                        _template(request, "new.html", "panel"),
                        {**context, "channel": channel, "secret": secret},
                    )
                messages.success(request, f"Added the channel {channel.name!r}.")
                return _redirect(request, reverse("dashboard:channels"))
    return render(
        request,
        _template(request, "new.html", "panel"),
        context,
        status=422 if form.errors else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@dashboard_page
def channel_edit(request: HttpRequest, public_id) -> HttpResponse:
    channel = channel_get_for_user(
        user=request.user, public_id=public_id, write=request.method == "POST"
    )
    shown_name = channel.name
    initial = {"name": channel.name}
    if channel.kind == Kind.EMAIL:
        initial["recipients"] = "\n".join((channel.config or {}).get("to") or [])
    form = ChannelForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        kind=channel.kind,
        editing=True,
        owner_email=channel.owner.email,
    )
    if request.method == "POST" and form.is_valid():
        try:
            channel_update(
                channel=channel,
                by=request.user,
                name=form.cleaned_data["name"],
                config=form.config(),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        except IntegrityError:
            # channel_update does not check the owner's names itself; the unique
            # constraint (channel_owner_name_uniq) does, and its savepoint rolled back.
            form.add_error("name", f"You already have a channel named {form['name'].value()!r}.")
        else:
            messages.success(request, f"Saved the channel {channel.name!r}.")
            return _redirect(request, reverse("dashboard:channels"))
    return render(
        request,
        "dashboard/channels/edit.html",
        {
            "nav": "channels",
            "channel": channel,
            "shown_name": shown_name,
            "form": form,
            "url_kind": channel.kind in URL_KINDS,
            "used_by": _users_of(request, channel),
        },
        status=422 if form.errors else 200,
    )


@require_POST
@dashboard_page
def channel_remove(request: HttpRequest, public_id) -> HttpResponse:
    channel = channel_get_for_user(user=request.user, public_id=public_id, write=True)
    name = channel.name
    try:
        channel_delete(channel=channel, by=request.user)
    except ValidationError as exc:
        message = " ".join(exc.messages)
        if request.htmx:
            return refused(request, message, status=409)
        messages.error(request, message)
        return redirect("dashboard:channel-edit", public_id=channel.public_id)
    if request.htmx:
        # The row goes (an empty swap) and the message lands in #flash out of band.
        return render(
            request, "dashboard/channels/list.html#deleted", {"message": f"Deleted {name!r}."}
        )
    messages.success(request, f"Deleted the channel {name!r}.")
    return redirect("dashboard:channels")


@require_POST
@dashboard_page
def channel_test(request: HttpRequest, public_id) -> HttpResponse:
    channel = channel_get_for_user(user=request.user, public_id=public_id, write=True)
    started = time.monotonic()
    outcome = channel_send_test(channel=channel, by=request.user)
    outcome["ms"] = round((time.monotonic() - started) * 1000)
    from_page = request.POST.get("from") == "page"  # the channel's own page, not the list
    if not request.htmx:
        if outcome["ok"]:
            messages.success(request, f"Test message sent in {outcome['ms']} ms.")
        else:
            kind = "permanent" if outcome["permanent"] else "temporary"
            messages.error(request, f"Test message failed ({kind}): {outcome['error']}")
        if from_page:
            return redirect("dashboard:channel-edit", public_id=channel.public_id)
        return redirect("dashboard:channels")
    row = None if from_page else _listed(request).filter(pk=channel.pk).first()
    if row is None:
        response = render(
            request, "dashboard/channels/_outcome.html", {"outcome": outcome, "channel": channel}
        )
    else:
        response = render(
            request,
            "dashboard/channels/list.html#row",
            {"channel": row, "outcome": outcome, "show_owner": request.workplace.is_admin},
        )
    # An in-app test lands in the owner's inbox: let the header's badge look again.
    return trigger_client_event(response, "inbox-refresh")


def _template(request: HttpRequest, name: str, partial: str) -> str:
    base = f"dashboard/channels/{name}"
    # htmx restoring a pushed URL from history (back button) wants the whole page.
    fragment = request.htmx and not request.htmx.history_restore_request
    return f"{base}#{partial}" if fragment else base


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    # An htmx form's answer would be swapped into the form; load the page instead.
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


urls = [
    path("channels/", channel_list, name="channels"),
    path("channels/new/", channel_new, name="channel-new"),
    path("channels/<uuid:public_id>/", channel_edit, name="channel-edit"),
    path("channels/<uuid:public_id>/delete/", channel_remove, name="channel-delete"),
    path("channels/<uuid:public_id>/test/", channel_test, name="channel-test"),
]
