"""Alerts: the product's dead man's switch. Each rule says what is wrong right now; the
evaluator opens an Alert for each new finding (told once), reminds while it lasts (every
ALERT_REMIND_HOURS), and resolves it when the finding is gone (told once more).

Rules (what, about which key, told to whom):
- missed_slot: an active cron automation whose slot is older than the misfire grace and did
  not fire, or whose scheduled run has not started within the grace ("automation:<pk>"; its
  owner and the org's admins). Not opened while beat_silent or backlog_growing is: the cause
  is then the site's, and one alert to the staff beats one to every owner.
- beat_silent: no beat heartbeat within STATUS_BEAT_MAX_AGE_SECONDS ("site"; the staff).
- backlog_growing: a due run has waited more than ALERT_BACKLOG_SECONDS for a worker
  ("site"; the staff).
- channel_failing: a delivery channel marked failing ("channel:<pk>"; its owner, who was
  told when it failed (delivery.services.channel_mark_failing), and the org's admins).
- connection_silent: an ATS connection that sent nothing for 3x its usual gap and at least
  ALERT_CONNECTION_SILENT_MIN_HOURS ("connection:<pk>"; the org's admins).
- connection_refusing: more than ALERT_CONNECTION_REFUSALS_PER_HOUR refused deliveries in
  the last hour ("connection:<pk>"; the org's admins).

Run by whichever beat or worker process takes the lease (automations/ops/heartbeats.py),
and by `manage.py check_alerts`. Safe with several evaluators at once: an alert opens under a
unique constraint, a reminder and a resolution are compare-and-set updates, so each is told
once. The texts name automations, channels and connections by their own names, and counts
and times: never a candidate."""

from __future__ import annotations

import itertools
import logging
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from accounts.models import Membership
from automations.models import Alert, Automation, AutomationRun, ProcessHeartbeat
from delivery.models import DeliveryChannel
from delivery.notify import notify_alert
from webhooks.models import AtsConnection, InboundEvent, WebhookRefusal

logger = logging.getLogger(__name__)

# At most this many new alerts of one rule per evaluation (the rest open on the next ones):
# a bug that stops a thousand automations must not send a thousand emails in one minute.
MAX_NEW_PER_RULE = 200
# A connection's usual gap is the median gap between its last deliveries (at least this many).
SILENT_SAMPLE = 20
SILENT_MIN_EVENTS = 5
SITE = "site"


@dataclass
class Finding:
    """One thing wrong now: the alert it opens or keeps open."""

    key: str
    title: str
    detail: str
    organization_id: int | None = None
    # Told already by the code that found it first (a failing channel's owner).
    already_told: set[int] = field(default_factory=set)


@dataclass
class EvaluationResult:
    opened: int = 0
    reminded: int = 0
    resolved: int = 0


def _fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


# -- rules -------------------------------------------------------------------------------------


def beat_silent_findings(*, now: datetime) -> list[Finding]:
    newest = (
        ProcessHeartbeat.objects.filter(kind=ProcessHeartbeat.Kind.BEAT)
        .order_by("-last_seen_at")
        .values_list("last_seen_at", flat=True)
        .first()
    )
    limit = settings.STATUS_BEAT_MAX_AGE_SECONDS
    if newest is not None and (now - newest).total_seconds() <= limit:
        return []
    seen = f"last seen {_fmt(newest)}" if newest else "never seen"
    return [
        Finding(
            key=SITE,
            title="The scheduler (celery beat) is not running",
            detail=f"No beat heartbeat for more than {limit} s ({seen}). Scheduled automations "
            "do not fire and stored ATS events wait until a beat runs again; each automation's "
            "catch-up policy decides what runs then. Start `celery -A config beat`.",
        )
    ]


def oldest_waiting_run_age(*, now: datetime) -> float:
    """Seconds the longest-waiting due run has waited for a worker (0: none), from the two
    partial indexes over pending runs (unsent, and sent but not taken)."""
    pending = AutomationRun.objects.filter(status=AutomationRun.Status.PENDING)
    unsent = (
        pending.filter(dispatched_at__isnull=True, scheduled_for__lte=now)
        .order_by("scheduled_for")
        .values_list("scheduled_for", flat=True)
        .first()
    )
    sent = (
        pending.filter(dispatched_at__isnull=False)
        .order_by("dispatched_at")
        .values_list("scheduled_for", flat=True)
        .first()
    )
    waits = [(now - t).total_seconds() for t in (unsent, sent) if t is not None and t <= now]
    return max(waits, default=0.0)


