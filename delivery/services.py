"""Delivering a result to every channel of an automation: one Delivery per channel with one
DeliveryAttempt per try. Timeouts, 5xx and 429 are retried with backoff (honouring
Retry-After); other 4xx and bad configuration are permanent: not retried, the channel is
marked failing and its owner told. One channel failing never stops the others."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts.audit import AuditAction
from config import plain_sql
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


# Channels whose send writes only to our own database (the in-app inbox): the send, its
# attempt and the delivery's outcome commit together or not at all, so no 'attempting' mark
# is written before the send (a worker that dies mid-send leaves nothing half-done, and the
# retry sends it, as it would have anyway: the inbox keeps one item per run and user).
IN_TRANSACTION = {DeliveryChannel.Kind.IN_APP}


def _mark_attempting(delivery: Delivery, started_at) -> None:
    # Committed at once (the workers' autocommit mode), before the send: if the process dies
    # while the channel is taking the message, this row is the evidence. A delivery not yet
    # written is inserted in that state (one statement, not an insert and an update).
    if delivery.pk is None:
        delivery.status, delivery.attempt_started_at = Delivery.Status.ATTEMPTING, started_at
        _insert_delivery(delivery)
        return
    plain_sql.update(
        Delivery,
        values={"status": Delivery.Status.ATTEMPTING, "attempt_started_at": started_at},
        pk=delivery.pk,
    )


def _insert_delivery(delivery: Delivery) -> None:
    fields = Delivery._meta.concrete_fields
    (delivery.pk,) = plain_sql.insert(
        Delivery,
        [{f.attname: getattr(delivery, f.attname) for f in fields if not f.primary_key}],
    )
    delivery._state.adding = False


def _new_delivery(run, channel: DeliveryChannel) -> Delivery:
    """This run's record for `channel`, not written yet (it is written with the first try's
    mark or outcome)."""
    now = timezone.now()
    return Delivery(run_id=run.pk, channel=channel, created_at=now, updated_at=now)


def _as_error(exc: Exception, channel: DeliveryChannel) -> DeliveryError:
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, KeyError):
        return DeliveryError(f"The channel's configuration lacks {exc}.", permanent=True)
    logger.exception("channel %s crashed", channel.pk)
    return DeliveryError(f"{type(exc).__name__}: {exc}")


def _sender(channel: DeliveryChannel) -> Callable[..., str]:
    sender = SENDERS.get(channel.kind)
    if sender is None:
        raise DeliveryError(f"Unknown channel kind {channel.kind!r}.", permanent=True)
    return sender


def _record(
    delivery: Delivery, started_at, started: float, error: DeliveryError | None, sent_as: int
) -> None:
    """The try's attempt row and the delivery's state after it; a send that worked is final
    here (status sent, `sent_as` attempts in all, sent_at), written in the same statement."""
    now = timezone.now()
    final = (
        {
            "attempts": sent_as,
            "sent_at": now,
            "last_error": "",
            "permanent": False,
            "updated_at": now,
        }
        if error is None
        else {}
    )
    status = Delivery.Status.SENT if error is None else Delivery.Status.FAILED
    delivery.status, delivery.attempt_started_at = status, None
    for name, value in final.items():
        setattr(delivery, name, value)
    if delivery.pk is None:
        _insert_delivery(delivery)
    else:
        plain_sql.update(
            Delivery,
            # The try is over and its outcome known: no longer 'attempting'.
            values={"status": status, "attempt_started_at": None, **final},
            pk=delivery.pk,
        )
    plain_sql.insert(
        DeliveryAttempt,
        [
            {
                "delivery": delivery.pk,
                "started_at": started_at,
                "duration_ms": int((time.monotonic() - started) * 1000),
                "ok": error is None,
                "http_status": error.http_status if error else None,
                "error": str(error) if error else "",
                "permanent": bool(error and error.permanent),
            }
        ],
    )


def _attempt(
    channel: DeliveryChannel,
    message: OutgoingMessage,
    delivery: Delivery | None,
    *,
    sent_as: int = 1,
):
    """One try: returns (detail, None) or (None, DeliveryError). `sent_as`: the delivery's
    attempts in all should this try work."""
    started_at, started = timezone.now(), time.monotonic()
    if delivery is not None and channel.kind in IN_TRANSACTION:
        written = delivery.pk is not None
        try:
            with transaction.atomic():
                detail = _sender(channel)(channel=channel, message=message)
                _record(delivery, started_at, started, None, sent_as)
            return detail, None
        except Exception as exc:  # rolled back: the failed try is recorded below, alone
            if not written:  # the row inserted in the transaction is gone with it
                delivery.pk, delivery._state.adding = None, True
            error = _as_error(exc, channel)
        with transaction.atomic():
            _record(delivery, started_at, started, error, sent_as)
        return None, error
    detail, error = None, None
    if delivery is not None:
        _mark_attempting(delivery, started_at)
    try:
        detail = _sender(channel)(channel=channel, message=message)
    except Exception as exc:
        error = _as_error(exc, channel)
    if delivery is not None:
        with transaction.atomic():
            _record(delivery, started_at, started, error, sent_as)
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
    channel: DeliveryChannel,
    message: OutgoingMessage,
    delivery: Delivery | None = None,
    *,
    tried_before: int = 0,
) -> tuple[str | None, DeliveryError | None]:
    """`tried_before`: the delivery's attempt rows before this call (0 for a new one)."""
    # Tries per delivery within one run (the run's own retries come after), the waits between
    # them, and the longest Retry-After honoured here (a longer one is left to the run).
    backoff = settings.DELIVERY_BACKOFF_SECONDS
    attempts = len(backoff) + 1
    error = None
    for attempt in range(1, attempts + 1):
        detail, error = _attempt(channel, message, delivery, sent_as=tried_before + attempt)
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


