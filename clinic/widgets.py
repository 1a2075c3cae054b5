"""Form widgets shared by the admin's forms."""

from __future__ import annotations

from typing import Any

from django import forms


class DateBox(forms.DateInput):
    """The browser's date picker (<input type="date">).

    Its value must be an ISO date (2026-12-04) whatever the language: the browser
    shows it in the user's own format, but a localised value such as German
    "04.12.2026" leaves the box empty. Django reads ISO dates back in every language.
    """

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")
