"""Schedules in cleaned text -> a 5-field cron expression with its words, notes and questions.

Every expression is checked with cronsim, the library the scheduler fires with (not croniter:
croniter 7 runs a daily 01:30 job twice on a fall-back day; cronsim runs it once, the DST rule
the product promises). What cron cannot say (fortnightly, an uneven minute step) is asked
about, with the nearest expression it can say as the suggestion."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cronsim import CronSim, CronSimError

from automations.plain_english.times import TimeOfDay, find_times, time_words

DAY_NAMES = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
DAY_TITLES = [d.title() for d in DAY_NAMES]
_DAY_ALIASES = {
    **{d: i for i, d in enumerate(DAY_NAMES)},
    **{d + "s": i for i, d in enumerate(DAY_NAMES)},
    "sun": 0, "mon": 1, "tue": 2, "tues": 2, "wed": 3, "weds": 3, "thu": 4, "thur": 4,
    "thurs": 4, "fri": 5, "sat": 6,
}  # fmt: skip
_DAY = r"(?:" + "|".join(sorted(_DAY_ALIASES, key=len, reverse=True)) + r")"
_DAY_RANGE = re.compile(rf"\b({_DAY}) (?:to|through|thru|till|until|-) ({_DAY})\b")
_DAY_WORD = re.compile(rf"\b({_DAY})\b")
_WEEKDAYS = re.compile(
    r"\b(?:weekdays?|work ?days?|business days?|working days?|week days?|workweek)\b"
)
_WEEKENDS = re.compile(r"\bweekends?\b")
_DAILY = re.compile(
    r"\b(?:daily|every ?day|each day|every (?:morning|evening|night|afternoon)|each "
    r"(?:morning|evening|night|afternoon)|nightly|once a day|every 24 hours|mornings|evenings)\b"
)
_WEEKLY = re.compile(r"\b(?:weekly|every week|each week|once a week|once per week)\b")
_FORTNIGHT = re.compile(
    r"\b(?:every other|every second|alternate|fortnightly|biweekly|bi - weekly|every 2 weeks"
    r"|twice a month|every fortnight)\b"
)
_TWICE_A_WEEK = re.compile(r"\b(?:twice|2 times) (?:a|per|each) week\b")
_MONTHLY = re.compile(r"\b(?:monthly|every month|each month|once a month|once per month)\b")
_QUARTERLY = re.compile(r"\b(?:quarterly|every quarter|each quarter|every 3 months)\b")
_YEARLY = re.compile(r"\b(?:yearly|annually|every year|once a year|each year)\b")
_ORDINALS = {"first": 1, "1": 1, "second": 2, "2": 2, "third": 3, "3": 3, "fourth": 4, "4": 4}
_NTH_DAY = re.compile(
    rf"\b(first|second|third|fourth|last|1 st|2 nd|3 rd|4 th) ({_DAY}) of (?:the|each|every|a)"
    r"(?: calendar)? month\b"
)
_FIRST_DAY = re.compile(
    r"\b(?:first day|first|1 st day|1 st|start|beginning) of (?:the|each|every|a)(?: new)? month\b"
    r"|\bmonth start\b"
)
_LAST_DAY = re.compile(
    r"\b(?:last day|end) of (?:the|each|every|a) month\b|\bmonth - ?end\b|\bmonth end\b"
)
_LAST_WEEKDAY = re.compile(r"\blast (?:weekday|business day|working day|work day) of")
_DAY_OF_MONTH = re.compile(
    r"\b(?:on )?the (\d{1,2}) (?:st|nd|rd|th)(?: day)?\b|\b(\d{1,2}) (?:st|nd|rd|th) of"
    r" (?:the|each|every|a) month\b|\bday (\d{1,2}) of (?:the|each|every) month\b"
)
_MINUTE_STEP = re.compile(
    r"\bevery (?:(\d+) )?(?:minutes?|mins?)\b|\b(?:every )?(half) (?:an )?hour(?:ly)?\b"
    r"|\bevery (quarter) (?:of an )?hour\b|\b(\d+) times an hour\b"
)
_ORDINAL_NUMBER = re.compile(r"\b(\d{1,2}) (?:st|nd|rd|th)\b")
_BAD_CLOCK = re.compile(r"\b(\d{1,2})[:.](\d{2})\b")
_HOUR_STEP = re.compile(r"\bevery (?:(\d+) )?(?:hours?|hrs?)\b|\b(hourly)\b")
_SECONDS = re.compile(r"\bevery (?:(\d+) )?(?:seconds?|secs?)\b")
_WORKING_HOURS = re.compile(
    r"\b(?:during|in|within|throughout)? ?(?:the )?(?:working|business|work|office) hours\b"
)
_HOUR_RANGE = re.compile(
    r"\b(?:between|from) (\d{1,2}(?::\d\d)?(?: ?[ap]m)?) (?:and|to|till|until|-) "
    r"(\d{1,2}(?::\d\d)?(?: ?[ap]m)?)\b"
)
_TIMES_A_DAY = re.compile(r"\b(?:(twice)|(thrice)|(\d) times) (?:a|per|each) day\b|\btwice daily\b")
_DAY_PARTS = {
    "morning": 9,
    "afternoon": 14,
    "evening": 18,
    "night": 20,
    "end of (?:the |each |every )?(?:work |working |business )?day": 17,
}


class ScheduleRefused(ValueError):
    """A schedule cron cannot run at all (every 30 seconds): the message says why."""


@dataclass
class Schedule:
    cron: str
    words: str
    notes: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)


def has_schedule(text: str) -> bool:
    """Whether the text says a schedule at all (days, a frequency or a time of day)."""
    return bool(
        _DAY_WORD.search(text)
        or _WEEKDAYS.search(text)
        or _WEEKENDS.search(text)
        or _DAILY.search(text)
        or _WEEKLY.search(text)
        or _FORTNIGHT.search(text)
        or _MONTHLY.search(text)
        or _QUARTERLY.search(text)
        or _YEARLY.search(text)
        or _MINUTE_STEP.search(text)
        or _HOUR_STEP.search(text)
        or _SECONDS.search(text)
        or _DAY_OF_MONTH.search(text)
        or _NTH_DAY.search(text)
        or _FIRST_DAY.search(text)
        or _LAST_DAY.search(text)
        or _TIMES_A_DAY.search(text)
        or _TWICE_A_WEEK.search(text)
        or find_times(text)
    )


def check(expression: str) -> str:
    """The expression if cronsim accepts it as 5 fields, else ValueError (a bug here)."""
    if len(expression.split()) != 5:
        raise ValueError(f"not a 5-field cron expression: {expression!r}")
    try:
        CronSim(expression, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise ValueError(f"{expression!r}: {exc}") from None
    return expression


_EXCEPT = re.compile(
    rf"\b(?:except|excluding|but not|other than|apart from|not on|besides)(?: on)? "
    rf"((?:(?:{_DAY}|weekends?|weekdays?)(?: and | or | , |, | ))*(?:{_DAY}|weekends?|weekdays?))\b"
)


def _days(text: str) -> tuple[list[int], str]:
    """Days of the week said (cron numbers, Sunday 0) and their words; [] for none.
    "every day except Fridays": all days but the ones excepted."""
    excepted = _EXCEPT.search(text)
    if excepted:
        left_out, _ = _days_said(excepted.group(1))
        rest, _ = _days_said(text[: excepted.start()] + " " + text[excepted.end() :])
        days = [d for d in (rest or range(7)) if d not in left_out]
        days = sorted(days, key=lambda d: (d == 0, d))
        return days, _days_words(days)
    return _days_said(text)


def _days_said(text: str) -> tuple[list[int], str]:
    days: list[int] = []
    spans: list[tuple[int, int]] = []
    for m in _DAY_RANGE.finditer(text):
        a, b = _DAY_ALIASES[m.group(1)], _DAY_ALIASES[m.group(2)]
        days.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        spans.append(m.span())
    for m in _DAY_WORD.finditer(text):
        if any(s <= m.start() < e for s, e in spans):
            continue
        if m.group(1) in {"sun", "sat", "wed", "mon"} and _ambiguous_short_day(text, m):
            continue
        days.append(_DAY_ALIASES[m.group(1)])
    if _WEEKDAYS.search(text):
        days.extend(range(1, 6))
    if _WEEKENDS.search(text):
        days.extend([6, 0])
    unique = sorted(set(days), key=lambda d: (d == 0, d))  # Monday first, Sunday last
    return unique, _days_words(unique)


def _ambiguous_short_day(text: str, m: re.Match) -> bool:
    # "sun" or "sat" in other senses are rare in requests; keep them unless "the sun".
    return text[max(0, m.start() - 4) : m.start()] == "the "


def _days_words(days: list[int]) -> str:
    if not days:
        return "Every day"
    if set(days) == set(range(7)):
        return "Every day"
    if days == [1, 2, 3, 4, 5]:
        return "Every weekday (Monday to Friday)"
    if set(days) == {0, 6}:
        return "Every Saturday and Sunday"
    names = [DAY_TITLES[d] for d in days]
    return "Every " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])


def _dow_field(days: list[int]) -> str:
    if not days or set(days) == set(range(7)):
        return "*"
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]}-{ordered[-1]}"
    return ",".join(str(d) for d in ordered)


def _hour_of(said: str, text: str) -> int | None:
    found = find_times(f"at {said}")
    return found[0].hour if found else None


def _times_words(times: list[TimeOfDay]) -> str:
    words = [time_words(t.hour, t.minute) for t in times]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _conflicting(text: str, times: list[TimeOfDay]) -> bool:
    """Two times said as alternatives or one after the other ("at 9 at 10", "9 or 10"),
    not as a list ("9am and 5pm", "twice a day at 9, 1 and 5")."""
    for a, b in itertools.pairwise(times):
        # The lead word of the second time ("and 5", "or 10") is inside its own match.
        between = f" {text[a.end : b.start]} {text[b.start : b.end].split(' ')[0]} "
        if re.search(r"\bor\b", between) or not re.search(r"\band\b|,", between):
            return True
    return False


def parse_schedule(text: str, *, zone_words: str) -> Schedule | None:
    """The schedule said in `text`, or None when it says none. `zone_words` is appended to
    the words ("(America/Los_Angeles)")."""
    if not has_schedule(text):
        return None
    notes: list[str] = []
    questions: list[str] = []
    seconds = _SECONDS.search(text)
    if seconds:
        raise ScheduleRefused(
            "A schedule runs at most once a minute: cron has no seconds. Try 'every minute'."
        )
    for clock in _BAD_CLOCK.finditer(text):
        if int(clock.group(1)) > 23 or int(clock.group(2)) > 59:
            raise ScheduleRefused(f"There is no time {clock.group(0)}: use 00:00 to 23:59.")
    days, days_words = _days(text)
    hours_field = "*"
    hours_words = ""
    working = _WORKING_HOURS.search(text)
    scrubbed = text
    hour_range = _HOUR_RANGE.search(text)
    if hour_range:
        first = _hour_of(hour_range.group(1), text)
        last = _hour_of(hour_range.group(2), text)
        if first is not None and last is not None and first < last:
            hours_field = f"{first}-{last}"
            hours_words = f" from {time_words(first, 0)} to {time_words(last, 0)}"
            scrubbed = text[: hour_range.start()] + " " + text[hour_range.end() :]
    if working and hours_field == "*":
        hours_field = "9-17"
        hours_words = " during working hours (9:00 AM to 5:00 PM)"
        if not days:
            days, days_words = [1, 2, 3, 4, 5], "Every weekday (Monday to Friday)"
            notes.append("Working hours read as 9:00 AM to 5:00 PM, Monday to Friday.")
    dow = _dow_field(days)
    on_days = "" if dow == "*" else f", {_on_days(days)}"

    minute_step = _MINUTE_STEP.search(text)
    hour_step = _HOUR_STEP.search(text)
    if minute_step:
        every, half, quarter, per_hour = minute_step.groups()
        if half:
            n = 30
        elif quarter:
            n = 15
        elif per_hour:
            n = 60 // int(per_hour) if int(per_hour) and 60 % int(per_hour) == 0 else 0
            if not n:
                raise ScheduleRefused(f"{per_hour} times an hour does not divide the hour evenly.")
        else:
            n = int(every or 1)
        if n < 1:
            raise ScheduleRefused("Every 0 minutes is not a schedule: say how many minutes.")
        if n >= 60:
            if n % 60 == 0 and n // 60 <= 23:
                return _hours_schedule(n // 60, hours_field, hours_words, dow, on_days,
                                       zone_words, notes, questions)  # fmt: skip
            raise ScheduleRefused(
                f"Every {n} minutes is not something cron can repeat evenly; say it in hours "
                "(every 2 hours) or minutes under 60."
            )
        minute_field = "*" if n == 1 else f"*/{n}"
        if 60 % n:
            stops = ", ".join(f":{m:02d}" for m in range(0, 60, n))
            questions.append(
                f"Cron cannot repeat every {n} minutes evenly: it runs at {stops} past each hour, "
                f"then at :00 again ({60 - (60 // n) * n + (n if 60 % n == 0 else 0)} minutes "
                f"later, not {n}). Every 5, 10 or 15 minutes repeats evenly: which do you want?"
            )
        words = "Every minute" if n == 1 else f"Every {n} minutes"
        expr = f"{minute_field} {hours_field} * * {dow}"
        return Schedule(
            check(expr), f"{words}{hours_words}{on_days} {zone_words}", notes, questions
        )
    if hour_step:
        n = int(hour_step.group(1) or 1)
        return _hours_schedule(n, hours_field, hours_words, dow, on_days, zone_words, notes,
                               questions)  # fmt: skip

    # A fixed time of day (or several), on some days.
    times = find_times(scrubbed)
    per_day = _TIMES_A_DAY.search(text)
    for t in times:
        if t.assumed:
            notes.append(t.assumed[0].upper() + t.assumed[1:] + ".")
    if not times:
        part = next(
            (hour for word, hour in _DAY_PARTS.items() if re.search(rf"\b{word}s?\b", text)), None
        )
        if per_day:
            count = 2 if per_day.group(1) or "twice" in per_day.group(0) else (
                3 if per_day.group(2) else int(per_day.group(3)))  # fmt: skip
            defaults = {2: [9, 17], 3: [9, 13, 17], 4: [9, 12, 15, 18]}.get(count)
            if defaults is None:
                raise ScheduleRefused(f"Say the {count} times of day, e.g. 'at 9am, 1pm and 5pm'.")
            times = [TimeOfDay(h, 0, 0, 0) for h in defaults]
            notes.append(f"No times given: {_times_words(times)} assumed.")
        elif part is not None:
            times = [TimeOfDay(part, 0, 0, 0)]
            notes.append(f"No time given: {time_words(part, 0)} assumed.")
        else:
            times = [TimeOfDay(9, 0, 0, 0)]
            notes.append("No time given: 9:00 AM assumed.")
    elif len(times) > 1 and _DAY_WORD.search(scrubbed[times[0].end : times[-1].start]):
        questions.append(
            "Different days at different times need one automation each (cron runs every "
            f"time on every day given): the draft uses {time_words(times[0].hour, times[0].minute)}"
            " on all of them."
        )
        times = times[:1]
    elif len(times) > 1 and _conflicting(scrubbed, times):
        questions.append(
            f"Two different times were given ({_times_words(times)}): which one? "
            f"The draft uses {time_words(times[0].hour, times[0].minute)}."
        )
        times = times[:1]
    if per_day and len(times) == 1 and not questions:
        questions.append(
            f"'{per_day.group(0)}' but one time given ({_times_words(times)}): "
            "say the other time(s)."
        )
    times = sorted(
        {(t.hour, t.minute): t for t in times}.values(), key=lambda t: (t.hour, t.minute)
    )
    minutes = sorted({t.minute for t in times})
    if len(minutes) > 1:
        questions.append(
            f"One automation runs at one minute past the hour, but {_times_words(times)} differ "
            f"in minutes: the draft uses {time_words(times[0].hour, times[0].minute)}; make a "
            "second automation for the other time."
        )
        times = times[:1]
    minute_field = str(times[0].minute)
    hours = ",".join(str(t.hour) for t in times)
    at = f"at {_times_words(times)}"

    nth = _NTH_DAY.search(text)
    if nth:
        which, day = nth.group(1), _DAY_ALIASES[nth.group(2)]
        if which == "last":
            expr, words = f"{minute_field} {hours} * * {day}L", f"On the last {DAY_TITLES[day]}"
        else:
            n = _ORDINALS[which.split()[0]]
            ordinal = ["", "first", "second", "third", "fourth"][n]
            expr, words = (
                f"{minute_field} {hours} * * {day}#{n}",
                f"On the {ordinal} {DAY_TITLES[day]}",
            )
        return Schedule(check(expr), f"{words} of every month {at} {zone_words}", notes, questions)
    if _LAST_WEEKDAY.search(text):
        expr = f"{minute_field} {hours} LW * *"
        return Schedule(check(expr), f"On the last weekday of every month {at} {zone_words}",
                        notes, questions)  # fmt: skip
    if _LAST_DAY.search(text):
        expr = f"{minute_field} {hours} L * *"
        return Schedule(check(expr), f"On the last day of every month {at} {zone_words}",
                        notes, questions)  # fmt: skip
    dom_match = _DAY_OF_MONTH.search(text)
    first_day = _FIRST_DAY.search(text)
    quarterly = _QUARTERLY.search(text)
    yearly = _YEARLY.search(text)
    if dom_match or first_day or quarterly or yearly or _MONTHLY.search(text):
        dom = int(next(g for g in dom_match.groups() if g)) if dom_match else 1
        # "on the 1st and 15th": every ordinal said is a day of the month.
        doms = (
            sorted({dom, *(int(n) for n in _ORDINAL_NUMBER.findall(text))}) if dom_match else [dom]
        )
        bad = [d for d in doms if not 1 <= d <= 31]
        if bad:
            raise ScheduleRefused(f"A month has no day {bad[0]}.")
        dom = doms[-1]
        if not (dom_match or first_day):
            notes.append("No day of the month given: the 1st assumed.")
        if dom > 28:
            notes.append(f"Months with fewer than {dom} days are skipped.")
        month = "1,4,7,10" if quarterly else ("1" if yearly else "*")
        if days:
            questions.append(
                "Both a day of the month and days of the week were given; cron runs on either "
                "(not both). The draft uses the day of the month only."
            )
        ordinal = " and ".join(_ordinal(d) for d in doms)
        every = "every quarter (January, April, July, October)" if quarterly else (
            "January" if yearly else "every month")  # fmt: skip
        words = f"On the {'first day' if doms == [1] and not dom_match else ordinal} of {every}"
        expr = f"{minute_field} {hours} {','.join(str(d) for d in doms)} {month} *"
        return Schedule(check(expr), f"{words} {at} {zone_words}", notes, questions)

    if _FORTNIGHT.search(text):
        if not days:
            days, dow = [1], "1"
        questions.append(
            "Cron cannot run every other week (or every other day): it has no memory of the "
            f"last run. The draft runs every week ({_days_words(days)}): is weekly all right?"
        )
        days_words = _days_words(days)
    elif _TWICE_A_WEEK.search(text) and not days:
        days, dow = [1, 4], "1,4"
        days_words = "Every Monday and Thursday"
        questions.append("Twice a week on which days? The draft uses Monday and Thursday.")
    elif _WEEKLY.search(text) and not days:
        days, dow = [1], "1"
        days_words = "Every Monday"
        questions.append("Weekly on which day? The draft uses Monday.")
    expr = f"{minute_field} {hours} * * {dow}"
    return Schedule(check(expr), f"{days_words} {at} {zone_words}", notes, questions)


def _on_days(days: list[int]) -> str:
    words = _days_words(days)
    return "every day" if words == "Every day" else words[0].lower() + words[1:]


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _hours_schedule(
    n: int,
    hours_field: str,
    hours_words: str,
    dow: str,
    on_days: str,
    zone_words: str,
    notes: list[str],
    questions: list[str],
) -> Schedule:
    if n < 1 or n > 23:
        raise ScheduleRefused(
            f"Every {n} hours is not an hourly schedule; say daily, or 1 to 23 hours."
        )
    if 24 % n and hours_field == "*":
        starts = ", ".join(str(h) for h in range(0, 24, n))
        questions.append(
            f"Cron cannot repeat every {n} hours evenly across midnight: it runs at hours "
            f"{starts}, then at 0 again. Every 2, 3, 4, 6 or 8 hours repeats evenly: which?"
        )
    step = "" if n == 1 else f"/{n}"
    field_ = f"{hours_field}{step}" if hours_field != "*" or n == 1 else f"*/{n}"
    words = "Every hour" if n == 1 else f"Every {n} hours"
    expr = f"0 {field_} * * {dow}"
    return Schedule(check(expr), f"{words}{hours_words}{on_days} {zone_words}", notes, questions)
