"""Email: HTML and plain text through Django's email backend (SMTP or any anymail provider,
chosen by settings alone)."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from delivery.errors import DeliveryError
from delivery.formatting import markdown_to_html, run_url


def send(*, result, channel: dict, run, automation) -> str:
    recipients = list(channel.get("to") or [])
    if not recipients:
        if not automation.owner.email:
            raise DeliveryError(
                "The email channel has no recipients and the owner has no email address.",
                permanent=True,
            )
        recipients = [automation.owner.email]
    context = {
        "result": result,
        "automation": automation,
        "body_html": markdown_to_html(result.body_markdown),
        "run_url": run_url(run.pk),
    }
    message = EmailMultiAlternatives(
        subject=f"{result.title} · {automation.name}",
        body=render_to_string("delivery/email/result.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        headers={"X-Skillomatic-Run": str(run.public_id)},
    )
    message.attach_alternative(render_to_string("delivery/email/result.html", context), "text/html")
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(
            f"The mail server refused the recipients: {exc}", permanent=True
        ) from exc
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"The mail server could not be reached: {exc}") from exc
    return f"sent to {len(recipients)} recipient(s)"
