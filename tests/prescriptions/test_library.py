"""The shipped exercise library, its protocols and load_library."""

from __future__ import annotations

import dataclasses
import itertools
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from clinic.scoping import unscoped
from prescriptions.illustrations import pose_descriptions, render_svg
from prescriptions.illustrations.scene import POSES_FILE, scene_for
from prescriptions.library.loader import (
    EXERCISES_FILE,
    LibraryError,
    LibraryExercise,
    LibraryItem,
    library_exercises,
    library_protocols,
    load_library,
    parse_exercises,
    parse_protocols,
)
from prescriptions.models import Exercise, PlanTemplate, TemplateItem
from tests import factories

# The agreed catalogue: slug -> (category, body region, equipment, side).
CATALOGUE = {
    "brisk-walk-warm-up": ("aerobic_warmup", "whole_body", "none", "none"),
    "stationary-bike-warm-up": ("aerobic_warmup", "whole_body", "stationary_bike", "none"),
    "marching-on-the-spot": ("aerobic_warmup", "whole_body", "none", "none"),
    "forward-backward-leg-swing": ("dynamic_warmup", "back_of_thigh", "wall", "each"),
    "side-to-side-leg-swing": ("dynamic_warmup", "hip_buttock", "wall", "each"),
    "walking-knee-hug": ("dynamic_warmup", "hip_buttock", "none", "alternating"),
    "hamstring-scoop": ("dynamic_warmup", "back_of_thigh", "none", "alternating"),
    "heel-to-buttock-jog": ("dynamic_warmup", "front_of_thigh", "none", "alternating"),
    "inchworm-walkout": ("dynamic_warmup", "whole_body", "mat", "none"),
    "stiff-leg-deadlift": ("strengthening", "back_of_thigh", "barbell", "none"),
    "lying-cable-leg-curl": ("strengthening", "back_of_thigh", "cable_machine", "each"),
    "wide-stance-squat": ("strengthening", "whole_leg", "barbell", "none"),
    "glute-bridge": ("strengthening", "hip_buttock", "mat", "none"),
    "single-leg-bridge": ("strengthening", "hip_buttock", "mat", "each"),
    "heels-on-bench-bridge": ("strengthening", "back_of_thigh", "bench", "none"),
    "nordic-hamstring-curl": ("strengthening", "back_of_thigh", "mat", "none"),
    "single-leg-romanian-deadlift": ("strengthening", "back_of_thigh", "dumbbells", "each"),
    "standing-band-hamstring-curl": ("strengthening", "back_of_thigh", "resistance_band", "each"),
    "ball-hamstring-curl": ("strengthening", "back_of_thigh", "exercise_ball", "none"),
    "clamshell": ("strengthening", "hip_buttock", "mat", "each"),
    "sit-to-stand": ("strengthening", "whole_leg", "chair", "none"),
    "step-up": ("strengthening", "whole_leg", "step", "each"),
    "calf-raise": ("strengthening", "calf_ankle", "wall", "none"),
    "bird-dog": ("strengthening", "trunk", "mat", "alternating"),
    "dead-bug": ("strengthening", "trunk", "mat", "alternating"),
    "side-plank-knees": ("strengthening", "trunk", "mat", "each"),
    "standing-hamstring-stretch-bench": ("static_stretch", "back_of_thigh", "bench", "each"),
    "supine-strap-hamstring-stretch": ("static_stretch", "back_of_thigh", "strap", "each"),
    "seated-hamstring-stretch-chair": ("static_stretch", "back_of_thigh", "chair", "each"),
    "supine-piriformis-stretch": ("static_stretch", "hip_buttock", "mat", "each"),
    "seated-piriformis-stretch": ("static_stretch", "hip_buttock", "chair", "each"),
    "kneeling-hip-flexor-stretch": ("static_stretch", "front_of_thigh", "mat", "each"),
    "standing-quadriceps-stretch": ("static_stretch", "front_of_thigh", "wall", "each"),
    "wall-calf-stretch": ("static_stretch", "calf_ankle", "wall", "each"),
    "knee-to-chest-stretch": ("static_stretch", "lower_back", "mat", "each"),
    "childs-pose": ("static_stretch", "lower_back", "mat", "none"),
    "seated-sciatic-nerve-mobilisation": ("nerve_mobilisation", "whole_leg", "bench", "affected"),
    "seated-sciatic-nerve-slider": ("nerve_mobilisation", "whole_leg", "chair", "affected"),
    "seated-sciatic-nerve-tensioner": ("nerve_mobilisation", "whole_leg", "chair", "affected"),
    "supine-sciatic-nerve-glide": ("nerve_mobilisation", "whole_leg", "mat", "affected"),
    "pelvic-tilt": ("mobility", "lower_back", "mat", "none"),
    "lying-knee-rolls": ("mobility", "lower_back", "mat", "alternating"),
    "cat-camel": ("mobility", "lower_back", "mat", "none"),
    "prone-press-up": ("mobility", "lower_back", "mat", "none"),
    "single-leg-stance": ("balance", "whole_leg", "wall", "each"),
    "tandem-stance": ("balance", "whole_leg", "wall", "none"),
    "single-leg-reach": ("balance", "whole_leg", "none", "each"),
    "step-down-control": ("balance", "knee", "step", "each"),
    "graded-walking": ("aerobic_warmup", "whole_body", "none", "none"),
    "isometric-hamstring-hold": ("strengthening", "back_of_thigh", "mat", "each"),
    "dowel-hip-hinge": ("strengthening", "back_of_thigh", "stick", "none"),
    "a-skip": ("dynamic_warmup", "whole_leg", "none", "alternating"),
    "strides-build-up-runs": ("dynamic_warmup", "whole_body", "none", "none"),
    "pogo-hops": ("strengthening", "calf_ankle", "none", "none"),
}


