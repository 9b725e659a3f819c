"""Keyset cursors for the dashboard's own lists (`?after=<cursor>`): the last shown row's sort
key, signed, so the next page is a range scan from there (never an OFFSET) and a cursor that
is not ours (tampered, truncated, from another list) is simply ignored: the first page."""

from __future__ import annotations

from django.core import signing

_SALT = "skillomatic.dashboard.cursor"
# A cursor is short: a sort key of at most a 200-character name (quoted as JSON, compressed,
# signed) and an id. Anything longer is not one of ours.
_MAX_LENGTH = 2000


def cursor_make(*, what: str, key: list) -> str:
    """A cursor for the list named `what`, holding the JSON-able sort key of its last row."""
    return signing.dumps(key, salt=f"{_SALT}:{what}", compress=True)


def cursor_read(value: str | None, *, what: str) -> list | None:
    """The key a cursor of the list `what` holds, or None (no cursor, or not a valid one)."""
    if not value or len(value) > _MAX_LENGTH:
        return None
    try:
        key = signing.loads(value, salt=f"{_SALT}:{what}")
    except (signing.BadSignature, ValueError):
        return None
    return key if isinstance(key, list) else None
