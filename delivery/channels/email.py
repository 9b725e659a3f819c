"""Email: HTML and plain text through Django's email backend (SMTP, or any django-anymail
provider chosen by settings alone).

One message per recipient, because what makes an email behave is per recipient: the
`List-Unsubscribe` link (RFC 8058 one-click) names that address, and the run link lets that
address open the run's page without an account. Addresses that unsubscribed are skipped. The
body is capped (Gmail clips an HTML part over about 102 KB) and cut between lines, with an
honest note of how much was left out; the subject is one clean line."""

from __future__ import annotations

import re
import smtplib
import unicodedata
from dataclasses import dataclass
from email.utils import parseaddr

from anymail.exceptions import AnymailRecipientsRefused
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from delivery.errors import DeliveryError
from delivery.formatting import markdown_to_html, markdown_to_text
from delivery.links import address_hash, run_page_url
from delivery.message import OutgoingMessage
from delivery.unsubscribe import unsubscribe_url, unsubscribed_among

SUBJECT_MAX = 200  # characters; long subjects are cut by every client anyway
TITLE_MAX = 300
# The rendered result inside the HTML part. With the page around it and the footer the part
# stays well under the ~102 KB at which Gmail hides the rest behind "View entire message".
HTML_BODY_MAX_BYTES = 80_000
TEXT_BODY_MAX_CHARS = 80_000

_SURROGATE = re.compile("[\ud800-\udfff]")
# Bidirectional overrides and isolates: they reorder how a subject reads (spoofing).
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def _encodable(text: str) -> str:
    # A lone surrogate (JSON allows "\\ud800") cannot be written as UTF-8: sending would fail
    # on every retry. It becomes U+FFFD, as a decoder shows a broken character.
    return _SURROGATE.sub("\ufffd", text)


def one_line(text: str, limit: int) -> str:
    """`text` as a single header-safe line: every control character, line or paragraph
    separator (CR, LF, NEL, U+2028...) and bidi override becomes a space, runs of spaces
    collapse, and it is cut to `limit` characters with an ellipsis."""
    cleaned = "".join(
        " "
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI_CONTROLS or ch.isspace()
        else ch
        for ch in _encodable(text)
    )
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


@dataclass(frozen=True)
class EmailBody:
    markdown: str  # what is sent (the plain-text part)
    html: SafeString  # the same, rendered
    omitted_lines: int  # non-blank lines of the result that were left out
    partial_line: bool  # the last line shown was itself cut
    cut: bool


def _html_size(markdown_text: str) -> int:
    return len(markdown_to_html(markdown_text).encode())


