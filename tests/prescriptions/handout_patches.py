"""Shared by the tests of the handout's WeasyPrint patches (handouts.text, handouts.speedups)."""

from __future__ import annotations

from typing import Protocol

from prescriptions.handouts import render


class Patch(Protocol):
    def install(self) -> None: ...

    def uninstall(self) -> None: ...


def with_and_without(patch: Patch, html: str) -> tuple[bytes, bytes]:
    """The PDF with `patch` installed and with WeasyPrint's own code (each after a
    first render, so that the drawings are replayed in both)."""
    render.render_pdf_html(html)
    fast = render.render_pdf_html(html).pdf
    patch.uninstall()
    try:
        render.render_pdf_html(html)
        plain = render.render_pdf_html(html).pdf
    finally:
        patch.install()
    return fast, plain
