"""Event filters: JSON conditions on canonical fields, e.g. {"stage.to": "Interview"} or
{"application.job_name": {"contains": "Engineer"}}. Operators: equals (the default), in,
contains; string comparisons ignore case unless "case_sensitive": true."""

from __future__ import annotations

from typing import Any

OPERATORS = {"equals", "in", "contains"}


class FilterError(ValueError):
    pass


def validate(conditions: dict) -> None:
    if not isinstance(conditions, dict):
        raise FilterError('A filter is a JSON object, e.g. {"stage.to": "Interview"}.')
    for path, condition in conditions.items():
        if not isinstance(path, str) or not path:
            raise FilterError("Filter fields are names such as stage.to.")
        if isinstance(condition, dict):
            ops = set(condition) - {"case_sensitive"}
            if len(ops) != 1 or not ops <= OPERATORS:
                raise FilterError(
                    f"{path}: use one of {', '.join(sorted(OPERATORS))}, e.g. "
                    '{"contains": "Engineer"}.'
                )
            if "in" in ops and not isinstance(condition["in"], list):
                raise FilterError(f"{path}: 'in' takes a list.")


def field_value(event: dict, path: str) -> Any:
    value: Any = event
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _norm(value: Any, case_sensitive: bool) -> Any:
    if isinstance(value, str) and not case_sensitive:
        return value.casefold()
    return value


def matches(conditions: dict, event: dict) -> tuple[bool, str]:
    """(True, "") or (False, why): the first condition that fails, with the event's value."""
    for path, condition in (conditions or {}).items():
        value = field_value(event, path)
        if isinstance(condition, dict):
            case = bool(condition.get("case_sensitive"))
            op = next(k for k in condition if k != "case_sensitive")
            wanted = condition[op]
        else:
            case, op, wanted = False, "equals", condition
        got = _norm(value, case)
        if op == "equals":
            ok = got == _norm(wanted, case)
        elif op == "in":
            ok = got in [_norm(w, case) for w in wanted]
        else:
            ok = isinstance(got, str) and str(_norm(wanted, case)) in got
        if not ok:
            return False, f"filter {path} {op} {wanted!r}, but the event has {value!r}"
    return True, ""
