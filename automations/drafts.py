"""Automations described in plain English (issue 15, part 3): "Every Monday at 9am, send me a
summary of my pipeline" becomes a draft the person reads as a confirmation card, and nothing
exists until they confirm it.

`automation_draft_create` reads the text (the grammar first, then Claude's fallback when the
grammar gives up), checks the draft through the one validation path exactly as
`automation_create` would (without saving), and stores it for its user only; the card says
when it runs (the next three times for a schedule), what it runs, where the output goes,
whether the plan allows it and whether it waits for an admin's approval.
`automation_draft_confirm` creates it through `automation_create`, so audit, approval and plan
rules are the services' own. The dashboard's "Describe it" box and the MCP server call these."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from accounts import plans
from accounts.models import Organization
from accounts.selectors import membership_require
from automations.approval_policy import approval_reason
from automations.describe import duration_words
from automations.models import DRAFT_TEXT_MAX_LENGTH, Automation, AutomationDraft
from automations.plain_english import Draft, NotUnderstood, parse
from automations.plain_english_llm import claude_draft
from automations.scheduling import cron
from automations.services import automation_create
from automations.validation import MAX_NAME_LENGTH, audience_spec_clean, automation_spec_clean
from config import outbound
from delivery.channel_services import channel_create
from delivery.models import DeliveryChannel
from skills.models import Skill
from skills.selectors import skill_get_active

NEXT_RUNS = 3
# A name is the draft's summary, cut to what reads as a name in the list.
NAME_LENGTH = min(MAX_NAME_LENGTH, 120)
EXPIRED = "This draft expired; describe it again."
NOT_FOUND = "No such draft."
KIND_LABELS = {
    DeliveryChannel.Kind.SLACK: "Slack",
    DeliveryChannel.Kind.TEAMS: "Microsoft Teams",
    DeliveryChannel.Kind.WEBHOOK: "webhook",
}


@dataclass(frozen=True)
class DraftCard:
    """What the person confirms: the stored draft's id and everything the card shows.
    `next_runs` are in the user's zone (`time_zone`); empty for triggers that are not a
    schedule, whose `runs_words` say when instead. Confirm is possible when `can_confirm`."""

    public_id: uuid.UUID
    text: str
    name: str
    trigger_words: str
    next_runs: tuple[datetime, ...]
    runs_words: str
    time_zone: str
    schedule_zone: str
    skill_slug: str
    skill_name: str
    action_words: str
    params_words: tuple[str, ...]
    output_words: str
    notes: tuple[str, ...]
    questions: tuple[str, ...]
    plan_ok: bool
    plan_message: str
    needs_approval: bool
    approval_reason: str
    channel_problem: str
    expires_at: datetime
    expired: bool = False

    @property
    def can_confirm(self) -> bool:
        return self.plan_ok and not self.channel_problem and not self.expired

    def to_json(self) -> dict[str, Any]:
        """For surfaces that speak JSON (MCP, the API): times as ISO 8601."""
        return {
            "draft_id": str(self.public_id),
            "name": self.name,
            "trigger": self.trigger_words,
            "next_runs": [t.isoformat() for t in self.next_runs],
            "runs": self.runs_words,
            "time_zone": self.time_zone,
            "skill": self.skill_slug,
            "action": self.action_words,
            "params": list(self.params_words),
            "output": self.output_words,
            "notes": list(self.notes),
            "questions": list(self.questions),
            "plan_ok": self.plan_ok,
            "plan_message": self.plan_message,
            "needs_approval": self.needs_approval,
            "approval_reason": self.approval_reason,
            "channel_problem": self.channel_problem,
            "can_confirm": self.can_confirm,
            "expires_at": self.expires_at.isoformat(),
        }


@dataclass(frozen=True)
class _Output:
    """Where the output goes: the channel spec for the validation path (an unsaved channel
    stands for one Confirm would make or that is missing, so the approval policy still sees
    an outside destination), the words, and why Confirm cannot proceed ("" when it can)."""

    spec: Any
    words: str
    problem: str = ""
    webhook_url: str = ""


# -- reading the draft ----------------------------------------------------------------------


def _name(summary: str) -> str:
    name = " ".join(str(summary or "").split()).rstrip(".")
    if len(name) > NAME_LENGTH:
        name = name[: NAME_LENGTH - 1].rstrip() + "…"
    return name or "Automation described in plain English"


def _skill(slug: object) -> Skill | str:
    """The catalog's skill: a switched-off one too, so that the spec says it is off; an
    unknown slug goes on as text, for the spec's "Choose a skill from the catalog"."""
    skill = skill_get_active(slug=slug) if isinstance(slug, str) else None
    if skill is None and isinstance(slug, str) and slug and len(slug) <= 100 and "\x00" not in slug:
        skill = Skill.objects.filter(slug=slug).first()
    return skill if skill is not None else str(slug or "")


