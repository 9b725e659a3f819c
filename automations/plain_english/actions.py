"""What to run and where the output goes: the catalog's skills by what they do ("summary of
my pipeline" -> pipeline-report), their parameters ("not contacted in 5 days" -> days 5),
and the delivery channel ("email ana@x.com", "to #hiring", "post to https://...")."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SkillInfo:
    """What the parser needs of a skill: the catalog's entry, without Django."""

    slug: str
    name: str
    description: str = ""
    params_schema: dict = field(default_factory=dict)


def catalog_skills() -> tuple[SkillInfo, ...]:
    from skills.catalog import CATALOG  # pure data, no Django

    return tuple(
        SkillInfo(e["slug"], e["name"], e.get("description", ""), e.get("params_schema", {}))
        for e in CATALOG
    )


# Intent phrases per skill, most specific first: the first skill whose phrase is in the
# text wins ("draft an email to the candidate" before "email"; "stale candidates" before
# "new candidates").
INTENTS: list[tuple[str, re.Pattern]] = [
    ("candidate-email-draft", re.compile(
        r"\b(?:draft|write|compose|prepare|drafts)\b(?: (?:me|up))?(?: (?:an?|the|a short"
        r"|a quick|a formal|a brief|a warm))?"
        r"(?: \w+)? (?:e ?mail|message|note|reply|letter)s?\b(?: (?:to|for) (?:the |each |every "
        r"|a |that |this )?"
        r"(?:candidates?|applicants?|them|him|her))?|\bcandidate (?:e ?mail|email) drafts?\b"
        r"|\b(?:e ?mail|email) drafts?\b")),
    ("interview-followup", re.compile(
        r"\bfollow (?:- )?ups?\b|\bfollowups?\b|\bchase\b|\bchasing\b|\bscorecards?\b"
        r"|\bremind (?:the |my |all )?(?:interviewers?|panel|panelists|team)\b"
        r"|\b(?:missing|outstanding|submit|collect|overdue) (?:interview )?feedback\b"
        r"|\bfeedback reminders?\b")),
    ("interview-briefing", re.compile(
        r"\bbrief (?:me|us|the interviewers?|interviewers?|the panel)\b|\bbriefings?\b"
        r"|\bheads up\b|\bquick brief\b|\bbrief\b(?! (?:email|message|tone))")),
    ("interview-prep", re.compile(
        r"\bprep(?:aration)?(?: packs?| docs?| notes?| kits?| materials?)?\b|\bprepare (?:the "
        r"|my |our )?"
        r"(?:panel|interviewers?|interview team|hiring team)\b|\bprepping\b|\bpanel packs?\b"
        r"|\binterview (?:packs?|kits?|guides?|questions)\b")),
    ("offer-accepted-alert", re.compile(
        r"\boffers? (?:is |are |was |were |gets? |got )?accepted\b|\baccepts? (?:an |the |their "
        r"|our |a )?offers?\b"
        r"|\baccepted (?:an |the |their |our |a )?offers?\b|\boffer acceptances?\b"
        r"|\bsigned offers?\b")),
    ("stale-candidates", re.compile(
        r"\bstale\b|\bidle\b|\bstuck\b|\bno activity\b|\binactive\b|\buntouched\b"
        r"|\bnot (?:been )?contacted\b"
        r"|\bno (?:contact|updates?|movement|touch ?points?)\b|\bnot heard\b"
        r"|\bhavent (?:been )?(?:contacted|heard|touched)\b"
        r"|\bgone (?:quiet|cold|dark)\b|\bneglected\b|\bforgotten\b|\bsitting (?:around|idle)\b"
        r"|\bnobody (?:has )?(?:contacted|touched)\b|\bnot (?:been )?(?:touched|updated)\b"
        r"|\bgoing cold\b")),
    ("sourcing-recap", re.compile(
        r"\bsourcing\b|\bsourced\b|\bsources?\b|\bwhere (?:my |our |the |new )?(?:candidates"
        r"|applicants|people)"
        r" (?:come|came|are coming|coming) from\b|\bsource (?:breakdown|report)\b|\brecap\b")),
    ("new-candidate-alert", re.compile(
        r"\bnew (?:candidates?|applicants?|applications?|apps)\b|\bwho (?:has |have )?applied\b"
        r"|\b(?:someone|somebody|anyone|anybody|a candidate|people) (?:applies|apply|applied)\b"
        r"|\bapplies\b|\bapplicants?\b|\bapplications?\b|\bnew people\b")),
    ("pipeline-report", re.compile(
        r"\bpipelines?\b|\bfunnel\b|\b(?:summary|overview|report|snapshot|status|digest|rundown)"
        r" (?:of|on|for) (?:my |our |the |all )?(?:jobs|roles|openings|reqs|hiring|candidates"
        r"|stages)\b"
        r"|\bhow (?:my |our |the )?(?:hiring|jobs|roles|reqs) (?:is|are|look|looks)\b"
        r"|\bhiring (?:summary|report|status)\b"
        r"|\bstatus report\b|\b(?:weekly|daily|monthly) (?:summary|report|digest|rundown)\b"
        r"|\bsummary\b|\bdigest\b")),
]  # fmt: skip

