"""Slack incoming webhooks, with Block Kit: a header, the body in sections, a context line
linking to the run.

Text is data: every text object is `mrkdwn` with `verbatim: true` (Slack then links no bare
URL, channel name or mention) and its text escaped (`&`, `<`, `>`), so nothing from an ATS can
become a link or a ping; the only `<url|label>` links are ours. Kept inside Slack's limits:
header 150 characters, a section's text 3,000 (counted as Slack counts them, in UTF-16 units),
at most SECTIONS_MAX sections and MESSAGE_MAX_BYTES bytes of JSON; a longer body is cut on a
line, entity and link boundary, with a link to the full result in the app."""

from __future__ import annotations

import json

from config.markdown_escape import neutralise_links
from delivery.formatting import json_size, safe_prefix, slack_escape, slack_lines, utf16_len
from delivery.http_channel import post
from delivery.message import OutgoingMessage

HEADER_MAX = 150
SECTION_MAX = 3000
SECTIONS_MAX = 20  # well under Slack's 50 blocks
# The body we POST. Slack documents no byte limit for blocks, only per-field ones (and
# 40,000 characters for `text`); this keeps a message well inside what Slack accepts.
MESSAGE_MAX_BYTES = 40_000


def _mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> dict:
    return {"type": "section", "text": _mrkdwn(text)}


def _chunks(lines: list[str]) -> list[str]:
    """Lines packed into section texts of at most SECTION_MAX; a longer line is split where
    no entity or link is cut."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if utf16_len(candidate) <= SECTION_MAX:
            current = candidate
            continue
        if current.strip():
            chunks.append(current.strip("\n"))
        current = line
        while utf16_len(current) > SECTION_MAX:
            head = safe_prefix(current, max_chars=SECTION_MAX) or current[:SECTION_MAX]
            chunks.append(head)
            current = current[len(head) :]
    if current.strip():
        chunks.append(current.strip("\n"))
    return chunks


def _plain(text: str, limit: int) -> str:
    text = neutralise_links(" ".join(text.split())) or "Skillomatic"
    if utf16_len(text) > limit:
        text = safe_prefix(text, max_chars=limit - 1).rstrip() + "…"
    return text


def payload(message: OutgoingMessage) -> dict:
    header = _plain(message.title, HEADER_MAX)
    blocks_head = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}}
    ]
    context = {
        "type": "context",
        "elements": [
            _mrkdwn(
                f"{slack_escape(_plain(message.automation_name, 500))} · "
                f"<{message.link}|View in Skillomatic>"
            )
        ],
    }
    # The fallback text (notifications, old clients) is mrkdwn too: escaped like the rest.
    fallback = slack_escape(header)
    more = _section(f"… <{message.link}|Read the full result in Skillomatic>")
    fixed = json_size({"text": fallback, "blocks": [*blocks_head, context]})

    sections: list[dict] = []
    used = fixed
    chunks = _chunks(slack_lines(message.body_markdown))
    for index, chunk in enumerate(chunks):
        block = _section(chunk)
        cost = json_size(block) + 1
        last = index == len(chunks) - 1
        reserve = 0 if last else json_size(more) + 1
        if len(sections) < SECTIONS_MAX - (0 if last else 1) and (
            used + cost + reserve <= MESSAGE_MAX_BYTES
        ):
            sections.append(block)
            used += cost
            continue
        # Cut here: what is left of the room takes the head of this chunk, then the link.
        room = MESSAGE_MAX_BYTES - used - (json_size(more) + 1) - json_size(_section("")) - 1
        head = safe_prefix(chunk, max_bytes=room).rstrip() if room > 0 else ""
        if head and len(sections) < SECTIONS_MAX - 1:
            sections.append(_section(head))
        sections.append(more)
        break
    return {"text": fallback, "blocks": [*blocks_head, *sections, context]}


def send(*, channel, message: OutgoingMessage) -> str:
    body = json.dumps(payload(message), ensure_ascii=False, separators=(",", ":")).encode()
    return post(
        channel.config["url"],
        body=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
        what="Slack",
    )