def exercise(slug: str) -> LibraryExercise:
    return next(e for e in library_exercises() if e.slug == slug)


def with_changed(slug: str, **changes: object) -> list[LibraryExercise]:
    """The catalogue with one exercise's data changed."""
    return [
        dataclasses.replace(e, **changes) if e.slug == slug else e  # type: ignore[arg-type]
        for e in library_exercises()
    ]


# --- The catalogue -----------------------------------------------------------


def test_it_ships_exactly_the_agreed_catalogue():
    exercises = library_exercises()
    assert len(exercises) >= 40
    found = {e.slug: (e.category, e.body_region, e.equipment, e.side) for e in exercises}
    assert found == CATALOGUE


@pytest.mark.django_db
@pytest.mark.parametrize("data", library_exercises(), ids=lambda e: e.slug)
def test_every_exercise_is_complete_and_valid(data: LibraryExercise):
    assert 3 <= len(data.steps) <= 7
    assert data.purpose and len(data.purpose) <= 200
    assert data.stop_signs
    assert data.difficulty in {1, 2, 3}
    assert any(getattr(data, amount) for amount in ("reps", "hold_seconds", "duration_minutes"))
    # The model's own validation: choices, lengths and the dosage bounds.
    with unscoped():
        Exercise(clinic=None, slug=data.slug, **data.model_fields()).full_clean()


def test_held_exercises_and_stretches_are_timed_and_moving_ones_are_counted():
    held = {"side-plank-knees", "single-leg-stance", "tandem-stance"}
    for data in library_exercises():
        if data.category == Exercise.Category.STATIC_STRETCH or data.slug in held:
            assert data.hold_seconds and not data.reps, data.slug
        elif data.category == Exercise.Category.AEROBIC_WARMUP:
            assert data.duration_minutes, data.slug
        else:
            assert data.reps, data.slug


def test_nerve_exercises_are_gentle_and_leave_the_shared_rules_to_one_place():
    nerve = [e for e in library_exercises() if e.category == Exercise.Category.NERVE_MOBILISATION]
    assert len(nerve) == 4
    for data in nerve:
        # Keep moving: the nerve is never held on tension.
        assert data.hold_seconds is None, data.slug
        # Prescribed for the painful leg, not both.
        assert data.side == "affected", data.slug
        signs = " ".join(data.stop_signs).lower()
        assert "down your leg" in signs and "weak" in signs, data.slug
        # How long symptoms may last is said once, in prescriptions.safety: no card
        # states a limit of its own (there were three different ones).
        text = " ".join((*data.steps, *data.cautions, *data.stop_signs)).lower()
        for limit in ("minute", "30 min", "half an hour", "hour"):
            assert limit not in text, (data.slug, limit)


