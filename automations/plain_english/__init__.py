"""Automations described in plain English: `parse(text, time_zone=...)` -> Draft or
NotUnderstood. Pure (no Django): the grammar, cronsim and zoneinfo only."""

from automations.plain_english.actions import SkillInfo, catalog_skills
from automations.plain_english.draft import EXAMPLES, Draft, NotUnderstood
from automations.plain_english.parser import parse

__all__ = ["EXAMPLES", "Draft", "NotUnderstood", "SkillInfo", "catalog_skills", "parse"]
