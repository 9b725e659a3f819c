""" "Why didn't it fire?": everything the system knows about one automation's firing, read
into plain answers. Pure reads, no writes, and a fixed number of queries whatever the
automation's history (its runs are found by their idempotency keys, automations/run_keys.py,
never by walking them).

The caller has already checked that the user may see the automation
(`automation_get_for_user`); nothing here shows what an ATS event says about a candidate,
only its type, provider, times and why it did not match.

The wording follows the code that decides: the engine's failure rule
(automations/engine.py), the scheduler's catch-up (automations/scheduling/slots.py and
due.py), the matcher's reasons (automations/triggers/matching.py and filters.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cronsim import CronSim, CronSimError
from django.conf import settings
from django.db.models import Count, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization
from accounts.plans import limits_for
from automations.approval_policy import approvers, flagged, pending_since
from automations.describe import trigger_words
from automations.engine import PAUSE_AFTER_FAILED_RUNS
from automations.llm_gate import REASONS, llm_state
from automations.models import Automation, AutomationRun
from automations.run_caps import (
    CAP_CODES,
    CAP_CONCURRENT,
    CAP_DAILY,
    CAP_HOURLY,
    CAP_STORM,
    is_storm_pause,
)
from automations.run_keys import slot_key
from automations.scheduling import cron
from automations.scheduling.slots import ANCHOR_MARGIN
from delivery.models import DeliveryChannel
from skills.models import Skill
from skills.results import SkillError
from webhooks.selectors import ats_activity_for_automation

# How far back the panel looks: the last expected firings, the org's newest events, and the
# newest runs searched for the last failure.
FIRINGS_SHOWN = 10
EVENTS_LOOKED_AT = 50
FAILURE_SEARCH_RUNS = 500

SCHEDULED = (Automation.TriggerType.CRON, Automation.TriggerType.POLL)
EVENT_DRIVEN = (Automation.TriggerType.EVENT, Automation.TriggerType.RELATIVE)

# What the services write (automations/engine.py `_count_failed_run`; the dashboard's pause).
FAILURE_RULE_PREFIX = "Paused after "
BY_USER = re.compile(r"^Paused by (?P<who>.+?) from the dashboard")
# filters.matches: "filter <path> <op> <wanted>, but the event has <value>".
FILTER_REASON = re.compile(r"^filter (?P<path>\S+) (?P<op>equals|in|contains) (?P<wanted>.*), but")
# Event fields whose values are a person's data: a reason quoting them is shown without them.
PERSONAL_FIELDS = {"email", "phone", "name", "first_name", "last_name", "emails", "phones"}


@dataclass(frozen=True)
class Advice:
    text: str
    url: str = ""
    label: str = ""


@dataclass(frozen=True)
class Finding:
    """One part of the answer to "what state is it in": `blocked` (it cannot fire until this
    changes), `warning` (it fires, but something is wrong or odd) or `ok`."""

    level: str
    title: str
    detail: str = ""
    advice: tuple[Advice, ...] = ()


@dataclass(frozen=True)
class NextFire:
    at: datetime | None
    words: str


@dataclass(frozen=True)
class Firing:
    """One expected firing (a schedule slot) or, for event-driven triggers, one run, and what
    became of it. `outcome` is a key for the template's styling; `words` says it."""

    slot: datetime | None
    outcome: str
    words: str
    run: AutomationRun | None = None
    missed: AutomationRun | None = None


@dataclass(frozen=True)
class EventMiss:
    received_at: datetime
    type: str
    provider: str
    source: str
    status: str
    reason: str


@dataclass
class EventReport:
    looked_at: int = 0
    matched: int = 0
    waiting: int = 0
    not_about_it: int = 0
    misses: list[EventMiss] = field(default_factory=list)
    # Set when no event arrived at all in the window: what that means and what to check.
    nothing_arrived: str = ""
    since: datetime | None = None


@dataclass(frozen=True)
class LastFailure:
    run: AutomationRun
    advice: tuple[Advice, ...]


@dataclass
class Diagnosis:
    automation: Automation
    now: datetime
    trigger_words: str
    findings: list[Finding]
    next_fire: NextFire
    firings: list[Firing]
    firings_note: str
    events: EventReport | None
    last_failure: LastFailure | None

    @property
    def blocked(self) -> bool:
        return any(f.level == "blocked" for f in self.findings)


