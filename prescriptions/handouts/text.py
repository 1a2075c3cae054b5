"""Three shortcuts in WeasyPrint's text code for the handout's lines, same output.

WeasyPrint lays a line out with Pango, lets the Pango layout go, makes it again
to draw the line, and writes the line's glyphs one by one, reading each glyph's
id, width and offsets through cffi attribute by attribute. For a 6-exercise
handout that was about 17 % of the render. Here:

- `draw_first_line` reads each run's glyph array with one `struct` call (the
  operators it writes are the same, byte for byte); any line it does not
  handle (bitmap, colour or SVG glyph fonts, an ellipsis) goes to WeasyPrint's
  own function before anything is written;
- a laid-out line keeps its Pango layout until it is drawn (`_keep`,
  `_reactivate`) instead of making it again, unless the line is justified
  (the drawing then adds word spacing) or drawn in another style;
- a font description is made once per font (`_font_description`) instead of
  once per line: Pango copies it into each layout.

They lean on WeasyPrint's text internals (Layout, its glyph loop);
`tests/prescriptions/test_handout_text.py` renders documents with and without
them and compares the pages, so a WeasyPrint upgrade that changes them fails
there. `install` leaves WeasyPrint alone where the glyph layout is not the one
read here.
"""

from __future__ import annotations

import struct
from typing import Any

# PangoGlyphInfo: glyph (guint32), geometry (width, x_offset, y_offset: gint32),
# attr (a guint32 of bit fields).
_GLYPH_INFO = struct.Struct("=IiiiI")

_original: Any = None
_original_reactivate: Any = None
_original_deactivate: Any = None
_original_font_description: Any = None
_font_descriptions: dict[tuple[Any, ...], Any] = {}


def install() -> None:
    """Patch WeasyPrint's text drawing (once per process)."""
    global _original, _original_reactivate, _original_deactivate, _original_font_description
    from weasyprint.draw import text
    from weasyprint.text import line_break
    from weasyprint.text.ffi import ffi

    if _original is not None:
        return
    if ffi.sizeof("PangoGlyphInfo") != _GLYPH_INFO.size or ffi.sizeof("gint") != 4:
        return  # not the layout read here: WeasyPrint's own drawing
    _original = text.draw_first_line
    text.draw_first_line = draw_first_line
    _original_reactivate = line_break.Layout.reactivate
    _original_deactivate = line_break.Layout.deactivate
    line_break.Layout.deactivate = _keep
    line_break.Layout.reactivate = _reactivate
    _original_font_description = line_break.get_font_description
    line_break.get_font_description = _font_description


def uninstall() -> None:
    """WeasyPrint's own text code again (the tests compare both)."""
    global _original, _original_reactivate, _original_deactivate, _original_font_description
    from weasyprint.draw import text
    from weasyprint.text import line_break

    if _original is None:
        return
    text.draw_first_line = _original
    line_break.Layout.reactivate = _original_reactivate
    line_break.Layout.deactivate = _original_deactivate
    line_break.get_font_description = _original_font_description
    _original = _original_reactivate = _original_deactivate = _original_font_description = None
    _font_descriptions.clear()


def _keep(layout: Any) -> None:
    """Layout.deactivate: the Pango layout stays until the line is drawn."""
    layout.kept = True


def _reactivate(layout: Any, style: Any) -> None:
    """Layout.reactivate: the kept layout when it is the one WeasyPrint would make again.

    WeasyPrint makes the layout again from the line's text and style, adding the
    justification's word spacing; the kept one has the line's text (and, for a
    line that was not the last, no width), so without justification and in the
    same style it draws the same glyphs. Only once: a layout drawn before (and
    perhaps changed by the drawing, as an ellipsis does) is made again."""
    if (
        getattr(layout, "kept", False)
        and not getattr(layout, "drawn", False)
        and style is layout.style
        and not layout.justification_spacing
    ):
        layout.kept = False
        layout.drawn = True
        return
    layout.kept = False
    layout.drawn = True
    _original_reactivate(layout, style)


def _font_description(style: Any) -> Any:
    """weasyprint.text.fonts.get_font_description, one per font and size."""
    key: tuple[Any, ...] = (
        tuple(style["font_family"]),
        style["font_style"],
        style["font_stretch"],
        style["font_weight"],
        style["font_size"],
        style["font_variant_caps"],
        style["font_variation_settings"],
    )
    try:
        description = _font_descriptions.get(key)
    except TypeError:  # a value that cannot be a key: nothing kept
        return _original_font_description(style)
    if description is None:
        if len(_font_descriptions) > 1000:  # bounded: sizes and families are few
            _font_descriptions.clear()
        description = _font_descriptions[key] = _original_font_description(style)
    return description