def _raw(draft: dict, *, skill: Skill | str, time_zone: str, channels: list) -> dict[str, Any]:
    """The raw mapping automation_create validates, from the draft's JSON."""
    trigger = draft.get("trigger") or {}
    kind = trigger.get("type")
    raw: dict[str, Any] = {
        "name": _name(draft.get("summary", "")),
        "skill": skill,
        "params": draft.get("params") or {},
        "trigger_type": kind,
        "time_zone": time_zone,
        "channels": channels,
    }
    if kind == Automation.TriggerType.CRON:
        raw["cron_expression"] = trigger.get("cron")
        raw["time_zone"] = trigger.get("timezone") or time_zone
    elif kind == Automation.TriggerType.POLL:
        minutes = trigger.get("every_minutes")
        ok = isinstance(minutes, int) and not isinstance(minutes, bool)
        raw["poll_interval_seconds"] = minutes * 60 if ok else minutes
    elif kind == Automation.TriggerType.EVENT:
        raw["event_type"] = trigger.get("event")
        raw["event_filter"] = trigger.get("filter") or {}
    elif kind == Automation.TriggerType.RELATIVE:
        raw["offset_minutes"] = trigger.get("offset_minutes")
        raw["event_type"] = trigger.get("event") or ""
    return raw


def _named_channel(
    *, org: Organization, user: AbstractBaseUser, kind: str, named: str
) -> tuple[DeliveryChannel | None, str]:
    """The user's own channel of `kind`: the one named (with or without its '#'), else their
    only one; (None, why) when there is none or it is not clear which."""
    label = KIND_LABELS[kind]
    mine = list(
        DeliveryChannel.objects.filter(organization=org, owner=user, kind=kind).order_by(
            "name", "pk"
        )
    )
    listed = ", ".join(f"“{c.name}”" for c in mine[:5])
    if not mine:
        return None, (
            f"You have no {label} channel yet: choose Edit to add one in the builder, or say "
            "another output (email or the app)."
        )
    if named:
        bare = named.strip().lstrip("#").lower()
        exact = [c for c in mine if c.name.strip().lstrip("#").lower() == bare]
        near = [c for c in mine if bare and bare in c.name.lower()]
        for found in (exact, near):
            if len(found) == 1:
                return found[0], ""
        return None, (
            f"None of your {label} channels is clearly “{named}” (yours: {listed}): choose "
            "Edit to pick one in the builder."
        )
    if len(mine) == 1:
        return mine[0], ""
    return None, (
        f"You have {len(mine)} {label} channels ({listed}): say which by name, or choose Edit "
        "to pick one in the builder."
    )


def _same_url(channel: DeliveryChannel, url: str) -> bool:
    return (channel.config or {}).get("url") == url


def _output(*, draft: dict, org: Organization, user: AbstractBaseUser) -> _Output:
    kind = draft.get("channel")
    config = draft.get("channel_config") or {}
    if kind == DeliveryChannel.Kind.EMAIL:
        to = config.get("to") or []
        if not to:
            return _Output({"kind": "email", "to": []}, f"Email to you ({user.email})")
        return _Output({"kind": "email", "to": list(to)}, draft.get("output_words", ""))
    if kind == DeliveryChannel.Kind.IN_APP:
        return _Output({"kind": "in_app"}, "Your inbox in the app")
    if kind in (DeliveryChannel.Kind.SLACK, DeliveryChannel.Kind.TEAMS):
        named = str(config.get("channel") or "")
        channel, problem = _named_channel(org=org, user=user, kind=kind, named=named)
        if channel is not None:
            return _Output(channel, f"{KIND_LABELS[kind]}: “{channel.name}”")
        placeholder = DeliveryChannel(organization=org, owner=user, kind=kind, name=named)
        return _Output(placeholder, draft.get("output_words", KIND_LABELS[kind]), problem)
    if kind == DeliveryChannel.Kind.WEBHOOK:
        url = str(config.get("url") or "")
        mine = DeliveryChannel.objects.filter(organization=org, owner=user, kind=kind)
        existing = next((c for c in mine.order_by("pk") if _same_url(c, url)), None)
        if existing is not None:
            return _Output(existing, f"Webhook: “{existing.name}” ({url})")
        problem = ""
        try:
            outbound.check_url(url)
        except outbound.OutboundRefused as exc:
            problem = f"That webhook URL cannot be used: {exc}"
        placeholder = DeliveryChannel(organization=org, owner=user, kind=kind, name=url[:120])
        words = f"Webhook to {url} (a new webhook channel, made on Confirm)"
        return _Output(placeholder, words, problem, webhook_url=url)
    return _Output({"kind": kind}, str(draft.get("output_words", "")))


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [m for errors in exc.error_dict.values() for e in errors for m in e.messages]
    return list(exc.messages)