def automation_diagnosis(*, automation: Automation, now: datetime | None = None) -> Diagnosis:
    """The whole answer for one automation, as of `now`."""
    now = now or timezone.now()
    skill = Skill.objects.only("name", "slug", "active", "mode").get(pk=automation.skill_id)
    channels = list(
        DeliveryChannel.objects.filter(automations=automation)
        .order_by("name")
        .only("public_id", "name", "kind", "status", "last_error", "last_error_at")
    )
    activity = None
    if automation.trigger_type != Automation.TriggerType.CRON:
        activity = ats_activity_for_automation(
            org=automation.organization,
            automation_pk=automation.pk,
            since=automation.created_at,
            limit=EVENTS_LOOKED_AT if automation.trigger_type in EVENT_DRIVEN else 0,
        )
    findings = [
        *_status_findings(automation),
        *_plan_findings(automation),
        *_cap_findings(automation, now),
        *_skill_findings(automation, skill),
        *_connection_findings(automation, activity),
        *_channel_findings(channels),
    ]
    if (
        not any(f.level == "blocked" for f in findings)
        and automation.status == Automation.Status.ACTIVE
    ):
        findings.insert(0, Finding("ok", "Active", "Nothing stops it from firing."))
    firings, note = _firings(automation, now)
    return Diagnosis(
        automation=automation,
        now=now,
        trigger_words=trigger_words(automation),
        findings=findings,
        next_fire=_next_fire(automation, now),
        firings=firings,
        firings_note=note,
        events=_event_report(automation, activity) if activity is not None else None,
        last_failure=_last_failure(automation, channels),
    )


# -- 1. status and why ------------------------------------------------------------------------


def _automations_link() -> Advice:
    return Advice("Resume it from the automations list.", reverse("dashboard:automations"), "")


def _status_findings(automation: Automation) -> list[Finding]:
    if automation.status == Automation.Status.PENDING_APPROVAL:
        since = timezone.localtime(pending_since(automation)).strftime("%a %d %b %Y %H:%M %Z")
        who = ", ".join(approvers(automation.organization)) or "an org admin"
        return [
            Finding(
                "blocked",
                "Waiting for an admin's approval",
                f"Waiting since {since}. {flagged(automation=automation)} It never fires "
                "(no schedule, no event, no run) until an admin approves it. Who can "
                f"approve it: {who}.",
            )
        ]
    if automation.status == Automation.Status.REJECTED:
        reviewer = automation.reviewed_by
        who = (reviewer.email or reviewer.get_username()) if reviewer else "an admin"
        return [
            Finding(
                "blocked",
                f"Rejected by {who}",
                f"The reason given: {automation.review_note or '(none)'}. It never fires while "
                "rejected; change it and save it to send it for approval again.",
            )
        ]
    if automation.status != Automation.Status.PAUSED:
        return []
    reason = automation.paused_reason or ""
    if reason.startswith(FAILURE_RULE_PREFIX):
        return [
            Finding(
                "blocked",
                "Paused automatically after failed runs",
                f"{reason} (An automation is paused after {PAUSE_AFTER_FAILED_RUNS} failed "
                "runs in a row, so a broken one stops sending errors.) Fix the cause (see the "
                "last failure below), then resume it.",
                (_automations_link(),),
            )
        ]
    if is_storm_pause(reason):
        limit = limits_for(automation.organization).max_events_per_minute
        return [
            Finding(
                "blocked",
                "Paused automatically: an event storm",
                f"{reason} (An automation matched by more than {limit} events in a minute, "
                f"the {limits_for(automation.organization).name} plan's limit, is paused and "
                "the org's admins are told, so a misfiring webhook cannot run it thousands of "
                "times.) The events that came meanwhile are kept; find why so many arrived "
                "(a loop, a bulk import, a filter too wide), then resume it.",
                (_automations_link(),),
            )
        ]
    by_user = BY_USER.match(reason)
    if by_user:
        title = f"Paused by {by_user['who']}"
        detail = f"{reason}. Nothing fires while it is paused; slots that pass are not caught up."
    elif reason:
        title, detail = "Paused", f"{reason}. Nothing fires while it is paused."
    else:
        title = "Paused by a person"
        detail = (
            "Paused from the admin or the API, with no reason given. Nothing fires while it "
            "is paused; slots that pass are not caught up."
        )
    return [Finding("blocked", title, detail, (_automations_link(),))]


