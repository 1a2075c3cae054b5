"""The plan builder: library search, checking, saving, hand-over; scoping and bad input."""

from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.models import Patient
from clinic.scoping import scope, unscoped
from prescriptions import builder
from prescriptions.models import Exercise, ExerciseLog, Plan, PlanItem, SessionLog
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db

LIBRARY = "admin:prescriptions_plan_builder_library"
NEW = "admin:prescriptions_plan_builder_new"
CHECK = "admin:prescriptions_plan_builder_check"


def post(client: Client, url: str, data: Any) -> Any:
    return client.post(url, json.dumps(data), content_type="application/json")


def row(exercise: Exercise, **values: Any) -> dict[str, Any]:
    return {"id": None, "exercise": exercise.pk, **exercise.dosage_dict(), **values}


def rows_of(plan: Plan) -> list[tuple[str, int, int | None]]:
    with unscoped():
        return [
            (item.exercise.name, item.order, item.reps)
            for item in plan.items.select_related("exercise").order_by("order")
        ]


@pytest.fixture
def library(clinic, other_clinic) -> dict[str, Exercise]:
    make = factories.make_exercise
    return {
        "slider": make(
            None,
            name="Seated sciatic nerve slider",
            category=Exercise.Category.NERVE_MOBILISATION,
            body_region=Exercise.BodyRegion.WHOLE_LEG,
            equipment=Exercise.Equipment.CHAIR,
            purpose="Eases the nerve.",
            steps="Sit tall.\nStraighten the knee as you look up.",
        ),
        "bridge": make(
            None,
            name="Glute bridge",
            category=Exercise.Category.STRENGTHENING,
            body_region=Exercise.BodyRegion.HIP_BUTTOCK,
            equipment=Exercise.Equipment.MAT,
            difficulty=Exercise.Difficulty.EASY,
            purpose="Strengthens the buttocks.",
            steps="Lie on your back.\nLift the hips.",
        ),
        "curl": make(
            None,
            name="Nordic hamstring curl",
            category=Exercise.Category.STRENGTHENING,
            body_region=Exercise.BodyRegion.BACK_OF_THIGH,
            equipment=Exercise.Equipment.MAT,
            difficulty=Exercise.Difficulty.HARD,
            purpose="Builds eccentric hamstring strength.",
            steps="Kneel.\nLower yourself slowly (Übung für Fortgeschrittene).",
        ),
        "own": make(
            clinic,
            name="Riverside step routine",
            category=Exercise.Category.STRENGTHENING,
            body_region=Exercise.BodyRegion.KNEE,
            equipment=Exercise.Equipment.STEP,
            purpose="Our own step sequence.",
            steps="Step up.\nStep down.",
        ),
        "café": make(
            None,
            name="Café chair stretch",
            category=Exercise.Category.STATIC_STRETCH,
            body_region=Exercise.BodyRegion.BACK_OF_THIGH,
            equipment=Exercise.Equipment.CHAIR,
            reps=None,
            hold_seconds=30,
            purpose="Stretches the back of the thigh.",
            steps="Sit on the edge of a chair.",
        ),
        "theirs": make(
            other_clinic,
            name="Hilltop secret squat",
            category=Exercise.Category.STRENGTHENING,
            purpose="Another clinic's exercise.",
        ),
        "retired": make(
            None, name="Retired lunge", is_active=False, category=Exercise.Category.STRENGTHENING
        ),
    }


def search(client: Client, **params: Any) -> dict[str, Any]:
    with unscoped():
        params.setdefault("patient", Patient.objects.get(last_name="Reed").pk)
    response = client.get(reverse(LIBRARY), params)
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def names(data: dict[str, Any]) -> list[str]:
    return [card["name"] for card in data["results"]]


# --- Who may use it ------------------------------------------------------------------


class TestAccess:
    def test_it_sends_anonymous_visitors_to_sign_in(self, client, patient):
        response = client.get(reverse(NEW), {"patient": patient.pk})
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]

    def test_a_patient_login_cannot_open_it(self, client, patient):
        login(client, patient)
        response = client.get(reverse(NEW), {"patient": patient.pk})
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]

    def test_it_opens_for_the_patients_therapist(self, client, therapist, patient, library):
        login(client, therapist)
        response = client.get(reverse(NEW), {"patient": patient.pk})
        assert response.status_code == 200
        page = response.content.decode()
        assert "Plan builder: Paula Reed" in page
        assert 'type="module"' in page and "rehabit/builder/main.js" in page
        # The builder needs JavaScript and says so, pointing at the plan form.
        assert "<noscript>" in page and "Use the plan form instead" in page
        # No inline script or style: the CSP allows neither (the JSON data block is inert).
        assert "<style" not in page
        assert 'type="application/json"' in page

    def test_it_hides_another_clinics_patient(self, client, therapist, outside_patient):
        login(client, therapist)
        assert client.get(reverse(NEW), {"patient": outside_patient.pk}).status_code == 404

    @pytest.mark.parametrize("value", ["abc", "-1", "99999999999999999999", "1.5", ""])
    def test_it_answers_a_tampered_patient_id_with_404(self, client, therapist, value):
        login(client, therapist)
        assert client.get(reverse(NEW), {"patient": value}).status_code == 404

    def test_it_hides_another_clinics_plan(self, client, therapist, outsider, outside_patient):
        theirs = factories.make_plan(outside_patient, outsider, [])
        login(client, therapist)
        url = reverse("admin:prescriptions_plan_builder", args=[theirs.pk])
        assert client.get(url).status_code == 404
        assert post(client, url, {"revision": 1, "plan": {}, "rows": []}).status_code == 404
        handover = reverse("admin:prescriptions_plan_handover", args=[theirs.pk])
        assert client.get(handover).status_code == 404
        assert client.post(handover, {"action": "activate"}).status_code == 404
        with unscoped():
            assert Plan.objects.get(pk=theirs.pk).status == Plan.Status.ACTIVE

    def test_the_patient_picker_lists_only_the_clinics_patients(
        self, client, therapist, patient, outside_patient
    ):
        login(client, therapist)
        page = client.get(reverse(NEW)).content.decode()
        assert "Paula Reed" in page
        assert "Hugo Hill" not in page
        page = client.get(reverse(NEW), {"q": "hill"}).content.decode()
        assert "Hugo Hill" not in page

    def test_every_way_in_links_to_it(self, client, therapist, plan, patient):
        login(client, therapist)
        new = reverse(NEW)
        assert new in client.get(reverse("admin:index")).content.decode()
        patient_page = client.get(reverse("admin:clinic_patient_change", args=[patient.pk]))
        assert f"{new}?patient={patient.pk}" in patient_page.content.decode()
        plan_page = client.get(reverse("admin:prescriptions_plan_change", args=[plan.pk]))
        builder_url = reverse("admin:prescriptions_plan_builder", args=[plan.pk])
        assert builder_url in plan_page.content.decode()


