"""The History pages of a plan and of a patient in the admin."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from clinic import audit
from clinic.models import AuditEntry
from clinic.scoping import scope, unscoped
from prescriptions import plans
from prescriptions.models import Plan, PlanItem
from tests import factories
from tests.conftest import login
from tests.factories import on_day

pytestmark = pytest.mark.django_db

START = datetime.date(2026, 3, 2)
# The signed-in therapist (session, login, profile, second factor), the plan, all its
# versions with who made them in one query, the audit entry of the read.
PLAN_HISTORY_QUERIES = 10


def day(n: int) -> datetime.date:
    return START + datetime.timedelta(days=n)


def plan_history(plan: Plan) -> str:
    return reverse("admin:prescriptions_plan_history", args=[plan.pk])


@pytest.fixture
def changed(patient, therapist, shared_exercise) -> Plan:
    """A plan made on 2 March, its stretch raised from 2 to 3 sets on the 5th by the
    therapist, paused on the 9th."""
    with scope(patient.clinic), on_day(START):
        plan = factories.make_plan(
            patient, therapist, [shared_exercise], start_date=START, title="Sciatic nerve plan"
        )
        item = plan.items.get()
        item.sets = 2
        item.save()
    with scope(patient.clinic), on_day(day(3)), audit.acting_as(therapist.user):
        item.sets = 3
        item.save()
    with scope(patient.clinic), on_day(day(7)):
        plans.set_status(Plan.objects.filter(pk=plan.pk), Plan.Status.PAUSED)
        Plan.objects.filter(pk=plan.pk).update(title="Sciatic nerve plan, paused")
        plans.bump_revision(plan)
    return plan


def test_it_lists_the_versions_newest_first_in_plain_words(client, therapist, changed):
    login(client, therapist)
    page = client.get(plan_history(changed))
    assert page.status_code == 200
    text = page.content.decode()
    paused = text.index("Status: Active → Paused.")
    sets = text.index("Sets for Standing hamstring stretch: 2 → 3.")
    assert paused < sets  # newest first
    assert "Title: Sciatic nerve plan → Sciatic nerve plan, paused." in text
    assert "The oldest version kept" in text
    assert therapist.user.full_name in text  # who raised the sets
    assert "March 5, 2026" in text  # from which day


def test_the_plan_page_links_to_it(client, therapist, changed):
    login(client, therapist)
    page = client.get(reverse("admin:prescriptions_plan_change", args=[changed.pk]))
    assert plan_history(changed) in page.content.decode()


def test_it_shows_the_plan_as_it_was_on_a_day(client, therapist, changed):
    login(client, therapist)
    page = client.get(plan_history(changed), {"on": day(4).isoformat()})
    text = page.content.decode()
    assert "The plan as it was on March 6, 2026" in text
    then = text[text.index("then-heading") :]
    assert "Sciatic nerve plan</td>" in then and "Active" in then
    today = client.get(plan_history(changed), {"on": day(20).isoformat()}).content.decode()
    assert "Paused" in today[today.index("then-heading") :]
    before = client.get(plan_history(changed), {"on": "2026-01-01"}).content.decode()
    # Before its first day, the plan as it was at the end of that day (as adherence counts).
    assert "Sciatic nerve plan</td>" in before[before.index("then-heading") :]


@pytest.mark.parametrize("bad", ["yesterday", "2026-02-30", "9" * 30])
def test_a_bad_date_gets_a_clear_message(client, therapist, changed, bad):
    login(client, therapist)
    page = client.get(plan_history(changed), {"on": bad})
    assert page.status_code == 200
    assert "Enter a date such as 2026-03-03" in page.content.decode()


def test_another_clinics_plan_is_a_404_and_a_refused_lookup(client, outsider, changed):
    login(client, outsider)
    assert client.get(plan_history(changed)).status_code == 404
    with unscoped():
        entry = AuditEntry.objects.filter(action=AuditEntry.Action.REFUSED).latest("pk")
    assert f"prescriptions.plan {changed.pk}" in entry.detail
    assert (
        client.get(reverse("admin:clinic_patient_history", args=[changed.patient_id])).status_code
        == 404
    )


def test_anonymous_visitors_are_sent_to_sign_in(client, changed):
    page = client.get(plan_history(changed))
    assert page.status_code == 302 and "login" in page["Location"]


def test_it_reads_a_constant_number_of_queries(
    client, therapist, changed, shared_exercise, django_assert_num_queries
):
    login(client, therapist)
    url, query = plan_history(changed), {"on": day(4).isoformat()}
    client.get(url, query)  # renews the session (clinic.sessions)
    with django_assert_num_queries(PLAN_HISTORY_QUERIES):
        client.get(url, query)
    with scope(changed.patient.clinic):
        for n in range(5):
            PlanItem.objects.create(plan=changed, exercise=shared_exercise, order=n + 2, reps=n + 1)
    with django_assert_num_queries(PLAN_HISTORY_QUERIES):
        client.get(url, query)


def test_it_speaks_german(client, therapist, changed):
    login(client, therapist)
    text = client.get(
        plan_history(changed), {"on": day(4).isoformat()}, HTTP_ACCEPT_LANGUAGE="de"
    ).content.decode()
    assert "Status: Aktiv → Pausiert." in text
    assert "6. März 2026" in text
    assert "Änderungen, neueste zuerst" in text


def test_the_patient_history_shows_the_record_versions(client, therapist, patient):
    with scope(patient.clinic), on_day(START):
        patient.phone = "0170 111"
        patient.save()
    with scope(patient.clinic), on_day(day(5)), audit.acting_as(therapist.user):
        patient.phone = "0170 222"
        patient.large_print = True
        patient.reminder_time = datetime.time(8, 30)
        patient.preferred_language = "de"
        patient.save()
    login(client, therapist)
    url = reverse("admin:clinic_patient_history", args=[patient.pk])
    change = client.get(reverse("admin:clinic_patient_change", args=[patient.pk]))
    assert url in change.content.decode()
    text = client.get(url, {"on": day(1).isoformat()}).content.decode()
    assert "Phone: 0170 111 → 0170 222." in text
    assert "Large-print handouts: No → Yes." in text
    assert "Preferred reminder time: — → 08:30." in text
    assert "Preferred language: English → German." in text
    assert "0170 111</td>" in text[text.index("then-heading") :]
