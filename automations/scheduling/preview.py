"""The builder's schedule preview: the next fires of a cron expression in the automation's
zone and in the viewer's, each with a note when a DST change moves it or makes its time
happen twice. Pure: no database, no clock (the caller passes `after`).

The rule the notes explain is the scheduler's (automations.scheduling.cron, cronsim): a job
at a fixed time runs once per local day; a time that does not exist (spring forward) runs at
the first valid time after it; a time that happens twice (fall back) runs at the first. A job
with a wildcard hour runs every real hour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from cronsim import CronSim

from automations.scheduling import cron

RULE = (
    "A job at a fixed time runs once per local day: if that time does not exist (clocks go "
    "forward) it runs at the first time after it; if it happens twice (clocks go back) it "
    "runs at the first."
)


@dataclass(frozen=True)
class PreviewFire:
    at: datetime  # UTC
    local: datetime  # in the automation's zone
    viewer: datetime  # in the viewer's zone
    note: str = ""  # the DST note, or ""


@dataclass(frozen=True)
class Preview:
    expression: str  # normalized
    time_zone: str
    viewer_zone: str
    words: str
    fires: tuple[PreviewFire, ...]
    rule: str = RULE

    @property
    def notes(self) -> list[str]:
        return [fire.note for fire in self.fires if fire.note]

    @property
    def zones_differ(self) -> bool:
        return self.time_zone != self.viewer_zone


def _day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def _exists(naive: datetime, tz: ZoneInfo) -> bool:
    """Whether this wall time happens in the zone (not skipped by a spring-forward gap)."""
    aware = naive.replace(tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive


def _repeated(naive: datetime, tz: ZoneInfo) -> bool:
    """Whether this wall time happens twice (a fall-back hour)."""
    first = naive.replace(tzinfo=tz, fold=0).utcoffset()
    second = naive.replace(tzinfo=tz, fold=1).utcoffset()
    return first != second and _exists(naive, tz)


def _note(local: datetime, tz: ZoneInfo, hours: set[int], minutes: set[int]) -> str:
    wall = local.replace(tzinfo=None)
    every_hour = len(hours) == 24
    if (local.hour not in hours or local.minute not in minutes) and not every_hour:
        # Moved by a gap: which of the expression's times on that day did not exist?
        missing = [
            f"{h:02d}:{m:02d}"
            for h in sorted(hours)
            for m in sorted(minutes)
            if not _exists(
                datetime.combine(local.date(), datetime.min.time()).replace(hour=h, minute=m), tz
            )
        ]
        if missing:
            return (
                f"Runs at {local:%H:%M} because {missing[0]} does not exist on "
                f"{_day(local.date())} (clocks go forward)."
            )
    if _repeated(wall, tz):
        if every_hour:
            return (
                f"{local:%H:%M} happens twice on {_day(local.date())} (clocks go back); "
                "an every-hour schedule runs at both."
            )
        return (
            f"Runs once, at the first {local:%H:%M}: that time happens twice on "
            f"{_day(local.date())} (clocks go back)."
        )
    return ""


def schedule_preview(
    expression: str, time_zone: str, viewer_zone: str, after: datetime, count: int = 5
) -> Preview:
    """The next `count` fires after `after`, or CronError for a bad expression or zone (the
    viewer's zone falls back to the automation's when it is not a zone)."""
    expression = cron.normalize(expression)
    tz = cron.zone(time_zone)
    try:
        viewer = cron.zone(viewer_zone)
    except cron.CronError:
        viewer, viewer_zone = tz, time_zone
    sim = CronSim(expression, datetime(2000, 1, 1, tzinfo=UTC))
    hours, minutes = set(sim.hours), set(sim.minutes)
    out = []
    for at in cron.fires(expression, time_zone, after, count):
        local = at.astimezone(tz)
        out.append(
            PreviewFire(
                at=at,
                local=local,
                viewer=at.astimezone(viewer),
                note=_note(local, tz, hours, minutes),
            )
        )
    words = f"{cron.describe(expression)} ({time_zone})"
    return Preview(
        expression=expression,
        time_zone=time_zone,
        viewer_zone=viewer_zone,
        words=words,
        fires=tuple(out),
    )


__all__ = ["RULE", "Preview", "PreviewFire", "schedule_preview"]
