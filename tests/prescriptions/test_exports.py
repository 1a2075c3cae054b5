"""CSV exports: clinic administrators only, their own clinic only, streamed as
UTF-8 with a byte-order mark, with spreadsheet formulas neutralised."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.urls import reverse

from clinic.models import AuditEntry
from clinic.scoping import unscoped
from prescriptions import exports
from prescriptions.models import SessionLog
from tests import factories
from tests.conftest import login

PAGE = reverse("rehabit_exports")
PATIENTS = reverse("rehabit_export_patients")


def _rows(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Cache-Control"].startswith("private, no-store")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Hamstring – fine", "Hamstring – fine"),
        (-2, -2),
        (None, None),
    ],
)
def test_it_neutralises_formulas_in_text_cells(value, written):
    assert exports.neutralise(value) == written


@pytest.fixture
def logged(plan, outside_patient, outsider, shared_exercise):
    with unscoped():
        SessionLog.objects.create(
            plan=plan, date=datetime.date(2026, 11, 3), pain=5, comment="=cmd|'/c calc'!A1"
        )
        SessionLog.objects.create(plan=plan, date=datetime.date(2026, 10, 1), pain=2)
        other = factories.make_plan(outside_patient, outsider, [shared_exercise])
        SessionLog.objects.create(plan=other, date=datetime.date(2026, 11, 3), pain=9)
    return plan


def test_a_clinic_admin_downloads_own_patients(client, clinic_admin, patient, outside_patient):
    login(client, clinic_admin)
    rows = _rows(client.get(PATIENTS))
    assert rows[0][:3] == ["Patient ID", "Last name", "First name"]
    assert [r[1] for r in rows[1:]] == ["Reed"]


def test_session_logs_for_a_range_only_own_clinic(client, clinic_admin, logged):
    login(client, clinic_admin)
    response = client.get(PAGE, {"start": "2026-11-01", "end": "2026-11-30"})
    rows = _rows(response)
    assert rows[0][0] == "Date"
    assert [(r[0], r[5], r[10]) for r in rows[1:]] == [("2026-11-03", "5", "'=cmd|'/c calc'!A1")]
    with unscoped():
        (entry,) = AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT)
    assert (entry.clinic_id, entry.detail) == (
        clinic_admin.clinic_id,
        "session logs 2026-11-01 to 2026-11-30 as CSV",
    )


def test_a_bad_range_is_refused_with_a_message(client, clinic_admin, logged):
    login(client, clinic_admin)
    response = client.get(PAGE, {"start": "2026-11-30", "end": "2026-11-01"})
    assert response.status_code == 400
    assert "The end date cannot be before the start date." in response.content.decode()
    response = client.get(PAGE, {"start": "yesterday", "end": "2026-11-01"})
    assert response.status_code == 400


def test_a_therapist_who_is_not_admin_may_not_export(client, therapist, patient):
    login(client, therapist)
    assert client.get(PATIENTS).status_code == 403
    assert client.get(PAGE).status_code == 403
    assert "Exports" not in client.get(reverse("admin:index")).content.decode()


def test_anonymous_is_sent_to_sign_in(client, db):
    assert client.get(PATIENTS).status_code == 302


def test_the_page_offers_both_downloads(client, clinic_admin):
    login(client, clinic_admin)
    page = client.get(PAGE).content.decode()
    assert "Download patients (CSV)" in page and "Download session logs (CSV)" in page
    assert f'href="{PAGE}"' in client.get(reverse("admin:index")).content.decode()


def test_the_date_boxes_hold_iso_dates_in_german(client, clinic_admin):
    login(client, clinic_admin)
    page = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    today = clinic_admin.clinic.today()
    assert f'type="date" name="end" value="{today.isoformat()}"' in page
    assert "Bis" in page


def test_the_patient_export_costs_the_same_queries_for_more_patients(
    client, clinic_admin, therapist, django_assert_max_num_queries
):
    for n in range(3):
        factories.make_patient(therapist.clinic, therapist, first_name=f"A{n}")
    login(client, clinic_admin)
    response = client.get(PATIENTS)
    with django_assert_max_num_queries(2):
        rows = _rows(response)
    assert len(rows) == 4
