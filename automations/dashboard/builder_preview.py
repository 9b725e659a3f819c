"""The builder's live preview: the trigger in plain English, the next five fires in the
automation's zone and the viewer's with their DST notes (automations.scheduling.preview),
and, before saving, the plan's count, the frequency refusal and the approval note. It reads
the form as it is, half-filled or not: nothing here raises for a bad input, it says what is
wrong instead."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import plans
from accounts.models import Membership, Organization, is_time_zone
from automations.dashboard.builder_forms import BuilderForm
from automations.describe import duration_words, trigger_words
from automations.governance_preview import approval_note, plan_note
from automations.models import Automation
from automations.scheduling import cron
from automations.scheduling.preview import Preview, schedule_preview
from automations.validation import check_plan_frequency


@dataclass
class BuilderPreview:
    kind: str
    words: str = ""
    schedule: Preview | None = None
    note: str = ""  # polling / relative: when it runs, in words
    error: str = ""  # what stops a preview (a bad expression, a missing zone)
    plan: str = ""
    refusal: str = ""  # the plan's frequency refusal, said before saving
    approval: str | None = None
    notes: list[str] = field(default_factory=list)


def _first(exc: ValidationError) -> str:
    return next(iter(exc.messages), "Check this schedule.")


def preview_for(
    form: BuilderForm,
    *,
    org: Organization,
    membership: Membership | None,
    viewer_zone: str,
    editing: bool,
) -> BuilderPreview:
    kind = form.text("trigger_type") or Automation.TriggerType.CRON
    zone = form.text("time_zone").strip() or org.time_zone
    out = BuilderPreview(kind=kind, plan=plan_note(org=org))
    if not editing and membership is not None:
        out.approval = approval_note(org=org, membership=membership, spec_or_raw=form.data)
    schedule = SimpleNamespace(
        trigger_type=kind,
        cron_expression="",
        time_zone=zone,
        event_type=form.event_type_value(),
        event_filter={},
        offset_minutes=None,
        poll_interval_seconds=None,
    )
    if kind == Automation.TriggerType.CRON:
        try:
            schedule.cron_expression = form.cron_from_preset()
            out.schedule = schedule_preview(
                schedule.cron_expression, zone, viewer_zone, timezone.now()
            )
        except ValidationError as exc:
            out.error = _first(exc)
            return out
        except cron.CronError as exc:
            out.error = str(exc)
            return out
        schedule.cron_expression = out.schedule.expression
        out.words = out.schedule.words
        out.notes = out.schedule.notes
        if not out.schedule.fires:
            out.error = "This schedule never fires."
    elif kind == Automation.TriggerType.POLL:
        text = form.text("poll_interval_seconds").strip()
        if not text.isdigit() or not 60 <= int(text) <= 30 * 86400:
            out.error = "Enter how often to check, in seconds (at least 60), e.g. 900."
            return out
        schedule.poll_interval_seconds = int(text)
        out.words = trigger_words(schedule)
        out.note = f"Every {duration_words(int(text))} from when it is saved."
    elif kind == Automation.TriggerType.RELATIVE:
        offset = form.offset_value()
        if not isinstance(offset, int):
            out.error = "Enter the minutes from the interview as a whole number, e.g. 30."
            return out
        schedule.offset_minutes = offset
        out.words = trigger_words(schedule)
        side = "before" if offset < 0 else "after"
        out.note = (
            "At the start of each interview."
            if offset == 0
            else f"{abs(offset)} minutes {side} each interview, in the interview's own time."
        )
    else:
        schedule.event_filter = form.event_filter()
        if not schedule.event_type:
            out.error = "Choose the ATS event."
            return out
        out.words = trigger_words(schedule)
    if kind in (Automation.TriggerType.CRON, Automation.TriggerType.POLL) and is_time_zone(zone):
        try:
            check_plan_frequency(org=org, schedule=schedule)
        except plans.PlanLimitError as exc:
            out.refusal = _first(exc)
        except cron.CronError as exc:
            out.error = str(exc)
    return out