# Sliders move the nerve without tensioning both ends; tensioners load it.
SLIDERS = {"supine-sciatic-nerve-glide", "seated-sciatic-nerve-slider"}
TENSIONERS = {"seated-sciatic-nerve-mobilisation", "seated-sciatic-nerve-tensioner"}


def test_sliders_come_first_and_tensioners_are_harder_and_gentler_in_dose():
    by_slug = {e.slug: e for e in library_exercises()}
    assert {
        e.slug for e in by_slug.values() if e.category == Exercise.Category.NERVE_MOBILISATION
    } == SLIDERS | TENSIONERS
    for slug in SLIDERS:
        assert by_slug[slug].difficulty == 1, slug
    for slug in TENSIONERS:
        tensioner = by_slug[slug]
        assert tensioner.difficulty >= 2, slug
        assert (tensioner.sets, tensioner.times_per_day) == (1, 1), slug
        assert tensioner.reps is not None and tensioner.reps <= 10, slug
        assert "after every 5" in " ".join((*tensioner.steps, *tensioner.cautions)).lower(), slug
    # The chain runs from the easiest slider to the full tensioner.
    chain = [
        "supine-sciatic-nerve-glide",
        "seated-sciatic-nerve-slider",
        "seated-sciatic-nerve-mobilisation",
        "seated-sciatic-nerve-tensioner",
    ]
    for easier, harder in itertools.pairwise(chain):
        assert by_slug[easier].harder == harder and by_slug[harder].easier == easier


def test_the_lying_slider_points_the_toes_as_the_knee_straightens():
    """Straightening the knee with the toes pulled up tensions both ends at once:
    that is a tensioner, not the difficulty-1 glide it was shipped as."""
    steps = " ".join(exercise("supine-sciatic-nerve-glide").steps)
    assert "straighten the knee as far as is comfortable while you point your toes away" in steps
    assert "bend the knee again while you pull your toes back" in steps


STRETCHES_OF_THE_NERVE_BED = {
    "standing-hamstring-stretch-bench",
    "seated-hamstring-stretch-chair",
    "supine-strap-hamstring-stretch",
    "hamstring-scoop",
}


def test_no_nerve_exercise_or_hamstring_stretch_adds_tension_by_pulling_the_toes_up():
    for data in library_exercises():
        if data.category == Exercise.Category.NERVE_MOBILISATION and data.slug in TENSIONERS:
            continue
        if data.category == Exercise.Category.NERVE_MOBILISATION or (
            data.slug in STRETCHES_OF_THE_NERVE_BED
        ):
            steps = " ".join(data.steps).lower()
            assert "toes pointing up" not in steps, data.slug
            assert "toes up" not in steps.replace("do not pull the toes up", ""), data.slug
    for slug in STRETCHES_OF_THE_NERVE_BED:
        assert "sciatic nerve" in " ".join(exercise(slug).cautions), slug


def test_dynamic_hamstring_work_is_kept_out_of_a_flare():
    for slug in ("forward-backward-leg-swing", "hamstring-scoop", "stiff-leg-deadlift"):
        assert "not during a flare" in " ".join(exercise(slug).cautions).lower(), slug
    deadlift = exercise("stiff-leg-deadlift")
    steps = " ".join(deadlift.steps)
    assert "strong stretch" not in steps
    assert "moderate stretch" in steps and "just below your knees" in steps
    assert "mid-thigh height" in steps
    assert deadlift.easier is not None


