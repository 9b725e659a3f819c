"""Microsoft Teams incoming webhooks and Workflows: a message with one Adaptive Card (title,
body, a subtle line naming the automation, a "View" button).

Text is data: a TextBlock's text is markdown (and Teams links bare URLs in it), so every text
we show goes into RichTextBlocks made of TextRuns, which Teams shows as written. Bold is a run's
weight; the only links are ours (a run's selectAction and the card's action).

Teams refuses a message over about 28 KB of the POSTed bytes. The body is sent as UTF-8 JSON
(not \\u-escaped: that turns each CJK character into 6 bytes) and budgeted in those bytes: a
longer result is cut on a line (or inside an overlong line) with a link to the full result."""

from __future__ import annotations

import json

from config.markdown_escape import neutralise_links
from delivery.formatting import Line, Span, json_size, parse, safe_prefix
from delivery.http_channel import post
from delivery.message import OutgoingMessage

MESSAGE_MAX_BYTES = 27_000  # of the POST body; Teams' limit is ~28 KB
NAME_MAX = 500


def _run(text: str, *, strong: bool = False, href: str | None = None, **style) -> dict:
    run = {"type": "TextRun", "text": text}
    if strong:
        run["weight"] = "Bolder"
    if href:
        run["selectAction"] = {"type": "Action.OpenUrl", "url": href}
    run.update(style)
    return run


def _block(runs: list[dict], **style) -> dict:
    return {"type": "RichTextBlock", "inlines": runs, **style}


def _line_block(line: Line) -> dict | None:
    spans = list(line.spans)
    if line.kind == "blank" or not spans:
        return None
    if line.kind == "heading":
        return _block([_run(line.plain, strong=True, size="Medium")], spacing="Medium")
    if line.kind == "item":
        spans = [Span("• "), *spans]
    # Adjacent spans of one style become one run (fewer bytes).
    runs: list[dict] = []
    for span in spans:
        if (
            runs
            and not span.href
            and "selectAction" not in runs[-1]
            and (("weight" in runs[-1]) == span.strong)
        ):
            runs[-1]["text"] += span.text
        else:
            runs.append(_run(span.text, strong=span.strong, href=span.href))
    return _block(runs, spacing="None" if line.kind == "item" else "Small")


def _plain(text: str, limit: int) -> str:
    text = neutralise_links(" ".join(text.split()))
    return text if len(text) <= limit else safe_prefix(text, max_chars=limit - 1) + "…"


def _envelope(card: dict) -> dict:
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


def payload(message: OutgoingMessage) -> dict:
    title = _block(
        [_run(_plain(message.title, NAME_MAX) or "Skillomatic", size="Large", strong=True)]
    )
    name = _block(
        [
            _run(
                _plain(message.automation_name, NAME_MAX) or "Skillomatic",
                isSubtle=True,
                size="Small",
            )
        ]
    )
    more = _block(
        [_run("… Read the full result in Skillomatic", href=message.link, color="Accent")]
    )
    body: list[dict] = [title]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [
            {"type": "Action.OpenUrl", "title": "View in Skillomatic", "url": message.link}
        ],
    }
    used = json_size(_envelope({**card, "body": [title, name]}))
    reserve = json_size(more) + 1
    blocks = [b for b in map(_line_block, parse(message.body_markdown)) if b is not None]
    for index, block in enumerate(blocks):
        cost = json_size(block) + 1
        last = index == len(blocks) - 1
        if used + cost + (0 if last else reserve) <= MESSAGE_MAX_BYTES:
            body.append(block)
            used += cost
            continue
        # Cut inside this line: its runs as far as the room allows, then the link.
        room = MESSAGE_MAX_BYTES - used - reserve
        runs = []
        skeleton = json_size(_block([], **{k: v for k, v in block.items() if k != "inlines"}))
        room -= skeleton + 1
        for run in block["inlines"]:
            run_cost = json_size(run) + 1
            if run_cost <= room:
                runs.append(run)
                room -= run_cost
                continue
            text_room = room - (run_cost - json_size(run["text"]))
            head = safe_prefix(run["text"], max_bytes=text_room) if text_room > 2 else ""
            if head.strip():
                runs.append({**run, "text": head})
            break
        if runs:
            body.append({**block, "inlines": runs})
        body.append(more)
        break
    body.append(name)
    return _envelope(card)


def send(*, channel, message: OutgoingMessage) -> str:
    body = json.dumps(payload(message), ensure_ascii=False, separators=(",", ":")).encode()
    return post(
        channel.config["url"],
        body=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
        what="Teams",
    )