def _plan_and_other(exc: ValidationError) -> tuple[list[str], dict]:
    """The spec's errors split into the plan's (the card says "not on your plan") and the
    rest (the draft cannot be set up as it is)."""
    plan: list[str] = []
    other: dict[str, list] = {}
    by_field = exc.error_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.error_list}
    for field, errors in by_field.items():
        for error in errors:
            if error.code == "plan_limit":
                plan.extend(error.messages)
            else:
                other.setdefault(field, []).append(error)
    return plan, other


def _params_words(skill: Skill | str, given: dict, checked: dict | None) -> tuple[str, ...]:
    if not isinstance(skill, Skill):
        return ()
    values = checked if checked is not None else given
    props = (skill.params_schema or {}).get("properties", {})
    out = []
    for key, value in values.items():
        label = key.replace("_", " ")
        hint = props.get(key, {}).get("description") if isinstance(props.get(key), dict) else None
        default = "" if key in given else " (the default)"
        out.append(f"{label}: {value}{default}" + (f" — {hint}" if hint else ""))
    return tuple(out)


def _when(raw: dict, *, time_zone: str, now: datetime):
    """(next runs in the user's zone, words for a trigger that is not a schedule)."""
    kind = raw.get("trigger_type")
    if kind == Automation.TriggerType.CRON:
        try:
            fires = cron.fires(raw["cron_expression"], raw["time_zone"], now, NEXT_RUNS)
        except cron.CronError:
            fires = []
        zone = ZoneInfo(time_zone)
        return tuple(f.astimezone(zone) for f in fires), ""
    if kind == Automation.TriggerType.POLL:
        seconds = raw.get("poll_interval_seconds") or 0
        return (), f"Every {duration_words(seconds)}"
    if kind == Automation.TriggerType.EVENT:
        return (), "On each matching ATS event"
    return (), "Around each interview, as it is scheduled"


class _Checked:
    """A draft checked through the validation path as automation_create would check it."""

    def __init__(self, *, draft: dict, org: Organization, user: AbstractBaseUser, time_zone: str):
        self.draft = draft
        membership = membership_require(user=user, org=org)
        self.output = _output(draft=draft, org=org, user=user)
        self.skill = _skill(draft.get("skill"))
        self.raw = _raw(draft, skill=self.skill, time_zone=time_zone, channels=[self.output.spec])
        self.plan_messages: list[str] = []
        audience_spec_clean(
            org=org,
            acting_is_admin=membership.is_admin,
            acting_user=user,
            raw={"owner": user},
            trigger_type=self.raw.get("trigger_type"),
        )
        self.spec = None
        try:
            self.spec = automation_spec_clean(org=org, raw=self.raw)
        except ValidationError as exc:
            plan, other = _plan_and_other(exc)
            if other:
                raise ValidationError(other) from None
            self.plan_messages = plan
        subject = self.spec if self.spec is not None else self.raw
        self.approval = approval_reason(org=org, membership=membership, automation_or_spec=subject)
        if not self.approval and not self.plan_messages:
            # Created active, it counts against the plan's active automations (checked
            # again, with the org locked, by automation_create).
            active = Automation.objects.filter(organization=org, status=Automation.Status.ACTIVE)
            try:
                plans.check_active_automation_count(org=org, active_now=active.count())
            except plans.PlanLimitError as exc:
                self.plan_messages = list(exc.messages)


