"""Times of day ("9am", "17:30", "half past nine", "noon") and time zones ("Pacific", "CET",
"London time", "Europe/Madrid") in cleaned text (see vocabulary.clean)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Names people use for a zone -> the IANA zone. Abbreviations stand for the zone that
# observes them, with its daylight saving ("PST" in July is PDT): what a recruiter means.
ZONE_WORDS = {
    "pacific": "America/Los_Angeles", "pt": "America/Los_Angeles", "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles", "los angeles": "America/Los_Angeles", "la": "America/Los_Angeles",
    "san francisco": "America/Los_Angeles", "sf": "America/Los_Angeles",
    "seattle": "America/Los_Angeles", "california": "America/Los_Angeles",
    "eastern": "America/New_York", "et": "America/New_York", "est": "America/New_York",
    "edt": "America/New_York", "new york": "America/New_York", "nyc": "America/New_York",
    "boston": "America/New_York", "toronto": "America/Toronto",
    "central": "America/Chicago", "ct": "America/Chicago", "cst": "America/Chicago",
    "cdt": "America/Chicago", "chicago": "America/Chicago", "austin": "America/Chicago",
    "mountain": "America/Denver", "mt": "America/Denver", "mst": "America/Denver",
    "mdt": "America/Denver", "denver": "America/Denver",
    "cet": "Europe/Berlin", "cest": "Europe/Berlin", "berlin": "Europe/Berlin",
    "germany": "Europe/Berlin", "paris": "Europe/Paris", "france": "Europe/Paris",
    "madrid": "Europe/Madrid", "amsterdam": "Europe/Amsterdam", "dublin": "Europe/Dublin",
    "london": "Europe/London", "uk": "Europe/London", "british": "Europe/London",
    "bst": "Europe/London",
    # GMT and UTC have no daylight saving; "London time" is the zone that does.
    "gmt": "Etc/GMT", "utc": "UTC", "zulu": "UTC",
    "sydney": "Australia/Sydney", "aest": "Australia/Sydney", "aedt": "Australia/Sydney",
    "melbourne": "Australia/Melbourne", "tokyo": "Asia/Tokyo", "japan": "Asia/Tokyo",
    "jst": "Asia/Tokyo", "singapore": "Asia/Singapore", "hong kong": "Asia/Hong_Kong",
    "dubai": "Asia/Dubai", "bangalore": "Asia/Kolkata", "bengaluru": "Asia/Kolkata",
    "india": "Asia/Kolkata", "ist": "Asia/Kolkata", "mumbai": "Asia/Kolkata",
    "delhi": "Asia/Kolkata", "sao paulo": "America/Sao_Paulo",
}  # fmt: skip
_ZONE_WORD = re.compile(
    r"\b(" + "|".join(sorted((re.escape(k) for k in ZONE_WORDS), key=len, reverse=True)) + r")"
    r"(?: time| timezone| time zone| tz)?\b"
)
# "<word> time" naming no zone we know: asked about, not ignored.
_UNKNOWN_ZONE = re.compile(r"\b(?:in )?([a-z]+) (?:time ?zone|time)\b")
_NOT_ZONES = frozenset(
    str.split(
        """same any the what working business work office lunch a every one on real local my our
    your their this that due each start end meeting interview day night morning evening
    afternoon part full over first last next some no bed dinner tea reading quiet down
    standard daylight summer winter set given right wrong zonetoken 1 2 3 4 5 6 7 8 9 10 11 12
    15 20 30 45 am pm"""
    )
)


@dataclass(frozen=True)
class ZoneFound:
    name: str | None  # the IANA name, or None for the default
    said: str = ""  # the words, for notes
    unknown: str = ""  # a zone named that we do not know ("Narnia")


def find_zone(text: str, zone_names: list[str]) -> ZoneFound:
    if zone_names:
        return ZoneFound(zone_names[0], zone_names[0])
    match = _ZONE_WORD.search(text)
    # A bare two-letter abbreviation is also an ordinary word ("la", "et"): only with "time"
    # or next to a time of day.
    while match:
        word = match.group(1)
        if len(word) > 2 or word in {"pt", "uk", "sf"} or match.group(0) != word:
            return ZoneFound(ZONE_WORDS[word], match.group(0))
        before = text[: match.start()].rstrip()
        if re.search(r"(\d|am|pm|noon|midnight)$", before):
            return ZoneFound(ZONE_WORDS[word], match.group(0))
        match = _ZONE_WORD.search(text, match.end())
    for unknown in _UNKNOWN_ZONE.finditer(text):
        if unknown.group(1) not in _NOT_ZONES:
            return ZoneFound(None, unknown.group(0), unknown=unknown.group(1))
    return ZoneFound(None)


@dataclass(frozen=True)
class TimeOfDay:
    hour: int
    minute: int
    start: int  # where it was said in the text, for "and"/"or" between two times
    end: int
    assumed: str = ""  # a note when am/pm was assumed


_BARE_UNITS = (
    r"(?! ?(?:minutes?|mins?|hours?|hrs?|h\b|days?|weeks?|months?|th\b|st\b|nd\b|rd\b|%|-|/"
    r"|times?\b|am\b|pm\b|oclock|[:.]\d))"
)
_TIME = re.compile(
    r"\b(?P<noon>noon|midday|12 noon)\b"
    r"|\b(?P<midnight>midnight)\b"
    r"|\b(?P<rel>half|quarter) (?P<dir>past|to|after) (?P<rh>\d{1,2})\b(?: ?(?P<rap>am|pm))?"
    r"|\b(?P<hh>\d{1,2})[:.](?P<mm>[0-5]\d)\b(?: ?(?P<ap>am|pm))?"
    r"|\b(?P<h>\d{1,2}) ?(?P<ap2>am|pm|oclock)\b"
    r"|\b(?P<lead>at|@|around|by|and|or|to) (?P<four>[01]\d"
    r"|2[0-3])(?P<fm>[0-5]\d)\b" + _BARE_UNITS +
    r"|(?:\b|(?=,))(?P<lead2>at|around|by|and|or|till|until|to|,) (?P<bare>\d{1,2})\b" + _BARE_UNITS
)  # fmt: skip

# "every morning at 8": the part of the day decides am or pm for a bare hour.
_PM_CONTEXT = re.compile(
    r"\b(evening|evenings|night|nights|tonight|afternoon|afternoons|nightly)\b"
)
_AM_CONTEXT = re.compile(r"\b(morning|mornings)\b")


def _bare_hour(hour: int, *, text: str) -> tuple[int, str]:
    """A bare hour with no am/pm: the part of the day said, else 7-11 am, 1-6 pm, 12 noon."""
    if hour == 0 or hour > 12:
        return hour, ""
    if _PM_CONTEXT.search(text) and hour < 12:
        return hour + 12, ""
    if _AM_CONTEXT.search(text):
        return hour % 12 if hour == 12 else hour, ""
    if hour == 12:
        return 12, "12 with no AM or PM read as noon"
    if 7 <= hour <= 11:
        return hour, f"{hour} with no AM or PM read as {hour} AM"
    return hour + 12, f"{hour} with no AM or PM read as {hour} PM"


def _ampm(hour: int, marker: str) -> int:
    if marker == "am":
        return 0 if hour == 12 else hour
    return hour if hour == 12 else hour + 12


def find_times(text: str) -> list[TimeOfDay]:
    """Every time of day said, in order."""
    found: list[TimeOfDay] = []
    for m in _TIME.finditer(text):
        g = m.groupdict()
        assumed = ""
        if g["noon"]:
            hour, minute = 12, 0
        elif g["midnight"]:
            hour, minute = 0, 0
        elif g["rel"]:
            hour = int(g["rh"])
            minute = 30 if g["rel"] == "half" else 15
            if g["dir"] == "to":
                if g["rel"] == "half":
                    continue  # "half to" is no English time
                hour, minute = (hour - 1) % 24, 45
                hour = hour or 12
            if hour > 23:
                continue
            if g["rap"]:
                hour = _ampm(hour, g["rap"])
            else:
                hour, assumed = _bare_hour(hour, text=text)
        elif g["hh"] is not None:
            hour, minute = int(g["hh"]), int(g["mm"])
            if hour > 23:
                continue
            if g["ap"] and 1 <= hour <= 12:
                hour = _ampm(hour, g["ap"])
            elif not g["hh"].startswith("0") and not g["ap"]:
                hour, assumed = _bare_hour(hour, text=text)
        elif g["h"] is not None:
            hour, minute = int(g["h"]), 0
            if hour > 23 or (g["ap2"] != "oclock" and not 1 <= hour <= 12):
                continue
            if g["ap2"] == "oclock":
                hour, assumed = _bare_hour(hour, text=text)
            else:
                hour = _ampm(hour, g["ap2"])
        elif g["four"] is not None:
            if g["lead"] in {"and", "or", "to"} and not found:
                continue
            hour, minute = int(g["four"]), int(g["fm"])
        else:
            if g["lead2"] in {"and", "or", "till", "until", "to", ","} and not found:
                continue
            hour, minute = int(g["bare"]), 0
            if hour > 23:
                continue
            hour, assumed = _bare_hour(hour, text=text)
        found.append(TimeOfDay(hour % 24, minute, m.start(), m.end(), assumed))
    return found


def time_words(hour: int, minute: int) -> str:
    """9, 0 -> '9:00 AM'; 0, 0 -> '12:00 AM (midnight)'; 12, 0 -> '12:00 PM (noon)'."""
    suffix = "AM" if hour < 12 else "PM"
    shown = f"{hour % 12 or 12}:{minute:02d} {suffix}"
    if (hour, minute) == (0, 0):
        return f"{shown} (midnight)"
    if (hour, minute) == (12, 0):
        return f"{shown} (noon)"
    return shown
