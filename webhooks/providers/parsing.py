"""The one JSON parser for webhook bodies (and `manage.py ats_normalize`): bounded before and
while it parses, so no body can make it recurse, allocate without limit or produce a value
the database cannot store. Every refusal is a MalformedError with its reason (400).

- Strict UTF-8 (RFC 8259 8.1): `json.loads(bytes)` would also guess UTF-16/32 from a BOM.
- Nesting depth is measured on the text, outside strings, BEFORE `json.loads` runs: its C
  scanner recurses once per level, and 100,000 `[` raise RecursionError (or worse, under a
  greenlet's small stack).
- Numbers: NaN/Infinity are not JSON; integers over MAX_INT_DIGITS digits and floats that
  are not finite (`1e400` parses to inf) are refused, so later date or id arithmetic cannot
  overflow.
- Strings: no NUL and no lone surrogate (`\\u0000`, `\\ud800`). PostgreSQL's jsonb and text
  refuse both (SQLite stores them), and a lone surrogate cannot even be written out as UTF-8.
"""

from __future__ import annotations

import json
import math
from typing import Any

from webhooks.providers.errors import MalformedError

MAX_DEPTH = 64
MAX_INT_DIGITS = 30
MAX_FLOAT_CHARS = 40

_OPEN_CLOSE = str.maketrans("[{]}", "(())")
_CHUNK = 64


def parse_json(body: bytes | str) -> Any:
    """The body's JSON value, or MalformedError saying what is wrong with it."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedError(f"body is not UTF-8 (bad byte at {exc.start})") from None
    else:
        text = body
    check_depth(text)
    try:
        data = json.loads(text, parse_constant=_constant, parse_int=_integer, parse_float=_float)
    except MalformedError:
        raise
    except (ValueError, RecursionError) as exc:
        raise MalformedError(f"body is not JSON ({_short(exc)})") from None
    if "\\u" in text:  # NUL and lone surrogates can only arrive as escapes
        check_strings(data)
    return data


def check_depth(text: str) -> None:
    """MalformedError if brackets outside strings nest deeper than MAX_DEPTH. The brackets are
    walked in chunks whose opening count (counted in C) shows they cannot pass the limit; only
    a chunk that might is walked bracket by bracket, so a hostile body stops within the first
    few chunks and an ordinary one costs a few string operations (no per-token Python work:
    a 1 MiB body of tiny strings or brackets takes milliseconds)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return  # cannot nest deeper than it has brackets
    # Outside strings only: drop escaped backslashes, then escaped quotes; every quote left
    # opens or closes a string, so every other piece between quotes is outside one.
    unescaped = text.replace("\\\\", "").replace('\\"', "")
    outside = "".join(unescaped.split('"')[0::2]).translate(_OPEN_CLOSE)
    depth = 0
    for start in range(0, len(outside), _CHUNK):
        chunk = outside[start : start + _CHUNK]
        opens = chunk.count("(")
        if depth + opens <= MAX_DEPTH:
            depth += opens - chunk.count(")")
            continue
        for char in chunk:
            if char == "(":
                depth += 1
                if depth > MAX_DEPTH:
                    raise MalformedError(f"body nests deeper than {MAX_DEPTH} levels")
            elif char == ")":
                depth -= 1


def check_strings(data: Any) -> None:
    """Every string (keys too) free of NUL and lone surrogates; nesting is already bounded."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            check_text(value)
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def check_text(value: str, *, name: str = "a string") -> None:
    """MalformedError unless the database can store `value` (PostgreSQL: no NUL, valid UTF-8)."""
    if "\x00" in value:
        raise MalformedError(f"{name} holds a NUL character")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedError(f"{name} holds a lone surrogate (not Unicode text)") from None


def _constant(name: str) -> Any:
    raise MalformedError(f"{name} is not a JSON number")


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise MalformedError(f"a number has more than {MAX_INT_DIGITS} digits")
    return int(digits)


def _float(text: str) -> float:
    if len(text) > MAX_FLOAT_CHARS:
        raise MalformedError(f"a number is longer than {MAX_FLOAT_CHARS} characters")
    value = float(text)
    if not math.isfinite(value):
        raise MalformedError(f"the number {text} is out of range")
    return value


def _short(exc: Exception) -> str:
    return str(exc)[:120]