# --- The library -------------------------------------------------------------------------


class TestLibrary:
    @pytest.fixture(autouse=True)
    def signed_in(self, client, therapist, library, patient):
        login(client, therapist)

    def test_it_holds_the_shared_library_and_the_clinics_own_only(self, client):
        found = names(search(client))
        assert "Riverside step routine" in found
        assert "Glute bridge" in found
        assert "Hilltop secret squat" not in found
        assert "Retired lunge" not in found

    @pytest.mark.parametrize(
        ("words", "expected"),
        [
            ("BRIDGE", ["Glute bridge"]),  # case
            ("brid", ["Glute bridge"]),  # a partial word
            ("cafe", ["Café chair stretch"]),  # accents in the name
            ("ÜBUNG", ["Nordic hamstring curl"]),  # found in the steps, accent and case
            ("ubung", ["Nordic hamstring curl"]),
            ("eccentric", ["Nordic hamstring curl"]),  # found in the purpose
            ("sit", ["Café chair stretch", "Seated sciatic nerve slider"]),
            ("chair sit", ["Café chair stretch"]),  # every word must be found
            ("nerve eases", ["Seated sciatic nerve slider"]),
            ("zebra", []),
        ],
    )
    def test_it_searches_name_purpose_and_steps(self, client, words, expected):
        assert sorted(names(search(client, q=words))) == sorted(expected)

    def test_name_matches_come_first(self, client, library):
        factories.make_exercise(None, name="Wall sit", purpose="Uses a bridge of the back.")
        assert names(search(client, q="bridge"))[0] == "Glute bridge"

    def test_filters_combine_and_count(self, client):
        data = search(client, category="strengthening", equipment="mat")
        assert sorted(names(data)) == ["Glute bridge", "Nordic hamstring curl"]
        assert data["total"] == 2
        # Each filter's counts apply every *other* filter: what choosing it would give.
        category = {o["value"]: o["count"] for o in data["facets"]["category"]}
        assert category["strengthening"] == 2
        assert category["nerve_mobilisation"] == 0  # no slider on a mat
        equipment = {o["value"]: o["count"] for o in data["facets"]["equipment"]}
        assert equipment["mat"] == 2
        assert equipment["step"] == 1  # the clinic's own strengthening exercise
        assert equipment["chair"] == 0

    def test_values_within_one_filter_are_alternatives(self, client):
        data = search(client, difficulty=["1", "3"], category="strengthening")
        assert "Nordic hamstring curl" in names(data)
        assert "Glute bridge" in names(data)

    def test_our_own_filter(self, client):
        data = search(client, own="1")
        assert names(data) == ["Riverside step routine"]
        assert search(client)["facets"]["own"] == 1

    def test_unknown_filter_values_are_ignored(self, client):
        everything = search(client)["total"]
        assert search(client, category="'; drop table", difficulty="x")["total"] == everything

    def test_it_runs_one_query_however_large_the_library(self, client, clinic, patient):
        url = reverse(LIBRARY)
        client.get(url, {"patient": patient.pk})

        def queries(**params: Any) -> list[str]:
            params["patient"] = patient.pk
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url, params).status_code == 200
            return [q["sql"] for q in captured.captured_queries]

        small = queries(q="bridge", category="strengthening")
        # The library is read in one query, the patient in another; the rest is
        # signing in (session, user, therapist and clinic, permissions).
        assert sum("prescriptions_" in sql for sql in small) == 1
        for n in range(30):
            factories.make_exercise(clinic, name=f"Extra {n}")
        large = queries(q="extra")
        assert len(large) == len(small)
        assert client.get(url, {"q": "extra", "patient": patient.pk}).json()["total"] == 30

    def test_it_shows_a_screenful_and_says_how_many_more(self, client, clinic):
        for n in range(builder.RESULT_LIMIT + 5):
            factories.make_exercise(clinic, name=f"Extra {n:03}")
        data = search(client, q="extra")
        assert data["total"] == builder.RESULT_LIMIT + 5
        assert len(data["results"]) == builder.RESULT_LIMIT

    def test_a_card_has_the_drawing_category_and_default_dosage(self, client, library):
        card = search(client, q="café")["results"][0]
        assert card["category"] == "Static stretch"
        assert card["dosage_text"] == "hold 30 seconds, 3 times, once a day"
        assert card["picture"]
        assert card["own"] is False

    def test_variants_are_fetched_by_id_within_the_library(self, client, library):
        ids = f"{library['bridge'].pk},{library['theirs'].pk},abc"
        data = search(client, ids=ids)
        assert [card["name"] for card in data["results"]] == ["Glute bridge"]


def test_normalise_drops_accents_and_case():
    assert builder.normalise("Übung Café STRASSE") == "ubung cafe strasse"
    assert builder.normalise("Straße") == "strasse"


# --- Saving ------------------------------------------------------------------------------


