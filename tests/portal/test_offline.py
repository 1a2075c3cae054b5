"""The server's side of the offline portal (portal.offline, static/portal/sw.js):
the worker and manifest, whose pages may be kept, and the answers to sessions the
worker sends after being offline."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from clinic.scoping import unscoped
from portal.offline import namespace
from prescriptions.models import Plan, SessionLog
from tests import factories
from tests.conftest import login

QUEUED = {"X-Rehabit-Queued": "1"}
# A session whose answers do not matter: the request is refused before they are read.
ANY_SESSION = {"pain": "2", "nerve_symptoms": "none", "effort": "about_right"}


@pytest.fixture
def running_plan(patient, therapist, shared_exercise) -> Plan:
    start = patient.clinic.today() - datetime.timedelta(days=20)
    return factories.make_plan(patient, therapist, [shared_exercise], start_date=start)


def _log_url(plan: Plan, day: datetime.date) -> str:
    return reverse("portal:log", args=[plan.pk, day.isoformat(), 1])


def _session(client: Client, url: str, key: str | None = None, **overrides: Any) -> dict[str, Any]:
    """The form as the page renders it, filled in (every set done)."""
    form = client.get(url).context["form"]
    data: dict[str, Any] = {
        "idempotency_key": key or str(uuid.uuid4()),
        "pain": "2",
        "nerve_symptoms": "none",
        "effort": "about_right",
        "comment": "",
    }
    for name, field in form.fields.items():
        if name.startswith("item_"):
            data[name] = str(len(field.choices) - 1)
    data.update(overrides)
    return data


def _rows() -> int:
    with unscoped():
        return SessionLog.objects.count()


@pytest.mark.django_db
def test_it_serves_the_worker_from_the_portals_root(client):
    response = client.get(reverse("portal:service_worker"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert reverse("portal:service_worker") == "/portal/sw.js"
    # Its scope is /portal/ by where it lives: no header widens it.
    assert "Service-Worker-Allowed" not in response
    assert "Content-Security-Policy" in response
    assert b"rehabit-patient-" in response.content
    assert client.post(reverse("portal:service_worker")).status_code == 405


@pytest.mark.django_db
def test_the_manifest_is_rehabits_for_anonymous_visitors(client):
    response = client.get(reverse("portal:manifest"))
    assert response["Content-Type"] == "application/manifest+json"
    data = json.loads(response.content)
    assert (data["name"], data["theme_color"]) == ("Rehabit", "#0b6e69")
    assert (data["start_url"], data["scope"], data["display"]) == (
        "/portal/",
        "/portal/",
        "standalone",
    )
    sizes = {icon["sizes"] for icon in data["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in data["icons"]:
        assert finders.find(icon["src"].removeprefix("/static/")), icon


def test_the_manifest_takes_the_clinics_name_and_colour(client, patient):
    with unscoped():
        patient.clinic.brand_colour = "#123456"
        patient.clinic.save()
    login(client, patient)
    data = json.loads(client.get(reverse("portal:manifest")).content)
    assert (data["name"], data["theme_color"]) == ("Riverside Physio", "#123456")


def test_pages_name_the_patients_offline_storage(client, patient, other_patient):
    login(client, patient)
    html = client.get(reverse("portal:today")).content.decode()
    assert f'data-offline="{namespace(patient)}"' in html
    assert 'rel="manifest"' in html
    assert namespace(patient) != namespace(other_patient)


@pytest.mark.django_db
def test_anonymous_pages_carry_no_offline_storage(client):
    html = client.get(reverse("portal:login")).content.decode()
    assert "data-offline=" not in html
    assert "data-offline-queue" not in html


def test_signing_out_clears_the_browsers_storage(client, patient):
    login(client, patient)
    response = client.post(reverse("portal:logout"))
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'


def test_a_queued_session_is_saved_once_however_often_it_is_sent(client, patient, running_plan):
    login(client, patient)
    url = _log_url(running_plan, patient.clinic.today())
    data = _session(client, url)
    for _ in range(2):
        response = client.post(url, data, headers=QUEUED)
        assert response.status_code == 200
        assert response.json() == {"status": "saved", "message": ""}
    assert _rows() == 1


def test_a_queued_session_already_saved_stays_saved_after_its_day_closed(
    client, patient, running_plan
):
    # Saved, but the answer never reached the phone; sent again 8 days later.
    login(client, patient)
    day = patient.clinic.today() - datetime.timedelta(days=8)
    key = uuid.uuid4()
    with unscoped():
        SessionLog.objects.create(
            plan=running_plan,
            date=day,
            session_number=1,
            pain=2,
            nerve_symptoms="none",
            idempotency_key=key,
        )
    today_url = _log_url(running_plan, patient.clinic.today())
    response = client.post(
        _log_url(running_plan, day), _session(client, today_url, str(key)), headers=QUEUED
    )
    assert response.json()["status"] == "saved"
    assert _rows() == 1


def test_a_queued_session_for_a_closed_day_is_refused_with_the_reason(
    client, patient, running_plan
):
    login(client, patient)
    day = patient.clinic.today() - datetime.timedelta(days=8)
    today_url = _log_url(running_plan, patient.clinic.today())
    response = client.post(_log_url(running_plan, day), _session(client, today_url), headers=QUEUED)
    assert response.status_code == 409
    assert response.json() == {
        "status": "refused",
        "message": "Only today and the 7 days before it can be changed.",
    }
    assert _rows() == 0


def test_a_queued_session_of_an_ended_plan_is_refused(client, patient, running_plan):
    with unscoped():
        Plan.objects.filter(pk=running_plan.pk).update(status=Plan.Status.COMPLETED)
    login(client, patient)
    url = _log_url(running_plan, patient.clinic.today())
    response = client.post(
        url, {**ANY_SESSION, "idempotency_key": str(uuid.uuid4())}, headers=QUEUED
    )
    assert response.status_code == 404
    assert response.json()["status"] == "refused"
    assert _rows() == 0


def test_a_queued_session_for_another_patients_plan_is_not_found(
    client, other_patient, running_plan
):
    login(client, other_patient)
    url = _log_url(running_plan, other_patient.clinic.today())
    response = client.post(
        url, {**ANY_SESSION, "idempotency_key": str(uuid.uuid4())}, headers=QUEUED
    )
    assert response.status_code == 404
    assert response.json()["status"] == "refused"
    assert _rows() == 0


def test_a_queued_session_with_bad_values_is_refused_with_the_reason(client, patient, running_plan):
    login(client, patient)
    url = _log_url(running_plan, patient.clinic.today())
    response = client.post(url, _session(client, url, pain="11"), headers=QUEUED)
    assert response.status_code == 400
    assert response.json()["status"] == "refused"
    assert response.json()["message"]
    assert _rows() == 0


def test_a_queued_session_after_the_sign_in_expired_goes_to_sign_in(running_plan):
    client = Client()
    url = _log_url(running_plan, running_plan.patient.clinic.today())
    response = client.post(
        url, {**ANY_SESSION, "idempotency_key": str(uuid.uuid4())}, headers=QUEUED
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))
    assert _rows() == 0
