"""Testing an automation from the builder: run its skill now, in the web request, and show
the result to the person testing, delivering nothing.

A saved automation's test is a run of its own (triggered_by=test), kept in its history with
the usual summary and hash; the full result is handed back once to show and never stored. A
draft (the create form, not saved) runs its skill on the validated spec with no row at all.
Event and interview automations are tested on the org's most recent real event of their
type, or on a sample event (automations/sample_events.py) when there is none; the result
says which."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import Organization
from accounts.selectors import membership_require
from automations.engine import run_execute_test, skill_run
from automations.firing import run_fire
from automations.models import Automation, AutomationRun
from automations.run_keys import test_key
from automations.sample_events import sample_event
from automations.services import automation_check_can_manage
from automations.time_limit import RunTimeLimitExceeded, time_limit
from automations.validation import INTERVIEW_SCHEDULED, AutomationSpec
from delivery.formatting import markdown_to_html
from skills.results import SkillError, SkillResult
from webhooks.selectors import events_for_user

logger = logging.getLogger(__name__)

EVENT_TRIGGERS = (Automation.TriggerType.EVENT, Automation.TriggerType.RELATIVE)


@dataclass(frozen=True)
class TrialResult:
    """What the builder's test panel shows."""

    ok: bool
    title: str = ""
    body_html: str = ""  # markdown_to_html's SafeString
    summary: str = ""
    empty: bool = False
    error: str = ""
    error_code: str = ""
    # Which event the skill saw, for event and interview automations ("" otherwise).
    event_note: str = ""
    # The kept test run of a saved automation; None for a draft.
    run: AutomationRun | None = None

    @property
    def saved(self) -> bool:
        return self.run is not None


def _trial_event(
    *, org: Organization, user: AbstractBaseUser, trigger_type: str, event_type: str, now: datetime
) -> tuple[dict[str, Any], str]:
    """(the event to test with, what to say about it): the org's latest stored event of the
    type that the user may see, else a sample."""
    wanted = INTERVIEW_SCHEDULED if trigger_type == Automation.TriggerType.RELATIVE else event_type
    events = events_for_user(user=user).filter(connection__organization=org, event__isnull=False)
    if wanted.startswith("ats."):
        events = events.filter(event__type=wanted)
    else:  # a provider's own event name, matched on the raw type
        events = events.filter(raw_type=wanted)
    latest = events.first()
    if latest is not None and isinstance(latest.event, dict):
        when = timezone.localtime(latest.received_at).strftime("%Y-%m-%d %H:%M")
        return latest.event, f"Tested with the most recent real {wanted} event (received {when})."
    return sample_event(wanted, now=now), (
        f"No {wanted} event has arrived yet, so this test used a sample event "
        "(a made-up candidate)."
    )


def _trigger_for(
    *, org: Organization, user: AbstractBaseUser, schedule: Any, now: datetime
) -> tuple[dict[str, Any], str]:
    if schedule.trigger_type in EVENT_TRIGGERS:
        return _trial_event(
            org=org,
            user=user,
            trigger_type=schedule.trigger_type,
            event_type=schedule.event_type,
            now=now,
        )
    return {"test": True, "by_user": user.pk}, ""


def _shown(result: SkillResult) -> dict[str, Any]:
    return {
        "title": result.title,
        "body_html": markdown_to_html(result.body_markdown),
        "summary": result.summary,
        "empty": result.empty,
    }


def automation_test(*, automation: Automation, by: AbstractBaseUser) -> TrialResult:
    """Test the saved automation now: a `test` run kept in its history, nothing delivered.
    For the same people as running it now (its owner or an org admin): PermissionDenied
    otherwise. (A test sends nothing, so it is allowed while the automation waits for
    approval: it cannot sidestep the approval.)"""
    automation_check_can_manage(automation=automation, by=by)
    now = timezone.now()
    trigger, event_note = _trigger_for(
        org=automation.organization, user=by, schedule=automation, now=now
    )
    run, _created = run_fire(
        automation=automation,
        key=test_key(),
        triggered_by=AutomationRun.TriggeredBy.TEST,
        trigger_data=trigger,
        send=False,  # executed right here, below
        fan_out=False,  # a test is one run, shown to the person testing
    )
    # Logged as soon as the run exists: what the test then does is on the run itself.
    audit_record(
        org=automation.organization,
        actor=by,
        action=AuditAction.AUTOMATION_TEST_RUN,
        target=automation,
        note=f"run {run.public_id}",
    )
    outcome = run_execute_test(run_id=run.pk)
    run = outcome.run
    if outcome.result is not None:
        return TrialResult(ok=True, event_note=event_note, run=run, **_shown(outcome.result))
    if outcome.status == "not-claimed":
        return TrialResult(
            ok=False,
            error="A worker took this test run first; its outcome is on the run's page.",
            error_code="not_claimed",
            event_note=event_note,
            run=run,
        )
    return TrialResult(
        ok=False,
        error=run.error_message or "The test failed.",
        error_code=run.error_code,
        event_note=event_note,
        run=run,
    )


def automation_test_draft(
    *, org: Organization, user: AbstractBaseUser, spec: AutomationSpec
) -> TrialResult:
    """Run the skill of an unsaved automation (a spec from automation_spec_clean) for a
    member of `org`: no row is written, nothing is sent."""
    membership_require(user=user, org=org)
    now = timezone.now()
    draft = Automation(organization=org, owner=user, **spec.model_values())
    trigger, event_note = _trigger_for(org=org, user=user, schedule=draft, now=now)
    try:
        with time_limit(settings.TEST_RUN_TIMEOUT_SECONDS):
            result = skill_run(automation=draft, trigger=trigger, now=now)
    except SkillError as exc:
        return TrialResult(ok=False, error=str(exc), error_code=exc.code, event_note=event_note)
    except (RunTimeLimitExceeded, SoftTimeLimitExceeded):
        limit = settings.TEST_RUN_TIMEOUT_SECONDS
        return TrialResult(
            ok=False,
            error=f"The test took longer than the run time limit ({limit} s).",
            error_code="timeout",
            event_note=event_note,
        )
    except Exception as exc:  # a skill's bug is shown, as a run would record it
        logger.exception("draft test: skill %s raised", spec.skill.slug)
        return TrialResult(
            ok=False,
            error=f"{type(exc).__name__}: {exc}",
            error_code="skill_crashed",
            event_note=event_note,
        )
    return TrialResult(ok=True, event_note=event_note, **_shown(result))
