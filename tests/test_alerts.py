"""The alerts fire: each rule opens once (told once to the people it concerns), reminds every
ALERT_REMIND_HOURS while it lasts, resolves once when healthy again, and never fires twice for
one state; two evaluators at once tell once; and a worker evaluates them when the beat is
the part that died."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Membership
from automations.models import Alert, Automation, AutomationRun, ProcessHeartbeat
from automations.ops.alerts import alerts_evaluate, open_alerts_for_user
from delivery.models import DeliveryChannel, Notification
from tests.ats import connection
from tests.factories import OrganizationFactory, UserFactory, automation, member
from tests.live import ROOT, SmtpInbox, Stack, database_url, wait_for
from webhooks.models import InboundEvent, WebhookRefusal

H = timedelta(hours=1)


def beat_alive(now=None) -> None:
    now = now or timezone.now()
    ProcessHeartbeat.objects.update_or_create(
        name="beat-host:1", defaults={"kind": "beat", "started_at": now, "last_seen_at": now}
    )


def delivered(conn, times) -> None:
    """Webhook deliveries received at `times` (newest first), the last one the
    connection's last_event_at."""
    for i, moment in enumerate(times):
        event = InboundEvent.objects.create(connection=conn, delivery_id=f"d{i}")
        InboundEvent.objects.filter(pk=event.pk).update(received_at=moment)
    conn.last_event_at = times[0]
    conn.save(update_fields=["last_event_at"])


def failing_slack(org, owner, **fields) -> DeliveryChannel:
    # Made directly: channel_create resolves the URL's host, and tests stay off the network.
    return DeliveryChannel.objects.create(
        organization=org,
        owner=owner,
        kind="slack",
        name="Hiring Slack",
        config={"url": "https://hooks.slack.com/services/T0/B0/XYZ"},
        status=DeliveryChannel.Status.FAILING,
        **fields,
    )


@pytest.fixture
def org_people(db):
    org = OrganizationFactory()
    admin = member(org, role=Membership.Role.ADMIN, email="admin@org.example")
    owner = member(org, email="owner@org.example")
    bystander = member(org, email="bystander@org.example")
    return org, admin, owner, bystander


def told(user, title_part: str) -> tuple[int, int]:
    """(inbox items, emails) the user got whose title contains title_part."""
    items = Notification.objects.filter(
        user=user, kind=Notification.Kind.ALERT, title__contains=title_part
    ).count()
    emails = sum(1 for m in mail.outbox if user.email in m.to and title_part in m.subject)
    return items, emails


def lifecycle(rule: str, *, now, healthy) -> Alert:
    """Open at `now`; nothing new 1 h later; a reminder after ALERT_REMIND_HOURS, and not
    again before the next period; healthy() -> resolved once, and stays resolved."""
    first = alerts_evaluate(now=now)
    assert first.opened >= 1
    alert = Alert.objects.get(rule=rule, resolved_at=None)
    again = alerts_evaluate(now=now + H)
    assert (again.opened, again.reminded, again.resolved) == (0, 0, 0)
    later = now + timedelta(hours=24, minutes=1)
    assert alerts_evaluate(now=later).reminded == 1
    assert alerts_evaluate(now=later + H).reminded == 0
    alert.refresh_from_db()
    assert alert.reminders == 1 and alert.resolved_at is None
    healthy()
    done = alerts_evaluate(now=later + 2 * H)
    assert done.resolved == 1
    assert alerts_evaluate(now=later + 3 * H).resolved == 0
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    assert not Alert.objects.filter(rule=rule, resolved_at=None).exists()
    return alert


@pytest.mark.django_db
def test_beat_silent_tells_the_staff_and_admins_once_per_state(settings):
    settings.ADMINS = [("Ops", "ops@service.example")]
    staff = UserFactory(is_staff=True, email="staff@service.example")
    UserFactory(email="someone@else.example")  # not staff: not told
    now = timezone.now()
    ProcessHeartbeat.objects.create(
        kind="beat", name="old:1", started_at=now - 3 * H, last_seen_at=now - 2 * H
    )

    alert = lifecycle(
        Alert.Rule.BEAT_SILENT,
        now=now,
        healthy=lambda: beat_alive(now + timedelta(hours=27)),
    )
    assert alert.organization_id is None and alert.key == "site"
    subjects = [(m.to, m.subject) for m in mail.outbox]
    assert subjects == [
        (["staff@service.example"], "The scheduler (celery beat) is not running"),
        (["ops@service.example"], "The scheduler (celery beat) is not running"),
        (["staff@service.example"], "Still happening: The scheduler (celery beat) is not running"),
        (["ops@service.example"], "Still happening: The scheduler (celery beat) is not running"),
        (["staff@service.example"], "Resolved: The scheduler (celery beat) is not running"),
        (["ops@service.example"], "Resolved: The scheduler (celery beat) is not running"),
    ]
    assert staff.pk  # (site alerts have no org inbox; the banner shows them)