def backlog_findings(*, now: datetime) -> list[Finding]:
    age = oldest_waiting_run_age(now=now)
    limit = settings.ALERT_BACKLOG_SECONDS
    if age <= limit:
        return []
    return [
        Finding(
            key=SITE,
            title="Runs are waiting for a worker",
            detail=f"The oldest due run has waited {_minutes(age)} (alert above "
            f"{_minutes(limit)}). The workers are not keeping up or not running: check "
            "`/status` for worker heartbeats and the queue depth, and add worker processes.",
        )
    ]


def missed_slot_findings(*, now: datetime) -> list[Finding]:
    grace = timedelta(seconds=settings.SCHEDULER_MISFIRE_GRACE_SECONDS)
    cutoff = now - grace
    findings: dict[int, Finding] = {}
    not_fired = (
        Automation.objects.filter(
            status=Automation.Status.ACTIVE,
            trigger_type=Automation.TriggerType.CRON,
            next_run_at__lt=cutoff,
        )
        .order_by("next_run_at")
        .values_list("pk", "organization_id", "name", "next_run_at")[: MAX_NEW_PER_RULE * 5]
    )
    for pk, org_id, name, slot in not_fired:
        findings[pk] = Finding(
            key=f"automation:{pk}",
            organization_id=org_id,
            title=f"Scheduled run did not start: {name}",
            detail=f"Its {_fmt(slot)} slot has not fired {_minutes(grace.total_seconds())} "
            "after it was due. Its catch-up policy decides what runs once the scheduler "
            "reaches it.",
        )
    not_started = (
        AutomationRun.objects.filter(
            status=AutomationRun.Status.PENDING,
            triggered_by=AutomationRun.TriggeredBy.SCHEDULE,
            scheduled_for__lt=cutoff,
        )
        .order_by("scheduled_for")
        .values_list(
            "automation_id", "organization_id", "automation__name", "scheduled_for", "attempt"
        )[: MAX_NEW_PER_RULE * 5]
    )
    for pk, org_id, name, slot, attempt in not_started:
        why = "is waiting to be retried" if attempt else "is still waiting for a worker"
        findings.setdefault(
            pk,
            Finding(
                key=f"automation:{pk}",
                organization_id=org_id,
                title=f"Scheduled run did not start: {name}",
                detail=f"Its run for the {_fmt(slot)} slot {why}, "
                f"{_minutes((now - slot).total_seconds())} after it was due.",
            ),
        )
    return list(findings.values())


def channel_failing_findings(*, now: datetime) -> list[Finding]:
    channels = DeliveryChannel.objects.filter(status=DeliveryChannel.Status.FAILING).values_list(
        "pk", "organization_id", "owner_id", "name", "kind", "last_error_at"
    )
    return [
        Finding(
            key=f"channel:{pk}",
            organization_id=org_id,
            title=f"Channel failing: {name}",
            detail=f"Results cannot be delivered to this {kind} channel"
            + (f" (since {_fmt(since)})" if since else "")
            + ". Fix its settings or the receiving side, then send a test message.",
            already_told={owner_id},
        )
        for pk, org_id, owner_id, name, kind, since in channels
    ]


def connection_silent_findings(*, now: datetime) -> list[Finding]:
    floor = timedelta(hours=settings.ALERT_CONNECTION_SILENT_MIN_HOURS)
    quiet = AtsConnection.objects.filter(
        mode__in=[AtsConnection.Mode.WEBHOOK, AtsConnection.Mode.BOTH],
        last_event_at__lt=now - floor,
    ).values_list("pk", "organization_id", "name", "last_event_at")
    findings = []
    for pk, org_id, name, last in quiet:
        # The connection's own rhythm, from its last deliveries (inbound_conn_received_idx).
        times = list(
            InboundEvent.objects.filter(connection_id=pk, source=InboundEvent.Source.WEBHOOK)
            .order_by("-received_at")
            .values_list("received_at", flat=True)[:SILENT_SAMPLE]
        )
        if len(times) < SILENT_MIN_EVENTS:
            continue  # too little history to know what usual is
        gaps = [(a - b).total_seconds() for a, b in itertools.pairwise(times)]
        usual = statistics.median(gaps)
        silent_for = (now - last).total_seconds()
        if silent_for <= max(3 * usual, floor.total_seconds()):
            continue
        findings.append(
            Finding(
                key=f"connection:{pk}",
                organization_id=org_id,
                title=f"ATS connection silent: {name}",
                detail=f"No webhook delivery since {_fmt(last)}; it usually sends one every "
                f"{_minutes(usual)}. Check the webhook is still set up in the ATS (its URL "
                "and secret) and that the ATS shows no failed deliveries.",
            )
        )
    return findings