CAP_TITLES = {
    CAP_HOURLY: "its cap on runs an hour",
    CAP_DAILY: "the org's cap on runs a day",
    CAP_CONCURRENT: "the org's cap on concurrent runs",
    CAP_STORM: "the event-storm guard",
}


def _cap_findings(automation: Automation, now: datetime) -> list[Finding]:
    """Runs of the last 24 hours held back by a runaway cap (automations/run_caps.py), by
    cap, with the latest one's message (which names the cap's number and when it frees)."""
    held = list(
        automation.runs.filter(
            status=AutomationRun.Status.SKIPPED,
            error_code__in=CAP_CODES,
            created_at__gte=now - timedelta(days=1),
        )
        .values("error_code")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    findings = []
    for row in held:
        latest = (
            automation.runs.filter(
                status=AutomationRun.Status.SKIPPED, error_code=row["error_code"]
            )
            .order_by("-created_at")
            .values_list("error_message", flat=True)
            .first()
        )
        runs = "1 run" if row["n"] == 1 else f"{row['n']} runs"
        findings.append(
            Finding(
                "warning",
                f"Held back by {CAP_TITLES[row['error_code']]}",
                f"{runs} skipped in the last 24 hours by {CAP_TITLES[row['error_code']]}. "
                f"Latest: {latest}",
            )
        )
    return findings


def _plan_findings(automation: Automation) -> list[Finding]:
    """An org over its plan's count (a downgrade leaves the active automations as they were).
    The matcher (triggers/matching.py `_over_plan`) skips the newest active ones beyond the
    count; the scheduler (scheduling/due.py) does not look at the plan at all, so scheduled
    automations over it still fire."""
    org = automation.organization
    limits = limits_for(org)
    limit = limits.max_active_automations
    if limit is None or automation.status != Automation.Status.ACTIVE:
        return []
    counts = Automation.objects.filter(organization=org, status=Automation.Status.ACTIVE).aggregate(
        active=Count("pk"),
        older=Count("pk", filter=Q(created_at__lt=automation.created_at)),
    )
    if counts["active"] <= limit or counts["older"] < limit:
        return []
    over = (
        f"{org.name} has {counts['active']} active automations and the {limits.name} plan "
        f"allows {limit} (after a downgrade). This is one of the {counts['active'] - limit} "
        "newest, beyond the limit."
    )
    advice = (
        Advice(
            "Pause or delete older automations, or upgrade to Pro.",
            reverse("dashboard:automations"),
            "Your automations",
        ),
    )
    if automation.trigger_type in EVENT_DRIVEN:
        return [
            Finding(
                "blocked",
                "Over the plan's limit: ATS events do not fire it",
                f"{over} Each event is matched with the reason 'plan limit: more active "
                "automations than the plan allows'.",
                advice,
            )
        ]
    return [
        Finding(
            "warning",
            "Over the plan's limit",
            f"{over} ATS events would skip it, but the scheduler does not check the plan's "
            "count, so its schedule still fires.",
            advice,
        )
    ]


def _skill_findings(automation: Automation, skill: Skill) -> list[Finding]:
    if not skill.active:
        return [
            Finding(
                "blocked",
                f"The skill “{skill.name}” is switched off",
                "Every run fails at once (skill_inactive) until the operators switch it back "
                "on. Choose another skill in the settings, or ask them.",
            )
        ]
    if skill.mode == Skill.Mode.LLM:
        return _llm_findings(automation, skill)
    return []


def _llm_findings(automation: Automation, skill: Skill) -> list[Finding]:
    """Whether this LLM skill's runs will call the model now, and what they do if not."""
    org = automation.organization
    try:
        _model, reason = llm_state(org=org, slug=skill.slug, now=timezone.now())
    except SkillError as exc:
        return [Finding("blocked", "The AI model cannot be used", str(exc))]
    if not reason:
        return []
    if reason == "llm_off" or org.llm_when_unavailable != Organization.LlmUnavailable.FAIL:
        return [
            Finding(
                "warning",
                "Runs use the skill's template, not the AI model",
                f"Because {REASONS[reason]}, each run makes its result from a template "
                "(labelled as such). Settings → AI changes this.",
            )
        ]
    return [
        Finding(
            "blocked",
            "Runs fail: the AI model cannot be used",
            f"Because {REASONS[reason]}, every run fails (llm_{reason}) and nothing is sent. "
            "Settings → AI changes this.",
        )
    ]


def _connection_findings(automation: Automation, activity) -> list[Finding]:
    if activity is None:
        return []
    connections_url = reverse("dashboard:connections")
    if not activity.connections:
        if automation.trigger_type == Automation.TriggerType.POLL:
            return [
                Finding(
                    "warning",
                    "No ATS connection",
                    f"{automation.organization.name} has no ATS connection, so each poll "
                    "reads the demo (sandbox) data.",
                    (Advice("Connect your ATS.", connections_url, "ATS connections"),),
                )
            ]
        return [
            Finding(
                "blocked",
                "No ATS connection",
                f"{automation.organization.name} has no ATS connection, so no event can "
                "arrive to fire it.",
                (Advice("Connect your ATS.", connections_url, "ATS connections"),),
            )
        ]
    return [
        Finding(
            "warning",
            f"The connection “{c['name']}” reported an error",
            f"{c['last_error']}"
            + (f" (at {_stamp(c['last_error_at'])})" if c["last_error_at"] else ""),
            (Advice("Check the connection.", connections_url, "ATS connections"),),
        )
        for c in activity.connections
        if c["last_error"]
    ]


def _channel_findings(channels: list[DeliveryChannel]) -> list[Finding]:
    return [
        Finding(
            "warning",
            f"The channel “{c.name}” is failing",
            c.last_error or "Its last delivery failed.",
            (
                Advice(
                    "Check the channel and send it a test message.",
                    reverse("dashboard:channels"),
                    "Channels",
                ),
            ),
        )
        for c in channels
        if c.status == DeliveryChannel.Status.FAILING
    ]


def _stamp(moment: datetime) -> str:
    """A time inside a sentence, in the viewer's zone (active during the request)."""
    return timezone.localtime(moment).strftime("%a %-d %b %Y, %H:%M %Z")


# -- 2. the next fire -------------------------------------------------------------------------


def _grace() -> timedelta:
    return timedelta(seconds=settings.SCHEDULER_MISFIRE_GRACE_SECONDS)


def _next_fire(automation: Automation, now: datetime) -> NextFire:
    kind = automation.trigger_type
    if automation.status != Automation.Status.ACTIVE:
        state = automation.get_status_display().lower()
        return NextFire(None, f"None: it is {state}.")
    if kind == Automation.TriggerType.EVENT:
        return NextFire(None, "On the next matching event from your ATS.")
    if kind == Automation.TriggerType.RELATIVE:
        pending = (
            AutomationRun.objects.filter(
                automation=automation,
                status=AutomationRun.Status.PENDING,
                triggered_by=AutomationRun.TriggeredBy.RELATIVE,
            )
            .order_by("scheduled_for")
            .only("public_id", "scheduled_for")
            .first()
        )
        if pending is None:
            return NextFire(None, "None scheduled: the next interview booked schedules one.")
        return NextFire(pending.scheduled_for, "The next run, for an interview already booked.")
    if automation.next_run_at is None:
        return NextFire(None, "Never: the schedule has no time left to fire.")
    if automation.next_run_at < now - _grace():
        return NextFire(
            automation.next_run_at,
            "Overdue: the scheduler has not reached this slot. Is the scheduler (beat) running?",
        )
    return NextFire(automation.next_run_at, "")


# -- 3. the last expected firings -------------------------------------------------------------


def cron_slots(
    expression: str, time_zone: str, *, now: datetime, floor: datetime, count: int
) -> list[datetime]:
    """The newest `count` slots of the schedule at or before `now` and after `floor`, in UTC,
    oldest first: exactly the slots the scheduler fires (cron.iter_fires, the same DST rules),
    found without walking the schedule from `floor`. Reverse iteration only finds an anchor
    about `count` slots back; the slots themselves come from a forward walk from a margin
    before it, as in scheduling/slots.py, because reverse iteration and the forward rules can
    disagree on a DST day (a fall-back 01:30 is one slot, not two)."""
    tz = cron.zone(time_zone)
    start = now.astimezone(tz).replace(microsecond=0) + timedelta(seconds=1)
    anchor = None
    try:
        for index, local_time in enumerate(CronSim(expression, start, reverse=True)):
            anchor = local_time.astimezone(UTC)
            if index + 1 >= count + 1 or anchor <= floor:
                break
    except (CronSimError, StopIteration, OverflowError, ValueError):
        pass
    if anchor is None:
        return []
    walk_from = max(floor, anchor - ANCHOR_MARGIN, cron.EARLIEST)
    slots = []
    for slot in cron.iter_fires(expression, time_zone, walk_from):
        if slot > now:
            break
        slots.append(slot)
    return slots[-count:]


def poll_slots(
    automation: Automation, *, now: datetime, floor: datetime, count: int
) -> list[datetime]:
    """The newest `count` poll slots at or before `now`, on the grid of the stored next
    poll (next_run_at + k x interval), after `floor`."""
    step = timedelta(seconds=automation.poll_interval_seconds)
    base = automation.next_run_at
    last = (now - base) // step
    slots = [base + j * step for j in range(last - count + 1, last + 1)]
    return [s for s in slots if s > floor]


def _firings(automation: Automation, now: datetime) -> tuple[list[Firing], str]:
    kind = automation.trigger_type
    floor = automation.created_at
    if kind == Automation.TriggerType.CRON:
        try:
            slots = cron_slots(
                automation.cron_expression,
                automation.time_zone,
                now=now,
                floor=floor,
                count=FIRINGS_SHOWN,
            )
        except cron.CronError as exc:
            return [], f"The schedule cannot be computed: {exc}"
        note = (
            f"The last {len(slots)} times the schedule should have fired, in its zone "
            f"({automation.time_zone}), since the automation was made."
        )
        return _slot_firings(automation, slots, now), note
    if kind == Automation.TriggerType.POLL and automation.next_run_at is not None:
        slots = poll_slots(automation, now=now, floor=floor, count=FIRINGS_SHOWN)
        note = (
            f"The last {len(slots)} polls due, on the schedule since it was last resumed or "
            "changed."
        )
        return _slot_firings(automation, slots, now), note
    runs = AutomationRun.objects.filter(automation=automation)
    if kind == Automation.TriggerType.POLL:
        runs = runs.filter(idempotency_key__startswith="poll:")
        note = "Its last polls (it is not active, so no poll is due now)."
    else:
        note = "Its last runs (an event-driven automation has no schedule to compare with)."
    last = list(runs.order_by("-created_at", "-pk")[:FIRINGS_SHOWN])
    return [_run_firing(run.scheduled_for, run) for run in last], note


def _slot_firings(automation: Automation, slots: list[datetime], now: datetime) -> list[Firing]:
    if not slots:
        return []
    keys = {slot_key(automation, slot): slot for slot in slots}
    runs = {
        run.idempotency_key: run
        for run in AutomationRun.objects.filter(
            automation=automation, idempotency_key__in=list(keys)
        )
    }
    # A missed summary is written when the scheduler comes back, after the spell it stands
    # for: created no earlier than the oldest slot shown (keeps the lookup on the newest runs).
    missed = list(
        AutomationRun.objects.filter(
            automation=automation,
            error_code="missed",
            created_at__gte=slots[0],
            missed_to__gte=slots[0],
            missed_from__lte=slots[-1],
        ).order_by("missed_from")
    )
    firings = []
    for key, slot in reversed(keys.items()):
        run = runs.get(key)
        if run is not None:
            firings.append(_run_firing(slot, run))
            continue
        spell = next((m for m in missed if m.missed_from <= slot <= m.missed_to), None)
        firings.append(_no_run(automation, slot, spell, now))
    return firings


def _run_firing(slot: datetime | None, run: AutomationRun) -> Firing:
    status = run.status
    error = run.error_message or run.error_code
    if status == AutomationRun.Status.COMPLETED:
        words = "Fired once: completed."
        if run.output_summary:
            words = f"Fired once: completed ({run.output_summary})"
    elif status == AutomationRun.Status.FAILED:
        words = f"Fired once: failed. {error}"
    elif status == AutomationRun.Status.CANCELLED:
        words = f"Fired once, then cancelled: {error}"
    elif status == AutomationRun.Status.SKIPPED:
        words = f"Skipped: {error}"
    elif status == AutomationRun.Status.RUNNING:
        words = "Fired once: running now."
    elif run.attempt:
        retry = _stamp(run.scheduled_for)
        words = f"Fired once: attempt {run.attempt} failed ({error}); retried at {retry}."
    else:
        words = "Fired once: waiting for a worker to take it."
    return Firing(slot=slot, outcome=status, words=words, run=run)


def _no_run(
    automation: Automation, slot: datetime, spell: AutomationRun | None, now: datetime
) -> Firing:
    if spell is not None:
        return Firing(
            slot,
            "missed",
            f"Skipped after downtime (catch-up policy “{automation.get_catch_up_display()}”): "
            f"{spell.error_message}",
            missed=spell,
        )
    if automation.status != Automation.Status.ACTIVE:
        return Firing(slot, "inactive", "No run: the automation was not active then.")
    due_from = automation.next_run_at
    if due_from is not None and slot >= due_from:
        if now - slot <= _grace():
            return Firing(
                slot,
                "due",
                "Not fired yet: due in the last few minutes; the scheduler takes it shortly.",
            )
        return Firing(
            slot,
            "overdue",
            "Not fired yet: the scheduler has not reached it. Is the scheduler (beat) "
            "running? When it comes back, the catch-up policy decides what runs.",
        )
    return Firing(
        slot,
        "inactive",
        "No run: the automation was not active then (slots that pass while it is paused are "
        "not caught up), or its schedule was different.",
    )


# -- 4. the org's events that did not match ---------------------------------------------------


def shown_reason(reason: str) -> str:
    """The matcher's reason, without a candidate's data: a filter on a personal field quotes
    the event's value, which is left out here."""
    found = FILTER_REASON.match(reason)
    if found is None:
        return reason
    parts = found["path"].split(".")
    if parts[0] == "candidate" or parts[-1] in PERSONAL_FIELDS:
        return (
            f"filter {found['path']} {found['op']} {found['wanted']}, but the event has "
            "another value (not shown: candidate data)"
        )
    return reason


def _event_report(automation: Automation, activity) -> EventReport:
    report = EventReport(since=automation.created_at)
    if automation.trigger_type not in EVENT_DRIVEN:
        return report
    report.looked_at = len(activity.events)
    for row in activity.events:
        entry = row["entry"]
        status = row["status"]
        kind = row["type"] or row["raw_type"] or "unknown type"
        if status in ("received", "processing"):
            report.waiting += 1
            continue
        if isinstance(entry, dict) and entry.get("matched"):
            report.matched += 1
            continue
        if isinstance(entry, dict):
            if entry.get("error"):
                reason = f"could not be matched: {entry['error']}"
            else:
                reason = shown_reason(str(entry.get("reason") or "not matched"))
        elif status == "failed":
            reason = f"the event could not be processed: {row['error'] or 'no detail'}"
        else:
            # No entry: a relative automation is matched only with interview events.
            report.not_about_it += 1
            continue
        report.misses.append(
            EventMiss(
                received_at=row["received_at"],
                type=kind,
                provider=row["provider"],
                source=row["source"],
                status=status,
                reason=reason,
            )
        )
    if activity.connections and not activity.events:
        last = max(
            (c["last_event_at"] for c in activity.connections if c["last_event_at"]),
            default=None,
        )
        before = f" (the last one arrived {_stamp(last)})" if last else ""
        report.nothing_arrived = (
            f"No event arrived from your ATS since {_stamp(automation.created_at)}, when this "
            f"automation was made{before}: check the connection's webhook URL in your ATS "
            "(or, for polling, its API key)."
        )
    return report


# -- 5. the last failure and what to do -------------------------------------------------------

ADVICE = {
    "skill_inactive": "The skill was switched off: choose another skill in the settings, or "
    "ask the operators to switch it back on.",
    "skill_missing": "The server has no implementation of this skill: choose another skill, "
    "or ask the operators.",
    "llm_no_key": "No Anthropic API key is configured: ask the operators to set "
    "ANTHROPIC_API_KEY, or let AI skills use their template under Settings → AI.",
    "llm_budget_spent": "This month's AI budget is spent: raise it under Settings → AI, or "
    "let AI skills use their template when it is spent.",
    "llm_no_price": "The chosen model has no price on this server: choose another model "
    "under Settings → AI.",
    "llm_auth": "The Anthropic API key was refused: ask the operators to check it.",
    "llm_refused": "The model declined to write this result: check the automation's "
    "parameters; the run was not retried.",
    "llm_max_tokens": "The model's answer was cut off at its length limit: try again, or "
    "ask the operators to raise the skill's output limit.",
    "llm_token_cap": "The run reached its token cap (LLM_MAX_TOKENS_PER_RUN) before "
    "finishing: run it again; if it keeps happening, ask the operators.",
    "llm_too_many_rounds": "The model kept asking for data without finishing: run it "
    "again; if it keeps happening, ask the operators.",
    "llm_timeout": "The AI service did not answer in time; the run was retried.",
    "llm_overloaded": "The AI service was overloaded; the run was retried.",
    "llm_rate_limited": "The AI service asked us to slow down; the run was retried later.",
    "llm_unavailable": "The AI service could not be reached; the run was retried.",
    "automation_not_active": "The automation was not active when the run came up: resume it.",
    "timeout": "The run took longer than the run time limit: narrow its parameters (fewer "
    "jobs or days), then run it again.",
    "skill_crashed": "The skill failed unexpectedly (it was retried). If it keeps failing, "
    "check your ATS connection.",
    "worker_lost": "The worker running it stopped; the run was retried.",
    "interview_cancelled": "The interview was cancelled, so its run was too: nothing to do.",
    "no_ats_connection": "Connect your ATS.",
}


def _last_failure(automation: Automation, channels: list[DeliveryChannel]) -> LastFailure | None:
    newest = (
        AutomationRun.objects.filter(automation=automation)
        .order_by("-created_at", "-pk")
        .values("pk")[:FAILURE_SEARCH_RUNS]
    )
    run = (
        AutomationRun.objects.filter(pk__in=Subquery(newest), status=AutomationRun.Status.FAILED)
        .order_by("-created_at", "-pk")
        .first()
    )
    if run is None:
        return None
    return LastFailure(run=run, advice=tuple(_advice(automation, run, channels)))


def _advice(
    automation: Automation, run: AutomationRun, channels: list[DeliveryChannel]
) -> list[Advice]:
    run_link = Advice("", reverse("run-detail", args=[run.public_id]), "Open the run")
    code = run.error_code
    if code == "delivery_failed":
        by_name = {c.name: c for c in channels}
        failed = [d for d in run.deliveries or [] if d.get("status") == "failed"]
        out = []
        for delivery in failed:
            name = str(delivery.get("channel") or "")
            channel = by_name.get(name)
            state = (
                f"status {channel.status}: {channel.last_error or 'no error recorded'}"
                if channel is not None
                else f"it said: {delivery.get('error') or 'no detail'}"
            )
            out.append(
                Advice(
                    f"Check the channel {name} ({state}) and send it a test message.",
                    reverse("dashboard:channels"),
                    "Channels",
                )
            )
        if not out:
            out.append(
                Advice(
                    "Check its channels and send each a test message.",
                    reverse("dashboard:channels"),
                    "Channels",
                )
            )
        return [*out, run_link]
    if code == "automation_not_active":
        return [Advice(ADVICE[code], reverse("dashboard:automations"), "Automations"), run_link]
    if code in ("no_ats_connection", "skill_crashed") or run.error_message.startswith("ApiError"):
        text = ADVICE.get(code, "Check your ATS connection.")
        return [Advice(text, reverse("dashboard:connections"), "ATS connections"), run_link]
    if code in ADVICE:
        return [
            Advice(ADVICE[code], reverse("dashboard:automation-edit", args=[automation.public_id])),
            run_link,
        ]
    return [Advice("See the run for what happened, then run it again once fixed."), run_link]
