"""ATS events ("moves to Onsite", "accepts an offer", "someone applies"), times relative to
interviews ("30 minutes before each interview") and polling ("check every 15 minutes") in
cleaned text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_OFFSET_MINUTES = 30 * 24 * 60  # the Automation model's bound: 30 days either way
MIN_POLL_MINUTES = 1
MAX_POLL_MINUTES = 30 * 24 * 60

INTERVIEW_SCHEDULED = "ats.interview.scheduled"

EVENT_WORDS = {
    "ats.application.created": "When a new application comes in",
    "ats.candidate.created": "When a new candidate is added",
    "ats.candidate.stage_changed": "When a candidate moves stage",
    "ats.candidate.hired": "When a candidate is hired",
    "ats.candidate.rejected": "When a candidate is rejected",
    "ats.offer.created": "When an offer is made",
    "ats.offer.accepted": "When a candidate accepts an offer",
    "ats.interview.scheduled": "When an interview is scheduled",
    "ats.interview.cancelled": "When an interview is cancelled",
}

# Words that end a stage name ("moves to onsite and send me ..."): the stage is what comes
# before them.
_STAGE_END = (
    r"(?= stage\b| step\b| phase\b| ,| and\b| then\b| send\b| email\b| notify\b"
    r"| post\b| tell\b| ping\b| alert\b| let\b| in slack\b| on slack\b| to slack\b| for\b"
    r"| please\b| run\b| give\b| create\b| draft\b| message\b| brief\b| prep\b| with\b| via\b"
    r"| on teams\b| in teams\b| by\b| - |$)"
)
_STAGE = re.compile(
    r"\b(?:moves?|moved|moving|advances?|advanced|progress(?:es|ed)?|goes|gone|passes|passed"
    r"|gets? moved|lands?|landed|gets?|got|makes? it"
    r"|is put|are moved|is moved|are put|transitions?|changes?|changed|is advanced)"
    r"(?: (?:on|forward|up|along|through))?"
    r" (?:in ?to|to|into|in|at)(?: the)? (?:stage )?(?P<stage>[a-z0-9][a-z0-9 /]*?)"
    + _STAGE_END
    + r"|\b(?:enters?|entered|reaches|reached|reach|hits?)(?: the)? (?:stage )?"
    r"(?P<stage2>[a-z0-9][a-z0-9 /]*?)" + _STAGE_END
)
_STAGE_CHANGE = re.compile(
    r"\b(?:changes? stages?|moves? stages?|stage changes?|stage change|changes? stage"
    r"|moves? (?:to|into) (?:a |the )?(?:next|new|another|different) stage)\b"
)
_NOT_STAGES = frozenset({"a", "the", "me", "you", "us", "it", "them", "new", "next", "my"})

_EVENTS = [
    ("ats.offer.accepted", re.compile(
        r"\b(?:accepts?|accepted|accepting|signs?|signed) (?:an |the |their |our |my "
        r"|a )?(?:job )?offers?\b"
        r"|\boffers? (?:is |are |was |were |gets? |got )?(?:accepted|signed)\b"
        r"|\b(?:accepted|signed) offers?\b|\boffer acceptances?\b")),
    ("ats.offer.created", re.compile(
        r"\b(?:gets?|got|receives?|received|is given|is made|is sent|is extended) (?:an |a "
        r"|the )?offers?\b"
        r"|\boffers? (?:is |are |was |gets? )?(?:created|made|sent|extended|issued|drafted"
        r"|generated|out)\b"
        r"|\b(?:make|makes|send|sends|extend|extends|create|creates) (?:an |a )?offer\b"
        r"|\bnew offers?\b")),
    ("ats.candidate.hired", re.compile(
        r"\b(?:is|are|gets?|got|was|been|were|becomes?) hired\b|\bwe hire\b|\bhires?\b|\bhired\b"
        r"|\bnew hires?\b")),
    ("ats.candidate.rejected", re.compile(
        r"\b(?:is|are|gets?|got|was|were|been) (?:rejected|declined|turned down|dispositioned)\b"
        r"|\b(?:reject|rejects|rejected|rejection)\b")),
    ("ats.interview.cancelled", re.compile(
        r"\binterviews? (?:is |are |was |gets? |got )?(?:cancelled|canceled|called off|dropped)\b"
        r"|\b(?:cancels?|cancelled|canceled) (?:an |the |a |their )?interviews?\b")),
    ("ats.interview.scheduled", re.compile(
        r"\binterviews? (?:is |are |was |gets? |got )?(?:scheduled|booked|set up|arranged"
        r"|created|added)\b"
        r"|\b(?:schedules?|scheduled|books?|booked|sets? up) (?:an |the |a |their )?interviews?\b"
        r"|\bnew interviews?\b")),
    ("ats.candidate.created", re.compile(
        r"\bcandidates? (?:is |are |gets? )?(?:added|created|imported)\b"
        r"|\b(?:add|adds|create|creates) (?:a |new )?candidates?\b")),
    ("ats.application.created", re.compile(
        r"\b(?:someone|somebody|anyone|anybody|a candidate|candidates|people|person|they|he|she)"
        r" (?:applies|apply|applied|submits)\b|\bnew (?:job )?(?:applications?|applicants?)\b"
        r"|\bapplications? (?:comes?|arrives?|is submitted|is received|lands?)\b"
        r"|\bapplies\b|\bnew candidates? (?:applies|apply|for|on|to)\b|\bnew candidates?\b")),
]  # fmt: skip

# A word that makes an event the trigger ("when", "whenever", "as soon as"), even if the text
# also has a schedule word ("each time", "every time").
EVENT_CUE = re.compile(
    r"\b(?:when|whenever|once|as soon as|each time|every time|any time|anytime|if|after|upon"
    r"|for (?:each|every|any|all)|on (?:each|every|any)|the moment|right after|immediately"
    r"|each|every)\b"
)
_JOB = re.compile(
    r"\b(?:for|on|to|in) (?:the |our |my |any |all |an |a )?(?P<job>[a-z][a-z0-9 /+#.]*?) "
    r"(?:jobs?|roles?|positions?|openings?|reqs?|requisitions?|vacanc(?:y|ies)|postings?"
    r"|pipelines?)\b"
)
_NOT_JOBS = frozenset(
    {"new", "open", "all", "any", "my", "our", "the", "every", "each", "other", "these", "those",
     "its", "their", "current", "active", "some", "for", "in", "on", "to", "at", "of", "a", "an"}
)  # fmt: skip


_JOB_BREAKS = frozenset(
    {"for", "on", "to", "in", "channeltoken", "urltoken", "emailtoken", "zonetoken", "slack",
     "teams", "email", "me", "and", "with"}
)  # fmt: skip


@dataclass
class EventTrigger:
    event: str
    filter: dict = field(default_factory=dict)
    words: str = ""


def _title(words: str) -> str:
    return " ".join(w if any(c.isupper() for c in w) else w.capitalize() for w in words.split())


def job_filter(text: str) -> dict:
    """{"application.job_name": {"contains": "Engineering"}} for "for the Engineering jobs"."""
    match = _JOB.search(text)
    if not match:
        return {}
    words = match.group("job").split()
    # The job is what follows the last preposition or channel ("on slack #x for Sales jobs").
    cut = max((i + 1 for i, w in enumerate(words) if w in _JOB_BREAKS), default=0)
    words = [w for w in words[cut:] if w not in _NOT_JOBS]
    if not words or words[-1] in {"candidate", "candidates", "applicant", "applicants"}:
        return {}
    return {"application.job_name": {"contains": _title(" ".join(words))}}


def find_event(text: str) -> EventTrigger | None:
    """The ATS event said in the text, with its filter; None if none."""
    stage = _STAGE.search(text)
    said = (stage.group("stage") or stage.group("stage2") or "").strip() if stage else ""
    if said and said not in _NOT_STAGES:
        name = _title(said)
        return EventTrigger(
            "ats.candidate.stage_changed", {"stage.to": name}, f"When a candidate moves to {name}"
        )
    if _STAGE_CHANGE.search(text):
        return EventTrigger(
            "ats.candidate.stage_changed", {}, EVENT_WORDS["ats.candidate.stage_changed"]
        )
    for event, pattern in _EVENTS:
        if pattern.search(text):
            found = EventTrigger(event, {}, EVENT_WORDS[event])
            job = job_filter(text)
            if job:
                found.filter = job
                found.words += (
                    f" for a job whose name contains '{job['application.job_name']['contains']}'"
                )
            return found
    return None


# -- relative to interviews ------------------------------------------------------------------

_AMOUNT = r"(?P<n>\d+|an?|one|half an?|a half|a couple of|couple of|few)"
_UNIT = r"(?P<unit>minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?)"
_RELATIVE = re.compile(
    rf"\b(?:{_AMOUNT} )?(?:(?P<half>and a half) )?{_UNIT}(?: and a half)? "
    r"(?P<dir>before|ahead of|prior to|in advance of|after|following|past|ahead|earlier|later)"
    r"(?: of| the start of| the end of| the)? (?:each |every |an |the |a |my |our |all |any )?"
    r"(?:scheduled |upcoming |booked )?(?:interviews?|calls?|meetings?|screens?)\b"
)
_DAY_BEFORE = re.compile(
    r"\b(?:the )?(?P<which>day|night|evening|morning) (?P<dir>before|after) (?:each |every |an "
    r"|the |a |my |any )?interviews?\b"
)
_INTERVIEW_SAID = re.compile(r"\binterviews?\b")
_RELATIVE_TAIL = re.compile(
    r"\b(?P<n>\d+|an?|half an) (?P<unit>minutes?|mins?|hours?|hrs?|days?)"
    r" (?P<dir>before|after|ahead|beforehand|earlier|prior|later|afterwards)(?= *(?:,|$|and\b))"
)
_RELATIVE_BARE = re.compile(
    r"\b(?P<dir>before|ahead of|prior to|in advance of|after|following) (?:each |every |an |the "
    r"|my |all |any |a )?(?:scheduled |upcoming )?interviews?\b"
)
_UNIT_MINUTES = {"m": 1, "min": 1, "h": 60, "hr": 60, "hour": 60, "d": 1440, "day": 1440,
                 "week": 10080, "minute": 1}  # fmt: skip


class RelativeRefused(ValueError):
    pass


@dataclass
class RelativeTrigger:
    offset_minutes: int
    words: str
    question: str = ""  # when how long before or after was not said


def _offset_words(minutes: int) -> str:
    size = abs(minutes)
    for unit, n in (("day", 1440), ("hour", 60), ("minute", 1)):
        if size % n == 0:
            count = size // n
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{size} minutes"


def find_relative(text: str) -> RelativeTrigger | None:
    """ "30 minutes before each interview" -> offset -30; raises RelativeRefused beyond 30 days."""
    match = _RELATIVE.search(text)
    if match:
        n_text = match.group("n") or "1"
        unit = (
            match.group("unit").rstrip("s")
            if match.group("unit") not in {"m", "h", "d"}
            else match.group("unit")
        )
        amount = {"a": 1, "an": 1, "one": 1, "half a": 0.5, "half an": 0.5, "a half": 0.5,
                  "a couple of": 2, "couple of": 2, "few": 3}.get(n_text)  # fmt: skip
        if amount is None:
            amount = int(n_text)
        if match.group("half") or "and a half" in match.group(0):
            amount += 0.5
        minutes = int(amount * _UNIT_MINUTES.get(unit, 1))
        before = match.group("dir") in {
            "before",
            "ahead of",
            "prior to",
            "in advance of",
            "ahead",
            "earlier",
        }
    else:
        match = _DAY_BEFORE.search(text)
        tail = _RELATIVE_TAIL.search(text) if _INTERVIEW_SAID.search(text) else None
        if match:
            minutes = 1440
            before = match.group("dir") == "before"
        elif tail:
            # "when an interview is scheduled, brief me 10 minutes before": before it starts.
            amount = {"a": 1, "an": 1, "half an": 0.5}.get(tail.group("n")) or int(tail.group("n"))
            minutes = int(amount * _UNIT_MINUTES.get(tail.group("unit").rstrip("s"), 1))
            before = tail.group("dir") in {"before", "ahead", "beforehand", "earlier", "prior"}
        elif bare := _RELATIVE_BARE.search(text):
            # "brief me before each interview": how long before is asked, 30 minutes suggested
            # (an hour after, for "after").
            before = bare.group("dir") not in {"after", "following"}
            minutes = 30 if before else 60
            offset = -minutes if before else minutes
            words = f"{_offset_words(minutes)} {'before' if before else 'after'} each interview"
            return RelativeTrigger(
                offset,
                words[0].upper() + words[1:],
                f"How long {'before' if before else 'after'} each interview? The draft uses "
                f"{_offset_words(minutes)}.",
            )
        else:
            return None
    if minutes == 0:
        raise RelativeRefused("Say how long before or after each interview, e.g. 30 minutes.")
    if minutes > MAX_OFFSET_MINUTES:
        raise RelativeRefused(
            f"{_offset_words(minutes)} is too far from the interview: at most 30 days before "
            "or after each interview."
        )
    offset = -minutes if before else minutes
    words = f"{_offset_words(minutes)} {'before' if before else 'after'} each interview"
    return RelativeTrigger(offset, words[0].upper() + words[1:])


# -- polling ---------------------------------------------------------------------------------

_POLL_VERB = re.compile(
    r"\b(?:check|checks|checking|poll|polls|polling|scan|scans|look|looks|watch|monitor|monitors"
    r"|monitoring|keep an eye|query|fetch|sync|refresh)\b"
)
_INTERVAL = re.compile(
    r"\bevery (?:(?P<n>\d+|half an?|a) )?(?P<unit>seconds?|secs?|minutes?|mins?|hours?|hrs?"
    r"|days?|weeks?)\b"
    r"|\b(?P<hourly>hourly)\b|\bevery (?P<quarter>quarter) (?:of an )?hour\b"
)


class PollRefused(ValueError):
    pass


@dataclass
class PollTrigger:
    every_minutes: int
    words: str


def find_poll(text: str) -> PollTrigger | None:
    """ "check for new applicants every 15 minutes" -> every 15 minutes; PollRefused outside
    1 minute .. 30 days."""
    if not _POLL_VERB.search(text):
        return None
    match = _INTERVAL.search(text)
    if not match:
        return None
    if match.group("hourly"):
        minutes = 60
    elif match.group("quarter"):
        minutes = 15
    else:
        n_text = match.group("n") or "1"
        unit = match.group("unit").rstrip("s")
        if unit in {"second", "sec"}:
            raise PollRefused("Polling runs at most once a minute: say every 1 minute or more.")
        amount = 0.5 if n_text.startswith("half") else (1 if n_text == "a" else int(n_text))
        size = {"minute": 1, "min": 1, "hour": 60, "hr": 60, "day": 1440, "week": 10080}[unit]
        minutes = int(amount * size)
    if minutes < MIN_POLL_MINUTES:
        raise PollRefused("Polling runs at most once a minute: say every 1 minute or more.")
    if minutes > MAX_POLL_MINUTES:
        raise PollRefused(
            "Polling runs at least every 30 days; for anything rarer, use a schedule "
            "(e.g. 'on the first day of every month')."
        )
    return PollTrigger(minutes, f"Check every {_offset_words(minutes)}")
