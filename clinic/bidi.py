"""Bidirectional isolation of text people type (names, titles, comments).

A name with right-to-left letters, or with an explicit override character
(U+202E RIGHT-TO-LEFT OVERRIDE), changes how the text *after* it is laid out:
a surname prints reversed, "View on site" reads "etis no weiV". Wrapping such a
value in FIRST STRONG ISOLATE … POP DIRECTIONAL ISOLATE (U+2068 … U+2069) keeps
its direction to itself (Unicode's bidi algorithm, UAX #9: the closing isolate
also ends any override opened inside) in every renderer: browsers, WeasyPrint's
Pango, plain-text email. Text with nothing right-to-left in it is left alone, so
ordinary names and titles stay byte-for-byte the same everywhere.
"""

from __future__ import annotations

import unicodedata

FSI = "\u2068"
PDI = "\u2069"
# Explicit embeddings, overrides, isolates and marks.
CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
RIGHT_TO_LEFT = frozenset({"R", "AL"})


def needs_isolation(text: str) -> bool:
    return any(ch in CONTROLS or unicodedata.bidirectional(ch) in RIGHT_TO_LEFT for ch in text)


def isolate(text: str) -> str:
    """`text`, isolated for bidirectional display if it holds anything right-to-left."""
    if not text or not needs_isolation(text):
        return text
    return f"{FSI}{text}{PDI}"
