"""CSV exports for clinic administrators: patients with adherence and latest pain,
and the session logs of a date range.

Both are streamed row by row (the database is read in chunks), written as UTF-8
with a byte-order mark so that spreadsheet programs read accents right, and
every text cell that a spreadsheet would take for a formula (one starting with
=, +, -, @, a tab or a carriage return) is prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from clinic.models import Patient
from prescriptions import adherence
from prescriptions.models import SessionLog

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_SIZE = 500
# The longest date range of session logs one export may cover.
MAX_RANGE_DAYS = 366


def neutralise(value: object) -> object:
    """A cell as written: text that a spreadsheet would run as a formula gets a leading
    apostrophe; numbers, dates and empty cells are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Line:
    """A file-like object that hands back what csv.writer writes to it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The CSV text, one line at a time, the byte-order mark first."""
    writer = csv.writer(_Line())
    yield BOM + writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        yield writer.writerow(["" if cell is None else neutralise(cell) for cell in row])


def _yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def patient_header(with_clinic: bool) -> list[str]:
    header = [
        _("Patient ID"),
        _("Last name"),
        _("First name"),
        _("Date of birth"),
        _("Primary therapist"),
        _("Active"),
        _("Adherence, last 7 days (%)"),
        _("Sessions done / due, last 7 days"),
        _("Adherence, last 28 days (%)"),
        _("Sessions done / due, last 28 days"),
        _("Last session logged"),
        _("Latest pain (0-10)"),
        _("Pain change over 7 days"),
        _("Nerve symptoms lasted this week"),
    ]
    return [_("Clinic"), *header] if with_clinic else header


def patient_rows(
    patients: QuerySet[Patient], today: datetime.date, *, with_clinic: bool
) -> Iterator[list[object]]:
    """One row a patient, every figure from `prescriptions.adherence` (one query a chunk)."""
    qs = adherence.annotate_patients(
        patients.select_related("primary_therapist__user", "clinic").order_by(
            "last_name", "first_name", "pk"
        ),
        today,
    )
    for p in qs.iterator(chunk_size=CHUNK_SIZE):
        row: list[object] = [
            p.pk,
            p.last_name,
            p.first_name,
            p.date_of_birth.isoformat() if p.date_of_birth else None,
            str(p.primary_therapist) if p.primary_therapist else None,
            _yes_no(p.is_active),
            p.adherence_7,  # type: ignore[attr-defined]
            f"{p.adherence_7_completed} / {p.adherence_7_prescribed}",  # type: ignore[attr-defined]
            p.adherence_28,  # type: ignore[attr-defined]
            f"{p.adherence_28_completed} / {p.adherence_28_prescribed}",  # type: ignore[attr-defined]
            p.last_log_date.isoformat() if p.last_log_date else None,  # type: ignore[attr-defined]
            p.latest_pain,  # type: ignore[attr-defined]
            p.pain_change_7d,  # type: ignore[attr-defined]
            _yes_no(p.lasting_nerve_symptoms),  # type: ignore[attr-defined]
        ]
        yield [p.clinic.name, *row] if with_clinic else row


def session_header(with_clinic: bool) -> list[str]:
    header = [
        _("Date"),
        _("Session of the day"),
        _("Patient ID"),
        _("Patient"),
        _("Plan"),
        _("Pain (0-10)"),
        _("Nerve symptoms"),
        _("Symptoms lasted"),
        _("Minutes"),
        _("How hard it felt"),
        _("Comment"),
        _("Recorded at"),
    ]
    return [_("Clinic"), *header] if with_clinic else header


def session_rows(
    logs: QuerySet[SessionLog],
    start: datetime.date,
    end: datetime.date,
    *,
    with_clinic: bool,
) -> Iterator[list[object]]:
    qs = (
        logs.filter(date__range=(start, end))
        .select_related("plan__patient__clinic")
        .order_by("date", "plan__patient__last_name", "plan__patient_id", "session_number")
    )
    for log in qs.iterator(chunk_size=CHUNK_SIZE):
        patient = log.plan.patient
        row: list[object] = [
            log.date.isoformat(),
            log.session_number,
            patient.pk,
            patient.full_name,
            log.plan.title,
            log.pain,
            log.get_nerve_symptoms_display(),
            _yes_no(log.symptoms_lasted),
            log.symptoms_minutes,
            log.get_effort_display() if log.effort else None,
            log.comment,
            log.created_at.astimezone(patient.clinic.zone).strftime("%Y-%m-%d %H:%M"),
        ]
        yield [patient.clinic.name, *row] if with_clinic else row


def filename(kind: str, *parts: Any) -> str:
    return "-".join([kind, *(str(p) for p in parts)]) + ".csv"
