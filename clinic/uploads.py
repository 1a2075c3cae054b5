"""Checks for an exercise picture a therapist uploads: size, real type, safe SVG.

An uploaded file is shown in the admin, the portal and the PDF handout, so an
SVG is rebuilt from an allow-list rather than trusted: no scripts, no event
handlers, nothing fetched from elsewhere.
"""

from __future__ import annotations

import io
import re
from typing import IO, Any
from xml.etree import ElementTree as ET

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_BYTES = 2 * 1024 * 1024
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"

RASTER_TYPES = {"PNG": {".png"}, "JPEG": {".jpg", ".jpeg"}}

ALLOWED_ELEMENTS = {
    "svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon",
    "title", "desc", "defs", "use", "symbol", "text", "tspan",
    "linearGradient", "radialGradient", "stop", "clipPath",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "id", "class", "viewBox", "width", "height", "x", "y", "x1", "y1", "x2", "y2",
    "cx", "cy", "r", "rx", "ry", "d", "points", "transform", "fill", "fill-opacity",
    "fill-rule", "stroke", "stroke-width", "stroke-linecap", "stroke-linejoin",
    "stroke-dasharray", "stroke-dashoffset", "stroke-opacity", "stroke-miterlimit",
    "opacity", "font-size", "font-family", "font-weight", "text-anchor",
    "dominant-baseline", "preserveAspectRatio", "role", "aria-label", "aria-labelledby",
    "offset", "stop-color", "stop-opacity", "gradientUnits", "gradientTransform",
    "clip-path", "clipPathUnits", "href", "version", "style",
}  # fmt: skip
# Presentation values may point at a local gradient or clip path, nothing else.
URL_REF = re.compile(r"url\(\s*([^)]*)\)", re.IGNORECASE)
STYLE_ALLOWED = re.compile(r"^[\w\s:;#.,%()\-'\"]*$")


def _reject(message: str) -> ValidationError:
    return ValidationError(message, code="invalid_illustration")


def _read(file: IO[bytes] | Any) -> bytes:
    size = getattr(file, "size", None)
    if size is not None and size > MAX_BYTES:
        raise _reject(_("The picture is larger than 2 MB. Please upload a smaller file."))
    if hasattr(file, "seek"):
        file.seek(0)
    data = file.read(MAX_BYTES + 1)
    if hasattr(file, "seek"):
        file.seek(0)
    if len(data) > MAX_BYTES:
        raise _reject(_("The picture is larger than 2 MB. Please upload a smaller file."))
    if not data:
        raise _reject(_("The file is empty."))
    return bytes(data)


def _extension(file: Any) -> str:
    name = str(getattr(file, "name", "") or "").lower()
    return name[name.rfind(".") :] if "." in name else ""


def validate_illustration(file: Any) -> None:
    """Accept a PNG, JPEG or SVG up to 2 MB whose content matches its name."""
    data = _read(file)
    ext = _extension(file)
    if ext == ".svg":
        sanitise_svg(data)  # raises if it is not a usable SVG
        return
    if ext not in {".png", ".jpg", ".jpeg"}:
        raise _reject(_("Upload a PNG, JPEG or SVG picture."))
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _reject(_("This file is not a readable PNG or JPEG picture.")) from exc
    if kind not in RASTER_TYPES or ext not in RASTER_TYPES[kind]:
        raise _reject(
            _("The file's name says %(ext)s but its content is %(kind)s.")
            % {"ext": ext, "kind": kind or _("something else")}
        )


def _local(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return None, tag


def _safe_value(name: str, value: str) -> bool:
    lowered = re.sub(r"\s+", "", value).lower()
    if "javascript:" in lowered or "data:" in lowered or "expression(" in lowered:
        return False
    if "@import" in lowered:
        return False
    for ref in URL_REF.findall(value):
        if not ref.strip(" '\"").startswith("#"):
            return False
    return name != "style" or bool(STYLE_ALLOWED.match(value))


def sanitise_svg(data: bytes) -> bytes:
    """Rebuild an SVG from allowed elements and attributes only.

    Scripts, foreignObject, event handlers, external or javascript: links,
    <style> sheets, DOCTYPEs and entities are all dropped or refused.
    """
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise _reject(_("SVG files with a DOCTYPE or entities are not accepted."))
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise _reject(_("This file is not a readable SVG picture.")) from exc
    ns, name = _local(root.tag)
    if name != "svg" or ns not in (SVG_NS, None):
        raise _reject(_("This file is not an SVG picture."))
    clean = _copy(root)
    assert clean is not None
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    rebuilt: bytes = ET.tostring(clean, encoding="utf-8", xml_declaration=False)
    return rebuilt


def _copy(node: ET.Element) -> ET.Element | None:
    ns, name = _local(node.tag)
    if ns not in (SVG_NS, None) or name not in ALLOWED_ELEMENTS:
        return None
    out = ET.Element(f"{{{SVG_NS}}}{name}")
    for key, value in node.attrib.items():
        attr_ns, attr = _local(key)
        if attr.lower().startswith("on"):
            continue
        if attr_ns not in (None, XLINK_NS) or attr not in ALLOWED_ATTRIBUTES:
            continue
        if attr == "href" and not value.strip().startswith("#"):
            continue  # only references inside the same drawing
        if not _safe_value(attr, value):
            continue
        out.set(f"{{{XLINK_NS}}}href" if attr_ns == XLINK_NS else attr, value)
    out.text = node.text
    out.tail = node.tail
    for child in node:
        copied = _copy(child)
        if copied is not None:
            out.append(copied)
        elif child.tail and child.tail.strip():
            # Keep the text that followed a dropped element.
            out.text = (out.text or "") + child.tail
    return out