def new_plan_body(patient: Patient, rows: list[dict[str, Any]], **plan: Any) -> dict[str, Any]:
    return {
        "patient": patient.pk,
        "revision": None,
        "plan": {"title": "Sciatica: first weeks", "start_date": "2026-12-01", **plan},
        "rows": rows,
    }


class TestSaveNew:
    def test_it_creates_a_draft_with_every_row_in_order(self, client, therapist, patient, library):
        login(client, therapist)
        body = new_plan_body(
            patient,
            [row(library["slider"]), row(library["bridge"], reps=12, load="red band")],
        )
        response = post(client, reverse(NEW), body)
        assert response.status_code == 200, response.content
        with unscoped():
            plan = Plan.objects.get(patient=patient)
            assert plan.status == Plan.Status.DRAFT
            assert plan.therapist == therapist
            assert plan.revision == 1
            bridge = plan.items.get(exercise=library["bridge"])
            assert bridge.load == "red band"
        assert rows_of(plan) == [("Seated sciatic nerve slider", 1, 10), ("Glute bridge", 2, 12)]
        assert response.json()["handover"] == reverse(
            "admin:prescriptions_plan_handover", args=[plan.pk]
        )

    def test_a_missing_title_is_shown_beside_the_field(self, client, therapist, patient, library):
        login(client, therapist)
        response = post(client, reverse(NEW), new_plan_body(patient, [], title=""))
        assert response.status_code == 400
        assert response.json()["plan_errors"] == {"title": ["This field is required."]}
        with unscoped():
            assert not Plan.objects.exists()

    def test_an_end_before_the_start_is_refused(self, client, therapist, patient):
        login(client, therapist)
        body = new_plan_body(patient, [], start_date="2026-12-01", end_date="2026-11-01")
        response = post(client, reverse(NEW), body)
        assert response.status_code == 400
        assert response.json()["plan_errors"]["end_date"] == [
            "The end date cannot be before the start date."
        ]

    def test_it_cannot_save_for_another_clinics_patient(
        self, client, therapist, outside_patient, library
    ):
        login(client, therapist)
        body = new_plan_body(outside_patient, [row(library["bridge"])])
        assert post(client, reverse(NEW), body).status_code == 404
        with unscoped():
            assert not Plan.objects.exists()


