"""Telling an automation's owner about the automation itself (not a result): in the inbox
and by email."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from config.markdown_escape import escape_markdown
from delivery.models import Notification

logger = logging.getLogger(__name__)


def notify_channel_failing(*, channel, error: str) -> None:
    Notification.objects.create(
        organization_id=channel.organization_id,
        user=channel.owner,
        kind=Notification.Kind.ALERT,
        title=f"Channel failing: {channel.name}"[:300],
        # The name is the user's and the error quotes the receiving server: text, not markup.
        body_markdown=f"Results could not be delivered to **{escape_markdown(channel.name)}**: "
        f"{escape_markdown(error)}\n\n"
        "Fix the channel's settings (or the receiving side), then send a test message.",
    )


def notify_automation_paused(*, automation, reason: str) -> None:
    title = f"Automation paused: {automation.name}"
    Notification.objects.create(
        organization_id=automation.organization_id,
        user=automation.owner,
        automation=automation,
        kind=Notification.Kind.ALERT,
        title=title[:300],
        body_markdown=escape_markdown(reason),  # quotes a run's error: text, not markup
    )
    if not automation.owner.email:
        return
    context = {"automation": automation, "reason": reason, "site_url": settings.SITE_URL}
    try:
        send_mail(
            subject=title,
            message=render_to_string("delivery/email/paused.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[automation.owner.email],
        )
    except Exception:  # the in-app alert above already tells the owner
        logger.exception("could not email the owner of automation %s", automation.pk)


def notify_automation_reviewed(*, automation, by, approved: bool, link: str) -> None:
    """Tell the owner an admin approved or rejected their automation (with the reason and a
    link to it), in the inbox and by email."""
    who = getattr(by, "email", "") or by.get_username()
    if approved:
        title = f"Automation approved: {automation.name}"
        body = f"{escape_markdown(who)} approved it; it now runs as set up.\n\n[Open it]({link})"
    else:
        title = f"Automation rejected: {automation.name}"
        # The reason is an admin's text: shown as text, not markup.
        body = (
            f"{escape_markdown(who)} rejected it: {escape_markdown(automation.review_note)}\n\n"
            f"Change it and save to send it for approval again: [open it]({link})"
        )
    Notification.objects.create(
        organization_id=automation.organization_id,
        user=automation.owner,
        automation=automation,
        kind=Notification.Kind.ALERT,
        title=title[:300],
        body_markdown=body,
    )
    if not automation.owner.email:
        return
    context = {
        "automation": automation,
        "approved": approved,
        "who": who,
        "reason": automation.review_note,
        "link": link,
    }
    try:
        send_mail(
            subject=title,
            message=render_to_string("delivery/email/reviewed.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[automation.owner.email],
        )
    except Exception:  # the inbox item above already tells the owner
        logger.exception("could not email the owner of automation %s", automation.pk)


def notify_admins_automation_paused(*, automation, reason: str) -> None:
    """The system paused an automation for the whole org's sake (an event storm): tell every
    admin of the org, and the owner (who may not be one), once each, in the inbox and by
    email."""
    from accounts.models import Membership

    memberships = Membership.objects.filter(
        organization_id=automation.organization_id,
        role=Membership.Role.ADMIN,
        user__is_active=True,
    ).select_related("user")
    people = {m.user_id: m.user for m in memberships}
    people.setdefault(automation.owner_id, automation.owner)
    title = f"Automation paused: {automation.name}"
    context = {"automation": automation, "reason": reason, "site_url": settings.SITE_URL}
    for user in people.values():
        Notification.objects.create(
            organization_id=automation.organization_id,
            user=user,
            automation=automation,
            kind=Notification.Kind.ALERT,
            title=title[:300],
            body_markdown=escape_markdown(reason),
        )
        if not user.email:
            continue
        try:
            send_mail(
                subject=title,
                message=render_to_string("delivery/email/paused.txt", context),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[user.email],
            )
        except Exception:  # the in-app alert above already tells them
            logger.exception("could not email %s about automation %s", user.pk, automation.pk)


def notify_admins_llm_budget_spent(*, org, budget_usd, period: str, falls_back: bool) -> None:
    """The org's LLM budget for `period` is spent: tell its admins, in the inbox and by email.
    The caller makes sure this happens once a period (LlmMonthlySpend.budget_notified_at)."""
    from accounts.models import Membership

    memberships = Membership.objects.filter(
        organization_id=org.pk, role=Membership.Role.ADMIN, user__is_active=True
    ).select_related("user")
    then = (
        "LLM skills now make their template result instead, until the month ends or the "
        "budget is raised."
        if falls_back
        else "Runs of LLM skills now fail with “budget spent” until the month ends or the "
        "budget is raised."
    )
    title = f"AI budget spent for {period}"
    settings_url = f"{settings.SITE_URL}/settings/llm/"
    spent = f"has used its ${budget_usd} AI budget for {period} (UTC). {then}"
    body = f"{org.name} {spent} Change the budget under Settings → AI at {settings_url}."
    # The org's name is the only text not ours: escaped, so it stays text in the inbox.
    body_markdown = (
        f"{escape_markdown(org.name)} {spent} Change the budget under "
        f"[Settings → AI]({settings_url})."
    )
    for membership in memberships:
        user = membership.user
        Notification.objects.create(
            organization_id=org.pk,
            user=user,
            kind=Notification.Kind.ALERT,
            title=title[:300],
            body_markdown=body_markdown,
        )
        if not user.email:
            continue
        try:
            send_mail(
                subject=title,
                message=body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[user.email],
            )
        except Exception:  # the in-app alert above already tells them
            logger.exception("could not email %s about the LLM budget", user.pk)


def notify_alert(
    *,
    users,
    extra_emails=(),
    organization_id: int | None,
    automation_id: int | None = None,
    title: str,
    body: str,
) -> None:
    """An operations alert (automations/ops/alerts.py) opened, still open, or resolved: in
    the inbox of each user (when it is about an org: a site-wide alert has no org to file it
    under, the dashboard's banner shows it) and by email to each, and to `extra_emails` (the
    site's ADMINS). The caller makes sure each phase is told once."""
    for user in users:
        if organization_id is not None:
            Notification.objects.create(
                organization_id=organization_id,
                user=user,
                automation_id=automation_id,
                kind=Notification.Kind.ALERT,
                title=title[:300],
                # The texts quote names people gave their automations and channels.
                body_markdown=escape_markdown(body),
            )
    addresses = [u.email for u in users if u.email] + [e for e in extra_emails if e]
    for address in dict.fromkeys(addresses):
        try:
            send_mail(
                subject=title[:300],
                message=f"{body}\n\n{settings.SITE_URL}/\n",
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[address],
            )
        except Exception:  # the inbox item and the banner still tell them
            logger.exception("could not email an alert to user or admin address")