def test_the_seed_articles_exercises_are_there_with_their_dosage():
    walk = exercise("brisk-walk-warm-up")
    assert walk.duration_minutes is not None and 5 <= walk.duration_minutes <= 10
    assert "5 to 10 minutes" in " ".join(walk.steps)

    swings = exercise("forward-backward-leg-swing")
    assert swings.category == Exercise.Category.DYNAMIC_WARMUP
    assert "straight" in " ".join(swings.steps)

    assert exercise("stiff-leg-deadlift").equipment == Exercise.Equipment.BARBELL
    assert exercise("lying-cable-leg-curl").equipment == Exercise.Equipment.CABLE_MACHINE
    squat = exercise("wide-stance-squat")
    assert squat.equipment == Exercise.Equipment.BARBELL
    assert "wider than shoulder-width" in " ".join(squat.steps)

    bench = exercise("standing-hamstring-stretch-bench")
    assert (bench.hold_seconds, bench.side, bench.reps) == (30, "each", None)
    steps = " ".join(bench.steps)
    assert "heel" in steps and "bench" in steps
    assert "lean forward slowly from your waist" in steps
    assert "back of your raised thigh" in steps
    assert "opposite leg" in steps
    assert "after your workout" in " ".join(bench.cautions)

    mobilisation = exercise("seated-sciatic-nerve-mobilisation")
    steps = " ".join(mobilisation.steps)
    assert "raised surface" in steps and "ankle" in steps and "extend" in steps


def test_progressions_point_both_ways():
    by_slug = {e.slug: e for e in library_exercises()}
    for data in by_slug.values():
        if data.harder:
            assert by_slug[data.harder].easier == data.slug, data.slug
        if data.easier:
            assert by_slug[data.easier].harder == data.slug, data.slug
    assert exercise("glute-bridge").harder == "single-leg-bridge"
    assert exercise("single-leg-bridge").harder == "heels-on-bench-bridge"
    assert exercise("ball-hamstring-curl").harder == "nordic-hamstring-curl"


def test_protocols_use_only_exercises_in_the_catalogue():
    slugs = {e.slug for e in library_exercises()}
    protocols = {p.slug: p for p in library_protocols()}
    assert {
        "hamstring-syndrome-prevention",
        "hamstring-syndrome-rehabilitation",
        "sciatica-relief",
        "runners-warm-up-and-cool-down",
    } <= set(protocols)
    for protocol in protocols.values():
        assert protocol.items and protocol.name and protocol.description, protocol.slug
        assert protocol.goals and protocol.notes_for_patient and protocol.duration_weeks
        assert {item.exercise for item in protocol.items} <= slugs, protocol.slug


def test_the_prevention_protocol_warms_up_first_and_stretches_last():
    protocol = next(p for p in library_protocols() if p.slug == "hamstring-syndrome-prevention")
    order = [item.exercise for item in protocol.items]
    assert order[0] == "brisk-walk-warm-up"
    assert order[1] == "forward-backward-leg-swing"
    assert {"stiff-leg-deadlift", "lying-cable-leg-curl", "wide-stance-squat"} <= set(order)
    assert order[-1] == "standing-hamstring-stretch-bench"


def test_sciatica_relief_has_the_gentle_nerve_and_back_exercises():
    protocol = next(p for p in library_protocols() if p.slug == "sciatica-relief")
    order = [item.exercise for item in protocol.items]
    assert order[0] == "supine-sciatic-nerve-glide"
    assert "seated-sciatic-nerve-tensioner" not in order
    for slug in ("supine-sciatic-nerve-glide", "pelvic-tilt", "knee-to-chest-stretch"):
        assert slug in order
    for slug in ("supine-piriformis-stretch", "lying-knee-rolls", "cat-camel"):
        assert slug in order


def test_an_item_that_gives_a_hold_drops_the_exercises_default_repetitions():
    item = LibraryItem(exercise="glute-bridge", hold_seconds=30)
    dosage = item.dosage(exercise("glute-bridge").dosage())
    assert (dosage["reps"], dosage["hold_seconds"], dosage["sets"]) == (None, 30, 2)
    assert LibraryItem(exercise="glute-bridge", sets=3).dosage(exercise("glute-bridge").dosage())[
        "reps"
    ] == (10)


