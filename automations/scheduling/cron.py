"""Cron math, in the automation's time zone, with one set of DST rules for the scheduler, the
preview command and the builder.

The rules (Debian cron's, which cronsim implements): a job at a fixed time runs exactly once
per local day; if that time does not exist (spring forward) it runs at the first valid time
after it; if it happens twice (fall back) it runs at the first. A job with a wildcard hour
runs every real hour.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from accounts.models import is_time_zone

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class CronError(ValueError):
    """A bad expression or time zone; the message says what is wrong."""


# The Automation.cron_expression column's max_length.
MAX_EXPRESSION_LENGTH = 120
# Cron math runs only between these instants: Python's datetime ends at year 9999 (and starts
# at year 1), and converting a time near either end to another zone, or stepping a schedule
# past it, overflows. Nothing a schedule needs lies outside.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def normalize(expression: str) -> str:
    """Return the expression in canonical form, or raise CronError."""
    if expression is not None and not isinstance(expression, str):
        raise CronError("Enter the cron expression as text, e.g. '0 9 * * 1'.")
    if expression and len(expression) > MAX_EXPRESSION_LENGTH:
        raise CronError(
            f"A cron expression has at most {MAX_EXPRESSION_LENGTH} characters; "
            f"this one has {len(expression)}."
        )
    expr = " ".join((expression or "").split())
    expr = ALIASES.get(expr.lower(), expr)
    if not expr:
        raise CronError("Enter a cron expression, e.g. '0 9 * * 1' for Mondays at 09:00.")
    fields = expr.split(" ")
    if len(fields) != 5:
        raise CronError(
            f"A cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f"but {_shown(expression)} has {len(fields)}."
        )
    try:
        CronSim(expr, datetime(2000, 1, 1, tzinfo=UTC))
    except (CronSimError, ValueError, OverflowError) as exc:
        raise CronError(f"{_shown(expression)} is not a valid cron expression: {exc}.") from None
    return expr


def zone(name: str) -> ZoneInfo:
    """The zone, if it is one the models accept (accounts.models.is_time_zone: the same rule
    everywhere), else CronError."""
    if is_time_zone(name):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise CronError(
        f"{_shown(name)} is not a known time zone; use an IANA name such as America/New_York."
    )


def check_instant(when: datetime) -> datetime:
    """`when` in UTC, or CronError if it is outside the range cron math supports."""
    try:
        when_utc = when.astimezone(UTC)
    except (OverflowError, ValueError):
        when_utc = None
    if when_utc is None or not EARLIEST <= when_utc < LATEST:
        raise CronError(
            f"{when.isoformat()} is out of range: use a time between "
            f"{EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}."
        )
    return when_utc


def iter_fires(expression: str, time_zone: str, after: datetime) -> Iterator[datetime]:
    """Fire times strictly after `after`, in UTC, in order.

    cronsim can yield a time before its start when started inside a repeated fall-back hour
    (a fixed-time job's first occurrence, already past); such times are not fires here.
    """
    tz = zone(time_zone)
    after_utc = check_instant(after)
    try:
        sim = CronSim(expression, after_utc.astimezone(tz))
    except (CronSimError, ValueError, TypeError) as exc:
        raise CronError(str(exc)) from None
    while True:
        try:
            local_time = next(sim)
        except (StopIteration, OverflowError):
            # OverflowError: the next fire would lie past year 9999; there is none.
            return
        fire = local_time.astimezone(UTC)
        if fire >= LATEST:
            return
        if fire > after_utc:
            after_utc = fire
            yield fire


def next_fire(expression: str, time_zone: str, after: datetime) -> datetime | None:
    """The first fire strictly after `after` (UTC), or None if the expression never fires
    again (cronsim gives up after 50 years)."""
    return next(iter_fires(expression, time_zone, after), None)


def fires(expression: str, time_zone: str, after: datetime, count: int) -> list[datetime]:
    out: list[datetime] = []
    for fire in iter_fires(expression, time_zone, after):
        out.append(fire)
        if len(out) >= count:
            break
    return out


def describe(expression: str) -> str:
    """Plain English, consistent with how the expression is evaluated."""
    try:
        return CronSim(normalize(expression), datetime(2000, 1, 1, tzinfo=UTC)).explain()
    except (CronError, CronSimError):
        return expression


def frequency(
    expression: str, time_zone: str, start: datetime, horizon: timedelta = timedelta(days=366)
) -> tuple[bool, timedelta | None]:
    """(fires at least twice on one local day, shortest gap between two fires) over the
    horizon, for plan limits. Stops early once both answers are known to be 'frequent'."""
    tz = zone(time_zone)
    last: datetime | None = None
    shortest: timedelta | None = None
    seen_days: set = set()
    twice = False
    end = start + horizon
    for count, fire in enumerate(iter_fires(expression, time_zone, start)):
        if fire > end or count > 800:
            break
        day = fire.astimezone(tz).date()
        if day in seen_days:
            twice = True
        seen_days.add(day)
        if last is not None:
            gap = fire - last
            shortest = gap if shortest is None else min(shortest, gap)
        last = fire
        if twice and shortest is not None and shortest < timedelta(hours=1):
            break
    return twice, shortest
