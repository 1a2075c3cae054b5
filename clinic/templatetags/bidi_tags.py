"""`{{ value|bdi }}`: user text isolated for bidirectional display (see clinic.bidi)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from clinic.bidi import isolate

register = template.Library()


@register.filter
def bdi(value: Any) -> SafeString | str:
    """An HTML <bdi> element (escaped), with the isolate characters inside it for
    renderers that ignore the element (WeasyPrint)."""
    if value is None or value == "":
        return ""
    return format_html("<bdi>{}</bdi>", isolate(str(value)))