def test_parsing_rejects_unknown_and_missing_fields_by_name():
    table = {
        "slug": "x",
        "name": "X",
        "category": "mobility",
        "body_region": "knee",
        "equipment": "none",
        "difficulty": 1,
        "purpose": "P.",
        "steps": ["a", "b", "c"],
        "cautions": [],
        "stop_signs": ["s"],
        "sets": 1,
        "reps": 5,
        "rest_seconds": 0,
        "side": "none",
        "times_per_day": 1,
        "days_per_week": 7,
    }
    assert parse_exercises({"exercise": [table]})[0].reps == 5
    with pytest.raises(LibraryError, match=r"Exercise 'x': unknown field 'repz'"):
        parse_exercises({"exercise": [{**table, "repz": 5}]})
    without_purpose = {k: v for k, v in table.items() if k != "purpose"}
    with pytest.raises(LibraryError, match=r"Exercise 'x': field 'purpose' is missing"):
        parse_exercises({"exercise": [without_purpose]})
    with pytest.raises(LibraryError, match=r"Exercise 'x': field 'sets' must be a whole number"):
        parse_exercises({"exercise": [{**table, "sets": "three"}]})
    with pytest.raises(LibraryError, match=r"Exercise 'x': field 'illustration_alt'.*poses\.toml"):
        parse_exercises({"exercise": [{**table, "illustration_alt": "A drawing."}]})
    with pytest.raises(LibraryError, match=r"Protocol 'p', item 1: unknown field 'rep'"):
        parse_protocols(
            {
                "protocol": [
                    {
                        "slug": "p",
                        "name": "P",
                        "condition": "",
                        "description": "",
                        "goals": "",
                        "notes_for_patient": "",
                        "item": [{"exercise": "x", "rep": 3}],
                    }
                ]
            }
        )


# --- Loading -----------------------------------------------------------------


@pytest.mark.django_db
def test_loading_creates_the_shared_library_with_links_and_protocols():
    report = load_library()

    assert (report.exercises.created, report.templates.created) == (54, len(library_protocols()))
    with unscoped():
        assert Exercise.objects.shared().count() == 54
        bridge = Exercise.objects.get(slug="single-leg-bridge")
    assert bridge.clinic is None
    assert bridge.easier is not None and bridge.easier.slug == "glute-bridge"
    assert bridge.harder is not None and bridge.harder.slug == "heels-on-bench-bridge"
    assert bridge.step_list[0].startswith("Lie on your back")

    with unscoped():
        template = PlanTemplate.objects.get(slug="hamstring-syndrome-prevention", clinic=None)
        items = list(template.items.select_related("exercise").order_by("order"))
    assert [i.order for i in items] == list(range(1, len(items) + 1))
    assert items[0].exercise.slug == "brisk-walk-warm-up"
    stretch = items[-1]
    assert stretch.exercise.slug == "standing-hamstring-stretch-bench"
    assert (stretch.hold_seconds, stretch.reps, stretch.side) == (30, None, "each")
    assert "30 seconds" in stretch.instructions


@pytest.mark.django_db
def test_loading_twice_creates_and_changes_nothing(django_assert_max_num_queries):
    load_library()
    with unscoped():
        before = (
            Exercise.objects.count(),
            PlanTemplate.objects.count(),
            TemplateItem.objects.count(),
        )
        stamps = dict(Exercise.objects.values_list("slug", "updated_at"))
        item_ids = set(TemplateItem.objects.values_list("pk", flat=True))

    # A savepoint and its release, the library, its protocols with their items and
    # phases, the stored versions in other languages, and the education pages (read
    # once) with their versions in other languages.
    with django_assert_max_num_queries(10):
        report = load_library()

    assert not report.changed
    assert report.exercises.unchanged == 54
    assert report.templates.unchanged == len(library_protocols())
    with unscoped():
        after = (
            Exercise.objects.count(),
            PlanTemplate.objects.count(),
            TemplateItem.objects.count(),
        )
        assert after == before
        assert dict(Exercise.objects.values_list("slug", "updated_at")) == stamps
        assert set(TemplateItem.objects.values_list("pk", flat=True)) == item_ids


