"""Text clean-up before the grammar reads it: lower case, one space, URLs, e-mail addresses,
IANA zone names and Slack channels taken out first (their case and punctuation matter), number
words as digits, and misspelt words corrected to the grammar's own vocabulary by edit distance
("evry" -> "every", "thrusday" -> "thursday"), so the patterns only ever see one spelling."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import available_timezones


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Every word a pattern of the grammar looks for; a misspelling is corrected only to one of these.
VOCABULARY = _words(
    """
    every each daily weekly monthly hourly nightly yearly annually quarterly fortnightly biweekly
    day days week weeks month months year quarter minute minutes hour hours morning mornings
    evening evenings afternoon afternoons night nights noon midnight midday tonight
    monday tuesday wednesday thursday friday saturday sunday
    mondays tuesdays wednesdays thursdays fridays saturdays sundays
    weekday weekdays weekend weekends workday workdays business working office
    twice thrice times first second third fourth last other alternate beginning start end
    half past quarter oclock before after ahead prior through until
    interview interviews interviewer interviewers candidate candidates application applications
    applicant applicants applies applied apply pipeline summary report reports overview snapshot
    sourcing sourced source sources recap stale idle stuck activity inactive untouched contacted
    offer offers accepted accepts accept hired rejected reject scheduled cancelled canceled booked
    stage moves moved reaches reached advances enters
    slack teams email inbox webhook notification notifications message
    briefing brief prep preparation prepare panel follow followup feedback scorecards scorecard
    chase remind reminder draft formal warm friendly concise
    check poll monitor watch scan look
    pacific eastern central mountain london sydney tokyo berlin paris bangalore india
    """
)

# Ordinary words that are never "corrected" (a near miss of a vocabulary word, but meant).
KEEP = _words(
    """
    team time with when then them this that what which where while will week's send sent
    need into onto from have here there they their your mine more most less must also
    only over open opens opened some same such than very want give gets get good told tell
    near next news role roles jobs job hire hires list lists line lines ping post posts call
    text just make made sure both like love late later soon once what's lead leads
    reach reaching black lack weak seek craft grief scale sale tale pull roll scam match batch
    catch hook hooks phase starts stat ends ever least dairy early nearly apple each
    """
)

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fortyfive": 45, "fifty": 50, "sixty": 60, "ninety": 90,
}  # fmt: skip

URL = re.compile(r"\bhttps?://[^\s<>\"']+", re.IGNORECASE)
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
SLACK_CHANNEL = re.compile(r"(?<![\w#])#[a-z0-9][a-z0-9_.-]*", re.IGNORECASE)
ZONE_NAME = re.compile(r"\b[A-Za-z]+(?:/[A-Za-z0-9_+-]+)+\b")


@dataclass
class Cleaned:
    """The text as the grammar reads it, with what was taken out of it beforehand."""

    text: str
    urls: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    slack_channels: list[str] = field(default_factory=list)
    zone_names: list[str] = field(default_factory=list)
    corrections: list[tuple[str, str]] = field(default_factory=list)


@lru_cache(maxsize=1)
def _zones_by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


def distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count 1), or limit + 1 once it is
    certainly above `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


@lru_cache(maxsize=4096)
def correct(word: str) -> str:
    """The vocabulary word `word` most likely meant, or `word` itself. Short words allow one
    edit, words over 8 letters two; a tie between two vocabulary words is no correction (it
    would be a guess)."""
    if len(word) < 4 or not word.isalpha() or word in VOCABULARY or word in KEEP:
        return word
    # Two edits only for long words: at 8 letters real words are already two edits apart
    # ("bringing" / "briefing", "booking" / "working").
    limit = 1 if len(word) <= 8 else 2
    best: list[tuple[int, str]] = []
    for candidate in VOCABULARY:
        d = distance(word, candidate, limit)
        if d <= limit:
            best.append((d, candidate))
    if not best:
        return word
    best.sort()
    if len(best) > 1 and best[0][0] == best[1][0]:
        # "stat" is as near "start" as "stage": leave it, rather than pick one.
        singular = {w.rstrip("s") for d, w in best if d == best[0][0]}
        if len(singular) > 1:
            return word
    return best[0][1]


def clean(text: str) -> Cleaned:
    """Lower-cased, corrected text with single spaces, and the parts taken out of it."""
    out = Cleaned(text="")
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u2013", "-")
    text = text.replace("\u2014", " - ")

    def take(pattern: re.Pattern, into: list[str], placeholder: str, text: str) -> str:
        def keep(match: re.Match) -> str:
            value = match.group(0).rstrip(".,;:!?)")
            tail = match.group(0)[len(value) :]
            into.append(value)
            return f" {placeholder} {tail}"

        return pattern.sub(keep, text)

    text = take(URL, out.urls, "urltoken", text)
    text = take(EMAIL, out.emails, "emailtoken", text)

    def zone(match: re.Match) -> str:
        name = _zones_by_folded_name().get(match.group(0).casefold())
        if name is not None and name.startswith(("posix/", "right/")):
            name = None
        if name is None:
            return match.group(0)
        out.zone_names.append(name)
        return " zonetoken "

    text = ZONE_NAME.sub(zone, text)
    text = take(SLACK_CHANNEL, out.slack_channels, "channeltoken", text)
    out.slack_channels = [c.lower() for c in out.slack_channels]

    t = text.lower()
    t = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", t)  # a.m. / p.m.
    t = t.replace("o'clock", "oclock").replace("o clock", "oclock")
    t = re.sub(r"(\w)'(s|t|re|ll|ve|d|m)\b", r"\1\2", t)  # haven't -> havent
    t = re.sub(r"(\d)\s*(am|pm)\b", r"\1 \2", t)
    t = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1 \2", t)
    t = re.sub(r"(\d)(mins?|minutes?|hrs?|hours?|h|m|days?|d)\b", r"\1 \2", t)
    t = re.sub(r"(?<=\w)-(?=\w)", " - ", t)
    t = re.sub(r"(?<=\w)/(?=\w)", " / ", t)
    t = re.sub(r"(?<!\d)[.:](?!\d)|[.:](?=\D)|(?<=\D)[.:]", " ", t)
    t = t.replace(",", " , ")  # a comma separates list items ("at 9, 1 and 5")
    t = re.sub(r"[^a-z0-9:.\-/&, ]", " ", t)
    t = t.replace("&", " and ")
    words = []
    for word in t.split():
        fixed = correct(word)
        if fixed != word:
            out.corrections.append((word, fixed))
        words.append(fixed)
    t = " ".join(words)
    t = re.sub(r"\bforty - five\b", "fortyfive", t)
    t = re.sub(r"\btwenty - four\b", "24", t)
    t = re.sub(r"\b(" + "|".join(NUMBER_WORDS) + r")\b", lambda m: str(NUMBER_WORDS[m.group(1)]), t)
    t = re.sub(r"\b(twenty|thirty|forty|fifty) (\d)\b", lambda m: m.group(0), t)
    out.text = " ".join(t.split())
    return out
