"""Outcome questionnaires in the portal: due on Today, one question a screen, no JavaScript."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from clinic.scoping import unscoped
from prescriptions.models import QuestionnaireResponse
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def running_plan(patient, therapist, shared_exercise, clinic):
    today = clinic.today()
    return factories.make_plan(
        patient,
        therapist,
        [shared_exercise],
        start_date=today - datetime.timedelta(days=2),
        end_date=today + datetime.timedelta(days=40),
    )


@pytest.fixture
def nprs(running_plan):
    return factories.make_measure(running_plan, "nprs", every_weeks=2)


def _start(client, measure):
    return client.post(reverse("portal:questionnaire_start", args=[measure.pk]))


def _response(measure):
    with unscoped():
        return QuestionnaireResponse.objects.get(measure=measure)


def test_today_shows_a_due_questionnaire(client, patient, nprs):
    login(client, patient)
    page = client.get(reverse("portal:today")).content.decode()
    assert "A short questionnaire from your therapist" in page
    assert "Numeric Pain Rating Scale" in page
    assert "2 questions" in page
    assert reverse("portal:questionnaire_start", args=[nprs.pk]) in page


def test_several_due_questionnaires_share_one_card(client, patient, running_plan, nprs):
    psfs = factories.make_measure(running_plan, "psfs", every_weeks=2)
    login(client, patient)
    page = client.get(reverse("portal:today")).content.decode()
    assert "Short questionnaires from your therapist" in page
    assert "A short questionnaire from your therapist" not in page
    assert page.count("There are no right or wrong answers.") == 1
    assert page.count('class="questionnaire-start"') == 2
    # Each button names its questionnaire for screen readers.
    for measure in (nprs, psfs):
        assert reverse("portal:questionnaire_start", args=[measure.pk]) in page
        assert f": {measure.definition.name}</span></button>" in page


def test_the_patient_answers_one_question_per_screen_and_sends(client, patient, nprs):
    login(client, patient)
    response = _start(client, nprs)
    saved = _response(nprs)
    assert response.url == reverse("portal:questionnaire_step", args=[saved.pk, 1])
    page = client.get(response.url).content.decode()
    assert "Question 1 of 2" in page
    assert "Your worst pain in the last 24 hours" in page
    assert page.count('type="radio"') == 11
    assert "<script" not in page.split("<main", 1)[1]
    response = client.post(response.url, {"answer": "7"})
    assert response.url == reverse("portal:questionnaire_step", args=[saved.pk, 2])
    response = client.post(response.url, {"answer": "5"})
    assert response.url == reverse("portal:questionnaire_review", args=[saved.pk])
    page = client.get(response.url).content.decode()
    assert "7 \u2013 " not in page  # a middle value shows as its number
    assert "Send my answers" in page
    response = client.post(reverse("portal:questionnaire_review", args=[saved.pk]))
    assert response.url == reverse("portal:today")
    saved.refresh_from_db()
    assert saved.status == QuestionnaireResponse.Status.COMPLETED
    assert saved.answers == {"worst": 7, "average": 5}
    assert saved.score == Decimal("6.0")
    page = client.get(reverse("portal:today")).content.decode()
    assert "Thank you! Your answers are sent to your therapist." in page
    assert "A short questionnaire from your therapist" not in page


def test_a_missing_answer_gets_a_message_and_saves_nothing(client, patient, nprs):
    login(client, patient)
    url = _start(client, nprs).url
    response = client.post(url, {})
    assert response.status_code == 400
    assert "Choose one of the answers shown." in response.content.decode()
    response = client.post(url, {"answer": "42"})
    assert response.status_code == 400
    assert _response(nprs).answers == {}


def test_it_does_not_send_with_a_question_unanswered(client, patient, nprs):
    login(client, patient)
    url = _start(client, nprs).url
    client.post(url, {"answer": "3"})
    saved = _response(nprs)
    response = client.post(reverse("portal:questionnaire_review", args=[saved.pk]))
    assert response.url == reverse("portal:questionnaire_step", args=[saved.pk, 2])
    saved.refresh_from_db()
    assert saved.status == QuestionnaireResponse.Status.IN_PROGRESS


def test_carrying_on_goes_to_the_first_unanswered_question(client, patient, nprs):
    login(client, patient)
    client.post(_start(client, nprs).url, {"answer": "3"})
    page = client.get(reverse("portal:today")).content.decode()
    assert "Carry on (1 answered)" in page
    saved = _response(nprs)
    assert _start(client, nprs).url == reverse("portal:questionnaire_step", args=[saved.pk, 2])


def test_a_sent_questionnaire_can_be_corrected_from_history(client, patient, nprs):
    login(client, patient)
    url = _start(client, nprs).url
    client.post(url, {"answer": "3"})
    saved = _response(nprs)
    client.post(reverse("portal:questionnaire_step", args=[saved.pk, 2]), {"answer": "3"})
    client.post(reverse("portal:questionnaire_review", args=[saved.pk]))
    page = client.get(reverse("portal:history")).content.decode()
    review_url = reverse("portal:questionnaire_review", args=[saved.pk])
    assert review_url in page
    page = client.get(review_url).content.decode()
    assert "You can change them until" in page
    step = reverse("portal:questionnaire_step", args=[saved.pk, 1])
    response = client.post(step, {"answer": "9"})
    assert response.url == review_url
    saved.refresh_from_db()
    assert saved.score == Decimal("6.0")


def test_after_seven_days_the_answers_are_read_only(client, patient, nprs):
    login(client, patient)
    url = _start(client, nprs).url
    client.post(url, {"answer": "3"})
    saved = _response(nprs)
    client.post(reverse("portal:questionnaire_step", args=[saved.pk, 2]), {"answer": "3"})
    client.post(reverse("portal:questionnaire_review", args=[saved.pk]))
    saved.refresh_from_db()
    assert saved.completed_at is not None
    with unscoped():
        QuestionnaireResponse.objects.filter(pk=saved.pk).update(
            completed_at=saved.completed_at - datetime.timedelta(days=8)
        )
    step = reverse("portal:questionnaire_step", args=[saved.pk, 1])
    response = client.post(step, {"answer": "9"})
    assert response.status_code == 302
    assert response.url == reverse("portal:today")
    saved.refresh_from_db()
    assert saved.answers["worst"] == 3
    page = client.get(reverse("portal:questionnaire_review", args=[saved.pk])).content.decode()
    assert step not in page


def test_it_speaks_german_to_a_german_patient(client, patient, nprs):
    with unscoped():
        patient.preferred_language = "de"
        patient.save()
    login(client, patient)
    page = client.get(reverse("portal:today")).content.decode()
    assert "Ein kurzer Fragebogen von Ihrer Therapeutin oder Ihrem Therapeuten" in page
    url = _start(client, nprs).url
    page = client.get(url).content.decode()
    assert "Frage 1 von 2" in page
    assert "Ihr stärkster Schmerz in den letzten 24 Stunden" in page
    assert "0 – Kein Schmerz" in page


def test_another_patients_questionnaire_is_not_found(client, other_patient, nprs, patient):
    login(client, patient)
    _start(client, nprs)
    saved = _response(nprs)
    client.logout()
    login(client, other_patient)
    assert _start(client, nprs).status_code == 404
    assert client.get(reverse("portal:questionnaire_step", args=[saved.pk, 1])).status_code == 404
    assert client.get(reverse("portal:questionnaire_review", args=[saved.pk])).status_code == 404


def test_another_clinics_therapist_cannot_reach_it(client, outsider, nprs, patient):
    login(client, patient)
    _start(client, nprs)
    client.logout()
    login(client, outsider)
    response = client.get(reverse("portal:questionnaire_review", args=[_response(nprs).pk]))
    assert response.status_code == 302  # staff go to the admin


def test_anonymous_visitors_are_sent_to_sign_in(client, nprs):
    response = client.post(reverse("portal:questionnaire_start", args=[nprs.pk]))
    assert response.status_code == 302
    assert "/portal/login/" in response.url


def test_a_question_number_out_of_range_is_not_found(client, patient, nprs):
    login(client, patient)
    _start(client, nprs)
    pk = _response(nprs).pk
    assert client.get(reverse("portal:questionnaire_step", args=[pk, 3])).status_code == 404
    assert client.get(reverse("portal:questionnaire_step", args=[pk, 0])).status_code == 404


def test_psfs_asks_about_the_patients_own_activities(client, patient, running_plan):
    measure = factories.make_measure(
        running_plan, "psfs", activities="Sitting through a film\nWalking the dog"
    )
    login(client, patient)
    page = client.get(client.get(_start(client, measure).url).wsgi_request.path).content.decode()
    assert "Sitting through a film" in page
    assert re.search(r"10 – Able to do it as before the problem", page)


def test_nothing_is_due_outside_a_running_plan(client, patient, therapist, shared_exercise):
    today = patient.clinic.today()
    plan = factories.make_plan(
        patient, therapist, [shared_exercise], start_date=today + datetime.timedelta(days=3)
    )
    measure = factories.make_measure(plan, "nprs")
    login(client, patient)
    assert "A short questionnaire" not in client.get(reverse("portal:today")).content.decode()
    response = _start(client, measure)
    assert response.url == reverse("portal:today")
    with unscoped():
        assert not QuestionnaireResponse.objects.exists()


def test_it_pins_the_query_count_of_today_with_questionnaires(
    client, patient, running_plan, nprs, django_assert_num_queries
):
    login(client, patient)
    url = reverse("portal:today")
    client.get(url)
    for code in ("lefs", "groc"):
        factories.make_measure(running_plan, code)
    # session, user with patient, plans, items with the exercises in the patient's
    # language, today's logs, measures, their responses (the session is not written
    # again within a minute: clinic.sessions)
    with django_assert_num_queries(7):
        response = client.get(url)
    assert len(response.context["questionnaires"]) == 3
