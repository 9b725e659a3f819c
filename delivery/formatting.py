"""Turning a skill's markdown into each channel's format, with text kept as text.

Skills write a small markdown dialect (skills/rendering.py escapes every ATS value in it):
lines that are headings (`### x`), list items (`- x`) or paragraphs; inline `**strong**`,
`[label](url)` links, backslash escapes and HTML entities. We parse that ourselves instead of
handing it to a general markdown library (which also knows raw HTML, `<url>` autolinks and
images) and write each channel's format from the parts, escaping every piece of text for that
format. A link is kept only when it points at our own site (`link_allowed`); any other link
is shown as its label. Bare URLs in text are broken invisibly, so no channel linkifies them:
the only links in a message are ours."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from config.markdown_escape import neutralise_links


@dataclass(frozen=True)
class Span:
    text: str
    strong: bool = False
    href: str | None = None  # only ever one of ours (link_allowed)


@dataclass(frozen=True)
class Line:
    kind: str  # "heading" | "item" | "para" | "blank"
    spans: tuple[Span, ...] = field(default_factory=tuple)

    @property
    def plain(self) -> str:
        return "".join(s.text for s in self.spans)


_HEADING = re.compile(r"^#{1,6}\s+")
_ITEM = re.compile(r"^[-*+]\s+")
_ESCAPABLE = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_LINK = re.compile(r"\[((?:\\.|[^\]\\])*)\]\(([^()\s]+)\)")


def link_allowed(url: str) -> bool:
    """Only http(s) links to our own site (SITE_URL's host and port) survive."""
    try:
        ours, theirs = urlsplit(settings.SITE_URL), urlsplit(url)
        return (
            theirs.scheme in ("http", "https")
            and theirs.scheme == ours.scheme
            and theirs.netloc.lower() == ours.netloc.lower()
            and "\\" not in url
            and not any(ord(ch) < 33 or ord(ch) == 127 for ch in url)
        )
    except ValueError:
        return False


def _unescape(raw: str) -> str:
    """Backslash escapes and entities to the characters they stand for."""
    out, i = [], 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw) and raw[i + 1] in _ESCAPABLE:
            out.append(raw[i + 1])
            i += 2
            continue
        j = raw.find("\\", i + 1) if raw[i] != "\\" else i + 1
        j = len(raw) if j == -1 else j
        out.append(html.unescape(raw[i:j]))
        i = j
    return "".join(out)


def _inline(raw: str) -> list[Span]:
    spans: list[Span] = []
    strong, buf, i = False, [], 0

    def flush() -> None:
        if buf:
            spans.append(Span(neutralise_links(_unescape("".join(buf))), strong=strong))
            buf.clear()

    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            buf.append(raw[i : i + 2])
            i += 2
        elif raw.startswith("**", i):
            flush()
            strong = not strong
            i += 2
        elif ch == "[" and (m := _LINK.match(raw, i)):
            flush()
            label = neutralise_links(_unescape(m[1]))
            href = _unescape(m[2])
            spans.append(Span(label, strong=strong, href=href if link_allowed(href) else None))
            i = m.end()
        else:
            buf.append(ch)
            i += 1
    flush()
    return [s for s in spans if s.text]


def parse(text: str) -> list[Line]:
    lines: list[Line] = []
    for raw in text.splitlines():
        raw = raw.rstrip()
        if not raw.strip():
            lines.append(Line("blank"))
        elif m := _HEADING.match(raw):
            lines.append(Line("heading", tuple(_inline(raw[m.end() :]))))
        elif m := _ITEM.match(raw):
            lines.append(Line("item", tuple(_inline(raw[m.end() :]))))
        else:
            lines.append(Line("para", tuple(_inline(raw))))
    while lines and lines[-1].kind == "blank":
        lines.pop()
    return lines


# Plain text ------------------------------------------------------------------------------


def markdown_to_text(text: str) -> str:
    """What a reader should see in a plain-text part: the text as typed, no escapes; our
    links as "label (url)"."""
    out = []
    for line in parse(text):
        words = "".join(f"{s.text} ({s.href})" if s.href else s.text for s in line.spans)
        out.append({"item": "- ", "blank": ""}.get(line.kind, "") + words)
    return "\n".join(out) + "\n"