@pytest.mark.django_db
def test_it_never_touches_a_clinics_own_exercise_or_template_with_the_same_slug(clinic):
    own = factories.make_exercise(
        clinic, slug="glute-bridge", name="Our bridge", purpose="Riverside's own way."
    )
    own_template = factories.make_template(clinic, [own], name="Our sciatica routine")
    with unscoped():
        PlanTemplate.objects.filter(pk=own_template.pk).update(slug="sciatica-relief")
    own_stamp = own.updated_at

    load_library()
    load_library()

    own.refresh_from_db()
    assert (own.name, own.purpose) == ("Our bridge", "Riverside's own way.")
    assert own.updated_at == own_stamp
    assert own.harder is None
    with unscoped():
        shared = Exercise.objects.get(clinic=None, slug="glute-bridge")
        assert shared.pk != own.pk and shared.name == "Glute bridge"
        own_template.refresh_from_db()
        assert own_template.name == "Our sciatica routine"
        assert list(own_template.items.values_list("exercise_id", flat=True)) == [own.pk]
        assert PlanTemplate.objects.filter(clinic=None, slug="sciatica-relief").exists()


@pytest.mark.django_db
def test_changed_text_in_the_data_updates_the_shared_row_in_place():
    load_library()
    with unscoped():
        row = Exercise.objects.get(clinic=None, slug="clamshell")

    changed = with_changed(
        "clamshell",
        purpose="Strengthens the side of your hip.",
        steps=("Lie on your side.", "Lift the top knee.", "Lower it slowly."),
    )
    report = load_library(exercises=changed)

    assert (report.exercises.updated, report.exercises.unchanged) == (1, 53)
    assert report.templates.unchanged == len(library_protocols())
    row.refresh_from_db()
    assert row.purpose == "Strengthens the side of your hip."
    assert row.step_list == ["Lie on your side.", "Lift the top knee.", "Lower it slowly."]
    with unscoped():
        assert Exercise.objects.filter(slug="clamshell").count() == 1


# --- The drawing's description comes from its pose --------------------------


@pytest.mark.parametrize("data", library_exercises(), ids=lambda e: e.slug)
def test_every_shipped_exercise_takes_its_drawings_description_from_its_pose(
    data: LibraryExercise,
):
    alt = data.illustration_alt
    assert 40 <= len(alt) <= 300
    assert alt == " ".join(scene_for(data.slug).alt.split())
    # The same words are the SVG's own description.
    assert f'<desc id="d">{alt}</desc>' in render_svg(scene_for(data.slug), data.name)


def test_the_exercise_data_file_carries_no_description_of_its_own():
    assert "illustration_alt =" not in EXERCISES_FILE.read_text()


def changed_poses(tmp_path, slug: str, alt: str):
    """A copy of poses.toml with one drawing described differently."""
    text = POSES_FILE.read_text()
    old = f'alt = "{pose_descriptions()[slug]}"'
    head, sep, tail = text.partition(f"[{slug}]\n")
    assert sep and old in tail.split("\n[", 1)[0]
    target = tmp_path / "poses.toml"
    target.write_text(head + sep + tail.replace(old, f'alt = "{alt}"', 1))
    return target


@pytest.mark.django_db
def test_the_loaded_row_gets_the_poses_description():
    load_library()
    with unscoped():
        row = Exercise.objects.get(clinic=None, slug="clamshell")
    assert row.illustration_alt == pose_descriptions()["clamshell"]
    assert row.illustration_text() == row.illustration_alt


@pytest.mark.django_db
def test_rerunning_the_load_after_a_pose_description_changes_updates_only_that_row(
    tmp_path, monkeypatch
):
    load_library()
    new = "A person lying on one side, opening and closing the top knee like a shell."
    monkeypatch.setattr(
        "prescriptions.illustrations.scene.POSES_FILE", changed_poses(tmp_path, "clamshell", new)
    )

    report = load_library()

    assert (report.exercises.updated, report.exercises.unchanged) == (1, 53)
    with unscoped():
        assert Exercise.objects.get(clinic=None, slug="clamshell").illustration_alt == new
        assert (
            Exercise.objects.get(clinic=None, slug="glute-bridge").illustration_alt
            == (pose_descriptions()["glute-bridge"])
        )