# Event -> the skill that suits it when none was said (told in the notes).
# Any other event with no skill said: the alert about the event's candidate ("tell me when a
# candidate is hired"), which new-candidate-alert is for ("...or the candidate of an ATS event").
EVENT_DEFAULT_SKILL = {
    "ats.application.created": "new-candidate-alert",
    "ats.candidate.created": "new-candidate-alert",
    "ats.offer.accepted": "offer-accepted-alert",
    "ats.interview.scheduled": "interview-prep",
}
OTHER_EVENT_DEFAULT_SKILL = "new-candidate-alert"


def find_skill(text: str, skills: Sequence[SkillInfo]) -> SkillInfo | None:
    """The skill the text asks for: by name ("Pipeline report"), else by what it does."""
    by_slug = {s.slug: s for s in skills}
    for skill in skills:
        name = " ".join(re.sub(r"[^a-z0-9]+", " ", skill.name.lower()).split())
        if name and re.search(rf"\b{re.escape(name)}s?\b", text):
            return skill
    for slug, pattern in INTENTS:
        if slug in by_slug and pattern.search(text):
            return by_slug[slug]
    return None


# -- parameters ------------------------------------------------------------------------------

_DAYS = re.compile(
    r"\b(?:in|for|over|more than|longer than|older than|at least|past|last|within|after|>)"
    r" ?(?:the )?"
    r"(?:(?P<n>\d+) (?P<unit>days?|weeks?|months?)|(?P<one>a) (?P<unit1>day|week|month)"
    r"|(?P<fortnight>a fortnight))\b"
    r"|\b(?P<n2>\d+) (?P<unit2>days?|weeks?) (?:without|with no|idle|old|stale|inactive|or more)\b"
)
_HOURS = re.compile(r"\b(?:last|past|previous|in the last|within) (?P<n>\d+) (?:hours?|hrs?)\b")
_TONES = [("formal", r"\bformal(?:ly)?\b|\bprofessional\b"),
          ("brief", r"\bbrief\b|\bshort\b|\bconcise\b|\bquick\b"),
          ("warm", r"\bwarm\b|\bfriendly\b|\bkind\b")]  # fmt: skip


class ParamRefused(ValueError):
    pass


_LAST_UNIT = re.compile(r"\b(?:last|past|previous) (day|week|fortnight|month)\b")


def _day_count(text: str) -> int | None:
    match = _DAYS.search(text)
    if not match:
        unit = _LAST_UNIT.search(text)
        return {"day": 1, "week": 7, "fortnight": 14, "month": 30}[unit.group(1)] if unit else None
    if match.group("fortnight"):
        return 14
    if match.group("one"):
        n, unit = 1, match.group("unit1")
    elif match.group("n"):
        n, unit = int(match.group("n")), match.group("unit")
    else:
        n, unit = int(match.group("n2")), match.group("unit2")
    return n * {"day": 1, "week": 7, "month": 30}[unit.rstrip("s")]


def find_params(text: str, skill: SkillInfo) -> tuple[dict, list[str]]:
    """Params the text gives for `skill`, only those its params_schema has; (params, notes).
    Raises ParamRefused for a value outside the schema's bounds."""
    properties = (skill.params_schema or {}).get("properties", {})
    params: dict = {}
    notes: list[str] = []
    days_key = next((k for k in ("days", "lookback_days", "new_days") if k in properties), None)
    if days_key:
        days = _day_count(text)
        if days is not None:
            params[days_key] = days
    if "lookback_hours" in properties:
        hours = _HOURS.search(text)
        days = _day_count(text)
        if hours:
            params["lookback_hours"] = int(hours.group("n"))
        elif days is not None and re.search(r"\b(?:last|past|previous|within)\b", text):
            params["lookback_hours"] = days * 24
    if "tone" in properties:
        allowed = properties["tone"].get("enum") or []
        for tone, pattern in _TONES:
            if tone in allowed and re.search(pattern, text):
                params["tone"] = tone
                break
    for key, value in params.items():
        spec = properties[key]
        low, high = spec.get("minimum"), spec.get("maximum")
        if isinstance(value, int) and (
            (low is not None and value < low) or (high is not None and value > high)
        ):
            raise ParamRefused(
                f"{skill.name}: {key} must be between {low} and {high} (got {value})."
            )
    return params, notes


