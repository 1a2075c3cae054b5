"""The therapist's admin for exercises, plans and templates: scoping, forms, actions."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from clinic.models import AuditEntry
from clinic.scoping import unscoped
from prescriptions.models import (
    Exercise,
    ExerciseLog,
    Plan,
    PlanItem,
    PlanTemplate,
    SessionLog,
)
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db


def item_rows(rows: list[dict[str, Any]], initial: int = 0, prefix: str = "items") -> dict:
    data: dict[str, Any] = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        defaults = {
            "sets": 3,
            "reps": 10,
            "hold_seconds": "",
            "duration_minutes": "",
            "rest_seconds": 30,
            "side": "none",
            "times_per_day": 1,
            "days_per_week": 7,
            "load": "",
            "tempo": "",
            "instructions": "",
        }
        for key, value in {**defaults, **row}.items():
            data[f"{prefix}-{i}-{key}"] = "" if value is None else value
    return data


def plan_form(patient, therapist, **overrides: Any) -> dict[str, Any]:
    data = {
        "patient": patient.pk,
        "therapist": therapist.pk,
        "title": "Sciatica relief",
        "condition": "Sciatica",
        "status": "draft",
        "start_date": "2026-11-02",
        "end_date": "2026-12-14",
        "goals": "Walk without leg pain",
        "notes_for_patient": "",
        "template": "",
        # The outcome questionnaires inline, left empty (see test_outcomes_admin.py).
        "outcome_measures-TOTAL_FORMS": "0",
        "outcome_measures-INITIAL_FORMS": "0",
        "outcome_measures-MIN_NUM_FORMS": "0",
        "outcome_measures-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


@pytest.fixture
def own_exercise(clinic):
    return factories.make_exercise(clinic, name="Riverside special curl", slug="special-curl")


@pytest.fixture
def outside_exercise(other_clinic):
    return factories.make_exercise(other_clinic, name="Hilltop secret drill", slug="secret-drill")


@pytest.fixture
def outside_plan(outside_patient, outsider, outside_exercise):
    return factories.make_plan(outside_patient, outsider, [outside_exercise], title="Hill plan")


class TestExerciseAdmin:
    def test_it_lists_shared_and_own_exercises_but_not_other_clinics(
        self, client, therapist, shared_exercise, own_exercise, outside_exercise
    ):
        login(client, therapist)
        response = client.get(reverse("admin:prescriptions_exercise_changelist"))
        assert response.status_code == 200
        names = {obj.name for obj in response.context["cl"].result_list}
        assert names == {shared_exercise.name, own_exercise.name}

    def test_it_filters_by_category_and_searches_by_name(
        self, client, therapist, shared_exercise, own_exercise
    ):
        login(client, therapist)
        url = reverse("admin:prescriptions_exercise_changelist")
        response = client.get(url, {"category__exact": "static_stretch"})
        assert [e.name for e in response.context["cl"].result_list] == [shared_exercise.name]
        response = client.get(url, {"q": "special"})
        assert [e.name for e in response.context["cl"].result_list] == [own_exercise.name]

    def test_it_shows_a_thumbnail_with_a_text_alternative(
        self, client, therapist, shared_exercise, clinic
    ):
        shared_exercise.slug = "standing-hamstring-stretch-bench"
        shared_exercise.save()
        factories.make_exercise(clinic, name="Wall sit (own)", slug="wall-sit-own")
        login(client, therapist)
        response = client.get(reverse("admin:prescriptions_exercise_changelist"))
        assert (
            b"prescriptions/illustrations/standing-hamstring-stretch-bench.svg" in response.content
        )
        assert b'alt="Drawing of Standing hamstring stretch' in response.content
        # A clinic's own exercise without a picture: the placeholder, saying so.
        assert b'src="/static/prescriptions/placeholder.svg"' in response.content
        assert b'alt="No picture yet for Wall sit (own) (Strengthening)"' in response.content

    def test_it_404s_on_another_clinics_exercise(self, client, therapist, outside_exercise):
        login(client, therapist)
        for name in ("change", "history", "delete"):
            url = reverse(f"admin:prescriptions_exercise_{name}", args=[outside_exercise.pk])
            assert client.get(url).status_code == 404

    def test_it_makes_the_shared_library_read_only_for_therapists(
        self, client, therapist, shared_exercise
    ):
        login(client, therapist)
        url = reverse("admin:prescriptions_exercise_change", args=[shared_exercise.pk])
        response = client.get(url)
        assert response.status_code == 200
        assert response.context["has_change_permission"] is False
        response = client.post(url, {"name": "Hacked"})
        assert response.status_code == 403
        shared_exercise.refresh_from_db()
        assert shared_exercise.name == "Standing hamstring stretch"

    def test_it_saves_a_new_exercise_into_the_therapists_clinic(self, client, therapist, clinic):
        login(client, therapist)
        data = {
            "name": "Towel slide",
            "slug": "towel-slide",
            "category": "mobility",
            "body_region": "knee",
            "equipment": "none",
            "difficulty": 1,
            "is_active": "on",
            "purpose": "Bends the knee gently.",
            "steps": "Sit.\nSlide.\nReturn.",
            "sets": 2,
            "reps": 10,
            "rest_seconds": 30,
            "side": "each",
            "times_per_day": 1,
            "days_per_week": 7,
            # With its German version, for the clinic's German-speaking patients.
            "translations-TOTAL_FORMS": 1,
            "translations-INITIAL_FORMS": 0,
            "translations-0-language": "de",
            "translations-0-name": "Handtuch-Gleiten",
            "translations-0-steps": "Setzen.\nGleiten.\nZurück.",
        }
        response = client.post(reverse("admin:prescriptions_exercise_add"), data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        with unscoped():
            exercise = Exercise.objects.get(slug="towel-slide")
            assert exercise.clinic == clinic
            (german,) = exercise.translations.all()
        assert (german.language, german.name) == ("de", "Handtuch-Gleiten")

    def test_it_reports_a_duplicate_short_name_as_a_form_error(
        self, client, therapist, own_exercise
    ):
        login(client, therapist)
        data = {
            "name": "Another",
            "slug": own_exercise.slug,
            "category": "mobility",
            "body_region": "knee",
            "equipment": "none",
            "difficulty": 1,
            "purpose": "x",
            "steps": "a\nb\nc",
            "sets": 2,
            "reps": 10,
            "rest_seconds": 30,
            "side": "each",
            "times_per_day": 1,
            "days_per_week": 7,
        }
        response = client.post(reverse("admin:prescriptions_exercise_add"), data)
        assert response.status_code == 200
        assert "already has an exercise with this name" in str(
            response.context["adminform"].form.errors
        )
        with unscoped():
            assert Exercise.objects.filter(slug=own_exercise.slug).count() == 1

    def test_it_shows_out_of_range_dosage_beside_the_field(self, client, therapist, own_exercise):
        login(client, therapist)
        url = reverse("admin:prescriptions_exercise_change", args=[own_exercise.pk])
        form = client.get(url).context["adminform"].form
        data = {k: v for k, v in form.initial.items() if v is not None and k != "illustration"}
        data.update(sets=40, reps="", hold_seconds="", duration_minutes="")
        data = {k: (v.pk if hasattr(v, "pk") else v) for k, v in data.items()}
        response = client.post(url, data)
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert "sets" in errors
        assert "reps" in errors and "how much to do" in str(errors["reps"])

    def test_it_copies_shared_exercises_to_the_clinic(
        self, client, therapist, clinic, shared_exercise
    ):
        login(client, therapist)
        response = client.post(
            reverse("admin:prescriptions_exercise_changelist"),
            {"action": "copy_to_clinic", "_selected_action": [shared_exercise.pk]},
        )
        assert response.status_code == 302
        with unscoped():
            copy = Exercise.objects.get(clinic=clinic, slug=shared_exercise.slug)
        assert copy.pk != shared_exercise.pk and copy.name == shared_exercise.name


class TestAutocomplete:
    def autocomplete(self, client: Client, model_name: str, field: str, term: str = "") -> Any:
        return client.get(
            reverse("admin:autocomplete"),
            {
                "app_label": "prescriptions",
                "model_name": model_name,
                "field_name": field,
                "term": term,
            },
        )

    def test_it_offers_shared_and_own_active_exercises_with_pictures(
        self, client, therapist, shared_exercise, own_exercise, outside_exercise
    ):
        factories.make_exercise(None, name="Retired drill", slug="retired", is_active=False)
        login(client, therapist)
        response = self.autocomplete(client, "planitem", "exercise")
        assert response.status_code == 200
        results = response.json()["results"]
        assert {r["text"] for r in results} == {shared_exercise.name, own_exercise.name}
        assert all(r["image"].endswith(".svg") for r in results)
        stretch = next(r for r in results if r["text"] == shared_exercise.name)
        assert stretch["dosage"]["hold_seconds"] == 30 and stretch["dosage"]["side"] == "each"

    def test_it_offers_only_own_clinics_patients(self, client, therapist, patient, outside_patient):
        login(client, therapist)
        response = self.autocomplete(client, "plan", "patient")
        assert [r["text"] for r in response.json()["results"]] == [patient.full_name]

    def test_it_refuses_autocomplete_to_patients(self, client, patient):
        login(client, patient)
        response = self.autocomplete(client, "plan", "patient")
        # Not staff: the admin sends them to its login page, as for any admin URL.
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login") + "?next=")


class TestPlanAdmin:
    def test_it_lists_only_own_clinics_plans(self, client, therapist, plan, outside_plan):
        login(client, therapist)
        response = client.get(reverse("admin:prescriptions_plan_changelist"))
        assert list(response.context["cl"].result_list) == [plan]

    def test_it_pins_the_changelist_query_count(
        self, client, therapist, patient, shared_exercise, django_assert_num_queries
    ):
        login(client, therapist)
        url = reverse("admin:prescriptions_plan_changelist")
        factories.make_plan(patient, therapist, [shared_exercise])
        client.get(url)  # warm caches (content types, sessions)
        with django_assert_num_queries(13) as few:  # the audit entry for the list is one
            client.get(url)
        for _ in range(15):
            other = factories.make_patient(patient.clinic, therapist)
            factories.make_plan(other, therapist, [shared_exercise, shared_exercise])
        with django_assert_num_queries(len(few.captured_queries)):
            response = client.get(url)
        assert len(response.context["cl"].result_list) == 16

    def test_it_404s_on_another_clinics_plan(self, client, therapist, outside_plan):
        login(client, therapist)
        for name in ("change", "history", "delete"):
            url = reverse(f"admin:prescriptions_plan_{name}", args=[outside_plan.pk])
            assert client.get(url).status_code == 404

    def test_it_shows_the_plan_page_with_exercises_in_order(
        self, client, therapist, patient, shared_exercise, own_exercise
    ):
        plan = factories.make_plan(patient, therapist, [own_exercise, shared_exercise])
        login(client, therapist)
        response = client.get(reverse("admin:prescriptions_plan_change", args=[plan.pk]))
        assert response.status_code == 200
        html = response.content.decode()
        assert html.index(own_exercise.name) < html.index(shared_exercise.name)
        assert "rehabit/admin_items.js" in html

    def test_it_creates_a_plan_with_exercises(
        self, client, therapist, patient, shared_exercise, own_exercise
    ):
        login(client, therapist)
        data = plan_form(patient, therapist)
        data.update(
            item_rows(
                [
                    {"exercise": own_exercise.pk, "order": 2},
                    {
                        "exercise": shared_exercise.pk,
                        "order": 1,
                        "reps": "",
                        "hold_seconds": 30,
                        "side": "each",
                    },
                ]
            )
        )
        response = client.post(reverse("admin:prescriptions_plan_add"), data)
        assert response.status_code == 302, response.context["errors"]
        with unscoped():
            plan = Plan.objects.get(title="Sciatica relief")
            assert [i.exercise for i in plan.items.order_by("order")] == [
                shared_exercise,
                own_exercise,
            ]
        assert plan.revision == 1

    def test_it_gives_a_new_row_without_an_amount_the_exercises_default_dosage(
        self, client, therapist, patient, shared_exercise
    ):
        login(client, therapist)
        data = plan_form(patient, therapist) | item_rows(
            [{"exercise": shared_exercise.pk, "order": 1, "sets": 1, "reps": "", "side": "none"}]
        )
        response = client.post(reverse("admin:prescriptions_plan_add"), data)
        assert response.status_code == 302, response.context["errors"]
        with unscoped():
            item = Plan.objects.get().items.get()
        assert (item.sets, item.reps, item.hold_seconds, item.side) == (
            shared_exercise.sets,
            None,
            30,
            "each",
        )

    def test_deleting_a_logged_row_ends_it_and_keeps_the_patients_records(
        self, client, therapist, patient, shared_exercise, own_exercise
    ):
        plan = factories.make_plan(
            patient, therapist, [shared_exercise, own_exercise], status=Plan.Status.DRAFT
        )
        with unscoped():
            logged, unlogged = plan.items.order_by("order")
            session = SessionLog.objects.create(plan=plan, date=plan.start_date, pain=3)
            ExerciseLog.objects.create(session=session, item=logged, sets_done=2)
        login(client, therapist)
        rows = [
            {
                **item.dosage_dict(),
                "id": item.pk,
                "plan": plan.pk,
                "exercise": item.exercise_id,
                "order": item.order,
                "DELETE": "on",
                "hold_seconds": item.hold_seconds or "",
            }
            for item in (logged, unlogged)
        ]
        data = plan_form(patient, therapist, start_date=plan.start_date.isoformat()) | item_rows(
            rows, initial=2
        )
        response = client.post(reverse("admin:prescriptions_plan_change", args=[plan.pk]), data)
        assert response.status_code == 302, response.context["errors"]
        with unscoped():
            assert not plan.items.exists()
            ended = PlanItem.with_ended.get(pk=logged.pk)
            assert ended.ended_on == patient.clinic.today()
            assert ended.logs.count() == 1
            assert not PlanItem.with_ended.filter(pk=unlogged.pk).exists()
            # The trail says which was ended and which deleted.
            trail = {
                (e.action, e.object_id, e.detail)
                for e in AuditEntry.objects.filter(object_type="prescriptions.planitem")
            }
            assert trail == {("change", str(logged.pk), "ended"), ("delete", str(unlogged.pk), "")}
            change = AuditEntry.objects.get(action="change", object_type="prescriptions.planitem")
            assert change.changes == {
                "ended_on": {"before": None, "after": patient.clinic.today().isoformat()}
            }

    def test_it_keeps_the_therapists_own_amounts(self, client, therapist, patient, shared_exercise):
        login(client, therapist)
        data = plan_form(patient, therapist) | item_rows(
            [
                {
                    "exercise": shared_exercise.pk,
                    "order": 1,
                    "sets": 2,
                    "reps": "",
                    "hold_seconds": 45,
                    "side": "left",
                }
            ]
        )
        client.post(reverse("admin:prescriptions_plan_add"), data)
        with unscoped():
            item = Plan.objects.get().items.get()
        assert (item.sets, item.hold_seconds, item.side) == (2, 45, "left")

    def test_it_reports_an_end_before_the_start_on_the_end_date(self, client, therapist, patient):
        login(client, therapist)
        data = plan_form(patient, therapist, end_date="2026-10-01") | item_rows([])
        response = client.post(reverse("admin:prescriptions_plan_add"), data)
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert "cannot be before the start date" in str(errors["end_date"])
        with unscoped():
            assert not Plan.objects.exists()

    def test_it_reports_out_of_range_dosage_on_the_row(
        self, client, therapist, patient, shared_exercise
    ):
        login(client, therapist)
        data = plan_form(patient, therapist) | item_rows(
            [{"exercise": shared_exercise.pk, "order": 1, "sets": 99, "times_per_day": 9}]
        )
        response = client.post(reverse("admin:prescriptions_plan_add"), data)
        assert response.status_code == 200
        row_errors = response.context["inline_admin_formsets"][0].formset.errors[0]
        assert set(row_errors) == {"sets", "times_per_day"}
        with unscoped():
            assert not Plan.objects.exists()

    def test_it_refuses_another_clinics_patient_and_exercise(
        self, client, therapist, outside_patient, outside_exercise
    ):
        login(client, therapist)
        data = plan_form(outside_patient, therapist) | item_rows(
            [{"exercise": outside_exercise.pk, "order": 1}]
        )
        response = client.post(reverse("admin:prescriptions_plan_add"), data)
        assert response.status_code == 200
        assert "patient" in response.context["adminform"].form.errors
        assert "exercise" in response.context["inline_admin_formsets"][0].formset.errors[0]
        with unscoped():
            assert not Plan.objects.exists()

    def test_it_reorders_exercises_and_bumps_the_revision(
        self, client, therapist, patient, shared_exercise, own_exercise
    ):
        plan = factories.make_plan(patient, therapist, [shared_exercise, own_exercise])
        with unscoped():
            first, second = plan.items.order_by("order")
        login(client, therapist)
        data = plan_form(
            patient, therapist, status=plan.status, start_date=str(plan.start_date), end_date=""
        ) | item_rows(
            [
                {"id": first.pk, "plan": plan.pk, "exercise": shared_exercise.pk, "order": 2},
                {"id": second.pk, "plan": plan.pk, "exercise": own_exercise.pk, "order": 1},
            ],
            initial=2,
        )
        response = client.post(reverse("admin:prescriptions_plan_change", args=[plan.pk]), data)
        assert response.status_code == 302, response.context["errors"]
        with unscoped():
            assert list(plan.items.order_by("order").values_list("exercise", flat=True)) == [
                own_exercise.pk,
                shared_exercise.pk,
            ]
        plan.refresh_from_db()
        assert plan.revision == 2

    def test_it_keeps_the_revision_when_nothing_changed(
        self, client, therapist, patient, shared_exercise
    ):
        plan = factories.make_plan(patient, therapist, [shared_exercise], end_date=None)
        with unscoped():
            item = plan.items.get()
        login(client, therapist)
        data = plan_form(
            patient,
            therapist,
            status=plan.status,
            title=plan.title,
            condition="",
            goals="",
            start_date=str(plan.start_date),
            end_date="",
        ) | item_rows(
            [
                {
                    "id": item.pk,
                    "plan": plan.pk,
                    "exercise": shared_exercise.pk,
                    "order": 1,
                    "sets": item.sets,
                    "reps": "",
                    "hold_seconds": 30,
                    "side": "each",
                }
            ],
            initial=1,
        )
        response = client.post(reverse("admin:prescriptions_plan_change", args=[plan.pk]), data)
        assert response.status_code == 302, response.context["errors"]
        plan.refresh_from_db()
        assert plan.revision == 1

    def test_it_copies_the_templates_exercises_into_a_new_plan(
        self, client, therapist, patient, shared_exercise, own_exercise
    ):
        template = factories.make_template(None, [shared_exercise, own_exercise])
        login(client, therapist)
        data = plan_form(patient, therapist, template=template.pk) | item_rows([])
        response = client.post(reverse("admin:prescriptions_plan_add"), data)
        assert response.status_code == 302
        with unscoped():
            plan = Plan.objects.get()
            assert [i.exercise for i in plan.items.order_by("order")] == [
                shared_exercise,
                own_exercise,
            ]

    def act(self, client: Client, action: str, *plans: Plan) -> Any:
        return client.post(
            reverse("admin:prescriptions_plan_changelist"),
            {"action": action, "_selected_action": [p.pk for p in plans]},
        )

    def test_it_activates_and_completes_plans(self, client, therapist, patient, shared_exercise):
        plan = factories.make_plan(patient, therapist, [shared_exercise], status="draft")
        login(client, therapist)
        self.act(client, "activate", plan)
        plan.refresh_from_db()
        assert plan.status == Plan.Status.ACTIVE
        self.act(client, "complete", plan)
        plan.refresh_from_db()
        assert plan.status == Plan.Status.COMPLETED

    def test_it_ignores_another_clinics_plan_in_actions(self, client, therapist, outside_plan):
        login(client, therapist)
        outside_plan.status = Plan.Status.DRAFT
        outside_plan.save()
        for action in ("activate", "duplicate", "save_as_template"):
            self.act(client, action, outside_plan)
        outside_plan.refresh_from_db()
        assert outside_plan.status == Plan.Status.DRAFT
        with unscoped():
            assert Plan.objects.count() == 1
            assert not PlanTemplate.objects.exists()

    def test_it_duplicates_a_plan_as_a_draft(self, client, therapist, plan):
        login(client, therapist)
        response = self.act(client, "duplicate", plan)
        with unscoped():
            copy = Plan.objects.exclude(pk=plan.pk).get()
            assert response.url == reverse("admin:prescriptions_plan_change", args=[copy.pk])
            assert copy.status == Plan.Status.DRAFT and copy.patient == plan.patient
            assert copy.items.count() == plan.items.count()

    def test_it_saves_a_plan_as_a_clinic_template(self, client, therapist, clinic, plan):
        login(client, therapist)
        self.act(client, "save_as_template", plan)
        with unscoped():
            template = PlanTemplate.objects.get()
            assert template.clinic == clinic
            assert [i.exercise_id for i in template.items.all()] == [
                i.exercise_id for i in plan.items.all()
            ]


class TestTemplateAdmin:
    def test_it_shows_shared_and_own_templates_only(
        self, client, therapist, clinic, other_clinic, shared_exercise
    ):
        shared = factories.make_template(None, [shared_exercise], "Shared protocol")
        own = factories.make_template(clinic, [shared_exercise], "Own protocol")
        hidden = factories.make_template(other_clinic, [shared_exercise], "Hidden protocol")
        login(client, therapist)
        response = client.get(reverse("admin:prescriptions_plantemplate_changelist"))
        assert set(response.context["cl"].result_list) == {shared, own}
        url = reverse("admin:prescriptions_plantemplate_change", args=[hidden.pk])
        assert client.get(url).status_code == 404

    def test_it_starts_a_plan_for_a_patient_from_a_template(
        self, client, therapist, patient, shared_exercise
    ):
        template = factories.make_template(None, [shared_exercise], "Sciatica relief")
        template.duration_weeks = 6
        template.save()
        login(client, therapist)
        url = reverse("admin:prescriptions_plantemplate_changelist")
        page = client.post(url, {"action": "start_plan", "_selected_action": [template.pk]})
        assert page.status_code == 200
        assert patient.full_name in page.content.decode()
        response = client.post(
            url,
            {
                "action": "start_plan",
                "_selected_action": [template.pk],
                "apply": "1",
                "patient": patient.pk,
                "therapist": therapist.pk,
                "start_date": "2026-11-23",
            },
        )
        with unscoped():
            plan = Plan.objects.get()
            assert response.url == reverse("admin:prescriptions_plan_change", args=[plan.pk])
            assert plan.end_date == datetime.date(2027, 1, 3)
            assert plan.items.get().exercise == shared_exercise
            # Written in the audit trail and the plan's history, like a plan made by hand.
            entry = AuditEntry.objects.get(action="create", object_id=str(plan.pk))
            assert (entry.actor, entry.patient_id) == (therapist.user, patient.pk)
            assert LogEntry.objects.get(object_id=str(plan.pk)).is_addition()

    def test_the_start_date_box_works_in_german(self, client, therapist, patient, shared_exercise):
        template = factories.make_template(None, [shared_exercise], "Sciatica relief")
        login(client, therapist)
        url = reverse("admin:prescriptions_plantemplate_changelist")
        german = {"HTTP_ACCEPT_LANGUAGE": "de"}
        choose = {"action": "start_plan", "_selected_action": [template.pk]}
        page = client.post(url, choose, **german).content.decode()
        # A date box shows nothing unless its value is an ISO date ("04.12.2026" is not).
        today = patient.clinic.today()
        assert f'type="date" name="start_date" value="{today.isoformat()}"' in page
        assert "Startdatum" in page
        # What the browser sends back from it is read as the date it showed.
        data = {**choose, "apply": "1", "patient": patient.pk, "therapist": therapist.pk}
        client.post(url, {**data, "start_date": "2026-11-23"}, **german)
        with unscoped():
            assert Plan.objects.get().start_date == datetime.date(2026, 11, 23)

    def test_it_refuses_to_start_a_plan_for_another_clinics_patient(
        self, client, therapist, outside_patient, shared_exercise
    ):
        template = factories.make_template(None, [shared_exercise])
        login(client, therapist)
        response = client.post(
            reverse("admin:prescriptions_plantemplate_changelist"),
            {
                "action": "start_plan",
                "_selected_action": [template.pk],
                "apply": "1",
                "patient": outside_patient.pk,
                "therapist": therapist.pk,
                "start_date": "2026-11-23",
            },
        )
        assert response.status_code == 200
        assert "patient" in response.context["form"].errors
        with unscoped():
            assert not Plan.objects.exists()


class TestSessionLogAdmin:
    def test_it_shows_only_own_clinics_logs(self, client, therapist, plan, outside_plan):
        with unscoped():
            SessionLog.objects.create(plan=plan, date=plan.start_date, pain=3)
            hidden = SessionLog.objects.create(plan=outside_plan, date=plan.start_date, pain=4)
        login(client, therapist)
        response = client.get(reverse("admin:prescriptions_sessionlog_changelist"))
        assert [log.plan for log in response.context["cl"].result_list] == [plan]
        url = reverse("admin:prescriptions_sessionlog_change", args=[hidden.pk])
        assert client.get(url).status_code == 404


def test_role_groups_exist_with_permissions(db):
    therapists = Group.objects.get(name="Therapists")
    admins = Group.objects.get(name="Clinic administrators")
    assert therapists.permissions.filter(codename="change_plan").exists()
    assert not therapists.permissions.filter(codename="add_therapist").exists()
    assert admins.permissions.filter(codename="add_therapist").exists()


def test_plan_item_order_is_unique_in_the_database(plan, shared_exercise):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic(), unscoped():
        PlanItem.objects.create(plan=plan, exercise=shared_exercise, order=1, reps=5)
