"""The library in other languages: every shipped exercise and protocol has its German
version, matching the English; load_library stores them; the portal, the handout and
a plan started from a protocol use them for a German-speaking patient."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from django.urls import reverse

from clinic.models import Patient
from clinic.scoping import scope, unscoped
from prescriptions import handouts, plans
from prescriptions.handouts.context import load_plan
from prescriptions.library.languages import (
    LanguageFile,
    exercise_source,
    library_translations,
    page_problems,
    parse_language_file,
    translation_problems,
)
from prescriptions.library.loader import (
    library_exercises,
    library_pages,
    library_protocols,
    load_library,
)
from prescriptions.localise import show_in
from prescriptions.models import (
    EducationPage,
    EducationPageTranslation,
    Exercise,
    ExerciseTranslation,
    Plan,
    PlanItem,
    PlanTemplate,
    PlanTemplateTranslation,
)
from tests import factories
from tests.conftest import login


def _german() -> LanguageFile:
    (german,) = [f for f in library_translations() if f.language == "de"]
    return german


# --- The shipped German --------------------------------------------------------------


def test_every_shipped_exercise_and_protocol_has_a_matching_german_version():
    # Fails when the English changes after the translation (the message names the
    # entry and its new fingerprint), when a German field is missing, or when steps,
    # cautions, stop signs, numbers or placeholders differ in count.
    problems = translation_problems(library_exercises(), library_protocols(), [_german()])
    assert problems == [], "\n".join(problems)
    assert len(_german().exercises) == len(library_exercises())
    assert len(_german().protocols) == len(library_protocols())


def test_the_check_names_what_is_missing_or_changed():
    exercise = library_exercises()[0]
    german = _german()
    text = german.exercises[exercise.slug]
    changed_english = dataclasses.replace(exercise, purpose=exercise.purpose + " More.")
    fewer_steps = dataclasses.replace(text, steps=text.steps[:-1])
    other_number = dataclasses.replace(text, steps=(text.steps[0] + " 99", *text.steps[1:]))

    def problems_with(english, translated):
        file = LanguageFile("de", {english.slug: translated}, {})
        return translation_problems([english], [], [file])

    assert problems_with(exercise, text) == []
    (stale,) = problems_with(changed_english, text)
    assert "the English changed since it was translated" in stale
    assert exercise_source(changed_english) in stale
    assert any("steps has" in p for p in problems_with(exercise, fewer_steps))
    assert any("the numbers differ" in p for p in problems_with(exercise, other_number))
    missing = translation_problems([exercise], [], [LanguageFile("de", {}, {})])
    assert missing == [f"de: exercise {exercise.slug!r}: no translation."]


def test_the_check_names_what_is_wrong_in_a_protocols_phases_and_items():
    protocol = next(p for p in library_protocols() if p.phases and p.items)
    text = _german().protocols[protocol.slug]

    def problems_with(**changes):
        translated = dataclasses.replace(text, **changes)
        file = LanguageFile("de", {}, {protocol.slug: translated})
        return translation_problems([], [protocol], [file])

    assert problems_with() == []
    where = f"de: protocol {protocol.slug!r}"
    no_phase_name = {**text.phases, 1: {**text.phases[1], "name": ""}}
    assert f"{where}, phase 1: field 'name' is missing." in problems_with(phases=no_phase_name)
    extra_phase = {**text.phases, len(protocol.phases) + 1: {"name": "Mehr"}}
    assert f"{where}: phase {len(protocol.phases) + 1} is not in the protocol." in problems_with(
        phases=extra_phase
    )
    position = next(n for n, i in enumerate(protocol.items, start=1) if not i.tempo)
    with_tempo = {**text.items, position: {**text.items.get(position, {}), "tempo": "langsam"}}
    assert f"{where}, item {position}: 'tempo' has no English." in problems_with(items=with_tempo)
    unknown = LanguageFile("de", {}, {"no-such-protocol": text})
    assert translation_problems([], [], [unknown]) == [
        "de: protocol 'no-such-protocol' is not in the library."
    ]


def test_parsing_rejects_unknown_fields_by_name():
    from prescriptions.library.languages import TranslationError

    with pytest.raises(TranslationError, match="exercise 'x': unknown field 'nmae'"):
        parse_language_file({"exercise": {"x": {"source": "a", "nmae": "b"}}}, "de")
    with pytest.raises(TranslationError, match="field 'name' is missing"):
        parse_language_file({"exercise": {"x": {"source": "a"}}}, "de")


# --- Loading --------------------------------------------------------------------------


@pytest.mark.django_db
def test_loading_stores_the_german_beside_the_english():
    report = load_library()
    assert report.translations.created == (
        len(library_exercises()) + len(library_protocols()) + len(library_pages())
    )
    with unscoped():
        stretch = ExerciseTranslation.objects.get(
            exercise__slug="standing-hamstring-stretch-bench", exercise__clinic=None
        )
        english = Exercise.objects.get(slug="standing-hamstring-stretch-bench", clinic=None)
        protocol = PlanTemplateTranslation.objects.get(
            template__slug="hamstring-syndrome-prevention", template__clinic=None
        )
    assert stretch.language == "de"
    assert len(stretch.steps.splitlines()) == len(english.steps.splitlines())
    assert "30 Sekunden" in stretch.steps
    assert protocol.item_text(7, "instructions").startswith("Nach dem Training")
    again = load_library()
    assert again.translations.unchanged == report.translations.created
    assert not again.changed


@pytest.mark.django_db
def test_a_translation_no_longer_shipped_is_removed():
    load_library()
    german = _german()
    slug = library_exercises()[0].slug
    smaller = LanguageFile(
        "de", {k: v for k, v in german.exercises.items() if k != slug}, german.protocols
    )
    load_library(translations=[smaller])
    with unscoped():
        assert not ExerciseTranslation.objects.filter(exercise__slug=slug).exists()


# --- Showing --------------------------------------------------------------------------


@pytest.fixture
def german_plan(clinic, patient, therapist):
    load_library()
    with unscoped():
        Patient.objects.filter(pk=patient.pk).update(preferred_language="de")
        stretch = Exercise.objects.get(slug="standing-hamstring-stretch-bench", clinic=None)
        own = factories.make_exercise(clinic, name="Our own step exercise")
        return factories.make_plan(patient, therapist, [stretch, own])


def test_the_portal_shows_library_exercises_in_german_and_falls_back(client, patient, german_plan):
    login(client, patient)
    page = client.get(reverse("portal:plan")).content.decode()
    assert "Dehnung der Oberschenkelrückseite im Stehen, Ferse auf einer Bank" in page
    assert "Halten Sie die Dehnung 30 Sekunden" in page
    # The clinic's own exercise has no German version: its original words.
    assert "Our own step exercise" in page
    today = client.get(reverse("portal:today")).content.decode()
    assert "Ferse auf einer Bank" in today


def test_an_english_patient_keeps_the_english(client, other_patient, colleague):
    load_library()
    with unscoped():
        stretch = Exercise.objects.get(slug="standing-hamstring-stretch-bench", clinic=None)
        factories.make_plan(other_patient, colleague, [stretch])
    login(client, other_patient)
    page = client.get(reverse("portal:plan")).content.decode()
    assert "Standing hamstring stretch, heel on a bench" in page
    assert "Ferse auf einer Bank" not in page


def test_the_handout_is_in_german(patient, german_plan):
    with scope(patient.clinic):
        html = handouts.render_html(*handouts.load_plan(german_plan))
    assert "Dehnung der Oberschenkelrückseite im Stehen" in html
    assert "Standing hamstring stretch" not in html


def test_a_clinics_own_exercise_can_carry_a_german_version(clinic, patient, german_plan):
    with unscoped():
        own = Exercise.objects.get(name="Our own step exercise")
        ExerciseTranslation.objects.create(
            exercise=own, language="de", name="Unsere eigene Stufenübung", steps="Eins.\nZwei."
        )
    with scope(clinic):
        items = list(PlanItem.objects.filter(plan=german_plan).select_related("exercise"))
        show_in(items, "de")
    shown = {item.exercise.name for item in items}
    assert "Unsere eigene Stufenübung" in shown
    copy = next(i.exercise for i in items if i.exercise.pk == own.pk)
    assert copy.step_list == ["Eins.", "Zwei."]
    # Empty fields keep the original's words.
    assert copy.purpose == own.purpose
    with pytest.raises(ValueError, match="cannot be saved"):
        copy.save()


def test_a_plan_from_a_protocol_takes_the_patients_language(patient, therapist):
    load_library()
    with unscoped():
        Patient.objects.filter(pk=patient.pk).update(preferred_language="de")
        patient.refresh_from_db()
        template = PlanTemplate.objects.get(slug="hamstring-syndrome-prevention", clinic=None)
    with scope(patient.clinic):
        plan = plans.start_plan_from_template(
            template, patient=patient, therapist=therapist, start_date=datetime.date(2026, 11, 2)
        )
        items = list(plan.items.order_by("order"))
    assert plan.title == "Vorbeugung gegen das Hamstring-Syndrom"
    assert plan.notes_for_patient.startswith("Machen Sie diese Einheit")
    assert items[6].instructions.startswith("Nach dem Training")
    # Phase 1 of the protocol: the lying leg curl is its fifth exercise.
    assert items[4].tempo == "1 s auf, 3 s ab"
    # An item without words of its own stays empty.
    assert items[1].instructions == ""


# --- Protocol phases and education pages in German ----------------------------------


def test_every_shipped_education_page_has_a_matching_german_version():
    problems = page_problems(library_pages(), [_german()])
    assert problems == [], "\n".join(problems)
    assert set(_german().pages) == {page.slug for page in library_pages()}
    for protocol in library_protocols():
        phases = _german().protocols[protocol.slug].phases
        assert set(phases) == set(range(1, len(protocol.phases) + 1)), protocol.slug


def test_the_page_check_names_a_changed_english_and_a_lost_paragraph():
    page = library_pages()[0]
    text = _german().pages[page.slug]
    changed = dataclasses.replace(page, body=page.body + "\n\nOne more paragraph.")
    problems = page_problems([changed], [_german()])
    assert any("the English changed" in p and page.slug in p for p in problems)
    assert any("paragraphs" in p for p in problems)
    shorter = dataclasses.replace(text, body=text.body.split("\n\n")[0])
    german = dataclasses.replace(_german(), pages={page.slug: shorter})
    assert any("paragraphs" in p for p in page_problems([page], [german]))
    missing = page_problems([page], [LanguageFile("de", {}, {})])
    assert missing == [f"de: education page {page.slug!r}: no translation."]


def test_a_german_patient_reads_the_phase_and_the_pages_in_german(client, patient, therapist):
    load_library()
    with unscoped():
        Patient.objects.filter(pk=patient.pk).update(preferred_language="de")
        patient.refresh_from_db()
        template = PlanTemplate.objects.get(slug="sciatica-relief", clinic=None)
        page = EducationPage.objects.get(slug="sciatica-what-it-is", clinic=None)
        plan = plans.start_plan_from_template(template, patient=patient, therapist=therapist)
        plan.education.add(page)
        Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.ACTIVE)
        html = handouts.render_html(*load_plan(plan))
    german_phase = "Beruhigen und in Bewegung bleiben"
    german_title = "Ischias: was dahintersteckt und wie er meist abklingt"
    assert german_phase in html and german_title in html
    assert "Calm it down" not in html and "what it is and how it usually settles" not in html
    portal = login(client, patient).get(reverse("portal:plan")).content.decode()
    assert german_phase in portal and german_title in portal and "Calm it down" not in portal


def test_an_english_patient_keeps_the_english_phase_and_pages(client, patient, therapist):
    load_library()
    with unscoped():
        template = PlanTemplate.objects.get(slug="sciatica-relief", clinic=None)
        page = EducationPage.objects.get(slug="sciatica-what-it-is", clinic=None)
        plan = plans.start_plan_from_template(template, patient=patient, therapist=therapist)
        plan.education.add(page)
        html = handouts.render_html(*load_plan(plan))
    assert "Calm it down, keep moving" in html and "Sciatica: what it is" in html
    with unscoped():
        # The German is stored, and left unread for this patient.
        assert EducationPageTranslation.objects.filter(page=page, language="de").exists()


def test_the_words_read_with_the_items_are_the_ones_looked_up(
    clinic, patient, german_plan, django_assert_num_queries
):
    from prescriptions.localise import with_words_in

    with scope(clinic):
        looked_up = list(PlanItem.objects.filter(plan=german_plan).select_related("exercise"))
        show_in(looked_up, "de")
        joined = list(
            with_words_in(
                PlanItem.objects.filter(plan=german_plan).select_related("exercise"), "de"
            )
        )
        with django_assert_num_queries(0):
            show_in(joined, "de")
    assert [i.exercise.name for i in joined] == [i.exercise.name for i in looked_up]
    assert [i.exercise.steps for i in joined] == [i.exercise.steps for i in looked_up]
    assert any("Dehnung" in i.exercise.name for i in joined)
