"""Retention: past RETENTION_HOURS no row of any of our models holds a candidate's name or
email. Real flows put them everywhere (a signed webhook through the receiver, matching, runs
through the engine delivering to the inbox, email and a webhook receiver on 127.0.0.1 that
quotes them back), then the purge task runs and every model of every app of ours is walked:
a model added later is walked too."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.apps import apps
from django.db import models
from django.utils import timezone
from werkzeug.wrappers import Response

from automations.engine import run_execute
from automations.firing import run_fire
from automations.maintenance import runs_purge_expired
from automations.models import Automation, AutomationRun
from automations.run_keys import manual_key
from automations.tasks import purge_expired_data
from automations.triggers.drain import inbound_process
from delivery.channel_services import channel_create
from delivery.models import Delivery, DeliveryAttempt, DeliveryChannel, Notification
from tests.ats import FIXTURES, connection, post, signed
from tests.factories import OrganizationFactory, automation
from webhooks.models import InboundEvent

pytestmark = pytest.mark.django_db

NAME = "Zoë Quux-Retention"
EMAIL = "zoe.retention@example.test"
ROOT = Path(__file__).resolve().parent.parent


def needles() -> set[str]:
    """Every form the name or email can be stored in: as is, lowercased, JSON-escaped, and
    the distinctive parts alone (a cut or re-encoded copy still contains them)."""
    forms = {NAME, EMAIL, "Quux-Retention", "zoe.retention"}
    forms |= {f.lower() for f in forms} | {f.casefold() for f in forms}
    forms |= {json.dumps(f)[1:-1] for f in set(forms)}
    return forms


def our_models() -> list[type[models.Model]]:
    """Every concrete model of every app whose code lives in this repository."""
    ours = {
        config.label
        for config in apps.get_app_configs()
        if Path(config.path).resolve().is_relative_to(ROOT)
    }
    assert {"accounts", "automations", "webhooks", "delivery", "skills"} <= ours
    return [
        m
        for m in apps.get_models()
        if m._meta.app_label in ours and not m._meta.abstract and not m._meta.proxy
    ]


def as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | memoryview | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, dict | list):
        return json.dumps(value) + json.dumps(value, ensure_ascii=False)
    return str(value)


def where_pii() -> list[str]:
    """'model.field #pk' for every stored value that holds a needle (encrypted fields are
    read decrypted, through the ORM)."""
    found = []
    forms = needles()
    for model in our_models():
        fields = [f for f in model._meta.concrete_fields]
        for obj in model.objects.all():
            for field in fields:
                text = as_text(field.value_from_object(obj))
                if any(form in text for form in forms):
                    found.append(f"{model._meta.label}.{field.name} #{obj.pk}")
    return found


def candidate_body() -> bytes:
    raw = (FIXTURES / "greenhouse" / "candidate_stage_change.json").read_text()
    first, last = NAME.split(" ")
    raw = raw.replace('"Ana"', json.dumps(first)).replace('"Lima"', json.dumps(last))
    return raw.replace("ana.lima@example.com", EMAIL).encode()


@pytest.fixture
def echoing_receiver(httpserver):
    """A webhook receiver that refuses the result and quotes the candidate back (400: a
    permanent failure, so its text lands in every error field)."""

    def handler(request):
        if "Quux" in request.get_data(as_text=True):
            return Response(f"refused: {NAME} <{EMAIL}> is not on file", status=400)
        return Response("refused", status=400)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    return httpserver.url_for("/hook")


def fill_everything(client, settings, receiver_url: str) -> dict:
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    org = OrganizationFactory()
    conn = connection(org, "greenhouse")
    kw = {
        "org": org,
        "trigger_type": "event",
        "skill_slug": "new-candidate-alert",
        "event_type": "ats.candidate.stage_changed",
    }
    everywhere = automation(name="everywhere", **kw)
    owner = everywhere.owner
    hook, _ = channel_create(
        org=org, owner=owner, kind="webhook", name="echo", config={"url": receiver_url}
    )
    everywhere.delivery_channels.set(
        [
            DeliveryChannel.objects.create(
                organization=org, owner=owner, kind="in_app", name="inbox"
            ),
            channel_create(
                org=org, owner=owner, kind="email", name="mail", config={"to": [owner.email]}
            )[0],
            hook,
        ]
    )
    # Only the echoing receiver: the run fails, quoting it; three failures pause it.
    failing = automation(name="failing", owner=owner, **kw)
    failing.delivery_channels.set([hook])
    # A filter on the name: its "why not" quotes the event's value.
    automation(name="filtered", owner=owner, event_filter={"candidate.name": "Someone"}, **kw)

    body, headers, _ = signed("greenhouse", candidate_body())
    assert post(client, conn, body, headers).status_code == 200
    inbound = InboundEvent.objects.get()
    assert inbound_process(event_id=inbound.pk) == "processed"
    for run in AutomationRun.objects.filter(status="pending"):
        run_execute(run_id=run.pk)
    inbound.refresh_from_db()
    event = inbound.event
    for _ in range(2):  # two more failed runs of the same event: the automation pauses
        run, _ = run_fire(
            automation=failing, key=manual_key(), triggered_by="manual", trigger_data=event
        )
        run_execute(run_id=run.pk)
    return {"everywhere": everywhere, "failing": failing, "inbound": inbound}


def test_purge_leaves_no_name_or_email_in_any_model(client, settings, echoing_receiver):
    settings.RETENTION_HOURS = 24
    made = fill_everything(client, settings, echoing_receiver)

    before = where_pii()
    # The flows really stored the candidate in many places (so the walk below proves
    # something): the event, its raw body and match reasons, the runs, the inbox, the
    # delivery errors, the channel's and the automation's reasons.
    for place in [
        "webhooks.InboundEvent.event",
        "webhooks.InboundEvent.raw_body",
        "webhooks.InboundEvent.matches",
        "automations.AutomationRun.trigger_data",
        "automations.AutomationRun.error_message",
        "automations.AutomationRun.deliveries",
        "automations.Automation.paused_reason",
        "delivery.Notification.body_markdown",
        "delivery.Delivery.last_error",
        "delivery.DeliveryAttempt.error",
        "delivery.DeliveryChannel.last_error",
    ]:
        assert any(hit.startswith(place + " ") for hit in before), (place, before)
    made["failing"].refresh_from_db()
    assert made["failing"].status == Automation.Status.PAUSED

    with time_machine.travel(timezone.now() + timedelta(hours=23), tick=False):
        purge_expired_data()
    assert where_pii() == before  # nothing is purged before its time

    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        assert purge_expired_data() > 0
        assert where_pii() == []
        assert purge_expired_data() == 0  # done once: the next purge changes nothing

    # What dedupe and history need stays.
    inbound = InboundEvent.objects.get()
    assert inbound.delivery_id == made["inbound"].delivery_id
    assert inbound.status == "processed" and inbound.raw_body is None
    assert inbound.event["type"] == "ats.candidate.stage_changed"
    assert inbound.event["candidate"]["id"] == made["inbound"].event["candidate"]["id"]
    assert inbound.event["stage"]["to"] == "Onsite Interview"
    assert {m["automation"] for m in inbound.matches} == {
        m["automation"] for m in made["inbound"].matches
    }
    runs = AutomationRun.objects.filter(automation=made["everywhere"]).get()
    assert runs.status == "completed" and runs.output_hash
    assert {d["kind"] for d in runs.deliveries} == {"in_app", "email", "webhook"}
    assert {d["status"] for d in runs.deliveries} == {"sent", "failed"}
    failed = AutomationRun.objects.filter(automation=made["failing"], status="failed")
    assert failed.count() == 3 and all(r.error_code == "delivery_failed" for r in failed)
    assert Notification.objects.filter(kind="result").exists()
    assert Delivery.objects.filter(status="failed").count() == 4
    assert DeliveryAttempt.objects.filter(http_status=400).exists()
    assert DeliveryChannel.objects.get(name="echo").status == "failing"


def test_a_pending_relative_run_keeps_its_trigger_data_until_it_finishes(settings):
    """A run for an interview weeks away needs its event when it runs."""
    settings.RETENTION_HOURS = 24
    auto = automation(trigger_type="relative", offset_minutes=-30, skill_slug="new-candidate-alert")
    event = {"type": "ats.interview.scheduled", "candidate": {"name": NAME, "email": EMAIL}}
    run, _ = run_fire(
        automation=auto,
        key="relative:ashby:i-1",
        triggered_by="relative",
        scheduled_for=timezone.now() + timedelta(days=30),
        trigger_data=event,
        send=False,
    )
    with time_machine.travel(timezone.now() + timedelta(days=2), tick=False):
        purge_expired_data()
    run.refresh_from_db()
    assert run.trigger_data == event
    AutomationRun.objects.filter(pk=run.pk).update(
        status="completed", finished_at=timezone.now() + timedelta(days=30)
    )
    with time_machine.travel(timezone.now() + timedelta(days=32), tick=False):
        assert runs_purge_expired() == 1
    run.refresh_from_db()
    assert run.trigger_data == {}


def test_a_large_backlog_is_purged_in_bounded_batches(settings, django_assert_max_num_queries):
    """Not one statement per row: 60 expired runs in batches of 25 take a handful of
    queries."""
    settings.RETENTION_HOURS = 24
    auto = automation()
    old = timezone.now() - timedelta(hours=30)
    AutomationRun.objects.bulk_create(
        AutomationRun(
            automation=auto,
            organization=auto.organization,
            status="completed",
            triggered_by="schedule",
            idempotency_key=f"cron:{i}",
            scheduled_for=old,
            finished_at=old,
            trigger_data={"candidate": {"name": NAME}},
            output_summary="1 candidate",
            deliveries=[{"kind": "email", "channel": "x", "status": "sent", "detail": EMAIL}],
        )
        for i in range(60)
    )
    with django_assert_max_num_queries(20):
        assert runs_purge_expired(batch_size=25) == 60
    assert not where_pii()