class TestBadRows:
    @pytest.fixture(autouse=True)
    def signed_in(self, client, therapist):
        login(client, therapist)

    def refused(self, client: Client, patient: Patient, rows: Any) -> dict[str, Any]:
        response = post(client, reverse(NEW), new_plan_body(patient, rows))
        assert response.status_code == 400
        with unscoped():
            assert not Plan.objects.exists()
            assert not PlanItem.objects.exists()
        data: dict[str, Any] = response.json()
        return data

    @pytest.mark.parametrize(
        "exercise_id", ["theirs", "deleted", "abc", -3, 1.5, True, None, [1], "99999999999"]
    )
    def test_it_refuses_exercises_outside_the_library(self, client, patient, library, exercise_id):
        if exercise_id == "theirs":
            exercise_id = library["theirs"].pk
        elif exercise_id == "deleted":
            with unscoped():
                exercise_id = Exercise.objects.order_by("-pk")[0].pk + 100
        rows = [row(library["bridge"]), {**row(library["bridge"]), "exercise": exercise_id}]
        data = self.refused(client, patient, rows)
        assert data["row_errors"] == {
            "1": {"exercise": ["This exercise is not in your clinic's library."]}
        }

    def test_it_refuses_a_retired_exercise_for_a_new_row(self, client, patient, library):
        data = self.refused(client, patient, [row(library["retired"])])
        assert data["row_errors"]["0"]["exercise"] == [
            "“Retired lunge” is retired and cannot be prescribed."
        ]

    @pytest.mark.parametrize(
        ("values", "field", "message"),
        [
            ({"sets": 11}, "sets", "Sets must be between 1 and 10."),
            ({"sets": 0}, "sets", "Sets must be between 1 and 10."),
            ({"reps": 51}, "reps", "Repetitions must be between 1 and 50."),
            ({"hold_seconds": 301}, "hold_seconds", "A hold must be between 1 and 300 seconds."),
            ({"times_per_day": 5}, "times_per_day", "Times a day must be between 1 and 4."),
            ({"days_per_week": 8}, "days_per_week", "Days a week must be between 1 and 7."),
            ({"rest_seconds": 601}, "rest_seconds", "Rest must be at most 600 seconds."),
            ({"sets": "many"}, "sets", "Enter a whole number."),
            (
                {"side": "both"},
                "side",
                "Select a valid choice. both is not one of the available choices.",
            ),
            (
                {"reps": None, "hold_seconds": None, "duration_minutes": None},
                "reps",
                "Give repetitions, a hold time or a duration: the patient needs to know how "
                "much to do.",
            ),
            (
                {"load": "x" * 61},
                "load",
                "Ensure this value has at most 60 characters (it has 61).",
            ),
        ],
    )
    def test_it_refuses_a_dosage_outside_the_rules(
        self, client, patient, library, values, field, message
    ):
        data = self.refused(client, patient, [row(library["bridge"], **values)])
        assert data["row_errors"]["0"][field] == [message]

    def test_it_refuses_more_rows_than_the_clinic_allows_without_reading_them(
        self, client, patient, library
    ):
        def attempt(n: int) -> tuple[dict[str, Any], int]:
            with CaptureQueriesContext(connection) as queries:
                data = self.refused(client, patient, [row(library["bridge"])] * n)
            return data, len(queries)

        # The first request renews the session (clinic.sessions): not part of the count.
        attempt(patient.clinic.max_plan_exercises + 1)
        data, many = attempt(2000)
        assert "at most 40 exercises" in data["message"]
        assert "this one would have 2000" in data["message"]
        # Refused before any row is looked at: as many queries as for 41 rows.
        assert many == attempt(patient.clinic.max_plan_exercises + 1)[1]

    @pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe"])
    def test_it_refuses_a_body_that_is_not_json(self, client, patient, body):
        response = client.post(reverse(NEW), body, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["message"] == "The request could not be read."

    @pytest.mark.parametrize("rows", [{"a": 1}, "rows", 3])
    def test_it_refuses_rows_that_are_not_a_list(self, client, patient, rows):
        data = self.refused(client, patient, rows)
        assert data["message"] == "The plan's exercises were not sent as a list."

    def test_rows_that_are_not_objects_are_refused(self, client, patient, library):
        data = self.refused(client, patient, [row(library["bridge"]), "x"])
        assert "1" in data["row_errors"]


class TestSaveExisting:
    @pytest.fixture
    def saved(self, patient, therapist, library) -> Plan:
        return factories.make_plan(
            patient, therapist, [library["slider"], library["bridge"], library["curl"]]
        )

    def items(self, plan: Plan) -> list[PlanItem]:
        with unscoped():
            return list(plan.items.order_by("order"))

    def body(self, plan: Plan, rows: list[dict[str, Any]], revision: int = 1) -> dict[str, Any]:
        return {
            "revision": revision,
            "plan": {"title": plan.title, "start_date": plan.start_date.isoformat()},
            "rows": rows,
        }

    def url(self, plan: Plan) -> str:
        return reverse("admin:prescriptions_plan_builder", args=[plan.pk])

    def test_it_reorders_edits_removes_and_adds_in_one_revision(
        self, client, therapist, saved, library
    ):
        slider, bridge, curl = self.items(saved)
        login(client, therapist)
        rows = [
            {"id": curl.pk, "exercise": curl.exercise_id, **curl.dosage_dict(), "reps": 5},
            {"id": slider.pk, "exercise": slider.exercise_id, **slider.dosage_dict()},
            row(library["own"]),
        ]
        response = post(client, self.url(saved), self.body(saved, rows))
        assert response.status_code == 200, response.content
        assert response.json()["revision"] == 2
        assert rows_of(saved) == [
            ("Nordic hamstring curl", 1, 5),
            ("Seated sciatic nerve slider", 2, 10),
            ("Riverside step routine", 3, 10),
        ]
        after = self.items(saved)
        # Saved rows keep their identity (and the patient's logs of them).
        assert [after[0].pk, after[1].pk] == [curl.pk, slider.pk]
        with unscoped():
            assert not PlanItem.objects.filter(pk=bridge.pk).exists()
            assert Plan.objects.get(pk=saved.pk).revision == 2

    def test_a_removed_row_the_patient_logged_is_ended_not_deleted(self, client, therapist, saved):
        slider, bridge, curl = self.items(saved)
        today = saved.patient.clinic.today()
        with unscoped():
            session = SessionLog.objects.create(plan=saved, date=today, pain=2)
            ExerciseLog.objects.create(session=session, item=bridge, sets_done=1)
        login(client, therapist)
        rows = [{"id": slider.pk, "exercise": slider.exercise_id, **slider.dosage_dict()}]
        assert post(client, self.url(saved), self.body(saved, rows)).status_code == 200
        assert rows_of(saved) == [("Seated sciatic nerve slider", 1, 10)]
        with unscoped():
            ended = PlanItem.with_ended.get(pk=bridge.pk)
            assert ended.ended_on == today
            assert ended.logs.count() == 1  # the patient's record stays
            assert not PlanItem.with_ended.filter(pk=curl.pk).exists()  # never logged

    def test_saving_without_changes_keeps_the_revision(self, client, therapist, saved):
        login(client, therapist)
        rows = [
            {"id": i.pk, "exercise": i.exercise_id, **i.dosage_dict()} for i in self.items(saved)
        ]
        assert post(client, self.url(saved), self.body(saved, rows)).status_code == 200
        with unscoped():
            assert Plan.objects.get(pk=saved.pk).revision == 1

    def test_a_stale_revision_is_refused_and_nothing_written(
        self, client, therapist, colleague, saved, library
    ):
        with unscoped():
            Plan.objects.filter(pk=saved.pk).update(revision=2)  # A colleague saved.
        before = rows_of(saved)
        login(client, therapist)
        response = post(client, self.url(saved), self.body(saved, [row(library["own"])]))
        assert response.status_code == 409
        assert "A colleague saved this plan while you were editing it" in response.json()["message"]
        assert rows_of(saved) == before
        with unscoped():
            assert Plan.objects.get(pk=saved.pk).revision == 2

    def test_an_item_id_of_another_plan_becomes_a_new_row(
        self, client, therapist, saved, patient, library
    ):
        other = factories.make_plan(patient, therapist, [library["curl"]])
        with unscoped():
            foreign = other.items.get()
        login(client, therapist)
        rows = [{"id": foreign.pk, "exercise": library["curl"].pk, **foreign.dosage_dict()}]
        assert post(client, self.url(saved), self.body(saved, rows)).status_code == 200
        with unscoped():
            assert other.items.get().pk == foreign.pk  # untouched
            assert saved.items.get().pk != foreign.pk

    def test_a_row_of_a_since_retired_exercise_stays(self, client, therapist, saved, library):
        with unscoped():
            Exercise.objects.filter(pk=library["curl"].pk).update(is_active=False)
        login(client, therapist)
        rows = [
            {"id": i.pk, "exercise": i.exercise_id, **i.dosage_dict(), "sets": 2}
            for i in self.items(saved)
        ]
        assert post(client, self.url(saved), self.body(saved, rows)).status_code == 200

    def test_a_colleague_without_change_permission_is_refused(self, client, saved, clinic):
        viewer = factories.make_therapist(clinic)
        with unscoped():
            viewer.user.groups.clear()
        login(client, viewer)
        assert client.get(self.url(saved)).status_code in (403, 404)


# --- Checking while editing ------------------------------------------------------------


class TestCheck:
    def test_it_reads_the_dosage_back_in_the_patients_language(
        self, client, therapist, patient, library
    ):
        with unscoped():
            Patient.objects.filter(pk=patient.pk).update(preferred_language="de")
        login(client, therapist)
        rows = [row(library["café"]), row(library["bridge"], sets=2, times_per_day=2)]
        response = post(client, reverse(CHECK), {"patient": patient.pk, "rows": rows})
        data = response.json()
        assert data["ok"] is True
        assert data["rows"][0]["text"] == "30 Sekunden halten, 3-mal, einmal täglich"
        assert data["rows"][1]["text"].startswith("2 Sätze")
        assert data["rows"][0]["minutes"] >= 1
        assert data["daily_minutes"] >= data["session_minutes"]

    def test_it_marks_wrong_rows_and_reads_back_the_rest(self, client, therapist, patient, library):
        login(client, therapist)
        rows = [row(library["bridge"], sets=12), row(library["bridge"])]
        data = post(client, reverse(CHECK), {"patient": patient.pk, "rows": rows}).json()
        assert data["rows"][0] == {"errors": {"sets": ["Sets must be between 1 and 10."]}}
        assert data["rows"][1]["text"] == "3 sets of 10, once a day"

    def test_it_gives_the_clinics_warnings(self, client, therapist, patient, clinic, library):
        with unscoped():
            type(clinic).objects.filter(pk=clinic.pk).update(warn_exercise_count=1)
        login(client, therapist)
        rows = [row(library["bridge"]), row(library["curl"])]
        data = post(client, reverse(CHECK), {"patient": patient.pk, "rows": rows}).json()
        assert any("more than your clinic's limit of 1" in w for w in data["warnings"])
        assert data["totals"].startswith("2 exercises: about")

    def test_it_does_not_check_for_another_clinics_patient(
        self, client, therapist, outside_patient
    ):
        login(client, therapist)
        body = {"patient": outside_patient.pk, "rows": []}
        assert post(client, reverse(CHECK), body).status_code == 404

    def test_it_only_accepts_post(self, client, therapist):
        login(client, therapist)
        assert client.get(reverse(CHECK)).status_code == 405


class TestProtocols:
    def test_it_gives_a_protocols_rows_with_its_dosage(self, client, therapist, patient, library):
        template = factories.make_template(None, [library["bridge"], library["slider"]])
        with unscoped():
            template.items.filter(order=1).update(reps=15)
        login(client, therapist)
        url = reverse("admin:prescriptions_plan_builder_protocol", args=[template.pk])
        data = client.get(url, {"patient": patient.pk}).json()
        assert [(r["exercise"]["name"], r["reps"]) for r in data["rows"]] == [
            ("Glute bridge", 15),
            ("Seated sciatic nerve slider", 10),
        ]

    @pytest.mark.parametrize("which", ["theirs", "abc", "0"])
    def test_another_clinics_protocol_is_a_404(
        self, client, therapist, patient, other_clinic, library, which
    ):
        theirs = factories.make_template(other_clinic, [library["theirs"]])
        login(client, therapist)
        arg = str(theirs.pk) if which == "theirs" else which
        url = reverse("admin:prescriptions_plan_builder_protocol", args=[arg])
        assert client.get(url, {"patient": patient.pk}).status_code == 404

    def test_the_page_lists_shared_and_own_protocols_only(
        self, client, therapist, patient, clinic, other_clinic, library
    ):
        factories.make_template(None, [library["bridge"]], name="Shared protocol")
        factories.make_template(clinic, [library["own"]], name="Our protocol")
        factories.make_template(other_clinic, [library["theirs"]], name="Their protocol")
        login(client, therapist)
        page = client.get(reverse(NEW), {"patient": patient.pk}).content.decode()
        assert "Shared protocol" in page and "Our protocol" in page
        assert "Their protocol" not in page


class TestStartFromProtocol:
    """ "Start from it" makes the draft as the protocol's own page does: one code path
    (plans.start_plan_from_template), so the German words and the phases are the same."""

    START = "admin:prescriptions_plan_builder_start"

    @pytest.fixture
    def german_patient(self, patient) -> Patient:
        from prescriptions.library.loader import load_library

        load_library()
        with unscoped():
            Patient.objects.filter(pk=patient.pk).update(preferred_language="de")
            patient.refresh_from_db()
        return patient

    def protocol(self) -> Any:
        from prescriptions.models import PlanTemplate

        with unscoped():
            return PlanTemplate.objects.get(slug="hamstring-syndrome-prevention", clinic=None)

    def test_it_starts_the_plan_as_the_protocols_page_does(self, client, therapist, german_patient):
        from prescriptions import plans

        template = self.protocol()
        login(client, therapist)
        body = {"patient": german_patient.pk, "template": template.pk, "start_date": "2026-11-02"}
        response = post(client, reverse(self.START), body)
        assert response.status_code == 200, response.content
        with unscoped():
            built = Plan.objects.get(patient=german_patient)
        assert response.json()["url"] == reverse(
            "admin:prescriptions_plan_builder", args=[built.pk]
        )
        with scope(german_patient.clinic):
            action = plans.start_plan_from_template(
                template,
                patient=german_patient,
                therapist=therapist,
                start_date=datetime.date(2026, 11, 2),
            )

        def outline(plan: Plan) -> Any:
            with unscoped():
                plan = Plan.objects.get(pk=plan.pk)
                items = [
                    (
                        i.exercise_id,
                        i.order,
                        i.sets,
                        i.reps,
                        i.hold_seconds,
                        i.instructions,
                        i.tempo,
                    )
                    for i in plan.items.order_by("order")
                ]
                return (
                    plan.title,
                    plan.condition,
                    plan.goals,
                    plan.notes_for_patient,
                    plan.start_date,
                    plan.end_date,
                    plan.template_id,
                    plan.phase_id,
                    plan.status,
                    items,
                )

        assert outline(built) == outline(action)
        title, *_, phase, status, items = outline(built)
        assert title == "Vorbeugung gegen das Hamstring-Syndrom"
        assert phase is not None and status == Plan.Status.DRAFT
        assert items[4][-1] == "1 s auf, 3 s ab"  # phase 1's tempo, in German

    def test_the_builder_then_opens_the_draft_and_says_so(self, client, therapist, german_patient):
        template = self.protocol()
        login(client, therapist)
        body = {"patient": german_patient.pk, "template": template.pk, "start_date": ""}
        url = post(client, reverse(self.START), body).json()["url"]
        page = client.get(url)
        assert page.status_code == 200
        assert "Draft plan created from “" in page.content.decode()
        with unscoped():
            plan = Plan.objects.get(patient=german_patient)
        assert plan.start_date == german_patient.clinic.today()

    def test_added_protocol_rows_are_the_ones_a_started_plan_gets(
        self, client, therapist, german_patient
    ):
        template = self.protocol()
        login(client, therapist)
        url = reverse("admin:prescriptions_plan_builder_protocol", args=[template.pk])
        rows = client.get(url, {"patient": german_patient.pk}).json()["rows"]
        body = {"patient": german_patient.pk, "template": template.pk}
        post(client, reverse(self.START), body)
        with unscoped():
            started = Plan.objects.get(patient=german_patient).items.order_by("order")
            expected = [(i.exercise_id, i.reps, i.instructions, i.tempo) for i in started]
        assert [
            (r["exercise"]["id"], r["reps"], r["instructions"], r["tempo"]) for r in rows
        ] == expected

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            ({"template": "abc"}, 404),
            ({"template": 999_999}, 404),
            ({"start_date": "31.02.2026"}, 400),
            ({"start_date": "next week"}, 400),
        ],
    )
    def test_bad_input_writes_nothing(self, client, therapist, patient, library, body, status):
        template = factories.make_template(None, [library["bridge"]])
        login(client, therapist)
        sent = {"patient": patient.pk, "template": template.pk, **body}
        response = post(client, reverse(self.START), sent)
        assert response.status_code == status
        assert response.json()["message"]
        with unscoped():
            assert not Plan.objects.exists()

    def test_another_clinics_protocol_or_patient_is_refused(
        self, client, therapist, patient, outside_patient, other_clinic, library
    ):
        ours = factories.make_template(None, [library["bridge"]])
        theirs = factories.make_template(other_clinic, [library["theirs"]])
        login(client, therapist)
        url = reverse(self.START)
        assert post(client, url, {"patient": patient.pk, "template": theirs.pk}).status_code == 404
        assert (
            post(client, url, {"patient": outside_patient.pk, "template": ours.pk}).status_code
            == 404
        )
        with unscoped():
            assert not Plan.objects.exists()

    def test_it_needs_a_signed_in_therapist_and_a_post(self, client, therapist, patient, library):
        template = factories.make_template(None, [library["bridge"]])
        body = {"patient": patient.pk, "template": template.pk}
        assert post(client, reverse(self.START), body).status_code == 302
        login(client, therapist)
        assert client.get(reverse(self.START)).status_code == 405
        with unscoped():
            assert not Plan.objects.exists()

    def test_an_existing_plan_offers_only_adding_a_protocols_exercises(
        self, client, therapist, plan, patient
    ):
        login(client, therapist)
        existing = client.get(reverse("admin:prescriptions_plan_builder", args=[plan.pk]))
        assert 'id="pb-protocol-start"' not in existing.content.decode()
        assert 'id="pb-protocol-add"' in existing.content.decode()
        new = client.get(reverse(NEW), {"patient": patient.pk}).content.decode()
        assert 'id="pb-protocol-start"' in new


