"""Email: HTML and plain text through Django's email backend (SMTP, or any django-anymail
provider chosen by settings alone)."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from delivery.errors import DeliveryError
from delivery.formatting import markdown_to_html
from delivery.message import OutgoingMessage


def send(*, channel, message: OutgoingMessage) -> str:
    recipients = list(channel.config.get("to") or [])
    if not recipients:
        if not message.owner.email:
            raise DeliveryError(
                "The email channel has no recipients and its owner has no email address.",
                permanent=True,
            )
        recipients = [message.owner.email]
    context = {
        "message": message,
        "body_html": markdown_to_html(message.body_markdown),
    }
    email = EmailMultiAlternatives(
        subject=f"{message.title} · {message.automation_name}",
        body=render_to_string("delivery/email/result.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        headers={"X-Skillomatic-Message": message.message_id},
    )
    email.attach_alternative(render_to_string("delivery/email/result.html", context), "text/html")
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(
            f"The mail server refused the recipients: {exc}", permanent=True
        ) from exc
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"The mail server could not be reached: {exc}") from exc
    except Exception as exc:  # an email provider's API (anymail) error
        raise DeliveryError(f"The email provider refused the message: {exc}") from exc
    return f"sent to {len(recipients)} recipient(s)"
