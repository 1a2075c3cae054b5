"""The session form's fields, written in Python (see portal.forms)."""

from __future__ import annotations

from typing import Any

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

from portal.forms import bootstrap_field_html, choice_group_html

register = template.Library()


@register.simple_tag
def choice_buttons(field: BoundField, **options: Any) -> SafeString:
    """`{% choice_buttons field legend=... css=... %}`: see portal.forms.choice_group_html."""
    return choice_group_html(field, **options)


@register.simple_tag
def bootstrap_field(field: BoundField) -> SafeString:
    return bootstrap_field_html(field)