@pytest.mark.django_db
def test_backlog_growing(settings):
    auto = automation()
    now = timezone.now()
    beat_alive(now)
    run = AutomationRun.objects.create(
        automation=auto,
        organization=auto.organization,
        triggered_by=AutomationRun.TriggeredBy.EVENT,
        scheduled_for=now - timedelta(seconds=settings.ALERT_BACKLOG_SECONDS + 60),
    )

    def drained():
        AutomationRun.objects.filter(pk=run.pk).update(status=AutomationRun.Status.COMPLETED)
        beat_alive(now + timedelta(hours=27))

    # The beat stays alive through the lifecycle (a heartbeat ahead of every evaluation).
    ProcessHeartbeat.objects.filter(kind="beat").update(last_seen_at=now + timedelta(hours=30))
    alert = lifecycle(Alert.Rule.BACKLOG_GROWING, now=now, healthy=drained)
    assert alert.title == "Runs are waiting for a worker"


@pytest.mark.django_db
def test_missed_slot_tells_owner_and_admins_not_the_rest(org_people, settings):
    org, admin, owner, bystander = org_people
    now = timezone.now()
    ProcessHeartbeat.objects.create(
        kind="beat", name="b:1", started_at=now, last_seen_at=now + timedelta(hours=30)
    )
    auto = automation(org=org, owner=owner, name="Monday pipeline")
    grace = settings.SCHEDULER_MISFIRE_GRACE_SECONDS
    Automation.objects.filter(pk=auto.pk).update(next_run_at=now - timedelta(seconds=grace + 60))

    def fired():
        Automation.objects.filter(pk=auto.pk).update(next_run_at=now + timedelta(days=7))

    alert = lifecycle(Alert.Rule.MISSED_SLOT, now=now, healthy=fired)
    assert alert.key == f"automation:{auto.pk}" and alert.organization_id == org.pk
    for person in (owner, admin):
        assert told(person, "Scheduled run did not start: Monday pipeline") == (3, 3)
    assert told(bystander, "Monday pipeline") == (0, 0)
    item = Notification.objects.filter(user=owner).first()
    assert item.automation_id == auto.pk and item.organization_id == org.pk


@pytest.mark.django_db
def test_missed_slots_wait_while_the_site_is_the_cause(org_people, settings):
    """With the beat dead, one alert to the staff, not one to every owner."""
    org, _admin, owner, _ = org_people
    now = timezone.now()
    auto = automation(org=org, owner=owner)
    grace = settings.SCHEDULER_MISFIRE_GRACE_SECONDS
    Automation.objects.filter(pk=auto.pk).update(next_run_at=now - timedelta(seconds=grace + 60))
    alerts_evaluate(now=now)
    assert list(Alert.objects.values_list("rule", flat=True)) == [Alert.Rule.BEAT_SILENT]
    beat_alive(now)
    alerts_evaluate(now=now)
    assert Alert.objects.filter(rule=Alert.Rule.MISSED_SLOT, resolved_at=None).count() == 1


@pytest.mark.django_db
def test_channel_failing_tells_admins_and_not_the_owner_again(org_people):
    org, admin, owner, bystander = org_people
    now = timezone.now()
    beat_alive(now + timedelta(hours=30))
    channel = failing_slack(org, owner, last_error_at=now)

    def fixed():
        DeliveryChannel.objects.filter(pk=channel.pk).update(status=DeliveryChannel.Status.OK)

    lifecycle(Alert.Rule.CHANNEL_FAILING, now=now, healthy=fixed)
    assert told(admin, "Hiring Slack") == (3, 3)
    # The owner heard when it failed (delivery marks it failing and tells them): only the
    # reminder and the resolution come from here.
    assert told(owner, "Hiring Slack") == (2, 2)
    assert told(bystander, "Hiring Slack") == (0, 0)


@pytest.mark.django_db
def test_connection_silent_longer_than_usual(org_people, settings):
    org, admin, _owner, _ = org_people
    now = timezone.now()
    beat_alive(now + timedelta(hours=30))
    conn = connection(org, "greenhouse", name="Greenhouse")
    delivered(conn, [now - (30 + i) * H for i in range(8)])  # hourly, until 30 h ago

    # Silent 30 h, usually hourly, above the 24 h floor: silent.
    def delivering_again():
        conn.last_event_at = now + 27 * H
        conn.save(update_fields=["last_event_at"])

    lifecycle(Alert.Rule.CONNECTION_SILENT, now=now, healthy=delivering_again)
    assert told(admin, "ATS connection silent: Greenhouse") == (3, 3)


@pytest.mark.django_db
def test_a_quiet_connection_within_its_usual_rhythm_is_not_silent(org_people):
    org, *_ = org_people
    now = timezone.now()
    beat_alive(now)
    conn = connection(org, "lever")
    delivered(conn, [now - (30 + 72 * i) * H for i in range(8)])  # every 3 days
    assert alerts_evaluate(now=now).opened == 0


