"""Protocols with phases: the shipped ones, starting a plan, moving to the next phase."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from clinic.scoping import unscoped
from prescriptions import plans
from prescriptions.library.loader import library_exercises, library_protocols, load_library
from prescriptions.models import Exercise, Plan, PlanTemplate, TemplateItem, TemplatePhase
from tests import factories
from tests.conftest import login

TENSIONERS = {"seated-sciatic-nerve-mobilisation", "seated-sciatic-nerve-tensioner"}
HAMSTRING_STRETCHES = {
    "standing-hamstring-stretch-bench",
    "seated-hamstring-stretch-chair",
    "supine-strap-hamstring-stretch",
}
PROTOCOLS = {p.slug: p for p in library_protocols()}


def slugs(protocol_slug: str, phase: int) -> list[str]:
    return [item.exercise for item in PROTOCOLS[protocol_slug].phase_items(phase)]


# --- The shipped protocols -------------------------------------------------------


def test_every_protocol_has_ordered_phases_each_with_exercises_and_criteria():
    assert len(PROTOCOLS) == 6
    for protocol in PROTOCOLS.values():
        assert len(protocol.phases) >= 2, protocol.slug
        for number, phase in enumerate(protocol.phases, start=1):
            assert phase.name and phase.criteria, (protocol.slug, number)
            assert protocol.phase_items(number), (protocol.slug, number)
        assert {item.phase for item in protocol.items} == set(range(1, len(protocol.phases) + 1))
        assert protocol.sources, protocol.slug


def test_no_first_phase_holds_a_tensioner_or_a_dynamic_hamstring_stretch_in_a_nerve_protocol():
    for protocol in PROTOCOLS.values():
        assert not set(slugs(protocol.slug, 1)) & TENSIONERS, protocol.slug
    for slug in ("hamstring-syndrome-rehabilitation", "sciatica-relief"):
        assert not set(slugs(slug, 1)) & HAMSTRING_STRETCHES, slug


def test_rehabilitation_loads_early_and_defers_stretching_and_the_seed_tensioner():
    first = slugs("hamstring-syndrome-rehabilitation", 1)
    assert {"supine-sciatic-nerve-glide", "isometric-hamstring-hold", "glute-bridge"} <= set(first)
    last = len(PROTOCOLS["hamstring-syndrome-rehabilitation"].phases)
    assert "seated-sciatic-nerve-mobilisation" in slugs("hamstring-syndrome-rehabilitation", last)
    criteria = " ".join(PROTOCOLS["hamstring-syndrome-rehabilitation"].phases[0].criteria)
    assert "3/10" in criteria and "30 minutes" in criteria


def test_sciatica_relief_keeps_the_patient_walking_in_every_phase_and_says_when_to_stop_bending():
    protocol = PROTOCOLS["sciatica-relief"]
    for number in range(1, len(protocol.phases) + 1):
        assert "graded-walking" in slugs("sciatica-relief", number)
    flexion = [i for i in protocol.items if i.exercise in {"knee-to-chest-stretch", "cat-camel"}]
    assert flexion and all("further down your leg" in i.instructions for i in flexion)
    assert "NG59" in protocol.sources


def test_nordic_curls_join_prevention_and_running():
    for slug in ("hamstring-syndrome-prevention", "runners-warm-up-and-cool-down"):
        assert "nordic-hamstring-curl" in {i.exercise for i in PROTOCOLS[slug].items}, slug


HAMSTRING_HEAVY = {
    "single-leg-bridge",
    "heels-on-bench-bridge",
    "ball-hamstring-curl",
    "nordic-hamstring-curl",
    "single-leg-romanian-deadlift",
    "stiff-leg-deadlift",
    "lying-cable-leg-curl",
}


def test_return_to_sport_keeps_hamstring_volume_down_and_builds_up_to_running():
    protocol = PROTOCOLS["hamstring-return-to-sport"]
    for number in range(1, len(protocol.phases) + 1):
        weekly = sum(
            (item.sets or 0) * (item.days_per_week or 0)
            for item in protocol.phase_items(number)
            if item.exercise in HAMSTRING_HEAVY
        )
        # It was about 14 sets a session, three days a week (42 a week).
        assert weekly <= 24, (number, weekly)
    running = [set(slugs(protocol.slug, n)) for n in range(1, len(protocol.phases) + 1)]
    assert "a-skip" in running[1] and "pogo-hops" in running[1]
    assert "strides-build-up-runs" in running[-1]


def test_claims_stay_within_their_evidence():
    texts = [p.description for p in PROTOCOLS.values()] + [e.purpose for e in library_exercises()]
    for text in texts:
        for claim in ("lowers the risk", "helps prevent", "prevents "):
            assert claim not in text, text
    prevention = PROTOCOLS["hamstring-syndrome-prevention"].description
    assert "structural" in prevention


# --- Starting and moving on --------------------------------------------------------


@pytest.fixture
def phased(db) -> PlanTemplate:
    first = factories.make_exercise(None, name="Slider", slug="test-slider")
    both = factories.make_exercise(None, name="Bridge", slug="test-bridge")
    later = factories.make_exercise(None, name="Tensioner", slug="test-tensioner")
    template = PlanTemplate.objects.create(clinic=None, name="Phased", slug="phased")
    TemplatePhase.objects.create(template=template, number=1, name="Settle", criteria="Calm.")
    TemplatePhase.objects.create(
        template=template, number=2, name="Load", criteria="Strong.", notes_for_patient="Harder."
    )
    for order, (exercise, phase, reps) in enumerate(
        [(first, 1, 10), (both, 1, 8), (both, 2, 12), (later, 2, 5)], start=1
    ):
        TemplateItem.objects.create(
            template=template, exercise=exercise, order=order, phase=phase, sets=1, reps=reps
        )
    return template


@pytest.mark.django_db
def test_a_plan_from_a_phased_protocol_starts_at_phase_one(phased, patient, therapist):
    with unscoped():
        plan = plans.start_plan_from_template(phased, patient=patient, therapist=therapist)
        rows = [(i.order, i.exercise.slug, i.reps) for i in plan.items.order_by("order")]
        assert plan.phase is not None and plan.phase.number == 1
    assert rows == [(1, "test-slider", 10), (2, "test-bridge", 8)]


@pytest.mark.django_db
def test_moving_on_gives_the_next_phases_exercises_as_a_new_revision(phased, patient, therapist):
    with unscoped():
        plan = plans.start_plan_from_template(phased, patient=patient, therapist=therapist)
        bridge = plan.items.get(exercise__slug="test-bridge")
        revision = plan.revision
        phase = plans.move_to_next_phase(plan)
        rows = [(i.order, i.exercise.slug, i.reps) for i in plan.items.order_by("order")]
        kept = plan.items.get(exercise__slug="test-bridge")
        plan.refresh_from_db()
        assert plans.next_phase(plan) is None
        with pytest.raises(ValueError):
            plans.move_to_next_phase(plan)
    assert phase.number == 2 and plan.phase == phase
    assert rows == [(1, "test-bridge", 12), (2, "test-tensioner", 5)]
    # The bridge carries on: same row, so what the patient recorded against it stays.
    assert kept.pk == bridge.pk
    assert plan.revision == revision + 1


@pytest.mark.django_db
def test_the_admin_shows_the_phase_with_its_criteria_and_moves_the_plan_on(
    client, phased, patient, therapist, outsider
):
    with unscoped():
        plan = plans.start_plan_from_template(phased, patient=patient, therapist=therapist)
    change = reverse("admin:prescriptions_plan_change", args=[plan.pk])
    url = reverse("admin:prescriptions_plan_next_phase", args=[plan.pk])
    login(client, therapist)
    page = client.get(change).content.decode()
    assert "Phase 1: Settle" in page and "Calm." in page and url in page

    assert client.get(url).status_code == 302  # a GET changes nothing
    with unscoped():
        assert Plan.objects.get(pk=plan.pk).phase.number == 1  # type: ignore[union-attr]
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == change
    with unscoped():
        assert Plan.objects.get(pk=plan.pk).phase.number == 2  # type: ignore[union-attr]

    # Another clinic's therapist cannot see the plan, let alone move it.
    login(client, outsider)
    assert client.post(url).status_code == 404


@pytest.mark.django_db
def test_the_portal_and_the_handout_name_the_phase(client, phased, patient, therapist):
    from prescriptions.handouts.context import load_plan, render_html

    with unscoped():
        plan = plans.start_plan_from_template(phased, patient=patient, therapist=therapist)
        plans.move_to_next_phase(plan)
        Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.ACTIVE)
        html = render_html(*load_plan(plan))
    assert "Phase 2: Load" in html and "Harder." in html
    page = login(client, patient).get(reverse("portal:plan")).content.decode()
    assert "Phase 2: Load" in page and "Harder." in page


# --- Upgrading an installation -------------------------------------------------------


@pytest.mark.django_db
def test_loading_the_library_adds_phases_and_leaves_existing_plans_alone(patient, therapist):
    load_library()
    with unscoped():
        template = PlanTemplate.objects.get(clinic=None, slug="sciatica-relief")
        # A plan from before phases: every exercise, no phase.
        exercise = Exercise.objects.get(slug="pelvic-tilt")
        old = factories.make_plan(patient, therapist, [exercise], template=template)
        TemplatePhase.objects.filter(template=template).update(name="Renamed in an old version")
        before = list(old.items.values_list("pk", "exercise_id", "reps"))
        report = load_library()
        assert report.templates.updated == 1
        phases = list(template.phases.order_by("number").values_list("number", "name"))
        assert list(old.items.values_list("pk", "exercise_id", "reps")) == before
        old.refresh_from_db()
    assert phases[0] == (1, PROTOCOLS["sciatica-relief"].phases[0].name)
    assert old.phase is None and old.template == template


@pytest.mark.django_db
def test_moving_on_keeps_the_sets_recorded_against_a_dropped_exercise(
    client, phased, patient, therapist
):
    """The slider leaves the plan at phase 2: its row is ended, not deleted, so the
    sets the patient recorded against it stay in adherence, the history and exports."""
    from prescriptions import adherence, export
    from prescriptions.handouts.context import load_plan, render_html
    from prescriptions.models import ExerciseLog, PlanItem, SessionLog

    today = patient.clinic.today()
    yesterday = today - datetime.timedelta(days=1)
    with unscoped():
        plan = plans.start_plan_from_template(
            phased, patient=patient, therapist=therapist, start_date=yesterday
        )
        Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.ACTIVE)
        plan.refresh_from_db()
        slider = plan.items.get(exercise__slug="test-slider")
        bridge = plan.items.get(exercise__slug="test-bridge")
        session = SessionLog.objects.create(plan=plan, date=yesterday, pain=2)
        ExerciseLog.objects.bulk_create(
            [
                ExerciseLog(session=session, item=slider, sets_done=1),
                ExerciseLog(session=session, item=bridge, sets_done=1),
            ]
        )

        plans.move_to_next_phase(plan)

        # Kept, ended today, with its log; no longer one of the plan's exercises.
        ended = PlanItem.with_ended.get(pk=slider.pk)
        assert ended.ended_on == today and ended.reps == 10
        assert ExerciseLog.objects.filter(item=slider).count() == 1
        assert [i.exercise.slug for i in plan.items.order_by("order")] == [
            "test-bridge",
            "test-tensioner",
        ]
        assert "Slider" not in render_html(*load_plan(plan))

        # Adherence: the therapist's view lists it after the current exercises, due
        # only until it ended (yesterday: 1 of 1); the current view leaves it out.
        rows = adherence.exercise_adherence(plan, yesterday, today, include_ended=True)
        by_slug = {row.item.exercise.slug: row.adherence for row in rows}
        assert [row.item.exercise.slug for row in rows][-1] == "test-slider"
        assert (by_slug["test-slider"].completed, by_slug["test-slider"].prescribed) == (1, 1)
        current = adherence.exercise_adherence(plan, yesterday, today)
        assert "test-slider" not in {row.item.exercise.slug for row in current}

        # The patient's export holds the ended prescription and the session's sets.
        data = export.patient_data(patient)
    items = {item["exercise"]: item for item in data["plans"][0]["items"]}
    assert items["Slider"]["ended_on"] == today and items["Bridge"]["ended_on"] is None
    assert {e["exercise"] for e in data["sessions"][0]["exercises"]} == {"Slider", "Bridge"}

    # The portal shows only the current exercises.
    page = login(client, patient).get(reverse("portal:plan")).content.decode()
    assert "Tensioner" in page and "Slider" not in page


@pytest.mark.django_db
def test_the_adherence_panel_names_an_ended_exercise(client, phased, patient, therapist):
    from prescriptions.models import ExerciseLog, SessionLog

    yesterday = patient.clinic.today() - datetime.timedelta(days=1)
    with unscoped():
        plan = plans.start_plan_from_template(
            phased, patient=patient, therapist=therapist, start_date=yesterday
        )
        slider = plan.items.get(exercise__slug="test-slider")
        session = SessionLog.objects.create(plan=plan, date=yesterday, pain=2)
        ExerciseLog.objects.create(session=session, item=slider, sets_done=1)
        plans.move_to_next_phase(plan)
    page = login(client, therapist).get(reverse("admin:prescriptions_plan_change", args=[plan.pk]))
    text = page.content.decode()
    assert "Slider" in text and "left the plan on" in text