# --- After saving ---------------------------------------------------------------------------


class TestHandover:
    def url(self, plan: Plan) -> str:
        return reverse("admin:prescriptions_plan_handover", args=[plan.pk])

    def test_it_offers_the_handout_the_invitation_and_activating(self, client, therapist, plan):
        with unscoped():
            Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.DRAFT)
        login(client, therapist)
        page = client.get(self.url(plan)).content.decode()
        assert reverse("admin:prescriptions_plan_handout", args=[plan.pk]) in page
        assert reverse("admin:clinic_patient_portal_invitation", args=[plan.patient_id]) in page
        assert "Activate" in page
        assert "hold 30 seconds, 3 times, each side, once a day" in page

    def test_activate_raises_the_revision_and_says_so(self, client, therapist, plan):
        with unscoped():
            Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.DRAFT)
        login(client, therapist)
        response = client.post(self.url(plan), {"action": "activate"}, follow=True)
        assert "The plan is active" in response.content.decode()
        with unscoped():
            fresh = Plan.objects.get(pk=plan.pk)
        assert fresh.status == Plan.Status.ACTIVE
        assert fresh.revision == 2

    def test_it_emails_an_invitation(
        self, client, therapist, clinic, mailoutbox, django_capture_on_commit_callbacks
    ):
        newcomer = factories.make_patient(clinic, therapist, email="new@example.org")
        plan = factories.make_plan(newcomer, therapist, [])
        login(client, therapist)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(self.url(plan), {"action": "email_invitation"}, follow=True)
        assert "Invitation sent to new@example.org" in response.content.decode()
        assert [m.to for m in mailoutbox] == [["new@example.org"]]

    def test_an_unknown_action_changes_nothing(self, client, therapist, plan):
        login(client, therapist)
        response = client.post(self.url(plan), {"action": "delete"}, follow=True)
        assert "Unknown action: nothing was changed." in response.content.decode()