def _card(row: AutomationDraft, checked: _Checked, *, now: datetime) -> DraftCard:
    draft = checked.draft
    raw = checked.raw
    next_runs, runs_words = _when(raw, time_zone=row.time_zone, now=now)
    skill = checked.skill
    spec_params = checked.spec.params if checked.spec is not None else None
    return DraftCard(
        public_id=row.public_id,
        text=row.text,
        name=raw["name"],
        trigger_words=str(draft.get("trigger_words", "")),
        next_runs=next_runs,
        runs_words=runs_words,
        time_zone=row.time_zone,
        schedule_zone=str(raw.get("time_zone") or row.time_zone),
        skill_slug=str(draft.get("skill", "")),
        skill_name=skill.name if isinstance(skill, Skill) else str(skill),
        action_words=str(draft.get("action_words", "")),
        params_words=_params_words(skill, draft.get("params") or {}, spec_params),
        output_words=checked.output.words,
        notes=tuple(str(n) for n in draft.get("notes", [])),
        questions=tuple(str(q) for q in draft.get("questions", [])),
        plan_ok=not checked.plan_messages,
        plan_message=" ".join(checked.plan_messages),
        needs_approval=bool(checked.approval),
        approval_reason=checked.approval or "",
        channel_problem=checked.output.problem,
        expires_at=row.expires_at,
        expired=row.expires_at <= now,
    )


def _understood(draft: dict) -> tuple[str, ...]:
    return tuple(
        f"{label}: {draft[key]}"
        for label, key in (
            ("Trigger", "trigger_words"),
            ("Action", "action_words"),
            ("Output", "output_words"),
        )
        if draft.get(key)
    )


# -- the services ---------------------------------------------------------------------------


def automation_draft_create(
    *, org: Organization, user: AbstractBaseUser, text: str, time_zone: str
) -> DraftCard | NotUnderstood:
    """Read `text` (in `time_zone`, the user's, unless it names one) into a stored draft and
    its card, or say what was not understood. PermissionDenied for a non-member. Nothing is
    stored for text that is not understood or cannot be set up as it is."""
    membership_require(user=user, org=org)
    if not isinstance(text, str):
        text = ""
    text = text.replace("\x00", " ")
    if len(text) > DRAFT_TEXT_MAX_LENGTH:
        return NotUnderstood(
            f"That is too long to read as one automation (at most {DRAFT_TEXT_MAX_LENGTH} "
            "characters)."
        )
    result = parse(text, time_zone=time_zone)
    if isinstance(result, NotUnderstood) and text.strip():
        # Claude only for what the grammar cannot read; None when AI is off, there is no
        # key, the budget is spent or the answer does not hold.
        fallback = claude_draft(org=org, text=text, time_zone=time_zone)
        if isinstance(fallback, Draft):
            result = fallback
    if isinstance(result, NotUnderstood):
        return result
    draft = result.to_json()
    try:
        checked = _Checked(draft=draft, org=org, user=user, time_zone=time_zone)
    except ValidationError as exc:
        wrong = " ".join(_messages(exc))
        return NotUnderstood(
            f"I understood it, but it cannot be set up as it is: {wrong}", _understood(draft)
        )
    now = timezone.now()
    row = AutomationDraft.objects.create(
        organization=org,
        user=user,
        text=text,
        draft=draft,
        time_zone=time_zone,
        expires_at=now + timedelta(minutes=settings.AUTOMATION_DRAFT_TTL_MINUTES),
    )
    return _card(row, checked, now=now)


def automation_draft_get_for_user(
    *, org: Organization, user: AbstractBaseUser, draft_id: object, lock: bool = False
) -> AutomationDraft:
    """The user's own draft in `org`; Http404 for anything else (a malformed, missing or
    purged id, or another person's draft, admins' included: drafts are personal)."""
    try:
        public_id = uuid.UUID(str(draft_id))
    except (ValueError, TypeError, AttributeError):
        raise Http404(NOT_FOUND) from None
    rows = AutomationDraft.objects.filter(public_id=public_id, organization=org, user=user)
    if lock:
        rows = rows.select_for_update()
    row = rows.first()
    if row is None:
        raise Http404(NOT_FOUND)
    return row


def automation_draft_card(
    *, org: Organization, user: AbstractBaseUser, draft_id: object
) -> DraftCard:
    """The card of a stored draft again (after a refused Confirm), checked as of now."""
    row = automation_draft_get_for_user(org=org, user=user, draft_id=draft_id)
    checked = _Checked(draft=row.draft, org=org, user=user, time_zone=row.time_zone)
    return _card(row, checked, now=timezone.now())


