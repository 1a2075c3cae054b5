"""Pieces of portal pages that read the same on every request, rendered once and
then taken from the cache.

A fragment is a template rendered with a context of plain values only (text,
numbers, booleans, None, and lists, tuples and dicts of them): no model instance,
no lazy text, nothing the template could look further into. Its cache key is a
hash of

- that context, which is everything the fragment can show,
- the source of the template and of every template it includes,
- the active language and a fingerprint of the project's message catalogues in it.

So nothing the fragment shows can change without its key changing: nothing is
ever invalidated, an entry simply stops being asked for (and the cache drops it);
several servers, each with its own cache (the default LocMemCache), or one
shared cache, all agree; and a fragment is shared only by requests that would
have rendered it byte for byte the same. The caller builds the context: it must
hold nothing that belongs to one request (a CSRF token, a form's values, what
was done today) unless it also belongs in the key; `_plain` refuses anything
that is not a plain value.

`cached_render` is the same for a template that reads more than plain values (an
unbound form's fields): the key is still plain values, but it is the caller who
answers for it naming everything the rendering shows (Today's session form,
portal.views._todays_form_body, with a test comparing it with a fresh rendering).
"""

from __future__ import annotations

import functools
import hashlib
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.template import Template
from django.template.loader import get_template
from django.template.loader_tags import IncludeNode
from django.utils import translation
from django.utils.safestring import SafeString

# Long: a key never goes stale, so this only bounds how long an unused entry lingers.
FRAGMENT_SECONDS = 24 * 60 * 60

_PLAIN = (str, int, float, bool, type(None))


def cached_fragment(template_name: str, context: dict[str, Any]) -> SafeString:
    """`template_name` rendered with `context` (plain values only), from the cache
    when the same template, language and context were rendered before."""
    return cached_render(template_name, context, lambda: context)


def cached_render(
    template_name: str, key: dict[str, Any], context: Callable[[], dict[str, Any]]
) -> SafeString:
    """`template_name` rendered with the context `context()` builds, from the cache
    when the same template and language were rendered before for the same `key`
    (plain values, as a fragment's context).

    For a template that reads more than plain values (an unbound form's fields):
    `key` must name everything the rendering shows besides the template's sources
    and the language, and nothing that belongs to one request (a CSRF token, a
    form's values). That is the caller's promise, kept by a test that compares the
    cached markup with a fresh rendering."""
    cache_key = fragment_key(template_name, key)
    html = cache.get(cache_key)
    if html is None:
        html = get_template(template_name).render(context())
        cache.set(cache_key, html, FRAGMENT_SECONDS)
    return SafeString(html)


def fragment_key(template_name: str, key: dict[str, Any]) -> str:
    """The cache key of `template_name` rendered for `key` (see `cached_render`):
    another fragment's key can name this one as a part of it."""
    template: Any = get_template(template_name)
    language = translation.get_language() or settings.LANGUAGE_CODE
    fingerprint = repr(
        (
            _sources_digest(template.template),
            language,
            _catalogue(language),
            _plain(key),
        )
    )
    return "portal.fragment:" + hashlib.blake2b(fingerprint.encode(), digest_size=20).hexdigest()


def _plain(value: Any) -> Any:
    # Exactly str, not a subclass: lazy text, SafeString and friends would let an
    # equal-looking value render differently.
    if type(value) in _PLAIN:
        return value
    if type(value) in (list, tuple):
        return tuple(_plain(v) for v in value)
    if type(value) is dict:
        return tuple(sorted((str(k), _plain(v)) for k, v in value.items()))
    raise TypeError(f"A cached fragment's context holds plain values only, not {value!r}")


# Per compiled template: the cached loader keeps one object per template for the
# process's life, so its sources are hashed once (a development server, which
# loads templates afresh, hashes them each time and so sees every edit).
_DIGESTS: weakref.WeakKeyDictionary[Template, str] = weakref.WeakKeyDictionary()


def _sources_digest(template: Template) -> str:
    digest = _DIGESTS.get(template)
    if digest is None:
        digest = hashlib.blake2b(repr(_sources(template)).encode(), digest_size=16).hexdigest()
        _DIGESTS[template] = digest
    return digest


def _sources(template: Template) -> tuple[str, ...]:
    """The template's source and those of the templates it includes (by a constant
    name; a fragment cannot include a template chosen at render time)."""
    sources = [template.source]
    for node in template.nodelist.get_nodes_by_type(IncludeNode):
        name = cast("IncludeNode", node).template.var
        if not isinstance(name, str):
            raise ValueError(f"A cached fragment includes {name!r}: name its template.")
        included: Any = get_template(name)
        sources.extend(_sources(included.template))
    return tuple(sources)


@functools.cache
def _catalogue(language: str) -> str:
    """The project's compiled messages in `language`, as a hash: a new translation
    (a deploy) is a new key. Read once per process, as gettext reads them."""
    digest = hashlib.blake2b(digest_size=16)
    for folder in settings.LOCALE_PATHS:
        messages = Path(folder, translation.to_locale(language), "LC_MESSAGES")
        for path in sorted(messages.glob("*.mo")):
            digest.update(path.read_bytes())
    return digest.hexdigest()
