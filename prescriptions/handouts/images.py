"""The renderer's image cache: SVG pictures drawn once per size, then replayed.

WeasyPrint parses an image once per URL (the cache below keeps the parsed image
between renders) but draws an SVG node by node on every use: about 7 ms for one
of the library's drawings, 13 % of a 6-exercise handout with its tick sheet and
QR code. What a drawing writes into the PDF page depends only on the drawing
and the size it is drawn at, so the first draw at a size is recorded (the PDF
operators and the graphics states they name) and later draws copy the recording.
A drawing whose output needs anything more (fonts, embedded images, patterns,
gradients, groups) is drawn as WeasyPrint draws it, every time.

This leans on WeasyPrint's stream internals (`stream.stream`, `_resources`);
`tests/prescriptions/test_handout_images.py` renders with and without the
replay and compares, so a WeasyPrint upgrade that changes them fails there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from weasyprint.pdf.stream import Stream

# Resources a recorded drawing may not add: the copy would have to carry them over.
_NOT_REPLAYED = ("XObject", "Pattern", "Shading")


class ReplayedSVG:
    """An SVG image whose drawing at each size is recorded on first use."""

    def __init__(self, image: Any) -> None:
        self._image = image
        # (width, height) -> (operators, graphics states), or None: not replayable.
        self._recordings: dict[tuple[float, float], tuple[list[bytes], dict[str, Any]] | None] = {}

    def get_intrinsic_size(self, resolution: float, font_size: float) -> Any:
        return self._image.get_intrinsic_size(resolution, font_size)

    def draw(self, stream: Stream, width: float, height: float, style: Any) -> None:
        key = (width, height)
        if key not in self._recordings:
            self._recordings[key] = self._record(stream, width, height, style)
        recording = self._recordings[key]
        if recording is None:
            self._image.draw(stream, width, height, style)
            return
        operators, states = recording
        ext_g_states = stream._resources["ExtGState"]
        for name, state in states.items():
            ext_g_states.setdefault(name, state)
        # Saved and restored around the copy, so that the stream's idea of the
        # current colour, opacity and transform stays true after it.
        stream.push_state()
        stream.stream.extend(operators)
        stream.pop_state()

    def _record(
        self, stream: Stream, width: float, height: float, style: Any
    ) -> tuple[list[bytes], dict[str, Any]] | None:
        import pydyf

        resources = pydyf.Dictionary(
            {
                "ExtGState": pydyf.Dictionary(),
                "XObject": pydyf.Dictionary(),
                "Pattern": pydyf.Dictionary(),
                "Shading": pydyf.Dictionary(),
                "ColorSpace": stream._resources["ColorSpace"],
                "Font": None,
            }
        )
        scratch = stream.clone(resources=resources, fonts={}, images={}, tags=[])
        scratch.stream = []
        self._image.draw(scratch, width, height, style)
        operators = scratch.stream
        states = resources["ExtGState"]
        if (
            scratch._fonts
            or scratch._images
            or any(resources[name] for name in _NOT_REPLAYED)
            or not all(isinstance(operator, bytes) for operator in operators)
            # Graphics states added by name only (opacity): others are objects
            # that belong to the document they were made for.
            or not all(
                isinstance(state, pydyf.Dictionary) and state.keys() <= {"CA", "ca"}
                for state in states.values()
            )
        ):
            return None
        return list(operators), dict(states)


class ImageCache(dict[str, Any]):
    """WeasyPrint's image cache (URL -> parsed image, and a raster image's bytes),
    with every SVG image wrapped in a ReplayedSVG as it is stored."""

    def __setitem__(self, key: str, value: Any) -> None:
        from weasyprint.images import SVGImage

        if isinstance(value, SVGImage):
            value = ReplayedSVG(value)
        super().__setitem__(key, value)
