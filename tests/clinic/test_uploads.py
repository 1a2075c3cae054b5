import io

import pytest
from defusedxml import ElementTree as SafeET
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from clinic.uploads import MAX_BYTES, sanitise_svg, validate_illustration


def raster(fmt: str, size: tuple[int, int] = (20, 10)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "teal").save(buf, format=fmt)
    return buf.getvalue()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


CLEAN_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><title>Bridge</title>'
    b'<path d="M0 0L10 10" stroke="#123456" stroke-width="2"/></svg>'
)


def accepted_whole(name: str, data: bytes) -> bool:
    """Accepted, and left rewound with every byte there for the storage to save."""
    file = upload(name, data)
    validate_illustration(file)  # raises ValidationError if refused
    return file.tell() == 0 and file.read() == data


def test_it_accepts_a_png_and_a_jpeg():
    assert accepted_whole("bridge.png", raster("PNG"))
    assert accepted_whole("bridge.jpg", raster("JPEG"))
    assert accepted_whole("bridge.JPEG", raster("JPEG"))


def test_it_accepts_a_clean_svg():
    assert accepted_whole("bridge.svg", CLEAN_SVG)


def test_it_rejects_a_file_over_two_megabytes():
    big = upload("big.png", raster("PNG") + b"\0" * MAX_BYTES)
    with pytest.raises(ValidationError, match="larger than 2 MB"):
        validate_illustration(big)


def test_it_rejects_content_that_does_not_match_the_extension():
    with pytest.raises(ValidationError, match="content is PNG"):
        validate_illustration(upload("bridge.jpg", raster("PNG")))


def test_it_rejects_text_dressed_up_as_a_picture():
    with pytest.raises(ValidationError, match="not a readable PNG or JPEG"):
        validate_illustration(upload("bridge.png", b"<html>not a picture</html>"))


def test_it_rejects_a_truncated_png():
    with pytest.raises(ValidationError, match="not a readable PNG or JPEG"):
        validate_illustration(upload("bridge.png", raster("PNG")[:40]))


def test_it_rejects_other_types_and_empty_files():
    with pytest.raises(ValidationError, match="PNG, JPEG or SVG"):
        validate_illustration(upload("bridge.gif", raster("GIF")))
    with pytest.raises(ValidationError, match="empty"):
        validate_illustration(upload("bridge.png", b""))


def test_it_rejects_an_svg_that_is_not_svg():
    with pytest.raises(ValidationError, match="not a readable SVG"):
        validate_illustration(upload("bridge.svg", raster("PNG")))
    with pytest.raises(ValidationError, match="not an SVG"):
        validate_illustration(upload("bridge.svg", b"<html><body/></html>"))


def test_it_refuses_doctype_and_entities():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaa">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg">&a;</svg>'
    )
    with pytest.raises(ValidationError, match="DOCTYPE"):
        sanitise_svg(bomb)


def test_it_strips_scripts_handlers_and_foreign_content():
    dirty = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" onload="alert(1)">'  # noqa: E501
        b"<script>alert(2)</script>"
        b'<foreignObject><body xmlns="http://www.w3.org/1999/xhtml">hi</body></foreignObject>'
        b'<circle r="3" onclick="alert(3)" fill="red"/>'
        b"<style>@import url(http://evil.example/x.css);</style>"
        b"</svg>"
    )
    clean = sanitise_svg(dirty).decode()
    assert "script" not in clean
    assert "alert" not in clean
    assert "foreignObject" not in clean
    assert "onclick" not in clean and "onload" not in clean
    assert "evil.example" not in clean and "@import" not in clean
    # What was safe survives.
    root = SafeET.fromstring(clean)
    assert root.find("{http://www.w3.org/2000/svg}circle").get("fill") == "red"


def test_it_drops_external_and_javascript_links_but_keeps_local_ones():
    dirty = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        b'<defs><path id="p" d="M0 0L1 1"/></defs>'
        b'<use href="#p"/><use xlink:href="https://evil.example/a.svg#x"/>'
        b'<use href="javascript:alert(1)"/>'
        b'<rect width="2" height="2" fill="url(https://evil.example/g)" style="fill: url(http://x/y)"/>'
        b'<rect width="2" height="2" fill="url(#p)"/>'
        b"</svg>"
    )
    clean = sanitise_svg(dirty).decode()
    assert "evil.example" not in clean
    assert "javascript" not in clean
    assert "http://x/y" not in clean
    assert 'href="#p"' in clean
    assert 'fill="url(#p)"' in clean


def test_a_sanitised_svg_still_parses_as_svg():
    out = sanitise_svg(CLEAN_SVG)
    root = SafeET.fromstring(out)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.find("{http://www.w3.org/2000/svg}title").text == "Bridge"
