"""Delivering a result to every channel of an automation: one Delivery per channel with one
DeliveryAttempt per try. Timeouts, 5xx and 429 are retried with backoff (honouring
Retry-After); other 4xx and bad configuration are permanent: not retried, the channel is
marked failing and its owner told. One channel failing never stops the others."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts.audit import AuditAction
from config.metrics import DELIVERIES
from delivery.channel_services import (
    channel_audit,
    channel_check_can_manage,
    channel_for_member,
    default_inbox,
)
from delivery.channels import email, in_app, slack, teams, webhook
from delivery.errors import DeliveryError
from delivery.links import run_page_url
from delivery.message import OutgoingMessage
from delivery.models import Delivery, DeliveryAttempt, DeliveryChannel
from delivery.notify import notify_channel_failing

logger = logging.getLogger(__name__)

SENDERS: dict[str, Callable[..., str]] = {
    DeliveryChannel.Kind.EMAIL: email.send,
    DeliveryChannel.Kind.IN_APP: in_app.send,
    DeliveryChannel.Kind.SLACK: slack.send,
    DeliveryChannel.Kind.TEAMS: teams.send,
    DeliveryChannel.Kind.WEBHOOK: webhook.send,
}


def _member(run, automation):
    """The member a run of an org-wide automation is for, when not its owner."""
    member = getattr(run, "for_user", None) if getattr(run, "for_user_id", None) else None
    return member if member is not None and member.pk != automation.owner_id else None


def member_name(user) -> str:
    return user.get_full_name() or user.get_username()


def run_message(*, run, automation, result, delivery: Delivery | None = None) -> OutgoingMessage:
    member = _member(run, automation)
    # Shared channels (Slack, Teams, a webhook, a fixed address) get every member's copy:
    # the title says whose it is.
    title = f"{result.title} (for {member_name(member)})" if member is not None else result.title
    return OutgoingMessage(
        type="automation.run.completed",
        message_id=f"msg_{delivery.public_id.hex}" if delivery else f"msg_{run.public_id.hex}",
        title=title,
        body_markdown=result.body_markdown,
        summary=result.summary,
        data=result.data,
        link=run_page_url(run),
        automation_name=automation.name,
        owner=automation.owner,
        organization_id=automation.organization_id,
        automation=automation,
        run=run,
        for_user=member,
        occurred_at=delivery.created_at if delivery else run.created_at,
    )


# Receivers that cannot tell a repeated message from a new one: a send interrupted after it
# started may have arrived, so after such a crash it is reported as uncertain and never sent
# again. Outbound webhooks carry the same webhook-id on every try (the receiver dedupes on
# it) and the in-app inbox keeps one item per run and user, so those two are sent again.
NOT_RESENT_AFTER_CRASH = {
    DeliveryChannel.Kind.EMAIL,
    DeliveryChannel.Kind.SLACK,
    DeliveryChannel.Kind.TEAMS,
}


def _mark_attempting(delivery: Delivery, started_at) -> None:
    # Its own short transaction (committed at once in the workers' autocommit mode): if the
    # process dies while the channel is taking the message, this row is the evidence.
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.ATTEMPTING, attempt_started_at=started_at
        )


def _attempt(channel: DeliveryChannel, message: OutgoingMessage, delivery: Delivery | None):
    """One try: returns (detail, None) or (None, DeliveryError)."""
    started_at, started = timezone.now(), time.monotonic()
    detail, error = None, None
    if delivery is not None:
        _mark_attempting(delivery, started_at)
    try:
        sender = SENDERS.get(channel.kind)
        if sender is None:
            raise DeliveryError(f"Unknown channel kind {channel.kind!r}.", permanent=True)
        detail = sender(channel=channel, message=message)
    except DeliveryError as exc:
        error = exc
    except KeyError as exc:
        error = DeliveryError(f"The channel's configuration lacks {exc}.", permanent=True)
    except Exception as exc:
        logger.exception("channel %s crashed", channel.pk)
        error = DeliveryError(f"{type(exc).__name__}: {exc}")
    if delivery is not None:
        with transaction.atomic():
            DeliveryAttempt.objects.create(
                delivery=delivery,
                started_at=started_at,
                duration_ms=int((time.monotonic() - started) * 1000),
                ok=error is None,
                http_status=error.http_status if error else None,
                error=str(error) if error else "",
                permanent=bool(error and error.permanent),
            )
            # The try is over and its outcome known: no longer 'attempting'.
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.SENT if error is None else Delivery.Status.FAILED,
                attempt_started_at=None,
            )
    return detail, error


def _interrupted(delivery: Delivery, channel: DeliveryChannel) -> dict | None:
    """A delivery left 'attempting' by a worker that died mid-send. Log the lost try; for a
    channel that cannot dedupe, mark it uncertain and return its outcome (not sent again);
    None means send it again."""
    when = delivery.attempt_started_at or delivery.updated_at
    stamp = when.strftime("%Y-%m-%d %H:%M:%S UTC")
    resend = channel.kind not in NOT_RESENT_AFTER_CRASH
    note = (
        f"An attempt started at {stamp} was interrupted before its outcome was recorded "
        "(the worker stopped); "
        + (
            "sent again (the receiver can tell a repeat)."
            if resend
            else "it may have been delivered, so it is not sent again (that could duplicate it)."
        )
    )
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery, started_at=when, duration_ms=0, ok=False, error=note
        )
        if not resend:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.UNCERTAIN, attempt_started_at=None, last_error=note
            )
    logger.warning("run %s: %s delivery interrupted: %s", delivery.run_id, channel.kind, note)
    if resend:
        return None
    DELIVERIES.labels(channel=channel.kind, outcome="uncertain").inc()
    return _uncertain_outcome(delivery, channel, note)


def _uncertain_outcome(delivery: Delivery, channel: DeliveryChannel, note: str) -> dict:
    return {
        "kind": channel.kind,
        "channel": channel.name,
        "status": "uncertain",
        "detail": f"may have been delivered: {note}",
        "attempts": delivery.attempt_log.count(),
    }


def send_with_retries(
    channel: DeliveryChannel, message: OutgoingMessage, delivery: Delivery | None = None
) -> tuple[str | None, DeliveryError | None]:
    # Tries per delivery within one run (the run's own retries come after), the waits between
    # them, and the longest Retry-After honoured here (a longer one is left to the run).
    backoff = settings.DELIVERY_BACKOFF_SECONDS
    attempts = len(backoff) + 1
    error = None
    for attempt in range(1, attempts + 1):
        detail, error = _attempt(channel, message, delivery)
        if error is None:
            return detail, None
        if error.permanent or attempt == attempts:
            break
        wait = backoff[attempt - 1]
        if error.retry_after is not None:
            if error.retry_after > settings.DELIVERY_MAX_RETRY_AFTER_SECONDS:
                break
            wait = max(wait, error.retry_after)
        time.sleep(wait)
    return None, error


def deliver_result(*, run, automation, result) -> list[dict]:
    channels = list(automation.delivery_channels.all()) or [
        default_inbox(org=automation.organization, owner=automation.owner)
    ]
    member = _member(run, automation)
    if member is not None:
        # A member's run: the owner's own inbox and email become the member's; shared
        # channels stay as configured.
        channels = list(
            dict.fromkeys(
                channel_for_member(channel=channel, org=automation.organization, member=member)
                for channel in channels
            )
        )
    outcomes = []
    for channel in channels:
        delivery, _ = Delivery.objects.get_or_create(run=run, channel=channel)
        outcome = {"kind": channel.kind, "channel": channel.name}
        if delivery.status == Delivery.Status.SENT:  # a retried run: already delivered here
            outcomes.append({**outcome, "status": "sent", "detail": "already delivered"})
            continue
        if delivery.status == Delivery.Status.UNCERTAIN:  # decided on an earlier retry
            outcomes.append(_uncertain_outcome(delivery, channel, delivery.last_error))
            continue
        if delivery.status == Delivery.Status.ATTEMPTING:
            uncertain = _interrupted(delivery, channel)
            if uncertain is not None:
                outcomes.append(uncertain)
                continue
        message = run_message(run=run, automation=automation, result=result, delivery=delivery)
        detail, error = send_with_retries(channel, message, delivery)
        attempts = delivery.attempt_log.count()
        if error is None:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.SENT,
                attempts=attempts,
                sent_at=timezone.now(),
                last_error="",
                permanent=False,
            )
            if channel.status != DeliveryChannel.Status.OK:
                DeliveryChannel.objects.filter(pk=channel.pk).update(
                    status=DeliveryChannel.Status.OK, last_error=""
                )
            outcomes.append({**outcome, "status": "sent", "detail": detail, "attempts": attempts})
            DELIVERIES.labels(channel=channel.kind, outcome="sent").inc()
            continue
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.FAILED,
            attempts=attempts,
            last_error=str(error)[:2000],
            permanent=error.permanent,
        )
        logger.warning("run %s: %s delivery failed: %s", run.pk, channel.kind, error)
        DELIVERIES.labels(channel=channel.kind, outcome="failed").inc()
        if error.permanent and error.channel_fault:
            channel_mark_failing(channel=channel, error=str(error))
        outcomes.append(
            {
                **outcome,
                "status": "failed",
                "error": str(error),
                "permanent": error.permanent,
                "attempts": attempts,
            }
        )
    return outcomes


def channel_mark_failing(*, channel: DeliveryChannel, error: str) -> None:
    """Mark the channel failing and tell its owner, once per failure spell."""
    with transaction.atomic():
        newly_failing = DeliveryChannel.objects.filter(
            pk=channel.pk, status=DeliveryChannel.Status.OK
        ).update(status=DeliveryChannel.Status.FAILING)
        DeliveryChannel.objects.filter(pk=channel.pk).update(
            last_error=error[:2000], last_error_at=timezone.now()
        )
        if newly_failing:
            notify_channel_failing(channel=channel, error=error)


def channel_send_test(*, channel: DeliveryChannel, by: AbstractBaseUser | None = None) -> dict:
    """Send a sample message through the channel now, with the same retries; the outcome
    updates the channel's status. `by` is the user asking (the owner-or-admin rule of
    `channel_check_can_manage`, PermissionDenied otherwise); None is the system."""
    if by is not None:
        channel_check_can_manage(channel=channel, by=by)
    message = OutgoingMessage(
        type="channel.test",
        message_id=f"msg_test_{channel.public_id.hex}_{int(time.time())}",
        title="Test message from Skillomatic",
        body_markdown=f"If you can read this, **{channel.name}** is ready to receive results.\n",
        summary="Test message.",
        link=settings.SITE_URL,
        automation_name=channel.name,
        owner=channel.owner,
        organization_id=channel.organization_id,
    )
    detail, error = send_with_retries(channel, message)
    # The outcome in a word only: a delivery error can quote the channel's URL.
    channel_audit(
        channel, by, AuditAction.CHANNEL_TEST, note="delivered" if error is None else "failed"
    )
    if error is None:
        DeliveryChannel.objects.filter(pk=channel.pk).update(
            status=DeliveryChannel.Status.OK, last_error="", last_error_at=None
        )
        return {"ok": True, "detail": detail}
    if error.permanent and error.channel_fault:
        channel_mark_failing(channel=channel, error=str(error))
    return {"ok": False, "error": str(error), "permanent": error.permanent}
