"""The patient list's rows (prescriptions.admin.rows) against Django's own renderer.

Each case renders the real changelist, then renders its ChangeList again with
Django's admin_list.result_list: the two must give the same HTML, cell by cell.
"""

from __future__ import annotations

import datetime
from typing import Any
from unittest import mock

import pytest
from django.contrib.admin.templatetags import admin_list
from django.urls import reverse
from django.utils import translation

from clinic.models import Patient
from clinic.scoping import unscoped
from prescriptions.admin import rows
from prescriptions.models import SessionLog
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:clinic_patient_changelist"


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


@pytest.fixture
def varied(clinic, therapist, colleague, shared_exercise) -> list[Patient]:
    """Patients whose rows take every kind of cell: empty and filled dates, no
    therapist, a portal login, no plan, no logs, high and rising pain, and a name
    that needs escaping."""
    today = clinic.today()
    made = [
        factories.make_patient(
            clinic,
            therapist,
            first_name="Olive",
            last_name="O'Brien <b>&",
            date_of_birth=datetime.date(1948, 2, 29),
            with_login=True,
        ),
        factories.make_patient(clinic, None, first_name="Nobody", last_name="Assigned"),
        factories.make_patient(clinic, colleague, first_name="Ann", last_name="Planless"),
    ]
    for n, back in enumerate(([0, 1, 2, 8, 9], [12, 13], [])):
        p = factories.make_patient(
            clinic,
            therapist,
            first_name=f"Pat{n}",
            last_name="Logged",
            date_of_birth=datetime.date(1960, 1, 1 + n),
        )
        plan = factories.make_plan(p, therapist, [shared_exercise], start_date=today - days(20))
        with unscoped():
            for k in back:
                SessionLog.objects.create(plan=plan, date=today - days(k), pain=min(10, 2 + k))
        made.append(p)
    return made


def both(response: Any) -> tuple[list[list[str]], list[list[str]]]:
    cl = response.context["cl"]
    theirs: Any = admin_list.result_list(cl)["results"]
    ours = [[str(cell) for cell in row] for row in rows.result_list(cl)["results"]]
    django = [[str(cell) for cell in row] for row in theirs]
    return ours, django


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"attention": "yes"},
        {"o": "-5.2", "q": "o"},
        {"last_log": "never", "is_active__exact": "1"},
        {"_popup": "1"},
    ],
)
def test_it_renders_the_rows_as_django_does(client, therapist, varied, params):
    login(client, therapist)
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    ours, django = both(response)
    assert ours == django
    assert len(ours) == len(response.context["cl"].result_list) > 0


def test_it_renders_the_rows_as_django_does_in_german(client, therapist, varied):
    login(client, therapist)
    with translation.override("de"):
        response = client.get(reverse(CHANGELIST), HTTP_ACCEPT_LANGUAGE="de")
        ours, django = both(response)
    assert ours == django
    assert any("29. Februar 1948" in cell for row in ours for cell in row)


def test_it_renders_a_superusers_list_as_django_does(admin_client, varied, outside_patient):
    response = admin_client.get(reverse(CHANGELIST))
    ours, django = both(response)
    assert ours == django
    assert len(ours) == 7


def test_the_page_shows_the_rows_rendered_here(client, therapist, varied):
    login(client, therapist)
    with mock.patch.object(rows, "_items", wraps=rows._items) as items:
        response = client.get(reverse(CHANGELIST), {"attention": "yes"})
    assert items.call_count == len(response.context["cl"].result_list) > 0
    ours, _django = both(response)
    page = response.content.decode()
    for row in ours:
        assert "".join(row) in page
    # A row links to its patient with the list's filters carried over.
    assert "/change/?_changelist_filters=attention%3Dyes" in page


def test_a_popup_list_is_left_to_django(client, therapist, varied):
    login(client, therapist)
    with mock.patch.object(rows, "_items", wraps=rows._items) as items:
        response = client.get(reverse(CHANGELIST), {"_popup": "1"})
    assert response.status_code == 200
    assert items.call_count == 0


def test_the_rows_query_reads_only_the_figures_the_list_shows(client, therapist, varied):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, therapist)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    by_id = [q["sql"] for q in queries.captured_queries if '"clinic_patient"."id" IN (' in q["sql"]]
    assert len(by_id) == 1
    assert '"symptoms_lasted"' not in by_id[0]
    assert "questionnaireresponse" not in by_id[0]
    # What the columns show is there.
    row = response.context["cl"].result_list[0]
    for name in ("adherence_7", "adherence_28_completed", "last_log_date", "pain_change_7d"):
        assert hasattr(row, name)
