"""`{{ value|isolated }}`: user text in the PDF handout, isolated for bidirectional display."""

from __future__ import annotations

from typing import Any

from django import template

from clinic.bidi import isolate

register = template.Library()


@register.filter
def isolated(value: Any) -> str:
    """The handout's form of `|bdi`: only the isolate characters (clinic.bidi), which
    are what WeasyPrint lays out, without the <bdi> element around them (an inline
    box around every name cost about 4 % of a handout's render time). Escaped by the
    template like any other value."""
    if value is None:
        return ""
    return isolate(str(value))
