"""Dose suggestions on the plan page: read from the logs, applied or dismissed by the therapist."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.admin import site
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from clinic.models import AuditEntry
from clinic.scoping import scope, unscoped
from prescriptions import suggestions
from prescriptions.models import (
    DoseDecision,
    Exercise,
    ExerciseLog,
    ExerciseTranslation,
    Plan,
    SessionLog,
)
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db


def log_days(plan, days, *, pain=1, effort="too_easy", lasting=False):
    """One session a day for the last `days` days, every exercise done in full."""
    today = plan.patient.clinic.today()
    with unscoped():
        items = list(plan.items.all())
        for n in range(days):
            session = SessionLog.objects.create(
                plan=plan,
                date=today - datetime.timedelta(days=n),
                pain=pain if not callable(pain) else pain(n),
                effort=effort,
                nerve_symptoms="tingling" if lasting and n == 0 else "none",
                symptoms_lasted=lasting and n == 0,
            )
            for item in items:
                ExerciseLog.objects.create(session=session, item=item, sets_done=item.sets)


@pytest.fixture
def ready(patient, therapist, clinic):
    bridge = factories.make_exercise(None, name="Glute bridge", slug="glute-bridge", reps=10)
    plan = factories.make_plan(
        patient, therapist, [bridge], start_date=clinic.today() - datetime.timedelta(days=20)
    )
    log_days(plan, 14)
    return plan


def _suggestion(plan):
    with scope(plan.patient.clinic):
        (only,) = suggestions.suggestions_for_plan(plan)
    return only


def test_it_reads_two_weeks_of_logs(ready):
    suggestion = _suggestion(ready)
    assert suggestion.kind == suggestions.Kind.PROGRESS
    assert suggestion.changes == ["repetitions 10 → 12"]
    assert suggestion.reasons == [
        "done in 14 of 14 sessions due (100 %)",
        "pain 1 and steady",
        "effort 'too easy' 14 times",
    ]


def test_a_lasting_nerve_symptom_stops_progression(patient, therapist, clinic):
    slider = factories.make_exercise(
        None, name="Nerve slider", slug="slider", category=Exercise.Category.NERVE_MOBILISATION
    )
    tensioner = factories.make_exercise(
        None, name="Nerve tensioner", slug="tensioner", category="nerve_mobilisation"
    )
    with unscoped():
        tensioner.easier = slider
        tensioner.save()
    plan = factories.make_plan(
        patient, therapist, [tensioner], start_date=clinic.today() - datetime.timedelta(days=20)
    )
    log_days(plan, 14, lasting=True)
    suggestion = _suggestion(plan)
    assert suggestion.kind == suggestions.Kind.REGRESS
    assert suggestion.changes == ["Nerve slider instead of Nerve tensioner"]
    # A German-speaking therapist reads the library's German names where it has them.
    with unscoped():
        for exercise, name in ((slider, "Nervengleiten"), (tensioner, "Nervenspannen")):
            ExerciseTranslation.objects.create(exercise=exercise, language="de", name=name)
    with translation.override("de"):
        assert _suggestion(plan).changes == ["Nervengleiten statt Nervenspannen"]


def test_the_therapist_applies_a_suggestion_as_one_new_revision(client, therapist, ready):
    login(client, therapist)
    signature = _suggestion(ready).signature
    url = reverse("admin:prescriptions_plan_suggestion", args=[ready.pk, "apply"])
    response = client.post(url, {"signature": signature})
    assert response.status_code == 302
    with unscoped():
        ready.refresh_from_db()
        item = ready.items.get()
        assert item.reps == 12
        assert ready.revision == 2
        decision = DoseDecision.objects.get()
        assert (decision.decision, decision.change) == ("applied", "repetitions 10 → 12")
        assert decision.decided_by == therapist.user
        history = LogEntry.objects.get(object_id=str(ready.pk))
        assert "Applied a dose suggestion for Glute bridge: repetitions 10 → 12" in str(
            history.get_change_message()
        )
        audit = AuditEntry.objects.filter(object_type="prescriptions.planitem").get()
        assert audit.changes == {"reps": {"before": 10, "after": 12}}
    page = client.get(response.url).content.decode()
    assert "Applied to Glute bridge: repetitions 10 → 12. This is revision 2" in page


def test_after_applying_the_logs_before_the_change_no_longer_count(client, therapist, ready):
    login(client, therapist)
    url = reverse("admin:prescriptions_plan_suggestion", args=[ready.pk, "apply"])
    client.post(url, {"signature": _suggestion(ready).signature})
    suggestion = _suggestion(ready)
    assert suggestion.kind == suggestions.Kind.KEEP
    assert suggestion.reasons[0] == "not enough logs yet: 0 of the 5 days needed"


def test_dismissing_changes_nothing_and_hides_it(client, therapist, ready):
    login(client, therapist)
    url = reverse("admin:prescriptions_plan_suggestion", args=[ready.pk, "dismiss"])
    response = client.post(url, {"signature": _suggestion(ready).signature})
    assert response.status_code == 302
    with unscoped():
        ready.refresh_from_db()
        assert ready.items.get().reps == 10
        assert ready.revision == 1
        assert DoseDecision.objects.get().decision == "dismissed"
    with scope(ready.patient.clinic):
        assert suggestions.suggestions_for_plan(ready) == []


def test_a_stale_or_forged_signature_changes_nothing(client, therapist, ready):
    login(client, therapist)
    url = reverse("admin:prescriptions_plan_suggestion", args=[ready.pk, "apply"])
    response = client.post(url, {"signature": "not-a-suggestion"}, follow=True)
    assert "This suggestion is out of date" in response.content.decode()
    with unscoped():
        assert ready.items.get().reps == 10
        assert not DoseDecision.objects.exists()


def test_a_get_applies_nothing(client, therapist, ready):
    login(client, therapist)
    url = reverse("admin:prescriptions_plan_suggestion", args=[ready.pk, "apply"])
    assert client.get(url).status_code == 405


def test_another_clinics_therapist_cannot_apply(client, outsider, ready):
    login(client, outsider)
    url = reverse("admin:prescriptions_plan_suggestion", args=[ready.pk, "apply"])
    response = client.post(url, {"signature": _suggestion(ready).signature})
    assert response.status_code in (302, 404)
    with unscoped():
        assert ready.items.get().reps == 10


def test_the_plan_page_shows_suggestions_with_apply_and_dismiss(client, therapist, ready):
    login(client, therapist)
    page = client.get(reverse("admin:prescriptions_plan_change", args=[ready.pk])).content.decode()
    assert "Dose suggestions" in page
    assert "repetitions 10 → 12" in page
    assert "Because: done in 14 of 14 sessions due (100 %); pain 1 and steady; effort" in page
    assert f'formaction="/admin/prescriptions/plan/{ready.pk}/suggestion/apply/"' in page


def test_the_suggestions_panel_keeps_its_query_count(ready, django_assert_num_queries):
    # The plan page's own rows cost a query each already (the exercise pickers);
    # the suggestions panel costs the same for one exercise or four.
    panel = site._registry[Plan].suggestions_panel  # type: ignore[attr-defined]
    clinic = ready.patient.clinic
    with scope(clinic), CaptureQueriesContext(connection) as one:
        assert "repetitions 10 → 12" in panel(ready)
    with unscoped():
        for n, slug in enumerate(["a", "b", "c"], start=2):
            exercise = factories.make_exercise(None, name=f"Extra {slug}", slug=f"extra-{slug}")
            ready.items.create(exercise=exercise, order=n, **exercise.dosage_dict())
        SessionLog.objects.filter(plan=ready).delete()
    log_days(ready, 14)
    # decisions made, applied decisions, adherence, sessions, their exercises (no variants)
    with scope(clinic), django_assert_num_queries(5):
        assert panel(ready).count("repetitions 10 → 12") == 4
    assert len(one) == 5


def test_it_needs_a_plan_that_has_started(patient, therapist, clinic, shared_exercise):
    plan = factories.make_plan(
        patient,
        therapist,
        [shared_exercise],
        start_date=clinic.today() + datetime.timedelta(days=3),
    )
    with scope(clinic):
        assert suggestions.suggestions_for_plan(plan) == []
        assert Plan.objects.get(pk=plan.pk).revision == 1
