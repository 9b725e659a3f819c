"""Slack incoming webhooks, with Block Kit: a header, the body in sections, a context line
linking to the run. Kept inside Slack's limits (header 150 characters, a section's text 3,000,
50 blocks); a long body is cut with a link to the full text in the app."""

from __future__ import annotations

import json

from delivery.formatting import cut, markdown_to_slack
from delivery.http_channel import post
from delivery.message import OutgoingMessage

HEADER_MAX = 150
SECTION_MAX = 3000
SECTIONS_MAX = 20  # well under Slack's 50 blocks and its message size
BODY_MAX = SECTION_MAX * SECTIONS_MAX


def payload(message: OutgoingMessage) -> dict:
    more = f"\n… <{message.link}|Read the full result in Skillomatic>"
    body, _ = cut(markdown_to_slack(message.body_markdown), BODY_MAX, suffix=more)
    sections = []
    rest = body
    while rest:
        chunk, _ = cut(rest, SECTION_MAX, suffix="")
        sections.append(chunk)
        rest = rest[len(chunk) :].lstrip("\n")
    header, _ = cut(message.title, HEADER_MAX, suffix="…")
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}}]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in sections]
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"{markdown_to_slack(message.automation_name)} · "
                    f"<{message.link}|View in Skillomatic>",
                }
            ],
        }
    )
    return {"text": header, "blocks": blocks}


def send(*, channel, message: OutgoingMessage) -> str:
    body = json.dumps(payload(message)).encode()
    return post(
        channel.config["url"], body=body, headers={"Content-Type": "application/json"}, what="Slack"
    )