def connection_refusing_findings(*, now: datetime) -> list[Finding]:
    limit = settings.ALERT_CONNECTION_REFUSALS_PER_HOUR
    rows = (
        WebhookRefusal.objects.filter(received_at__gte=now - timedelta(hours=1))
        .values("connection_id", "connection__organization_id", "connection__name")
        .annotate(n=Count("pk"))
        .filter(n__gt=limit)
    )
    return [
        Finding(
            key=f"connection:{row['connection_id']}",
            organization_id=row["connection__organization_id"],
            title=f"ATS deliveries refused: {row['connection__name']}",
            detail=f"{row['n']} deliveries were refused in the last hour (bad signature, "
            "wrong format or too large): events are being lost at the door. The connection's "
            "page shows each refusal's reason; a rotated secret is the usual cause.",
        )
        for row in rows
    ]


# -- recipients --------------------------------------------------------------------------------


def _org_admins(org_id: int) -> list:
    return [
        m.user
        for m in Membership.objects.filter(
            organization_id=org_id, role=Membership.Role.ADMIN, user__is_active=True
        ).select_related("user")
    ]


def _recipients(alert: Alert) -> tuple[list, list[str]]:
    """(users, extra email addresses) an alert is told to, from what it is about."""
    if alert.organization_id is None:
        staff = list(
            get_user_model()
            .objects.filter(is_active=True)
            .filter(Q(is_staff=True) | Q(is_superuser=True))
        )
        return staff, [email for _name, email in settings.ADMINS]
    people = {u.pk: u for u in _org_admins(alert.organization_id)}
    kind, _, pk = alert.key.partition(":")
    owner = None
    if kind == "automation":
        owner = Automation.objects.filter(pk=pk).select_related("owner").first()
    elif kind == "channel":
        owner = DeliveryChannel.objects.filter(pk=pk).select_related("owner").first()
    if owner is not None and owner.owner.is_active:
        people.setdefault(owner.owner_id, owner.owner)
    return list(people.values()), []


def _tell(alert: Alert, *, phase: str, skip: set[int] = frozenset()) -> None:
    users, emails = _recipients(alert)
    prefix = {"open": "", "remind": "Still happening: ", "resolved": "Resolved: "}[phase]
    if phase == "resolved":
        body = f"This is working again since {_fmt(alert.resolved_at or timezone.now())}."
    else:
        body = alert.detail
    automation_id = None
    kind, _, pk = alert.key.partition(":")
    if kind == "automation" and Automation.objects.filter(pk=pk).exists():
        automation_id = int(pk)
    notify_alert(
        users=[u for u in users if u.pk not in skip],
        extra_emails=emails,
        organization_id=alert.organization_id,
        automation_id=automation_id,
        title=f"{prefix}{alert.title}",
        body=body,
    )


# -- the evaluator -----------------------------------------------------------------------------