# --- Preview ---------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="needs poppler's pdftoppm")
def test_the_preview_is_the_handouts_first_exercise_page(
    client, therapist, patient, library, media
):
    login(client, therapist)
    body = {
        "patient": patient.pk,
        "plan": {"title": "Draft"},
        "rows": [row(library["bridge"]), row(library["slider"])],
    }
    response = post(client, reverse("admin:prescriptions_plan_builder_preview"), body)
    assert response.status_code == 200, response.content
    picture = response.json()["picture"]
    assert picture.startswith("data:image/png;base64,")
    with unscoped():
        assert not Plan.objects.exists()  # A preview saves nothing.


def test_the_preview_needs_an_exercise(client, therapist, patient):
    login(client, therapist)
    body = {"patient": patient.pk, "plan": {}, "rows": []}
    response = post(client, reverse("admin:prescriptions_plan_builder_preview"), body)
    assert response.status_code == 400
    assert response.json()["message"] == "Add an exercise to see the handout."


def test_without_pdftoppm_the_page_says_why_there_is_no_preview(
    client, therapist, patient, monkeypatch
):
    from prescriptions.admin import builder as builder_admin

    login(client, therapist)
    monkeypatch.setattr(builder_admin, "preview_available", lambda: False)
    page = client.get(reverse(NEW), {"patient": patient.pk}, HTTP_ACCEPT_LANGUAGE="de")
    text = page.content.decode()
    assert 'id="pb-preview-button" disabled' in text
    assert 'class="help pb-preview-missing">Die Vorschau braucht' in text
    monkeypatch.setattr(builder_admin, "preview_available", lambda: True)
    text = client.get(reverse(NEW), {"patient": patient.pk}).content.decode()
    assert "pb-preview-missing" not in text