def draw_first_line(
    stream: Any, textbox: Any, text_overflow: str, block_ellipsis: Any, matrix: Any
) -> list[Any]:
    """weasyprint.draw.text.draw_first_line, for lines without ellipsis in outline fonts."""
    from weasyprint.logger import LOGGER
    from weasyprint.text.ffi import FROM_UNITS, ffi, pango

    if text_overflow == "ellipsis" or block_ellipsis != "none":
        return _original(stream, textbox, text_overflow, block_ellipsis, matrix)  # type: ignore[no-any-return]
    if not textbox.text.strip():
        return []
    style = textbox.style
    if style["font_size"] < 1e-6:
        return []

    layout = textbox.pango_layout
    pango.pango_layout_set_single_paragraph_mode(layout.layout, True)
    first_line, _ = layout.get_first_line()

    # The runs and their fonts first: a font this does not draw goes to WeasyPrint
    # before anything is written.
    runs = []
    run = first_line.runs[0]
    while run != ffi.NULL:
        glyph_item = run.data
        run = run.next
        pango_font = glyph_item.item.analysis.font
        run_font, _ = stream.add_font(pango_font)
        if run_font.bitmap or run_font.png or run_font.svg or run_font.colr:
            return _original(stream, textbox, text_overflow, block_ellipsis, matrix)  # type: ignore[no-any-return]
        runs.append((glyph_item, pango_font))

    stream.set_text_matrix(*matrix.values)
    old_pango = pango.pango_version() < 14802
    glyph_empty = pango.PANGO_GLYPH_EMPTY
    unknown_flag = pango.PANGO_GLYPH_UNKNOWN_FLAG
    unpack = _GLYPH_INFO.iter_unpack
    previous_pango_font = None
    font: Any = None
    font_size = 0.0
    string = ""
    utf8_text = None
    for glyph_item, pango_font in runs:
        glyph_string = glyph_item.glyphs
        num_glyphs = glyph_string.num_glyphs
        if pango_font != previous_pango_font:
            previous_pango_font = pango_font
            font, font_size = stream.add_font(pango_font)
            # Workaround for https://gitlab.gnome.org/GNOME/pango/-/issues/530.
            if old_pango:
                font_size = style["font_size"]
            if string:
                stream.show_text(string)
            string = ""
            stream.set_font_size(font.hash, font_size)
        to_unicode = font.to_unicode
        widths = font.widths
        clusters = None
        string += "<"
        infos = unpack(ffi.buffer(glyph_string.glyphs, num_glyphs * _GLYPH_INFO.size))
        for i, (glyph_id, width, x_offset, y_offset, _attr) in enumerate(infos):
            # Display zero-width empty glyph.
            if glyph_id == glyph_empty:
                string += f">{-width / font_size}<"
                continue

            # Display .notdef and log warning for missing glyphs.
            if glyph_id & unknown_flag:
                codepoint = glyph_id - unknown_flag
                LOGGER.warning(
                    '.notdef glyph rendered for Unicode string unsupported by fonts: "%s" (U+%04X)',
                    chr(codepoint),
                    codepoint,
                )
                glyph_id = font.get_unused_glyph_id(codepoint)
                widths[glyph_id] = round(width * 1000 * FROM_UNITS / font_size)
                if 0 not in widths:
                    widths[0] = widths[glyph_id]

            # Create mapping between glyphs and Unicode codepoints.
            if glyph_id not in to_unicode:
                if clusters is None:
                    clusters = ffi.unpack(glyph_string.log_clusters, num_glyphs)
                item = glyph_item.item
                offset = item.offset
                t1 = clusters[i]
                if item.analysis.level % 2:  # rtl
                    t2 = item.length if i == 0 else clusters[i - 1]
                else:
                    t2 = item.length if i == num_glyphs - 1 else clusters[i + 1]
                utf8_text = utf8_text or layout.text.encode()
                to_unicode[glyph_id] = utf8_text[offset + t1 : offset + t2].decode()

            # Set horizontal and vertical offsets.
            offset = x_offset / font_size
            rise = y_offset / 1000
            if rise:
                if string[-1] == "<":
                    string = string[:-1]
                else:
                    string += ">"
                if string:
                    stream.show_text(string)
                stream.set_text_rise(-rise)
                string = ""
                if offset:
                    string = f"{-offset}"
                string += f"<{glyph_id:04x}>"
                stream.show_text(string)
                stream.set_text_rise(0)
                string = "<"
            else:
                if offset:
                    string += f">{-offset}<"
                string += f"{glyph_id:04x}"

            # Get glyph logical widths.
            if glyph_id in widths:
                logical_width = widths[glyph_id]
            else:
                pango.pango_font_get_glyph_extents(
                    pango_font, glyph_id, stream.ink_rect, stream.logical_rect
                )
                logical_width = widths[glyph_id] = round(
                    stream.logical_rect.width * 1000 * FROM_UNITS / font_size
                )

            # Set kerning, word spacing, letter spacing.
            kerning = logical_width + offset - width * 1000 * FROM_UNITS / font_size
            if kerning:
                string += f">{int(kerning)}<"

        # Close the last glyphs list, remove if empty.
        if string[-1] == "<":
            string = string[:-1]
        else:
            string += ">"

    stream.show_text(string)
    return []