def _reconcile(
    rule: str, findings: list[Finding], *, now: datetime, open_new: bool, result: EvaluationResult
) -> None:
    open_alerts = {a.key: a for a in Alert.objects.filter(rule=rule, resolved_at=None)}
    remind_before = now - timedelta(hours=settings.ALERT_REMIND_HOURS)
    found_keys = set()
    new = 0
    for finding in findings:
        found_keys.add(finding.key)
        alert = open_alerts.get(finding.key)
        if alert is None:
            if not open_new or new >= MAX_NEW_PER_RULE:
                continue
            try:
                with transaction.atomic():
                    alert = Alert.objects.create(
                        rule=rule,
                        key=finding.key,
                        organization_id=finding.organization_id,
                        title=finding.title[:300],
                        detail=finding.detail,
                        opened_at=now,
                        last_notified_at=now,
                    )
            except IntegrityError:
                continue  # another evaluator opened it a moment ago, and tells it
            new += 1
            result.opened += 1
            _tell(alert, phase="open", skip=finding.already_told)
        elif alert.last_notified_at is None or alert.last_notified_at <= remind_before:
            told = Alert.objects.filter(
                pk=alert.pk, resolved_at=None, last_notified_at=alert.last_notified_at
            ).update(
                last_notified_at=now,
                reminders=F("reminders") + 1,
                detail=finding.detail,
                title=finding.title[:300],
            )
            if told:
                alert.detail, alert.title = finding.detail, finding.title[:300]
                result.reminded += 1
                _tell(alert, phase="remind")
    for key, alert in open_alerts.items():
        if key in found_keys:
            continue
        if Alert.objects.filter(pk=alert.pk, resolved_at=None).update(resolved_at=now):
            alert.resolved_at = now
            result.resolved += 1
            _tell(alert, phase="resolved")


def alerts_evaluate(*, now: datetime | None = None) -> EvaluationResult:
    """Evaluate every rule once: open, remind, resolve."""
    now = now or timezone.now()
    result = EvaluationResult()
    beat = beat_silent_findings(now=now)
    backlog = backlog_findings(now=now)
    site_cause = bool(beat or backlog)
    _reconcile(Alert.Rule.BEAT_SILENT, beat, now=now, open_new=True, result=result)
    _reconcile(Alert.Rule.BACKLOG_GROWING, backlog, now=now, open_new=True, result=result)
    rules = [
        (Alert.Rule.MISSED_SLOT, missed_slot_findings, not site_cause),
        (Alert.Rule.CHANNEL_FAILING, channel_failing_findings, True),
        (Alert.Rule.CONNECTION_SILENT, connection_silent_findings, True),
        (Alert.Rule.CONNECTION_REFUSING, connection_refusing_findings, True),
    ]
    for rule, find, open_new in rules:
        _reconcile(rule, find(now=now), now=now, open_new=open_new, result=result)
    if result.opened or result.resolved:
        logger.info(
            "alerts: %s opened, %s reminded, %s resolved",
            result.opened,
            result.reminded,
            result.resolved,
        )
    return result


def alerts_purge_resolved(*, now: datetime) -> int:
    """Resolved alerts older than 30 days (the history an operator looks back on)."""
    deleted, _ = Alert.objects.filter(resolved_at__lt=now - timedelta(days=30)).delete()
    return deleted


def open_alerts_for_user(*, user, organization_id: int | None) -> list[Alert]:
    """The dashboard's banner: site-wide alerts (everyone is affected: their schedules wait
    too), and the current org's open alerts the user is told about (admins: all of the
    org's; others: those about their own automations and channels). Open alerts are few: the
    org's are read, then filtered by ownership in one query per kind."""
    if not getattr(user, "is_authenticated", False):
        return []
    alerts = list(
        Alert.objects.filter(
            Q(organization__isnull=True) | Q(organization_id=organization_id), resolved_at=None
        ).order_by("-opened_at")[:50]
    )
    org_alerts = [a for a in alerts if a.organization_id is not None]
    if org_alerts:
        is_admin = Membership.objects.filter(
            organization_id=organization_id, user=user, role=Membership.Role.ADMIN
        ).exists()
        if not is_admin:
            ids: dict[str, set[int]] = {"automation": set(), "channel": set()}
            for alert in org_alerts:
                kind, _, pk = alert.key.partition(":")
                if kind in ids and pk.isdigit():
                    ids[kind].add(int(pk))
            owned = {
                f"automation:{pk}"
                for pk in Automation.objects.filter(
                    pk__in=ids["automation"], owner=user
                ).values_list("pk", flat=True)
            } | {
                f"channel:{pk}"
                for pk in DeliveryChannel.objects.filter(
                    pk__in=ids["channel"], owner=user
                ).values_list("pk", flat=True)
            }
            alerts = [a for a in alerts if a.organization_id is None or a.key in owned]
    return alerts[:10]