def test_it_follows_the_clinics_own_limit(client, therapist, patient, clinic, library):
    with unscoped():
        type(clinic).objects.filter(pk=clinic.pk).update(max_plan_exercises=2)
    login(client, therapist)
    rows = [row(library["bridge"]), row(library["curl"])]
    page = client.get(reverse(NEW), {"patient": patient.pk}).content.decode()
    assert '"max_exercises": 2' in page
    data = post(client, reverse(CHECK), {"patient": patient.pk, "rows": rows}).json()
    assert "This plan is at your clinic's limit of 2 exercises." in data["warnings"]
    response = post(client, reverse(NEW), new_plan_body(patient, [*rows, row(library["slider"])]))
    assert response.status_code == 400
    assert "at most 2 exercises" in response.json()["message"]


class TestQueryCounts:
    """The page and the check run as many queries for a long plan as for a short one."""

    def count(self, client: Client, method: str, url: str, body: Any = None) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url) if method == "get" else post(client, url, body)
        assert response.status_code == 200, response.content
        return len(queries)

    def test_the_page_and_the_check(self, client, therapist, patient, clinic, library):
        exercises = [factories.make_exercise(clinic, name=f"Drill {n}") for n in range(12)]
        short = factories.make_plan(patient, therapist, exercises[:2])
        long = factories.make_plan(patient, therapist, exercises)
        login(client, therapist)

        def page(plan: Plan) -> str:
            return reverse("admin:prescriptions_plan_builder", args=[plan.pk])

        client.get(page(short))
        assert self.count(client, "get", page(short)) == self.count(client, "get", page(long))

        def body(n: int) -> dict[str, Any]:
            return {"patient": patient.pk, "rows": [row(e) for e in exercises[:n]]}

        assert self.count(client, "post", reverse(CHECK), body(2)) == self.count(
            client, "post", reverse(CHECK), body(12)
        )

    def test_the_page_paints_the_library_and_reads_the_plan_back(
        self, client, therapist, plan, library
    ):
        login(client, therapist)
        response = client.get(reverse("admin:prescriptions_plan_builder", args=[plan.pk]))
        page = response.content.decode()
        data = json.loads(
            page.split('id="builder-data" type="application/json">')[1].split("</script>")[0]
        )
        assert data["library"]["total"] >= 5
        assert data["check"]["rows"][0]["text"] == "hold 30 seconds, 3 times, each side, once a day"
        assert data["plan"]["revision"] == 1


class TestAuditTrail:
    """The builder writes the same trail as the rest of the admin (clinic.audit)."""

    def entries(self, **filters: Any) -> list[Any]:
        from clinic.models import AuditEntry

        with unscoped():
            return list(AuditEntry.objects.filter(**filters).order_by("pk"))

    def test_saving_records_the_plan_and_its_exercises(self, client, therapist, patient, library):
        login(client, therapist)
        body = new_plan_body(patient, [row(library["bridge"])])
        assert post(client, reverse(NEW), body).status_code == 200
        with unscoped():
            plan = Plan.objects.get(patient=patient)
        [created] = self.entries(action="create", object_id=str(plan.pk))
        assert created.patient_id == patient.pk
        assert created.changes["exercises"]["after"] == [
            f"exercise {library['bridge'].pk}: 3 x 10, hold - s, - min, rest 30 s, none, "
            "1/day, 7/week"
        ]

    def test_opening_it_is_a_view_and_another_clinics_plan_a_refusal(
        self, client, therapist, plan, outsider, outside_patient
    ):
        theirs = factories.make_plan(outside_patient, outsider, [])
        login(client, therapist)
        client.get(reverse("admin:prescriptions_plan_builder", args=[plan.pk]))
        client.get(reverse("admin:prescriptions_plan_builder", args=[theirs.pk]))
        assert [e.detail for e in self.entries(action="view", object_id=str(plan.pk))] == [
            "plan builder"
        ]
        [refused] = self.entries(action="refused")
        assert "outside the asker's clinic" in refused.detail


