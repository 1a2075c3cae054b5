"""Two of WeasyPrint's per-box helpers without their inner calls, same results.

WeasyPrint asks every box, many times during layout, whether it is in normal
flow (five method calls, each reading the box's style) and resolves every
box's margins, paddings and sizes through one function call per property.
For a 6-exercise handout with about 740 boxes these calls alone were about
4 % of the render. `is_in_normal_flow` and `resolve_percentages` here read
the same style values and compute the same results in one function each.

pydyf, writing the PDF, turns every operator of every page and every entry of
the tagged structure tree into bytes through a function with four isinstance
checks; `_dictionary_data`, `_array_data` and `_stream_data` pass bytes, names
and integers straight through (0.8 % of the render) and write the same bytes.

They replace WeasyPrint's functions in the modules that use them (`install`);
`tests/prescriptions/test_handout_speedups.py` lays out documents with and
without them (floats, absolute and fixed positions, running elements,
footnotes, percentages, calc(), tables) and compares the PDFs.
"""

from __future__ import annotations

import importlib
import sys
from math import inf
from typing import Any

_FLOATS = ("left", "right", "inline-start", "inline-end", "footnote")
_OUT_OF_FLOW_POSITIONS = ("absolute", "fixed")
_FUNCTION_POSITIONS = ("running()", "note()")
_BORDERS = ("border_top_width", "border_right_width", "border_bottom_width", "border_left_width")

_LAYOUT_MODULES = (
    "weasyprint.layout",
    "weasyprint.layout.column",
    "weasyprint.layout.flex",
    "weasyprint.layout.grid",
    "weasyprint.layout.table",
)

_originals: dict[str, Any] = {}
# WeasyPrint's check_math, boxes module, adjust_box_sizing and percentage, set by install.
_weasyprint: tuple[Any, ...] = ()
_to_bytes: Any = None  # pydyf's, set by install


def install() -> None:
    """Use these helpers in WeasyPrint (once per process)."""
    from weasyprint.formatting_structure import boxes
    from weasyprint.layout import percent

    global _weasyprint, _to_bytes
    import pydyf
    from weasyprint.css.functions import check_math

    if _originals:
        return
    _weasyprint = (check_math, boxes, percent.adjust_box_sizing, percent.percentage)
    _to_bytes = pydyf._to_bytes
    _originals["resolve_percentages"] = percent.resolve_percentages
    _originals["is_in_normal_flow"] = boxes.Box.is_in_normal_flow
    _replace(percent.resolve_percentages, resolve_percentages)
    boxes.Box.is_in_normal_flow = is_in_normal_flow
    for cls, data in (
        (pydyf.Dictionary, _dictionary_data),
        (pydyf.Array, _array_data),
        (pydyf.Stream, _stream_data),
    ):
        _originals[f"{cls.__name__}.data"] = cls.data
        cls.data = property(data)


def uninstall() -> None:
    """WeasyPrint's own helpers again (the tests compare both)."""
    import pydyf
    from weasyprint.formatting_structure import boxes

    if not _originals:
        return
    _replace(resolve_percentages, _originals["resolve_percentages"])
    boxes.Box.is_in_normal_flow = _originals["is_in_normal_flow"]
    for cls in (pydyf.Dictionary, pydyf.Array, pydyf.Stream):
        cls.data = _originals[f"{cls.__name__}.data"]
    _originals.clear()


def _replace(old: Any, new: Any) -> None:
    """Point every WeasyPrint module that imported `old` by name at `new`."""
    # Every layout module imported, so that none is left with the old function.
    for module_name in _LAYOUT_MODULES:
        importlib.import_module(module_name)
    function_name = old.__name__
    for name, module in list(sys.modules.items()):
        if name.startswith("weasyprint.") and getattr(module, function_name, None) is old:
            setattr(module, function_name, new)


