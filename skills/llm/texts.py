"""The four LLM skills' instructions, read once at import from instructions/<slug>.md with
the shared rules (instructions/_rules.md) after each.

Static text: it is the system prompt's cached prefix (the same bytes on every run of a skill,
so the prompt cache can hit), and the catalog (skills/catalog.py) shows the same text in the
admin. This module imports nothing of Django, so the catalog and migrations can read it."""

from __future__ import annotations

from pathlib import Path

_DIR = Path(__file__).resolve().parent / "instructions"
LLM_SLUGS = ("interview-prep", "interview-briefing", "interview-followup", "candidate-email-draft")


def _read(name: str) -> str:
    return (_DIR / name).read_text(encoding="utf-8").strip()


_RULES = _read("_rules.md")

# slug -> the skill's instructions followed by the shared rules.
INSTRUCTIONS: dict[str, str] = {slug: f"{_read(f'{slug}.md')}\n\n{_RULES}\n" for slug in LLM_SLUGS}
