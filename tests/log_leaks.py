"""The whole-suite leak check's matcher (used by tests/plugins/log_capture.py): which kinds of
secret or personal data a captured log line contains. Reports the kind, never the value."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# Fake ATS fixtures' and factories' candidate addresses use these domains.
CANDIDATE_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@(?:example\.com|example\.test)\b")
# Secrets the tests make up for webhooks, API tokens and channels.
TEST_SECRET = re.compile(r"sk-test-secret-[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Leak:
    path: str
    line: int
    kind: str


def patterns(literals: dict[str, str]) -> list[tuple[str, re.Pattern[str]]]:
    found = [(kind, re.compile(re.escape(value))) for kind, value in literals.items() if value]
    return [*found, ("test secret", TEST_SECRET), ("candidate email", CANDIDATE_EMAIL)]


def leaks_in(
    lines: Iterable[str], *, path: str, checks: list[tuple[str, re.Pattern[str]]]
) -> Iterator[Leak]:
    for number, line in enumerate(lines, start=1):
        for kind, pattern in checks:
            if pattern.search(line):
                yield Leak(path=path, line=number, kind=kind)


Checks = list[tuple[str, re.Pattern[str]]]


def scan(files: Iterable[Path], checks: Checks) -> tuple[int, list[Leak]]:
    count, found = 0, []
    for path in files:
        lines = path.read_text(errors="replace").splitlines()
        count += len(lines)
        found.extend(leaks_in(lines, path=str(path), checks=checks))
    return count, found
