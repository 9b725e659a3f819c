"""Matching, fan-out and relative-time triggers; end to end with a real worker."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Organization
from automations import services
from automations.models import AutomationRun
from automations.triggers.drain import inbound_process
from automations.triggers.filters import matches
from delivery.models import Notification
from tests.ats import FIXTURES, SECRET, connection, post, signed
from tests.factories import OrganizationFactory, automation
from tests.live import Stack, wait_for
from webhooks.models import InboundEvent


def stage_change(client, conn, stage: str, job: str = "Senior Backend Engineer"):
    raw = (FIXTURES / "greenhouse" / "candidate_stage_change.json").read_text()
    raw = raw.replace('"Onsite Interview"', f'"{stage}"').replace(
        '"Senior Backend Engineer"', f'"{job}"'
    )
    body, headers, _ = signed("greenhouse", raw.encode())
    assert post(client, conn, body, headers).status_code == 200
    return InboundEvent.objects.order_by("-pk").first()


def test_filters():
    event = {
        "stage": {"to": "Onsite Interview"},
        "application": {"job_name": "Senior Backend Engineer"},
    }
    assert matches({"stage.to": "onsite interview"}, event) == (True, "")
    assert matches({"application.job_name": {"contains": "Engineer"}}, event)[0]
    assert matches({"stage.to": {"in": ["Offer", "Onsite Interview"]}}, event)[0]
    ok, why = matches({"stage.to": {"equals": "onsite interview", "case_sensitive": True}}, event)
    assert not ok and "'Onsite Interview'" in why
    ok, why = matches({"stage.from": "Phone Screen"}, event)
    assert not ok and why == "filter stage.from equals 'Phone Screen', but the event has None"


@pytest.mark.django_db
def test_matching_records_why_others_did_not_match(client):
    org = OrganizationFactory(plan=Organization.Plan.PRO)
    conn = connection(org, "greenhouse")
    kw = {"org": org, "trigger_type": "event", "skill_slug": "new-candidate-alert"}
    onsite = automation(
        name="onsite",
        event_type="ats.candidate.stage_changed",
        event_filter={"stage.to": "Onsite Interview"},
        **kw,
    )
    offer = automation(
        name="offer",
        event_type="ats.candidate.stage_changed",
        event_filter={"stage.to": "Offer"},
        **kw,
    )
    hired = automation(name="hired", event_type="ats.candidate.hired", **kw)
    paused = automation(name="paused", event_type="ats.candidate.stage_changed", **kw)
    services.automation_pause(automation=paused, by=paused.owner)
    inbound = stage_change(client, conn, "Onsite Interview")
    assert inbound_process(event_id=inbound.pk) == "processed"
    inbound.refresh_from_db()
    by_automation = {m["automation"]: m for m in inbound.matches}
    assert by_automation[onsite.pk]["matched"]
    assert (
        AutomationRun.objects.get(automation=onsite).idempotency_key == f"event:{inbound.public_id}"
    )
    assert (
        by_automation[offer.pk]["reason"]
        == "filter stage.to equals 'Offer', but the event has 'Onsite Interview'"
    )
    assert by_automation[hired.pk]["reason"].startswith("wrong type: wants ats.candidate.hired")
    assert by_automation[paused.pk]["reason"] == "paused"
    assert AutomationRun.objects.count() == 1


@pytest.mark.django_db
def test_other_orgs_automations_never_see_the_event(client):
    org, other = OrganizationFactory(), OrganizationFactory()
    conn = connection(org, "greenhouse")
    theirs = automation(
        org=other,
        trigger_type="event",
        skill_slug="new-candidate-alert",
        event_type="ats.candidate.stage_changed",
    )
    inbound_process(event_id=stage_change(client, conn, "Onsite Interview").pk)
    assert not AutomationRun.objects.filter(automation=theirs).exists()


def interview_event(client, conn, start, cancelled: bool = False, interview_id: str = "sched-5"):
    raw = (FIXTURES / "ashby" / "interviewScheduleCreate.json").read_text()
    raw = raw.replace("2026-01-25T15:00:00.000Z", start.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    raw = raw.replace('"75395d87-5"', f'"{start.timestamp()}-{cancelled}"')
    if cancelled:
        raw = raw.replace('"status": "Scheduled"', '"status": "Cancelled"')
    body, headers, _ = signed("ashby", raw.encode())
    assert post(client, conn, body, headers).status_code == 200
    inbound = InboundEvent.objects.order_by("-pk").first()
    inbound_process(event_id=inbound.pk)
    return inbound


@pytest.mark.django_db
def test_relative_run_is_scheduled_moved_and_cancelled_with_the_interview(client):
    org = OrganizationFactory(plan=Organization.Plan.PRO)
    conn = connection(org, "ashby")
    brief = automation(
        org=org,
        trigger_type="relative",
        offset_minutes=-30,
        skill_slug="new-candidate-alert",
        name="brief me",
    )
    tomorrow = (timezone.now() + timedelta(days=1)).replace(
        hour=15, minute=0, second=0, microsecond=0
    )
    interview_event(client, conn, tomorrow)
    run = AutomationRun.objects.get(automation=brief)
    assert run.scheduled_for == tomorrow - timedelta(minutes=30)  # 14:30
    assert run.triggered_by == "relative" and run.status == "pending"

    interview_event(client, conn, tomorrow + timedelta(hours=1))  # moved to 16:00
    run.refresh_from_db()
    assert run.scheduled_for == tomorrow + timedelta(minutes=30)  # 15:30
    assert AutomationRun.objects.filter(automation=brief).count() == 1

    interview_event(client, conn, tomorrow + timedelta(hours=1), cancelled=True)
    run.refresh_from_db()
    assert run.status == "cancelled" and run.error_code == "interview_cancelled"


@pytest.mark.django_db
def test_ats_normalize_command(tmp_path):
    raw = (FIXTURES / "greenhouse" / "candidate_stage_change.json").read_bytes()
    body, headers, _ = signed("greenhouse", raw)
    path = tmp_path / "payload.json"
    path.write_bytes(body)
    out = io.StringIO()
    call_command(
        "ats_normalize",
        "greenhouse",
        str(path),
        "--secret",
        SECRET,
        "--header",
        f"Signature: {headers['Signature']}",
        stdout=out,
    )
    assert '"type": "ats.candidate.stage_changed"' in out.getvalue()

    def run(*args):
        return subprocess.run(
            [sys.executable, "manage.py", "ats_normalize", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    bad = run(
        "greenhouse",
        str(path),
        "--secret",
        "wrong",
        "--header",
        f"Signature: {headers['Signature']}",
    )
    assert bad.returncode == 3 and "signature check failed" in bad.stderr
    (tmp_path / "junk").write_bytes(b"not json")
    malformed = run("greenhouse", str(tmp_path / "junk"))
    assert malformed.returncode == 2 and "malformed payload" in malformed.stderr
    assert run("bamboohr", str(path)).returncode == 2
    unsigned = run("workable", str(FIXTURES / "workable" / "candidate_moved.json"))
    assert unsigned.returncode == 0 and '"name": "Łukasz Żółć"' in unsigned.stdout


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_stage_change_to_onsite_runs_and_delivers_with_a_real_worker_and_beat(
    client, celery_queue, tmp_path
):
    org = OrganizationFactory(plan=Organization.Plan.PRO)
    conn = connection(org, "greenhouse")
    onsite = automation(
        org=org,
        trigger_type="event",
        skill_slug="new-candidate-alert",
        event_type="ats.candidate.stage_changed",
        name="Onsite prep",
        event_filter={"stage.to": "Onsite"},
    )
    other = automation(
        org=org,
        trigger_type="event",
        skill_slug="new-candidate-alert",
        event_type="ats.candidate.stage_changed",
        name="Offer watch",
        event_filter={"stage.to": "Offer"},
    )
    stack = Stack(queue=celery_queue, smtp_port=1, tmp=tmp_path)
    try:
        stack.worker()
        stack.beat()  # sends stored events to the workers
        inbound = stage_change(client, conn, "Onsite")
        run = wait_for(
            lambda: AutomationRun.objects.filter(automation=onsite, status="completed").first(),
            timeout=60,
            what="the matching run to complete",
            stack=stack,
        )
    finally:
        stack.stop()
    note = Notification.objects.get(run=run)
    assert "Ana Lima" in note.body_markdown
    inbound.refresh_from_db()
    assert inbound.status == "processed"
    reason = next(m for m in inbound.matches if m["automation"] == other.pk)["reason"]
    assert reason == "filter stage.to equals 'Offer', but the event has 'Onsite'"
    assert not AutomationRun.objects.filter(automation=other).exists()
