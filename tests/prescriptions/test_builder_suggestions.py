"""Dose suggestions in the plan builder: shown on a saved plan's rows with their reasons,
applied or dismissed through the one suggestions module, never past a colleague's save."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from clinic.models import AuditEntry
from clinic.scoping import unscoped
from prescriptions.models import DoseDecision, Plan
from tests.conftest import login
from tests.prescriptions.test_suggestions_admin import ready  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db


def page_data(client: Client, plan: Plan, **headers: Any) -> dict[str, Any]:
    response = client.get(reverse("admin:prescriptions_plan_builder", args=[plan.pk]), **headers)
    assert response.status_code == 200
    page = response.content.decode()
    data: dict[str, Any] = json.loads(
        page.split('id="builder-data" type="application/json">')[1].split("</script>")[0]
    )
    return data


def decide(client: Client, plan: Plan, body: Any, **headers: Any) -> Any:
    url = reverse("admin:prescriptions_plan_builder_suggestion", args=[plan.pk])
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, raw, content_type="application/json", **headers)


def item_id(plan: Plan) -> int:
    with unscoped():
        pk: int = plan.items.get().pk
    return pk


def test_the_page_shows_each_rows_suggestion_with_its_reasons(client, therapist, ready):  # noqa: F811
    login(client, therapist)
    data = page_data(client, ready)
    suggestion = data["suggestions"][str(item_id(ready))]
    assert suggestion["kind"] == "progress"
    assert suggestion["label"] == "Progress"
    assert suggestion["change"] == "repetitions 10 → 12"
    assert suggestion["reasons"] == (
        "done in 14 of 14 sessions due (100 %); pain 1 and steady; effort 'too easy' 14 times"
    )
    assert suggestion["actionable"] is True
    assert data["urls"]["suggestion"].endswith(f"/plan/{ready.pk}/builder/suggestion/")


def test_the_labels_and_reasons_follow_the_admins_language(client, therapist, ready):  # noqa: F811
    login(client, therapist)
    data = page_data(client, ready, HTTP_ACCEPT_LANGUAGE="de")
    suggestion = data["suggestions"][str(item_id(ready))]
    assert suggestion["label"] == "Steigern"
    assert "Wiederholungen 10 → 12" in suggestion["change"]


def test_a_new_plan_has_no_suggestions(client, therapist, patient):
    login(client, therapist)
    response = client.get(
        reverse("admin:prescriptions_plan_builder_new"), {"patient": patient.pk}
    ).content.decode()
    data = json.loads(
        response.split('id="builder-data" type="application/json">')[1].split("</script>")[0]
    )
    assert data["suggestions"] == {}
    assert data["urls"]["suggestion"] == ""


def test_applying_makes_one_new_revision_recorded_everywhere(client, therapist, ready):  # noqa: F811
    login(client, therapist)
    pk = item_id(ready)
    signature = page_data(client, ready)["suggestions"][str(pk)]["signature"]
    response = decide(client, ready, {"decision": "apply", "signature": signature, "revision": 1})
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["revision"] == 2
    assert answer["message"].startswith("Applied to Glute bridge: repetitions 10 → 12.")
    assert answer["row"]["id"] == pk and answer["row"]["reps"] == 12
    assert answer["row"]["exercise"]["name"] == "Glute bridge"
    # The next suggestion counts only the logs after the change.
    after = answer["suggestions"][str(pk)]
    assert after["kind"] == "keep" and after["actionable"] is False
    assert after["reasons"].startswith("not enough logs yet")
    with unscoped():
        ready.refresh_from_db()
        assert (ready.revision, ready.items.get().reps) == (2, 12)
        decision = DoseDecision.objects.get()
        assert (decision.decision, decision.change) == ("applied", "repetitions 10 → 12")
        assert decision.decided_by == therapist.user
        assert "Applied a dose suggestion for Glute bridge" in str(
            LogEntry.objects.get(object_id=str(ready.pk)).get_change_message()
        )
        assert AuditEntry.objects.filter(object_type="prescriptions.planitem").count() == 1


def test_dismissing_records_it_and_changes_nothing(client, therapist, ready):  # noqa: F811
    login(client, therapist)
    pk = item_id(ready)
    signature = page_data(client, ready)["suggestions"][str(pk)]["signature"]
    response = decide(client, ready, {"decision": "dismiss", "signature": signature, "revision": 1})
    assert response.status_code == 200
    answer = response.json()
    assert answer["message"] == "Suggestion for Glute bridge dismissed. Nothing was changed."
    assert answer["revision"] == 1 and "row" not in answer
    assert str(pk) not in answer["suggestions"]
    with unscoped():
        ready.refresh_from_db()
        assert (ready.revision, ready.items.get().reps) == (1, 10)
        assert DoseDecision.objects.get().decision == "dismissed"


def test_a_colleagues_newer_save_is_not_applied_over(client, therapist, ready):  # noqa: F811
    login(client, therapist)
    signature = page_data(client, ready)["suggestions"][str(item_id(ready))]["signature"]
    with unscoped():
        Plan.objects.filter(pk=ready.pk).update(revision=2)
    response = decide(client, ready, {"decision": "apply", "signature": signature, "revision": 1})
    assert response.status_code == 409
    assert "A colleague saved this plan" in response.json()["message"]
    with unscoped():
        assert ready.items.get().reps == 10
        assert not DoseDecision.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        {"decision": "explode", "signature": "x", "revision": 1},
        {"decision": "apply", "signature": 12, "revision": 1},
    ],
)
def test_a_body_it_cannot_read_is_refused(client, therapist, ready, body):  # noqa: F811
    login(client, therapist)
    response = decide(client, ready, body)
    assert response.status_code == 400
    assert response.json()["message"] == "The request could not be read."
    with unscoped():
        assert not DoseDecision.objects.exists()


def test_a_forged_signature_changes_nothing(client, therapist, ready):  # noqa: F811
    login(client, therapist)
    body = {"decision": "apply", "signature": "forged", "revision": 1}
    response = decide(client, ready, body)
    assert response.status_code == 409
    assert "This suggestion is out of date" in response.json()["message"]
    with unscoped():
        assert ready.items.get().reps == 10
        assert not DoseDecision.objects.exists()


def test_another_clinic_cannot_decide_and_anonymous_must_sign_in(
    client,
    outsider,
    ready,  # noqa: F811
):
    body = {"decision": "apply", "signature": "x", "revision": 1}
    assert decide(client, ready, body).status_code == 302
    login(client, outsider)
    assert decide(client, ready, body).status_code == 404
    url = reverse("admin:prescriptions_plan_builder_suggestion", args=[ready.pk])
    assert client.get(url).status_code in (404, 405)
    with unscoped():
        assert ready.items.get().reps == 10
        assert not DoseDecision.objects.exists()
