"""What the parser answers: a Draft to confirm (maybe with questions to answer first), or
NotUnderstood with what was understood and phrasings that work."""

from __future__ import annotations

from dataclasses import dataclass, field

# Phrasings the grammar understands, shown when it does not understand; a test parses each.
EXAMPLES = (
    "Every Monday at 9am, send me a summary of my pipeline",
    "Every weekday at 8:30 Pacific, email me candidates not contacted in 5 days",
    "When a candidate moves to Onsite, send me an interview prep pack on Slack",
    "30 minutes before each interview, brief me in the app",
    "Check for new applicants every 15 minutes and post to #hiring",
)


@dataclass(frozen=True)
class Draft:
    """An automation as understood, not saved. `trigger` is one of the issue's shapes
    (cron/poll/event/relative); the *_words fields are what a person reads on the card."""

    trigger: dict
    skill: str
    params: dict
    channel: str
    channel_config: dict
    trigger_words: str
    action_words: str
    output_words: str
    notes: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()  # to answer before confirming; the draft is a suggestion

    @property
    def summary(self) -> str:
        action = self.action_words[0].lower() + self.action_words[1:]
        return f"{self.trigger_words}: {action}; output: {self.output_words}."

    def to_json(self) -> dict:
        """The issue's shape, plus the words, notes and questions."""
        return {
            "trigger": dict(self.trigger),
            "skill": self.skill,
            "params": dict(self.params),
            "channel": self.channel,
            "channel_config": dict(self.channel_config),
            "summary": self.summary,
            "trigger_words": self.trigger_words,
            "action_words": self.action_words,
            "output_words": self.output_words,
            "notes": list(self.notes),
            "questions": list(self.questions),
        }


@dataclass(frozen=True)
class NotUnderstood:
    """Why there is no draft: `message` (for an unsupported thing, the reason), `understood`
    (the parts that were understood, in words) and `examples` that work."""

    message: str
    understood: tuple[str, ...] = ()
    examples: tuple[str, ...] = field(default=EXAMPLES)

    def to_json(self) -> dict:
        return {
            "error": "not_understood",
            "message": self.message,
            "understood": list(self.understood),
            "examples": list(self.examples),
        }