def is_in_normal_flow(box: Any) -> bool:
    """Box.is_in_normal_flow: not floated (or a footnote), not absolutely or fixed
    positioned, not a running element or a note."""
    style = box.style
    if style["float"] in _FLOATS:
        return False
    position = style["position"]
    return position not in _OUT_OF_FLOW_POSITIONS and position[0] not in _FUNCTION_POSITIONS


def resolve_percentages(box: Any, containing_block: Any) -> None:
    """weasyprint.layout.percent.resolve_percentages: the box's used margins,
    paddings, sizes and border widths from its computed style."""
    check_math, boxes, adjust_box_sizing, percentage = _weasyprint

    if isinstance(containing_block, boxes.Box):
        cb_width = containing_block.width
        cb_height = containing_block.height
    else:
        cb_width, cb_height = containing_block
    maybe_height = cb_height if isinstance(box, boxes.PageBox) else cb_width
    style = box.style

    if cb_height == "auto":
        # The containing block's height depends on its content.
        height = style["height"]
        if height == "auto" or check_math(height) or height.unit == "%":
            box.height = "auto"
        else:
            assert height.unit.lower() == "px"
            box.height = height.value
        heights: tuple[tuple[str, Any], ...] = (("min_height", 0), ("max_height", inf))
    else:
        heights = (("height", cb_height), ("min_height", cb_height), ("max_height", cb_height))
    for name, refer_to in (
        ("margin_left", cb_width),
        ("margin_right", cb_width),
        ("margin_top", maybe_height),
        ("margin_bottom", maybe_height),
        ("padding_left", cb_width),
        ("padding_right", cb_width),
        ("padding_top", maybe_height),
        ("padding_bottom", maybe_height),
        ("width", cb_width),
        ("min_width", cb_width),
        ("max_width", cb_width),
        *heights,
    ):
        # resolve_one_percentage and percentage, with lengths (px) and
        # percentages worked out here and anything else left to WeasyPrint.
        value = style[name]
        unit = getattr(value, "unit", None)
        if unit == "px":
            value = value.value
        elif unit == "%":
            value = refer_to * value.value / 100
        else:
            value = percentage(value, style, refer_to)
            if value == "auto" and name in ("min_width", "min_height"):
                value = 0
        setattr(box, name, value)

    collapse = style["border_collapse"] == "collapse"
    for name in _BORDERS:
        # Resolved already by the border conflict resolution of collapsed borders.
        if not (collapse and hasattr(box, name)):
            setattr(box, name, style[name])

    adjust_box_sizing(box, "width")
    adjust_box_sizing(box, "height")


def _bytes(item: Any) -> bytes:
    """pydyf._to_bytes, with bytes, names and integers passed straight through."""
    cls = item.__class__
    if cls is bytes:
        return item  # type: ignore[no-any-return]
    if cls is str or cls is int:
        return str(item).encode("ascii")
    return _to_bytes(item)  # type: ignore[no-any-return]


def _dictionary_data(dictionary: Any) -> bytes:
    """pydyf.Dictionary.data."""
    return (
        b"<<"
        + b"".join([b"/" + _bytes(key) + b" " + _bytes(value) for key, value in dictionary.items()])
        + b">>"
    )


def _array_data(array: Any) -> bytes:
    """pydyf.Array.data."""
    return b"[" + b" ".join([_bytes(child) for child in array]) + b"]"


def _stream_data(stream: Any) -> bytes:
    """pydyf.Stream.data (compressed by pydyf's zlib: see render._StreamZlib)."""
    import pydyf

    data = b"\n".join([item if item.__class__ is bytes else _bytes(item) for item in stream.stream])
    extra = pydyf.Dictionary(stream.extra.copy())
    if stream.compress:
        extra["Filter"] = "/FlateDecode"
        compressobj = pydyf.zlib.compressobj(level=9)
        data = compressobj.compress(data)
        data += compressobj.flush()
    extra["Length"] = len(data)
    return b"\n".join((extra.data, b"stream", data, b"endstream"))
