"""The automations page's "Describe it" box: plain English in, the confirmation card (or the
help with examples) out; Confirm creates the automation and Edit opens the builder filled in
(builder.automation_new reads `?draft=`). The rules are automations.drafts'; these views only
carry the text and the answer.

With htmx the card or help swaps into the box; without JavaScript the same POST answers with
the whole list page showing it."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from automations.dashboard.access import dashboard_page
from automations.dashboard.automation_list import list_page
from automations.drafts import (
    DraftCard,
    automation_draft_card,
    automation_draft_confirm_with_secret,
    automation_draft_create,
)
from automations.models import DRAFT_TEXT_MAX_LENGTH, Automation

RESULT = "dashboard/automations/_draft_result.html"


def _answer(request: HttpRequest, described: dict, *, text: str = "", status: int = 200):
    if request.htmx:
        return render(request, RESULT, described, status=status)
    return list_page(request, status=status, described=described, describe_text=text)


@require_POST
@dashboard_page
def automation_describe(request: HttpRequest) -> HttpResponse:
    text = request.POST.get("text", "")
    workplace = request.workplace
    answer = automation_draft_create(
        org=workplace.org, user=request.user, text=text, time_zone=workplace.time_zone
    )
    described = {"card": answer} if isinstance(answer, DraftCard) else {"help": answer}
    # The box keeps what was typed (cut to what it accepts) so it can be changed and sent again.
    return _answer(request, described, text=text.replace("\x00", "")[:DRAFT_TEXT_MAX_LENGTH])


@require_POST
@dashboard_page
def automation_draft_confirm_view(request: HttpRequest, public_id) -> HttpResponse:
    org, user = request.workplace.org, request.user
    try:
        # Http404 for a draft that is not this user's, in this org: drafts are personal.
        automation, secret = automation_draft_confirm_with_secret(
            org=org, user=user, draft_id=public_id
        )
    except ValidationError as exc:
        error = " ".join(exc.messages)
        try:
            card = automation_draft_card(org=org, user=user, draft_id=public_id)
        except ValidationError:  # the rules changed since: the error says enough
            card = None
        return _answer(request, {"card": card, "error": error}, status=422)
    if secret:
        # A webhook channel was made for it: its signing secret is shown this once.
        context = {"automation": automation, "secret": secret, "nav": "automations"}
        template = "dashboard/automations/draft_confirmed.html"
        return render(request, f"{template}#confirmed" if request.htmx else template, context)
    if automation.status == Automation.Status.PENDING_APPROVAL:
        messages.success(
            request, f"Created “{automation.name}”. It waits for an admin's approval to run."
        )
    else:
        messages.success(request, f"Created “{automation.name}”. It is active.")
    url = reverse("dashboard:automations")
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


urls = [
    path("automations/describe/", automation_describe, name="automation-describe"),
    path(
        "automations/drafts/<uuid:public_id>/confirm/",
        automation_draft_confirm_view,
        name="automation-draft-confirm",
    ),
]
