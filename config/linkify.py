"""Breaking what linkifiers would turn into links, shared by skills (escaping ATS values) and
delivery (every text a channel shows).

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
