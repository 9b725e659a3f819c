"""Reading a parsed payload by path, each value checked for the JSON type the adapter expects.

The adapters read only through `pick` and `when`, so a value of the wrong type anywhere in a
body (`data` a list, a name an object, a date `1e308`) is one MalformedError naming its path
(400), never an AttributeError, OverflowError or a garbage value stored for later code to trip
on. Absent and null values are None."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from webhooks.providers.errors import MalformedError

TEXT = "a string"
ID = "a string or an integer"
OBJECT = "an object"
LIST = "a list"
TIME = "a time"
FLAG = "true or false"

MAX_TIME_CHARS = 64


def pick(data: Any, path: str, kind: str = TEXT, *, prefix: str = "") -> Any:
    """The value at a dotted path ("application.jobs.0.name"), checked against `kind`:
    TEXT -> str, ID -> str (from a string or an integer), OBJECT -> dict ({} when absent),
    LIST -> list ([] when absent), TIME -> ISO-8601 UTC string, FLAG -> bool; None when a step
    is missing or null. MalformedError when a step or the value has the wrong type."""
    value = data
    walked = prefix
    for step in path.split("."):
        if value is None:
            break
        if step.isdigit():
            if not isinstance(value, list):
                raise MalformedError(f"'{walked or 'body'}' is not a list")
            index = int(step)
            value = value[index] if index < len(value) else None
        else:
            if not isinstance(value, dict):
                raise MalformedError(f"'{walked or 'body'}' is not an object")
            value = value.get(step)
        walked = f"{walked}.{step}" if walked else step
    return checked(value, kind, walked)


def checked(value: Any, kind: str, name: str) -> Any:
    if kind == OBJECT:
        return _typed(value, dict, kind, name, {})
    if kind == LIST:
        return _typed(value, list, kind, name, [])
    if value is None:
        return None
    if kind == TEXT and isinstance(value, str):
        return value
    if kind == ID and (isinstance(value, str) or _is_int(value)):
        return str(value)
    if kind == FLAG and isinstance(value, bool):
        return value
    if kind == TIME:
        return when(value, name=name)
    raise MalformedError(f"'{name}' is not {kind}")


def when(value: Any, *, name: str = "time") -> str | None:
    """ISO-8601 in UTC from an ISO-8601 string or epoch milliseconds; None if absent;
    MalformedError for anything else (out of range, not a time, wrong type)."""
    if value is None or value == "":
        return None
    if _is_int(value) or isinstance(value, float):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            raise MalformedError(f"'{name}' is out of range as epoch milliseconds") from None
    if not isinstance(value, str):
        raise MalformedError(f"'{name}' is not a time")
    if len(value) > MAX_TIME_CHARS:
        raise MalformedError(f"'{name}' is too long for a time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC).isoformat()
    except (OverflowError, ValueError):  # "0001-01-01T00:00+01:00" overflows in UTC
        raise MalformedError(f"'{name}' is not an ISO-8601 time") from None


def _typed(value: Any, type_: type, kind: str, name: str, empty: Any) -> Any:
    if value is None:
        return empty
    if not isinstance(value, type_):
        raise MalformedError(f"'{name}' is not {kind}")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