def _channels(automation) -> list[DeliveryChannel]:
    """`automation.delivery_channels.all()`, oldest channel first, as one plain statement
    (config/plain_sql.py says why). Not in the through table's order: `set()` adds a set of
    ids, in no order a user chose."""
    m2m = type(automation)._meta.get_field("delivery_channels")
    reader = _channel_reader()
    q = plain_sql.qn
    sql = plain_sql.cached(
        ("delivery.channels",),
        lambda: (
            f"SELECT {reader.columns} FROM {plain_sql.table(DeliveryChannel)} {q('c')} "
            f"JOIN {q(m2m.m2m_db_table())} {q('m')} "
            f"ON {q('m')}.{q(m2m.m2m_reverse_name())} = "
            f"{plain_sql.column(DeliveryChannel, 'pk', 'c')} "
            f"WHERE {q('m')}.{q(m2m.m2m_column_name())} = %s "
            f"ORDER BY {plain_sql.column(DeliveryChannel, 'pk', 'c')}"
        ),
    )
    return [reader.read(row) for row in plain_sql.fetch(sql, [automation.pk])]


@functools.cache
def _channel_reader() -> plain_sql.Reader:
    return plain_sql.Reader(DeliveryChannel, "c")


def deliver_result(*, run, automation, result) -> list[dict]:
    channels = _channels(automation) or [
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
    # Records exist only from an earlier attempt of this run (each claim counts one, and
    # deliveries are made only by a claimed run): a first attempt reads none.
    existing = (
        {} if run.attempt == 1 else {d.channel_id: d for d in Delivery.objects.filter(run=run)}
    )
    outcomes = []
    for channel in channels:
        delivery = existing.get(channel.pk) or _new_delivery(run, channel)
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
        tried_before = delivery.attempt_log.count() if delivery.pk is not None else 0
        detail, error = send_with_retries(channel, message, delivery, tried_before=tried_before)
        attempts = delivery.attempt_log.count() if error is not None else delivery.attempts
        if error is None:
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
