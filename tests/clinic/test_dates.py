"""Date of birth as day, month and year (clinic.dates), alone and on the patient page."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from clinic.dates import DateOfBirthField, DateOfBirthWidget
from clinic.models import Patient
from clinic.scoping import unscoped
from tests.clinic.test_admin import patient_form
from tests.conftest import login


def clean(day: str, month: str, year: str) -> datetime.date | None:
    return DateOfBirthField(required=False).clean([day, month, year])


def message(day: str, month: str, year: str) -> str:
    with pytest.raises(ValidationError) as caught:
        clean(day, month, year)
    return " ".join(caught.value.messages)


def test_it_reads_a_date_from_three_fields():
    assert clean("7", "3", "1958") == datetime.date(1958, 3, 7)
    assert clean(" 07 ", "03", "1958") == datetime.date(1958, 3, 7)


def test_three_empty_fields_are_no_date():
    assert clean("", "", "") is None


@pytest.mark.parametrize(
    ("day", "month", "year", "expected"),
    [
        ("7", "", "1958", "Enter the day, the month and the year of birth (month missing)."),
        ("", "", "1958", "(day, month missing)"),
        ("x", "3", "1958", "Enter the day as a number from 1 to 31."),
        ("32", "3", "1958", "Enter the day as a number from 1 to 31."),
        ("7", "13", "1958", "Choose the month."),
        ("7", "3", "58", "Enter the year with four digits, for example 1958."),
        ("31", "2", "1958", "February 1958 has no day 31."),
        ("1", "1", "1850", "Check the year: the patient would be over 120 years old."),
    ],
)
def test_it_says_what_is_wrong(day, month, year, expected):
    assert expected in message(day, month, year)


def test_it_refuses_a_date_in_the_future():
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    found = message(str(tomorrow.day), str(tomorrow.month), str(tomorrow.year))
    assert found == "The date of birth cannot be in the future."


def test_it_is_required_when_the_model_field_is():
    with pytest.raises(ValidationError):
        DateOfBirthField(required=True).clean(["", "", ""])


def test_the_widget_labels_each_part_in_the_readers_order():
    widget = DateOfBirthWidget()
    html = widget.render("date_of_birth", datetime.date(1958, 3, 7), {"id": "id_dob"})
    assert '<label for="id_dob_day">Day</label>' in html
    assert 'name="date_of_birth_day"' in html and 'value="7"' in html
    assert '<option value="3" selected>March</option>' in html
    assert 'value="1958"' in html
    # American English writes the month first.
    assert html.index("id_dob_month") < html.index("id_dob_day") < html.index("id_dob_year")
    with translation.override("de"):
        german = widget.render("date_of_birth", datetime.date(1958, 3, 7), {"id": "id_dob"})
    assert '<label for="id_dob_day">Tag</label>' in german
    assert '<option value="3" selected>März</option>' in german
    assert german.index("id_dob_day") < german.index("id_dob_month") < german.index("id_dob_year")


@pytest.mark.django_db
class TestOnThePatientPage:
    def test_it_saves_the_date(self, client, therapist, clinic):
        login(client, therapist)
        response = client.post(reverse("admin:clinic_patient_add"), patient_form())
        assert response.status_code == 302
        with unscoped():
            assert Patient.objects.get(first_name="Nora").date_of_birth == datetime.date(
                1950, 3, 14
            )

    def test_a_bad_date_changes_nothing_and_says_why(self, client, therapist, patient):
        login(client, therapist)
        url = reverse("admin:clinic_patient_change", args=[patient.pk])
        before = patient.date_of_birth
        response = client.post(
            url,
            patient_form(
                first_name="Changed",
                date_of_birth_day="30",
                date_of_birth_month="2",
                date_of_birth_year="1950",
            ),
        )
        assert response.status_code == 200
        assert "February 1950 has no day 30." in response.content.decode()
        with unscoped():
            patient.refresh_from_db()
        assert patient.first_name == "Paula" and patient.date_of_birth == before

    def test_the_page_shows_three_labelled_fields_in_a_fieldset(self, client, therapist, patient):
        with unscoped():
            Patient.objects.filter(pk=patient.pk).update(date_of_birth=datetime.date(1947, 11, 2))
        login(client, therapist)
        html = client.get(reverse("admin:clinic_patient_change", args=[patient.pk])).content
        text = html.decode()
        assert "<legend" in text and "Date of birth" in text
        assert 'name="date_of_birth_year"' in text and 'value="1947"' in text
        assert '<option value="11" selected>November</option>' in text
        assert 'class="vDateField' not in text  # no calendar that opens at today