class TestSuperuser:
    """A superuser sees every clinic, but builds a plan from the patient's clinic's library."""

    @pytest.fixture
    def root(self, client, db) -> Client:
        from clinic.models import User

        with unscoped():
            user = User.objects.create_superuser("root@example.org", "root-pass-123")
        # With the second factor superusers need outside DEBUG (clinic.two_factor).
        return factories.sign_in_staff(client, user)

    def test_the_library_is_the_patients_clinics(self, root, patient, library):
        names_found = names(search(root, patient=patient.pk))
        assert "Riverside step routine" in names_found
        assert "Hilltop secret squat" not in names_found

    def test_another_clinics_exercise_cannot_be_added(self, root, patient, library):
        body = new_plan_body(patient, [row(library["theirs"])])
        response = post(root, reverse(NEW), body)
        assert response.status_code == 400
        assert response.json()["row_errors"]["0"]["exercise"] == [
            "This exercise is not in your clinic's library."
        ]

    def test_the_library_needs_a_patient(self, root, library):
        assert root.get(reverse(LIBRARY)).status_code == 404


def test_the_date_boxes_hold_iso_dates_in_german(client, therapist, patient):
    login(client, therapist)
    start = patient.clinic.today().isoformat()
    page = client.get(reverse(NEW), {"patient": patient.pk}, HTTP_ACCEPT_LANGUAGE="de").content
    assert f'type="date" name="start_date" value="{start}"' in page.decode()
    assert "Planeditor" in page.decode()


class TestInTheAdminsLanguage:
    """Cards and rows read in the therapist's (the admin's) language where the library
    has a version in it, and in the original's words otherwise."""

    @pytest.fixture
    def german(self, library):
        from prescriptions.models import ExerciseTranslation

        with unscoped():
            ExerciseTranslation.objects.create(
                exercise=library["bridge"],
                language="de",
                name="Gesäßbrücke",
                purpose="Kräftigt das Gesäß.",
                steps="Auf den Rücken legen.\nBecken anheben.",
                illustration_alt="Zeichnung: Rückenlage, Becken angehoben.",
            )
        return library

    def test_a_german_speaking_therapist_finds_and_reads_cards_in_german(
        self, client, therapist, patient, german
    ):
        login(client, therapist)
        url = reverse(LIBRARY)
        query = {"patient": patient.pk, "q": "gesass brucke"}
        found = client.get(url, query, HTTP_ACCEPT_LANGUAGE="de").json()
        [card] = found["results"]
        assert (card["name"], card["purpose"]) == ("Gesäßbrücke", "Kräftigt das Gesäß.")
        assert card["alt"] == "Zeichnung: Rückenlage, Becken angehoben."
        assert card["category"] == "Kräftigung"
        # The original's words still find it; an exercise without German keeps its own.
        by_english = client.get(
            url, {"patient": patient.pk, "q": "bridge"}, HTTP_ACCEPT_LANGUAGE="de"
        )
        assert [c["name"] for c in by_english.json()["results"]] == ["Gesäßbrücke"]
        slider = client.get(url, {"patient": patient.pk, "q": "slider"}, HTTP_ACCEPT_LANGUAGE="de")
        assert [c["name"] for c in slider.json()["results"]] == ["Seated sciatic nerve slider"]

    def test_in_english_the_original_words_are_shown_and_searched(
        self, client, therapist, patient, german
    ):
        login(client, therapist)
        url = reverse(LIBRARY)
        english = client.get(url, {"patient": patient.pk, "q": "bridge"}, HTTP_ACCEPT_LANGUAGE="en")
        assert [c["name"] for c in english.json()["results"]] == ["Glute bridge"]
        german_words = {"patient": patient.pk, "q": "gesass brucke"}
        assert client.get(url, german_words, HTTP_ACCEPT_LANGUAGE="en").json()["total"] == 0

    def test_the_plans_rows_variants_and_protocol_rows_are_in_german(
        self, client, therapist, patient, german
    ):
        bridge, slider = german["bridge"], german["slider"]
        plan = factories.make_plan(patient, therapist, [bridge, slider])
        login(client, therapist)
        de = {"HTTP_ACCEPT_LANGUAGE": "de"}
        page = client.get(reverse("admin:prescriptions_plan_builder", args=[plan.pk]), **de)
        data = json.loads(
            page.content.decode()
            .split('id="builder-data" type="application/json">')[1]
            .split("</script>")[0]
        )
        assert [r["exercise"]["name"] for r in data["rows"]] == [
            "Gesäßbrücke",
            "Seated sciatic nerve slider",
        ]
        variant = client.get(reverse(LIBRARY), {"patient": patient.pk, "ids": bridge.pk}, **de)
        assert [c["name"] for c in variant.json()["results"]] == ["Gesäßbrücke"]
        template = factories.make_template(None, [bridge])
        url = reverse("admin:prescriptions_plan_builder_protocol", args=[template.pk])
        rows = client.get(url, {"patient": patient.pk}, **de).json()["rows"]
        assert rows[0]["exercise"]["name"] == "Gesäßbrücke"

    def test_the_hand_over_shows_what_the_patient_reads_in_the_patients_language(
        self, client, therapist, patient, german
    ):
        plan = factories.make_plan(patient, therapist, [german["bridge"]])
        login(client, therapist)
        url = reverse("admin:prescriptions_plan_handover", args=[plan.pk])
        assert "<strong>Glute bridge</strong>" in client.get(url).content.decode()
        with unscoped():
            Patient.objects.filter(pk=patient.pk).update(preferred_language="de")
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "<strong>Gesäßbrücke</strong>" in page

    def test_german_cards_cost_one_query_more_however_large_the_library(
        self, client, therapist, patient, clinic, german
    ):
        login(client, therapist)
        url = reverse(LIBRARY)
        client.get(url, {"patient": patient.pk}, HTTP_ACCEPT_LANGUAGE="de")

        def count(language: str) -> int:
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url, {"patient": patient.pk}, HTTP_ACCEPT_LANGUAGE=language)
                assert response.status_code == 200
            return len(captured)

        english, in_german = count("en"), count("de")
        assert in_german == english + 1
        for n in range(20):
            factories.make_exercise(clinic, name=f"Extra {n}")
        assert count("de") == in_german