@pytest.mark.django_db
def test_connection_refusing(org_people, settings):
    org, admin, _owner, _ = org_people
    now = timezone.now()
    beat_alive(now + timedelta(hours=30))
    conn = connection(org, "greenhouse", name="Greenhouse")
    for _ in range(settings.ALERT_CONNECTION_REFUSALS_PER_HOUR + 1):
        WebhookRefusal.objects.create(connection=conn, status_code=401, reason="bad signature")
    # Refusals age out of the last hour by themselves: that is the healthy state.
    WebhookRefusal.objects.update(received_at=now - timedelta(minutes=5))
    first = alerts_evaluate(now=now)
    assert first.opened == 1
    assert told(admin, "ATS deliveries refused: Greenhouse") == (1, 1)
    assert alerts_evaluate(now=now + timedelta(minutes=30)).opened == 0
    assert alerts_evaluate(now=now + 2 * H).resolved == 1
    assert told(admin, "Resolved: ATS deliveries refused") == (1, 1)


@pytest.mark.django_db
def test_the_banner_shows_what_the_viewer_is_told(org_people, client):
    org, admin, owner, bystander = org_people
    now = timezone.now()
    auto = automation(org=org, owner=owner, name="Monday pipeline")
    Alert.objects.create(
        rule=Alert.Rule.MISSED_SLOT,
        key=f"automation:{auto.pk}",
        organization=org,
        title="Scheduled run did not start: Monday pipeline",
        detail="Its slot has not fired.",
        opened_at=now,
    )
    Alert.objects.create(
        rule=Alert.Rule.BEAT_SILENT,
        key="site",
        title="The scheduler (celery beat) is not running",
        detail="Start `celery -A config beat`.",
        opened_at=now,
    )
    other_org = OrganizationFactory()
    Alert.objects.create(
        rule=Alert.Rule.CHANNEL_FAILING,
        key="channel:999",
        organization=other_org,
        title="Channel failing: Elsewhere",
        opened_at=now,
    )
    titles = {
        user.email: {a.title for a in open_alerts_for_user(user=user, organization_id=org.pk)}
        for user in (admin, owner, bystander)
    }
    site = "The scheduler (celery beat) is not running"
    assert titles == {
        "admin@org.example": {site, "Scheduled run did not start: Monday pipeline"},
        "owner@org.example": {site, "Scheduled run did not start: Monday pipeline"},
        "bystander@org.example": {site},
    }
    client.force_login(bystander)
    page = client.get("/", follow=True).content.decode()
    assert site in page and "Monday pipeline" not in page and "Elsewhere" not in page
    # A recruiter is told what it means for them, not how to start a beat.
    assert "celery -A config beat" not in page and "may be delayed" in page


@pytest.mark.django_db(transaction=True)
def test_two_evaluators_at_once_tell_once(org_people):
    org, admin, owner, _ = org_people
    beat_alive(timezone.now() + timedelta(hours=1))
    failing_slack(org, owner)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": database_url(),
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "check_alerts"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert Alert.objects.filter(rule=Alert.Rule.CHANNEL_FAILING).count() == 1
    assert told(admin, "Hiring Slack")[0] == 1
    assert sum("1 opened" in out for out in outputs) == 1, outputs


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_worker_raises_the_alarm_when_the_beat_is_dead(celery_queue, tmp_path):
    """No beat at all: the worker's heartbeat thread evaluates, and the staff get an email
    through a real SMTP server."""
    UserFactory(is_staff=True, email="staff@service.example")
    smtp = SmtpInbox().start()
    stack = Stack(queue=celery_queue, smtp_port=smtp.port, tmp=tmp_path)
    stack.env.update(ALERT_EVALUATE_SECONDS="1", WORKER_HEARTBEAT_SECONDS="1")
    try:
        stack.worker()
        wait_for(
            lambda: any(b"celery beat" in m.content for m in smtp.messages),
            timeout=60,
            what="the beat_silent email",
            stack=stack,
        )
        assert Alert.objects.filter(rule=Alert.Rule.BEAT_SILENT, resolved_at=None).count() == 1
        # A beat starts: the same worker resolves it.
        stack.beat()
        wait_for(
            lambda: Alert.objects.filter(
                rule=Alert.Rule.BEAT_SILENT, resolved_at__isnull=False
            ).exists(),
            timeout=60,
            what="the alert to resolve",
            stack=stack,
        )
        wait_for(
            lambda: any(b"Resolved: The scheduler" in m.content for m in smtp.messages),
            timeout=30,
            what="the resolution email",
            stack=stack,
        )
        assert sum(b"Subject: The scheduler" in m.content for m in smtp.messages) == 1
    finally:
        stack.stop()
        smtp.stop()