# -- channels --------------------------------------------------------------------------------

_UNSUPPORTED = re.compile(
    r"\b(?P<what>text me|texts? (?:to )?(?:me|my phone)|by text|via text|sms|whatsapp|whats app"
    r"|call me|phone me|ring me|phone call|telegram|imessage|signal|wechat|discord|fax|pager)\b"
)
_UNSUPPORTED_NAMES = {"whatsapp": "WhatsApp", "whats app": "WhatsApp", "telegram": "Telegram",
                      "imessage": "iMessage", "signal": "Signal", "wechat": "WeChat",
                      "discord": "Discord", "fax": "Fax", "pager": "A pager"}  # fmt: skip
SUPPORTED = "email, Slack, Microsoft Teams, a webhook (https) or the in-app inbox"


class ChannelRefused(ValueError):
    pass


@dataclass
class Channel:
    kind: str
    config: dict
    words: str


def find_channel(
    text: str, *, urls: list[str], emails: list[str], slack_channels: list[str]
) -> tuple[Channel, list[str]]:
    """The channel said (email to you by default) and notes; ChannelRefused for one that is
    not supported (SMS, WhatsApp, a plain-http webhook)."""
    unsupported = _UNSUPPORTED.search(text)
    if unsupported:
        what = unsupported.group("what")
        name = _UNSUPPORTED_NAMES.get(
            what, "SMS" if "text" in what or what == "sms" else "A phone call"
        )
        raise ChannelRefused(f"{name} is not a supported channel: choose {SUPPORTED}.")
    found: list[tuple[int, Channel]] = []
    for url in urls:
        if not url.lower().startswith("https://"):
            raise ChannelRefused(
                f"Webhooks must use https (the output is signed, and would travel in clear "
                f"over http): {url}"
            )
        found.append((text.find("urltoken"), Channel("webhook", {"url": url}, f"Webhook to {url}")))
    if re.search(r"\bwebhooks?\b", text) and not urls:
        raise ChannelRefused("Which URL should the webhook post to? Give the https address.")
    teams = re.search(r"\b(?:ms |microsoft )?teams\b", text)
    slack = re.search(r"\bslack\b", text)
    if slack or (slack_channels and not teams):
        config = {"channel": slack_channels[0]} if slack_channels else {}
        where = f"Slack ({slack_channels[0]})" if slack_channels else "Slack"
        pos = slack.start() if slack else text.find("channeltoken")
        found.append((pos, Channel("slack", config, where)))
    if teams:
        found.append((teams.start(), Channel("teams", {}, "Microsoft Teams")))
    in_app = re.search(
        r"\b(?:in (?:- )?app|inbox|notify me here|here in|in skillomatic|dashboard|in the app"
        r"|app notifications?)\b",
        text,
    )
    # "notification" alone names no channel unless nothing else does.
    weak_in_app = re.search(r"\b(?:notifications?|bell|notify me)\b", text)
    if in_app or (
        weak_in_app and not found and not emails and not re.search(r"\bmail\b|\bemail\b", text)
    ):
        in_app = in_app or weak_in_app
        found.append((in_app.start(), Channel("in_app", {}, "Your inbox in the app")))
    if emails:
        found.append(
            (text.find("emailtoken"), Channel("email", {"to": list(dict.fromkeys(emails))},
                                              "Email to " + ", ".join(dict.fromkeys(emails))))
        )  # fmt: skip
    email_word = re.search(r"\b(?:e ?mail|mail|inbox email)\b", text)
    if email_word and not emails:
        found.append((email_word.start(), Channel("email", {}, "Email to you")))
    notes: list[str] = []
    if not found:
        return Channel("email", {}, "Email to you"), notes
    found.sort(key=lambda f: f[0])
    kinds = list(dict.fromkeys(c.kind for _, c in found))
    chosen = found[0][1]
    if len(kinds) > 1:
        others = ", ".join(k for k in kinds[1:])
        notes.append(f"One channel per draft: {chosen.words} chosen; add {others} in the builder.")
    return chosen, notes