def automation_draft_confirm(
    *, org: Organization, user: AbstractBaseUser, draft_id: object
) -> Automation:
    """Create the draft's automation (automation_create: audit, approval and plan rules
    apply) and return it; a second confirm returns the same automation. Http404 unless it is
    the user's own draft in `org`; ValidationError when it expired, its channel is missing or
    a rule refuses it."""
    return automation_draft_confirm_with_secret(org=org, user=user, draft_id=draft_id)[0]


@transaction.atomic
def automation_draft_confirm_with_secret(
    *, org: Organization, user: AbstractBaseUser, draft_id: object
) -> tuple[Automation, str | None]:
    """automation_draft_confirm, and the signing secret of a webhook channel it made (to be
    shown once, as adding a webhook channel does), else None."""
    # Locked: two confirms at once (a double click) make one automation.
    row = automation_draft_get_for_user(org=org, user=user, draft_id=draft_id, lock=True)
    if row.confirmed_at is not None:
        if row.confirmed_automation is not None:
            return row.confirmed_automation, None
        raise ValidationError(
            "This draft was confirmed and its automation has since been deleted; describe it again."
        )
    now = timezone.now()
    if row.expires_at <= now:
        raise ValidationError(EXPIRED)
    checked = _Checked(draft=row.draft, org=org, user=user, time_zone=row.time_zone)
    output = checked.output
    if output.problem:
        raise ValidationError(output.problem)
    channel, secret = output.spec, None
    if output.webhook_url:
        channel, secret = channel_create(
            org=org,
            owner=user,
            kind=DeliveryChannel.Kind.WEBHOOK,
            name=_webhook_name(org=org, user=user, url=output.webhook_url),
            config={"url": output.webhook_url},
        )
    raw = {**checked.raw, "channels": [channel]}
    automation = automation_create(org=org, owner=user, by=user, **raw)
    row.confirmed_at = now
    row.confirmed_automation = automation
    row.save(update_fields=["confirmed_at", "confirmed_automation"])
    return automation, secret


def _webhook_name(*, org: Organization, user: AbstractBaseUser, url: str) -> str:
    from urllib.parse import urlsplit

    base = f"Webhook to {urlsplit(url).hostname or 'URL'}"[:100]
    taken = set(
        DeliveryChannel.objects.filter(
            organization=org, owner=user, name__startswith=base
        ).values_list("name", flat=True)
    )
    name, n = base, 2
    while name in taken:
        name, n = f"{base} ({n})", n + 1
    return name


def automation_draft_builder_initial(draft: AutomationDraft) -> dict[str, Any]:
    """The builder's field values for a stored draft (as a template's `fields`: the skill by
    slug, channels as the public ids of the user's existing channels), for "Edit": the
    builder opens pre-filled and saves through its own form."""
    data = draft.draft if isinstance(draft.draft, dict) else {}
    raw = _raw(data, skill=str(data.get("skill") or ""), time_zone=draft.time_zone, channels=[])
    fields: dict[str, Any] = {
        "name": raw["name"],
        "skill": raw["skill"],
        "params": raw["params"],
        "trigger_type": raw["trigger_type"],
        "time_zone": raw["time_zone"],
    }
    kind = raw["trigger_type"]
    if kind == Automation.TriggerType.CRON:
        fields["cron_expression"] = raw.get("cron_expression") or ""
    elif kind == Automation.TriggerType.POLL:
        fields["poll_interval_seconds"] = raw.get("poll_interval_seconds")
    elif kind == Automation.TriggerType.EVENT:
        fields["event_type"] = raw.get("event_type") or ""
        fields["event_filter"] = raw.get("event_filter") or {}
    elif kind == Automation.TriggerType.RELATIVE:
        minutes = raw.get("offset_minutes")
        if isinstance(minutes, int) and not isinstance(minutes, bool):
            fields["offset_amount"] = abs(minutes)
            fields["offset_side"] = "before" if minutes < 0 else "after"
    output = _output(draft=data, org=draft.organization, user=draft.user)
    if isinstance(output.spec, DeliveryChannel) and output.spec.pk:
        fields["channels"] = [str(output.spec.public_id)]
    return fields
