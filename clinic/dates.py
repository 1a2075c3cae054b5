"""A date of birth as three fields: day, month (by name) and year.

A calendar picker opens at today's month, forty to eighty years from the date a
therapist wants, and typing "03/04/1958" leaves it to the reader whether April or
March is meant. Three labelled fields, in the order the reader's language writes
dates, with the month spelt out, avoid both (the GOV.UK date-input pattern). The
admin puts them in a fieldset whose legend is the field's label.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.dates import MONTHS
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

# Nobody alive was born before this many years ago: an earlier year is a typo.
OLDEST_AGE_YEARS = 120
PARTS = ("day", "month", "year")


def _part_order() -> list[str]:
    """Day, month and year in the order the active language writes a short date
    (d.m.Y in German, m/d/Y in American English)."""
    pattern = str(formats.get_format("SHORT_DATE_FORMAT"))
    positions = {}
    for part, letters in (("day", "dj"), ("month", "mnMbEFN"), ("year", "yY")):
        found = [pattern.find(c) for c in letters if c in pattern]
        positions[part] = min(found) if found else PARTS.index(part) + 100
    return sorted(PARTS, key=lambda part: positions[part])


class DateOfBirthWidget(forms.MultiWidget):
    template_name = ""  # rendered by render() below

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        number = {"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}
        widgets: dict[str, forms.Widget | type[forms.Widget]] = {
            "day": forms.TextInput(
                attrs={**number, "size": "2", "maxlength": "2", "class": "rehabit-dob-day"}
            ),
            "month": forms.Select(
                attrs={"class": "rehabit-dob-month"},
                choices=[("", "–"), *MONTHS.items()],
            ),
            "year": forms.TextInput(
                attrs={**number, "size": "4", "maxlength": "4", "class": "rehabit-dob-year"}
            ),
        }
        super().__init__(widgets, attrs)

    def decompress(self, value: Any) -> list[str | None]:
        if isinstance(value, datetime.date):
            return [str(value.day), str(value.month), str(value.year)]
        return [None, None, None]

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        values = value if isinstance(value, list | tuple) else self.decompress(value)
        final = self.build_attrs(self.attrs, attrs)
        base_id = final.get("id") or f"id_{name}"
        labels = {"day": _("Day"), "month": _("Month"), "year": _("Year")}
        parts = dict(zip(PARTS, zip(self.widgets, values, strict=True), strict=True))
        extra = {k: v for k, v in final.items() if k.startswith("aria-")}
        rows = []
        for part in _part_order():
            widget, part_value = parts[part]
            part_id = f"{base_id}_{part}"
            html = widget.render(f"{name}_{part}", part_value, {**extra, "id": part_id}, renderer)
            rows.append((part_id, labels[part], html))
        items = format_html_join(
            "",
            '<div class="rehabit-dob-part"><label for="{}">{}</label>{}</div>',
            rows,
        )
        return format_html('<div class="rehabit-dob">{}</div>', items)


class DateOfBirthField(forms.Field):
    """Three raw strings in, a date (or None) out, with a message that names what
    is wrong. Never a future date, nor one more than OLDEST_AGE_YEARS ago."""

    widget = DateOfBirthWidget
    default_error_messages = {
        "incomplete": _("Enter the day, the month and the year of birth (%(missing)s missing)."),
        "day": _("Enter the day as a number from 1 to 31."),
        "month": _("Choose the month."),
        "year": _("Enter the year with four digits, for example 1958."),
        "no_such_day": _("%(month)s %(year)s has no day %(day)s."),
        "future": _("The date of birth cannot be in the future."),
        "too_old": _("Check the year: the patient would be over %(years)s years old."),
    }

    def to_python(self, value: Any) -> datetime.date | None:
        if isinstance(value, datetime.date):
            return value
        raw = list(value) if isinstance(value, list | tuple) else [None, None, None]
        day, month, year = (str(v or "").strip() for v in (raw + [None] * 3)[:3])
        if not (day or month or year):
            return None
        missing = [
            str(label)
            for label, v in ((_("day"), day), (_("month"), month), (_("year"), year))
            if not v
        ]
        if missing:
            raise ValidationError(
                self.error_messages["incomplete"],
                code="incomplete",
                params={"missing": ", ".join(missing)},
            )
        if not day.isdigit() or not 1 <= int(day) <= 31:
            raise ValidationError(self.error_messages["day"], code="day")
        if not month.isdigit() or not 1 <= int(month) <= 12:
            raise ValidationError(self.error_messages["month"], code="month")
        if not year.isdigit() or len(year) != 4:
            raise ValidationError(self.error_messages["year"], code="year")
        try:
            born = datetime.date(int(year), int(month), int(day))
        except ValueError:
            raise ValidationError(
                self.error_messages["no_such_day"],
                code="no_such_day",
                params={"month": MONTHS[int(month)], "year": year, "day": int(day)},
            ) from None
        today = timezone.localdate()
        if born > today:
            raise ValidationError(self.error_messages["future"], code="future")
        if born.year < today.year - OLDEST_AGE_YEARS:
            raise ValidationError(
                self.error_messages["too_old"], code="too_old", params={"years": OLDEST_AGE_YEARS}
            )
        return born

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != self.to_python(initial)
        except ValidationError:
            return True

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        return {}
