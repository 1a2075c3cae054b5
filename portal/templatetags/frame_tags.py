"""`{% same_for_everyone %}`: markup that is the same on every patient's page, rendered
once per language and kept for the life of the process.

The portal's page frame (the navigation, the offline banner's texts, the links to
the stylesheets and scripts) is some thirty translated strings, URLs and static
file names, the same for every patient who reads the language: about half of what
templates/portal/base.html cost on every page (bench/portal_profile.py). The tag
renders its content once for each language, each script prefix and each set of
values it is given, and keeps it.

What is inside sees nothing of the page: it renders in a context that holds only
the values named in the tag (`{% same_for_everyone current=name %}`). A patient's
data placed inside by mistake shows empty, never the first patient's on everyone's
page. The values are kept as text, and should be few (a page's name, not an id).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.urls import get_script_prefix
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()

# A bound on what one tag keeps, should a value take more forms than expected.
MAX_KEPT = 256


class SameForEveryoneNode(template.Node):
    def __init__(self, nodelist: NodeList, values: dict[str, FilterExpression]) -> None:
        self.nodelist = nodelist
        self.values = values
        self.kept: dict[tuple[Any, ...], SafeString] = {}

    def render(self, context: template.Context) -> SafeString:
        values = {name: value.resolve(context) for name, value in self.values.items()}
        values = {name: None if value is None else str(value) for name, value in values.items()}
        key = (get_language(), get_script_prefix(), context.autoescape, *sorted(values.items()))
        markup = self.kept.get(key)
        if markup is None:
            alone = template.Context(
                values,
                autoescape=context.autoescape,
                use_l10n=context.use_l10n,
                use_tz=context.use_tz,
            )
            # The page's template and render state, for {% include %}; not its variables.
            alone.template = context.template
            alone.render_context = context.render_context
            markup = self.nodelist.render(alone)
            if len(self.kept) >= MAX_KEPT:
                self.kept.clear()
            self.kept[key] = markup
        return markup


@register.tag
def same_for_everyone(parser: Parser, token: Token) -> SameForEveryoneNode:
    bits = token.split_contents()[1:]
    values = {}
    for bit in bits:
        name, sep, expression = bit.partition("=")
        if not sep or not name.isidentifier():
            raise template.TemplateSyntaxError(
                f"same_for_everyone takes name=value arguments, not {bit!r}."
            )
        values[name] = parser.compile_filter(expression)
    nodelist = parser.parse(("endsame_for_everyone",))
    parser.delete_first_token()
    return SameForEveryoneNode(nodelist, values)