def email_body(
    markdown_text: str,
    *,
    max_html_bytes: int = HTML_BODY_MAX_BYTES,
    max_text_chars: int = TEXT_BODY_MAX_CHARS,
) -> EmailBody:
    """The longest run of whole lines of the result whose HTML fits `max_html_bytes` and whose
    text fits `max_text_chars`. Cutting the markdown between lines (never the HTML) keeps the
    HTML well formed and never splits an entity, a tag or a link."""
    markdown_text = _encodable(markdown_text)
    lines = markdown_text.split("\n")
    # Upper bound from sizes alone, so a 2 MB result is never rendered whole: the HTML of a
    # line is never much smaller than its text (escaping and tags only add).
    keep, used_bytes, used_chars = 0, 0, 0
    for line in lines:
        used_bytes += len(line.encode()) + 1
        used_chars += len(line) + 1
        if used_bytes > max_html_bytes or used_chars > max_text_chars:
            break
        keep += 1

    html = markdown_to_html("\n".join(lines[:keep]))
    if keep == len(lines) and len(html.encode()) <= max_html_bytes:
        return EmailBody(markdown_text, html, 0, False, False)
    # Tags made it bigger than its text: shrink in proportion until it fits. Rendering is
    # slow (python-markdown does ~100 KB a second), so this takes two or three renders
    # rather than a binary search's dozen, at the price of sometimes a few lines fewer.
    while (size := len(html.encode())) > max_html_bytes and keep > 0:
        keep = min(keep - 1, int(keep * max_html_bytes / size * 0.98))
        html = markdown_to_html("\n".join(lines[:keep]))
    kept = lines[:keep]
    partial = False
    if not any(line.strip() for line in kept):
        first = next((line for line in lines if line.strip()), None)
        if first is None:  # nothing but blank lines
            return EmailBody("\n", markdown_to_html(""), 0, False, False)
        # Not even the first line fits: show its beginning, cut at a space. Eight bytes a
        # character covers the worst escaping (&#x27; is six) and UTF-8 (four).
        head = first[: max(1, min(max_text_chars, max_html_bytes // 8))]
        while len(head) > 1 and _html_size(head) > max_html_bytes:
            head = head[: len(head) // 2]
        if " " in head[len(head) // 2 :]:
            head = head[: head.rfind(" ")]
        kept, partial = [head.rstrip() + " …"], True
        keep = lines.index(first) + 1
        html = markdown_to_html(kept[0])
    omitted = sum(1 for line in lines[keep:] if line.strip())
    return EmailBody("\n".join(kept).rstrip() + "\n", html, omitted, partial, True)


def cut_note(body: EmailBody) -> str:
    """What the recipient is told when the body was cut: how much is missing, and that no
    copy is kept anywhere (the run link shows the run, not the full text)."""
    if not body.cut:
        return ""
    lines = f"{body.omitted_lines:,} more line{'' if body.omitted_lines == 1 else 's'}"
    missing = f"the rest of a long line and {lines}" if body.partial_line else lines
    verb = "was" if body.omitted_lines == 1 and not body.partial_line else "were"
    return (
        f"The result was too long for one email: {missing} {verb} not included. Skillomatic "
        "does not keep a copy of results, so the rest is not shown anywhere else; the run's "
        "page has its summary."
    )


def _recipients(channel, message: OutgoingMessage) -> list[str]:
    recipients = list(dict.fromkeys(channel.config.get("to") or []))
    if not recipients:
        # A member's run of an org-wide automation goes to that member, not the owner.
        person = message.for_user or message.owner
        if not person.email:
            raise DeliveryError(
                "The email channel has no recipients and its owner has no email address.",
                permanent=True,
            )
        recipients = [person.email]
    return recipients


def _valid_address(address: str | None) -> str | None:
    try:
        validate_email(address or "")
    except ValidationError:
        return None
    return address


def _message_id(message: OutgoingMessage, recipient: str) -> str:
    # The same on every retry of this delivery to this recipient, so a retry after a dropped
    # connection (some recipients already served) is one message to mail clients that
    # deduplicate on Message-ID, Gmail among them.
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "skillomatic.local"
    return f"<{message.message_id}.{address_hash(recipient)[:16]}@{domain}>"


def _build(
    *, channel, message: OutgoingMessage, body: EmailBody, recipient: str, organization_name: str
) -> EmailMultiAlternatives:
    run_link = run_page_url(message.run, recipient=recipient) if message.run else message.link
    owner = message.owner
    owner_name = owner.get_full_name() or owner.get_username()
    owner_email = _valid_address(getattr(owner, "email", ""))
    context = {
        "message": message,
        "title": one_line(message.title, TITLE_MAX),
        "automation_name": one_line(message.automation_name, TITLE_MAX),
        "body": body,
        # The plain-text part shows the text as typed (no markdown escapes); our links as
        # "label (url)".
        "body_text": markdown_to_text(body.markdown),
        "cut_note": cut_note(body),
        "run_link": run_link,
        "unsubscribe_link": unsubscribe_url(channel=channel, address=recipient),
        "owner_name": owner_name,
        "owner_email": owner_email,
        "organization_name": organization_name,
        "is_test": message.type == "channel.test",
        "site_url": settings.SITE_URL,
    }
    subject = one_line(f"{message.title} · {message.automation_name}", SUBJECT_MAX)
    email = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("delivery/email/result.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
        reply_to=[owner_email] if owner_email else None,
        headers={
            "X-Skillomatic-Message": message.message_id,
            "Message-ID": _message_id(message, recipient),
            "List-Unsubscribe": f"<{context['unsubscribe_link']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            # RFC 3834: keeps out-of-office replies from answering an automated message.
            "Auto-Submitted": "auto-generated",
        },
    )
    email.attach_alternative(render_to_string("delivery/email/result.html", context), "text/html")
    return email


def send(*, channel, message: OutgoingMessage) -> str:
    recipients = _recipients(channel, message)
    unsubscribed = unsubscribed_among(channel=channel, addresses=recipients)
    live = [r for r in recipients if r not in unsubscribed]
    if not live:
        # The channel works; its recipients chose. Not retried (nothing will change) and the
        # channel is not marked failing: the run's history says why nothing was sent.
        raise DeliveryError(
            f"Not sent: all {len(recipients)} recipient(s) of this channel unsubscribed.",
            permanent=True,
            channel_fault=False,
        )
    body = email_body(message.body_markdown)
    organization_name = channel.organization.name
    emails = [
        _build(
            channel=channel,
            message=message,
            body=body,
            recipient=recipient,
            organization_name=organization_name,
        )
        for recipient in live
    ]
    refused, sent = 0, 0
    try:
        with get_connection() as connection:
            for email in emails:
                try:
                    connection.send_messages([email])
                except (smtplib.SMTPRecipientsRefused, AnymailRecipientsRefused):
                    refused += 1
                    continue
                sent += 1
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(
            f"The mail server could not be reached ({sent} of {len(emails)} sent): {exc}"
        ) from exc
    except Exception as exc:  # an email provider's API (anymail) error
        raise DeliveryError(f"The email provider refused the message: {exc}") from exc
    if not sent:
        raise DeliveryError(f"The mail server refused every recipient ({refused}).", permanent=True)
    parts = [f"sent to {sent} recipient(s)"]
    if refused:
        parts.append(f"{refused} refused by the mail server")
    if unsubscribed:
        parts.append(f"{len(unsubscribed)} unsubscribed, skipped")
    if body.cut:
        parts.append(f"cut to fit one email ({body.omitted_lines} line(s) left out)")
    return "; ".join(parts)
