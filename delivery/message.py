"""What every channel is given: one result, with the context to present and link it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from delivery.formatting import markdown_to_text


@dataclass(frozen=True)
class OutgoingMessage:
    type: str  # "automation.run.completed" | "channel.test"
    message_id: str  # stable across retries of one delivery (receivers deduplicate on it)
    title: str
    body_markdown: str
    summary: str
    link: str  # the run's page (the full text when a channel must cut it)
    automation_name: str
    owner: Any  # the user who owns the automation (or channel, for a test)
    organization_id: int
    data: dict[str, Any] = field(default_factory=dict)
    automation: Any = None
    run: Any = None
    # An org-wide automation's run: the member it is for (their inbox, their address).
    for_user: Any = None
    # When the event this message tells of happened: the same on every try of one delivery
    # (a receiver sees one event, however often we retry). The delivery record's creation
    # time for a run's result; the message's creation for a test message.
    occurred_at: datetime = field(default_factory=timezone.now)

    @property
    def body_text(self) -> str:
        """The body for a plain-text part (email): escapes resolved, text as typed."""
        return markdown_to_text(self.body_markdown)
