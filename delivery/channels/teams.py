"""Microsoft Teams incoming webhooks and Workflows: a message with one Adaptive Card (title,
body, a subtle line naming the automation, a "View" button). The body is cut to stay well
inside Teams' 28 KB message limit."""

from __future__ import annotations

import json

from delivery.formatting import cut, markdown_to_teams
from delivery.http_channel import post
from delivery.message import OutgoingMessage

BODY_MAX = 15_000


def payload(message: OutgoingMessage) -> dict:
    body, _ = cut(
        markdown_to_teams(message.body_markdown),
        BODY_MAX,
        suffix=f"\n\n… [Read the full result in Skillomatic]({message.link})",
    )
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": message.title,
                "weight": "Bolder",
                "size": "Large",
                "wrap": True,
            },
            {"type": "TextBlock", "text": body, "wrap": True},
            {
                "type": "TextBlock",
                "text": message.automation_name,
                "isSubtle": True,
                "size": "Small",
                "wrap": True,
            },
        ],
        "actions": [
            {"type": "Action.OpenUrl", "title": "View in Skillomatic", "url": message.link}
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def send(*, channel, message: OutgoingMessage) -> str:
    body = json.dumps(payload(message)).encode()
    return post(
        channel.config["url"], body=body, headers={"Content-Type": "application/json"}, what="Teams"
    )