# Email (HTML) ----------------------------------------------------------------------------


def _html_spans(spans) -> str:
    parts = []
    for s in spans:
        part = escape(s.text)
        if s.href:
            part = f'<a href="{escape(s.href)}">{part}</a>'
        if s.strong:
            part = f"<strong>{part}</strong>"
        parts.append(part)
    return "".join(parts)


def markdown_to_html(text: str) -> SafeString:
    out: list[str] = []
    in_list = False
    para: list[str] = []

    def end_para() -> None:
        if para:
            out.append("<p>" + "<br>\n".join(para) + "</p>")
            para.clear()

    for line in parse(text):
        if line.kind != "item" and in_list:
            out.append("</ul>")
            in_list = False
        if line.kind != "para":
            end_para()
        if line.kind == "heading":
            out.append(f"<h3>{_html_spans(line.spans)}</h3>")
        elif line.kind == "item":
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{_html_spans(line.spans)}</li>")
        elif line.kind == "para":
            para.append(_html_spans(line.spans))
    if in_list:
        out.append("</ul>")
    end_para()
    return mark_safe("\n".join(out))


# Slack (mrkdwn) --------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Slack's three control characters; with them escaped no `<!channel>`, `<@U1>`, `<#C1>`
    or `<url|label>` can come out of text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_spans(spans) -> str:
    parts = []
    for s in spans:
        part = slack_escape(s.text)
        if s.href:
            # A label cannot contain `|` or `>` unescaped ("&gt;" already); `|` ends the URL
            # part only, so the label may keep it.
            part = f"<{s.href}|{part}>"
        if s.strong and part.strip():
            part = f"*{part.strip()}*"
        parts.append(part)
    return "".join(parts)


def slack_lines(text: str) -> list[str]:
    """One mrkdwn line per markdown line: each is whole (no entity or link split across)."""
    out = []
    for line in parse(text):
        if line.kind == "blank":
            out.append("")
        elif line.kind == "heading":
            out.append(f"*{slack_escape(line.plain).strip()}*")
        elif line.kind == "item":
            out.append("• " + _slack_spans(line.spans))
        else:
            out.append(_slack_spans(line.spans))
    return out


def markdown_to_slack(text: str) -> str:
    return "\n".join(slack_lines(text))


# Byte and length budgets -----------------------------------------------------------------


def json_size(value) -> int:
    """Bytes `value` takes in a JSON body as the channels send it (UTF-8, not \\u-escaped)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def utf16_len(text: str) -> int:
    # Slack and Teams count characters as JavaScript does: an emoji is two.
    return len(text.encode("utf-16-le")) // 2


_OPEN_ENTITY = re.compile(r"&[#\w]*$")
_OPEN_ANGLE = re.compile(r"<[^>]*$")


def safe_prefix(text: str, *, max_chars: int | None = None, max_bytes: int | None = None) -> str:
    """The longest prefix within the limits that does not end inside an `&entity;` or a
    `<link|label>`, and not between the two halves of a character pair."""
    head = text
    if max_chars is not None and utf16_len(head) > max_chars:
        head = head[:max_chars]
        while utf16_len(head) > max_chars:
            head = head[:-1]
    if max_bytes is not None and json_size(head) > max_bytes:
        lo, hi = 0, len(head)
        while lo < hi:  # the longest prefix that fits
            mid = (lo + hi + 1) // 2
            if json_size(head[:mid]) <= max_bytes:
                lo = mid
            else:
                hi = mid - 1
        head = head[:lo]
    if len(head) < len(text):
        for pattern in (_OPEN_ENTITY, _OPEN_ANGLE):
            if m := pattern.search(head):
                head = head[: m.start()]
        # A ZWJ emoji sequence or a combining mark is kept whole where cheap: drop a trailing
        # joiner.
        head = head.rstrip("\u200d")
    return head


def cut(text: str, limit: int, *, suffix: str) -> tuple[str, bool]:
    """At most `limit` characters, cut at a line end when possible, with `suffix` appended
    when cut."""
    if len(text) <= limit:
        return text, False
    room = limit - len(suffix)
    head = text[:room]
    if "\n" in head[room // 2 :]:
        head = head[: head.rfind("\n")]
    return head.rstrip() + suffix, True
