"""The handout's HTML parsed by the standard library's parser instead of tinyhtml5.

WeasyPrint parses a document with tinyhtml5, a pure-Python HTML5 parser that
reads it character by character: 7 % of a 6-exercise handout's render, 10 ms
for 23 KB. `html.parser` splits the same text with regular expressions, about
seven times faster, and the handout's HTML is ours: made by our templates,
every element closed in order, user text escaped. For such a document the
tree is the one HTML5's rules build, except where those rules move whitespace
outside <body>, which `_HandoutParser` moves the same way.

Anything those templates do not make (an element off the list below, an end
tag that does not close the open element, a start tag that HTML5 would use to
close an open <p>, comments, text outside <body>) is parsed by tinyhtml5 as
before: this is a fast path for our own markup, never a second HTML parser
for arbitrary documents. `tests/prescriptions/test_handout_parse.py` compares
both trees on the handout's variants, so a template change that the fast path
gets wrong fails there.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

# The elements the handout's templates write. `linebreaks` adds <p> and <br>.
_ELEMENTS = frozenset(
    [
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "header",
        "section",
        "article",
        "div",
        "p",
        "span",
        "strong",
        "em",
        "b",
        "i",
        "bdi",
        "h1",
        "h2",
        "h3",
        "h4",
        "dl",
        "dt",
        "dd",
        "ol",
        "ul",
        "li",
        "br",
        "img",
    ]
)
_VOID = frozenset({"meta", "br", "img"})
# Start tags that close an open <p> under HTML5's rules (of those allowed above).
_CLOSES_P = frozenset(
    [
        "header",
        "section",
        "article",
        "div",
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "dl",
        "dt",
        "dd",
        "ol",
        "ul",
        "li",
    ]
)
_HEADINGS = frozenset({"h1", "h2", "h3", "h4"})
_IN_HEAD = frozenset({"meta", "title", "style"})
# A character reference in an attribute that HTML5 might read differently (no ";").
_LOOSE_REFERENCE = re.compile(r"&(?![#A-Za-z0-9]+;)")


class Unsupported(Exception):
    """The document has something the fast path does not build as HTML5 does."""


class _HandoutParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root: ElementTree.Element | None = None
        self.stack: list[ElementTree.Element] = []
        # Where the next text goes: (element, "text" or "tail").
        self.last: tuple[ElementTree.Element, str] | None = None
        self.state = "start"  # start, head, between, body, after

    # Tags

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ELEMENTS:
            raise Unsupported(tag)
        raw = self.get_starttag_text() or ""
        if "&" in raw and _LOOSE_REFERENCE.search(raw):
            raise Unsupported("character reference without ';' in an attribute")
        attrib: dict[str, str] = {}
        for name, value in attrs:
            attrib.setdefault(name, value or "")  # HTML5 keeps the first of a name
        open_tags = [element.tag for element in self.stack]
        if tag == "html":
            if self.state != "start":
                raise Unsupported("html")
            self.root = element = ElementTree.Element(tag, attrib)
            self.stack.append(element)
            self.last = None  # whitespace before <head> is dropped
            return
        if tag == "head":
            if self.state != "start" or open_tags != ["html"]:
                raise Unsupported("head")
            self.state = "head"
        elif tag == "body":
            if self.state != "between" or open_tags != ["html"]:
                raise Unsupported("body")
            self.state = "body"
        elif self.state == "head":
            if tag not in _IN_HEAD or open_tags != ["html", "head"]:
                raise Unsupported(tag)
        elif self.state != "body":
            raise Unsupported(tag)
        else:
            if tag in _CLOSES_P and "p" in open_tags:
                raise Unsupported(f"<{tag}> inside <p>")
            if tag in _HEADINGS and _HEADINGS.intersection(open_tags):
                raise Unsupported(f"<{tag}> inside a heading")
            if tag == "li" and "li" in open_tags:
                raise Unsupported("<li> inside <li>")
            if tag in ("dt", "dd") and ("dt" in open_tags or "dd" in open_tags):
                raise Unsupported(f"<{tag}> inside <dt> or <dd>")
        element = ElementTree.SubElement(self.stack[-1], tag, attrib)
        if tag in _VOID:
            self.last = (element, "tail")
        else:
            self.stack.append(element)
            self.last = (element, "text")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID:
            raise Unsupported(f"<{tag}/>")  # HTML5 opens the element: not ours
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or not self.stack or self.stack[-1].tag != tag:
            raise Unsupported(f"</{tag}>")
        element = self.stack.pop()
        if tag == "head":
            self.state = "between"
        elif tag == "body":
            self.state = "after"
            self._after_body = element
        elif tag == "html":
            self.state = "after"
            self.stack.append(element)  # nothing may follow but whitespace
            self._closed = True
            return
        self.last = (element, "tail")

    # Text

    def handle_data(self, data: str) -> None:
        if self.state in ("start", "between", "after") or (
            self.state == "head" and len(self.stack) == 2
        ):
            if data.strip():
                raise Unsupported("text outside <body>")
            if self.state == "start":
                return
            if self.state == "after":
                self._append_after_body(data)
                return
        if self.last is None:
            return
        element, slot = self.last
        setattr(element, slot, (getattr(element, slot) or "") + data)

    def _append_after_body(self, data: str) -> None:
        """Whitespace after </body> or </html> goes to the end of <body> (HTML5)."""
        body = self._after_body
        if len(body):
            last = body[-1]
            last.tail = (last.tail or "") + data
        else:
            body.text = (body.text or "") + data

    def handle_comment(self, data: str) -> None:
        raise Unsupported("comment")

    def handle_decl(self, decl: str) -> None:
        if self.state != "start" or decl.lower() != "doctype html":
            raise Unsupported(decl)

    def handle_pi(self, data: str) -> None:
        raise Unsupported("processing instruction")

    def unknown_decl(self, data: str) -> None:
        raise Unsupported(data)


def parse_tree(html: str) -> ElementTree.Element:
    """The ElementTree of a handout's HTML, as tinyhtml5 builds it; raises
    Unsupported for a document the fast path does not handle."""
    if "\x00" in html:
        raise Unsupported("NUL")
    # HTML5 reads CR LF and CR as LF before anything else.
    html = html.replace("\r\n", "\n").replace("\r", "\n")
    parser = _HandoutParser()
    parser._after_body = None  # type: ignore[assignment]
    parser._closed = False
    parser.feed(html)
    parser.close()
    if (
        parser.root is None
        or not parser._closed
        or [child.tag for child in parser.root] != ["head", "body"]
    ):
        raise Unsupported("not a complete document")
    return parser.root


def parse_html(html: str, *, base_url: str, url_fetcher: URLFetcher) -> HTML:
    """A WeasyPrint HTML document of `html`, parsed by the fast path when it can."""
    from weasyprint import HTML

    try:
        tree = parse_tree(html)
    except Unsupported:
        return HTML(string=html, base_url=base_url, url_fetcher=url_fetcher)
    return _document(tree, base_url=base_url, url_fetcher=url_fetcher)


def _document(tree: ElementTree.Element, *, base_url: str, url_fetcher: URLFetcher) -> HTML:
    """What weasyprint.HTML.__init__ makes of a parsed tree (without a <base>, which
    the fast path does not accept, the base URL is the one given)."""
    import cssselect2
    from weasyprint import HTML

    document = HTML.__new__(HTML)
    document.base_url = base_url
    document.url_fetcher = url_fetcher
    document.media_type = "print"
    document.wrapper_element = cssselect2.ElementWrapper.from_html_root(tree, content_language=None)
    document.etree_element = document.wrapper_element.etree_element
    return document
