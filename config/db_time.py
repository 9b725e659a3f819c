"""Datetimes on their way to the database, in UTC, whatever offset they came with.

ISO 8601 and Python allow offsets up to ±23:59; PostgreSQL's timestamptz input refuses any past
±15:59 ("time zone displacement out of range"), and Django passes an aware datetime to it with
the offset it was given. So "2026-06-01T18:53:00+18:53" typed into a filter, an admin list's
lookup (`?created_at__gte=`) or any form reached the query as a 500 on PostgreSQL while SQLite
answered; and "0001-01-01T00:00:00+05:00", whose UTC form is before year 1, was a 500 on SQLite
(Django makes it naive in UTC) and on PostgreSQL. Both backends (config/postgresql,
config/sqlite3) send every datetime parameter of the ORM through `utc_for_db`, which closes that
for every input at once. config.form_fields also cleans the times people give to UTC, so the
forms and the API show and store them in UTC and refuse the ones UTC cannot hold.
"""

from __future__ import annotations

from datetime import UTC, datetime

EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def utc_for_db(value: object) -> object:
    """An aware datetime in UTC; one beyond what UTC can hold becomes the first or last
    instant Python has (no stored time lies beyond it, so a comparison answers the same)."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return EARLIEST if value.year == EARLIEST.year else LATEST
