"""Text that must stay text in markdown: `escape_markdown` for a value inside markdown we
write (skills' ATS values, delivery's alerts quoting a channel name or a receiver's answer), and
`neutralise_links`, which breaks what linkifiers would turn into links (used by both and by
every channel for the text it shows).

Slack, Teams, mail clients and GFM's autolink extension turn a scheme (`https:`, `mailto:`),
a dotted host name (`www.evil.example`, `evil.com`) and an `@` into links. An invisible WORD
JOINER after the scheme's colon, the dot or the `@` breaks each pattern without changing what
the reader sees."""

from __future__ import annotations

import re

WORD_JOINER = "\u2060"

# A scheme (`https:`, `mailto:`, `tel:`, `javascript:`): a colon after a letter and before
# something that is not a space.
_SCHEME = re.compile(r"(?<=[A-Za-z]):(?=[^\s\u2060])")
_HOST_DOT = re.compile(r"(?<=[^\W_])\.(?=[^\W_])")
_AT = re.compile(r"@(?=[^\s\u2060])")


def neutralise_links(text: str) -> str:
    """`text` with nothing a linkifier would take for a URL, a host or an address
    (idempotent)."""
    text = _SCHEME.sub(":" + WORD_JOINER, text)
    text = _HOST_DOT.sub("." + WORD_JOINER, text)
    return _AT.sub("@" + WORD_JOINER, text)


# Line breaks (every kind Python's splitlines knows) and other control characters would let
# a value start a line of its own: a heading, a list item, a code block. Data stays on its
# line. Bidi embeddings and overrides (U+202A-U+202E, U+2066-U+2069) would reorder the text
# around the value (a name that makes "hired" read "rejected"): they go too.
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_BIDI_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Inline markup anywhere in a line: emphasis, code, links and images, tables, strikethrough.
_INLINE = re.compile(r"([\\`*_\[\]|~])")
# Markup that only counts at the start of a line (the value may be the first thing on one):
# headings, list bullets, block quotes (already an entity), numbered lists, setext lines.
_LINE_START = re.compile(r"^([#+\-=!])|^(\d+)([.)])")


def escape_markdown(value: str) -> str:
    """`value` as literal text inside markdown: no markup, no link, no line of its own."""
    text = _BIDI_CONTROLS.sub("", _BREAKS.sub(" ", str(value)))
    text = "".join(_ENTITIES.get(ch, ch) for ch in text)
    text = _INLINE.sub(r"\\\1", text)
    text = _LINE_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", text)
    return neutralise_links(text)
