"""Pages reached from the emails we send. Thin: the rules are in delivery.unsubscribe."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from delivery.unsubscribe import (
    UnsubscribeLinkInvalid,
    email_unsubscribe,
    is_unsubscribed,
    unsubscribe_check,
)


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    response = render(request, template, context, status=status)
    # The URL carries the token: keep it out of caches, search engines and Referer headers.
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


# Mail clients POST the List-Unsubscribe URL themselves (RFC 8058) and cannot send a CSRF
# token; the signed token in the URL is the proof that the caller received this channel's mail.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def email_unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method == "POST":
            channel, _created = email_unsubscribe(token=token)
            done = True
        else:
            # GET only asks: link scanners and previews open links, and must not unsubscribe.
            channel, hashed = unsubscribe_check(token)
            done = is_unsubscribed(channel=channel, address_hash=hashed)
    except UnsubscribeLinkInvalid as exc:
        return _page(request, "delivery/unsubscribe_invalid.html", {"reason": str(exc)}, 404)
    context = {
        "channel": channel,
        "owner_name": channel.owner.get_full_name() or channel.owner.get_username(),
        "organization_name": channel.organization.name,
        "automation_names": sorted(channel.automations.values_list("name", flat=True)),
        "done": done,
    }
    return _page(request, "delivery/unsubscribe.html", context)