@pytest.mark.django_db
def test_a_changed_link_or_protocol_dosage_is_updated():
    load_library()
    report = load_library(exercises=with_changed("calf-raise", harder="step-up"))
    assert report.exercises.updated == 1
    with unscoped():
        assert Exercise.objects.get(slug="calf-raise").harder == Exercise.objects.get(
            slug="step-up"
        )

    protocols = list(library_protocols())
    relief = next(i for i, p in enumerate(protocols) if p.slug == "sciatica-relief")
    first = dataclasses.replace(protocols[relief].items[0], reps=6)
    protocols[relief] = dataclasses.replace(
        protocols[relief], items=(first, *protocols[relief].items[1:])
    )
    report = load_library(protocols=protocols)

    assert (report.templates.updated, report.templates.unchanged) == (1, len(protocols) - 1)
    with unscoped():
        item = TemplateItem.objects.get(template__slug="sciatica-relief", order=1)
    assert item.reps == 6


@pytest.mark.django_db
def test_bad_exercise_data_fails_naming_slug_and_field_and_saves_nothing():
    bad = with_changed("step-down-control", reps=99)

    with pytest.raises(LibraryError) as error:
        load_library(exercises=bad)

    message = str(error.value)
    assert "'step-down-control'" in message
    assert "reps" in message and "50" in message
    # The 47 good rows before it were rolled back with it.
    with unscoped():
        assert Exercise.objects.count() == 0
        assert PlanTemplate.objects.count() == 0


@pytest.mark.django_db
def test_a_bad_protocol_item_rolls_back_the_exercises_too():
    protocols = list(library_protocols())
    first = dataclasses.replace(protocols[0].items[0], sets=11)
    protocols[0] = dataclasses.replace(protocols[0], items=(first, *protocols[0].items[1:]))

    expected = r"'hamstring-syndrome-prevention', item 1 \(brisk-walk-warm-up\): sets: .*10"
    with pytest.raises(LibraryError, match=expected):
        load_library(protocols=protocols)

    with unscoped():
        assert Exercise.objects.count() == 0


@pytest.mark.django_db
def test_a_link_or_item_naming_a_missing_exercise_is_reported_before_any_write():
    with pytest.raises(LibraryError, match=r"'calf-raise': harder: no exercise .*'moon-walk'"):
        load_library(exercises=with_changed("calf-raise", harder="moon-walk"))
    with pytest.raises(LibraryError, match=r"'calf-raise': easier: names itself"):
        load_library(exercises=with_changed("calf-raise", easier="calf-raise"))
    with unscoped():
        assert Exercise.objects.count() == 0


@pytest.mark.django_db
def test_the_command_prints_a_short_report():
    out = StringIO()
    call_command("load_library", stdout=out)
    assert "Exercises: 54 created, 0 updated, 0 unchanged." in out.getvalue()

    out = StringIO()
    call_command("load_library", stdout=out)
    assert "Exercises: 0 created, 0 updated, 54 unchanged." in out.getvalue()
    assert "already up to date" in out.getvalue()


@pytest.mark.django_db
def test_the_command_turns_bad_data_into_a_command_error(monkeypatch):
    bad = tuple(with_changed("clamshell", sets=0))
    monkeypatch.setattr("prescriptions.library.loader.library_exercises", lambda: bad)

    with pytest.raises(CommandError, match=r"not loaded: Exercise 'clamshell': sets"):
        call_command("load_library", stdout=StringIO())
    with unscoped():
        assert Exercise.objects.count() == 0


@pytest.mark.django_db
def test_an_exercise_without_any_amount_is_refused_with_the_models_message():
    bad = with_changed("cat-camel", reps=None)

    with pytest.raises(LibraryError, match=r"'cat-camel': reps: Give repetitions, a hold time"):
        load_library(exercises=bad)
    with unscoped():
        assert Exercise.objects.count() == 0
