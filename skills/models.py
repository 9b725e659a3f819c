from __future__ import annotations

from django.db import models

from config.models import TimeStampedModel


class Skill(TimeStampedModel):
    class Mode(models.TextChoices):
        DETERMINISTIC = "deterministic", "Deterministic"
        LLM = "llm", "LLM"

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField()
    mode = models.CharField(max_length=20, choices=Mode.choices)
    params_schema = models.JSONField(
        default=dict, help_text="JSON Schema for the automation's params, e.g. {'days': 14}."
    )
    instructions = models.TextField(blank=True, help_text="What an LLM skill is asked to do.")
    active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name
