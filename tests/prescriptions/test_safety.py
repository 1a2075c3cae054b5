"""The shared safety text: one nerve rule and one set of red flags, everywhere."""

from __future__ import annotations

import html
import re

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from clinic.models import Clinic
from clinic.scoping import unscoped
from prescriptions import dosage, safety
from prescriptions.handouts.context import load_plan, render_html
from prescriptions.library.loader import library_exercises, library_protocols
from prescriptions.models import Exercise, Plan
from prescriptions.templatetags import safety_tags
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db


def text_of(markup: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup)))


@pytest.fixture
def nerve_plan(patient, therapist) -> Plan:
    slider = factories.make_exercise(
        None,
        name="Seated sciatic nerve slider",
        slug="test-slider",
        category=Exercise.Category.NERVE_MOBILISATION,
        cautions="Never hold the end position.",
        stop_signs="Pain spreads further down your leg.",
        side=Exercise.Side.AFFECTED,
    )
    bridge = factories.make_exercise(None, name="Glute bridge", slug="test-bridge")
    return factories.make_plan(patient, therapist, [slider, bridge])


def handout_text(plan: Plan) -> str:
    with unscoped():
        return text_of(render_html(*load_plan(plan)))


def test_the_handout_states_the_nerve_rule_once_in_the_box_and_on_each_nerve_card(nerve_plan):
    text = handout_text(nerve_plan)
    rule = str(safety.NERVE_SETTLE_RULE)
    # The "How to use" box and the one nerve card; not the bridge.
    assert text.count(rule) == 2
    assert str(safety.NERVE_SYMPTOMS_LAST) in text
    assert "30 minutes" not in text


def test_the_portal_shows_the_nerve_rule_on_nerve_exercises_only(client, patient, nerve_plan):
    page = text_of(login(client, patient).get(reverse("portal:plan")).content.decode())
    assert page.count(str(safety.NERVE_SETTLE_RULE)) == 1
    assert "Never hold the end position." in page


def test_nerve_work_is_for_the_affected_side_in_words():
    item = Exercise(sets=2, reps=10, side=Exercise.Side.AFFECTED, times_per_day=1)
    assert dosage.describe(item) == "2 sets of 10, affected side only, once a day"


def test_no_shipped_text_states_its_own_limit_for_nerve_symptoms():
    """The one limit is in prescriptions.safety; a second figure anywhere is a contradiction."""
    texts = [
        " ".join((*e.steps, *e.cautions, *e.stop_signs))
        for e in library_exercises()
        if e.category == Exercise.Category.NERVE_MOBILISATION
    ]
    texts += [p.notes_for_patient for p in library_protocols()]
    for text in texts:
        assert not re.search(r"tingl\w*[^.]*\b(minute|hour)", text, re.IGNORECASE), text


def test_the_early_protocols_hold_no_tensioner():
    tensioners = {"seated-sciatic-nerve-mobilisation", "seated-sciatic-nerve-tensioner"}
    for protocol in library_protocols():
        if protocol.slug in {"sciatica-relief", "hamstring-syndrome-rehabilitation"}:
            assert not {i.exercise for i in protocol.phase_items(1)} & tensioners, protocol.slug


# --- Red flags -------------------------------------------------------------------


def tier_texts(tier: safety.Tier, number: str = "999") -> list[str]:
    """The tier's lines as a patient of a UK clinic (the fixtures' time zone) reads them."""
    return [tier.action_for(number), *(str(sign) for sign in tier.signs)]


def test_the_emergency_tier_names_the_early_cauda_equina_signs():
    emergency = " ".join(tier_texts(safety.EMERGENCY))
    for sign in ("passing urine", "back passage", "genitals", "wipe", "sexual", "both legs"):
        assert sign in emergency, sign
    assert "Call 999 or go to an emergency department" in emergency
    same_day = " ".join(tier_texts(safety.SAME_DAY))
    for sign in ("weak", "drags", "rise onto your toes"):
        assert sign in same_day, sign
    assert safety.NERVE_SYMPTOMS_LAST in safety.TELL_THERAPIST.signs


def test_the_handout_prints_every_tier_once_and_the_urgent_ones_on_each_nerve_card(nerve_plan):
    text = handout_text(nerve_plan)
    for line in tier_texts(safety.EMERGENCY) + tier_texts(safety.SAME_DAY):
        # The "How to use" box, and the one nerve card.
        assert text.count(line) == 2, line
    for line in tier_texts(safety.TELL_THERAPIST):
        assert text.count(line) == 1, line


def test_the_portal_shows_the_tiers_for_the_plan_and_on_nerve_cards(client, patient, nerve_plan):
    page = text_of(login(client, patient).get(reverse("portal:plan")).content.decode())
    for line in tier_texts(safety.EMERGENCY):
        assert page.count(line) == 2, line
    for line in tier_texts(safety.TELL_THERAPIST):
        assert page.count(line) == 1, line


def test_the_admin_shows_the_shared_text_and_its_sources_on_nerve_exercises_only(
    admin_client,
):
    with unscoped():
        slider = factories.make_exercise(
            None, slug="test-slider", category=Exercise.Category.NERVE_MOBILISATION
        )
        bridge = factories.make_exercise(None, slug="test-bridge")
    url = "admin:prescriptions_exercise_change"
    page = text_of(admin_client.get(reverse(url, args=[slider.pk])).content.decode())
    assert str(safety.EMERGENCY.signs[0]) in page
    assert str(safety.NERVE_SETTLE_RULE) in page
    assert "NICE guideline NG59" in page
    page = text_of(admin_client.get(reverse(url, args=[bridge.pk])).content.decode())
    assert str(safety.EMERGENCY.signs[0]) not in page


# --- The clinic's emergency number --------------------------------------------------


@pytest.mark.parametrize(
    ("time_zone", "number"),
    [
        ("Europe/London", "999"),
        ("Europe/Berlin", "112"),
        ("America/Chicago", "911"),
        ("Australia/Sydney", "000"),
        ("Pacific/Auckland", "111"),
        ("Asia/Tokyo", "112"),
    ],
)
def test_the_emergency_number_defaults_to_the_one_where_the_clinic_is(time_zone, number):
    assert Clinic(time_zone=time_zone).emergency_phone() == number
    assert Clinic(time_zone=time_zone, emergency_number="144").emergency_phone() == "144"


@pytest.mark.parametrize("value", ["99 9", "call 999", "1", "1234567", "+44999", "１１２"])
def test_a_clinic_cannot_set_an_emergency_number_that_is_not_2_to_6_digits(clinic, value):
    clinic.emergency_number = value
    with unscoped(), pytest.raises(ValidationError) as error:
        clinic.full_clean()
    assert "2 to 6 digits" in str(error.value.message_dict["emergency_number"])


def test_the_clinics_number_is_on_the_handout_the_portal_and_the_admin(
    client, clinic, patient, therapist, nerve_plan
):
    with unscoped():
        clinic.emergency_number = "144"
        clinic.save()
    call = "Call 144 or go to an emergency department (A&E) now"
    text = handout_text(nerve_plan)
    assert text.count(call) == 2 and "Call 999" not in text
    page = text_of(login(client, patient).get(reverse("portal:plan")).content.decode())
    assert page.count(call) == 2 and "Call 999" not in page
    client.logout()
    with unscoped():
        slider = Exercise.objects.get(slug="test-slider")
    url = reverse("admin:prescriptions_exercise_change", args=[slider.pk])
    page = text_of(login(client, therapist).get(url).content.decode())
    assert call in page


def test_the_emergency_number_follows_the_clinics_time_zone_when_not_set(
    client, clinic, patient, nerve_plan
):
    with unscoped():
        clinic.time_zone = "Europe/Berlin"
        clinic.save()
    assert "Call 112 or go to an emergency department" in handout_text(nerve_plan)


def test_no_library_card_writes_its_own_emergency_signs():
    """The red flags are written once (prescriptions.safety); a card's own copy drifts."""
    for data in library_exercises():
        text = " ".join((*data.cautions, *data.stop_signs)).lower()
        for word in ("bladder", "bowel", "genital", "emergency"):
            assert word not in text, (data.slug, word)
    calf = next(e for e in library_exercises() if e.slug == "calf-raise")
    assert any("toes" in sign and "doctor today" in sign for sign in calf.stop_signs)


def test_an_alternating_count_says_how_many_a_side():
    knee_hugs = Exercise(sets=1, reps=10, side=Exercise.Side.ALTERNATING, times_per_day=1)
    assert dosage.describe(knee_hugs) == "1 set of 10, alternating sides, 5 each side, once a day"
    odd = Exercise(sets=1, reps=9, side=Exercise.Side.ALTERNATING, times_per_day=1)
    assert "both sides counted together" in dosage.describe(odd)
    marching = Exercise(sets=1, duration_minutes=5, side=Exercise.Side.NONE, times_per_day=1)
    assert dosage.describe(marching) == "5 minutes, once a day"


def test_older_patients_cautions_are_on_the_cards():
    by_slug = {e.slug: e for e in library_exercises()}
    assert "spinal stenosis" in " ".join(by_slug["prone-press-up"].cautions)
    for slug in ("supine-piriformis-stretch", "seated-piriformis-stretch", "knee-to-chest-stretch"):
        assert "hip replacement" in " ".join(by_slug[slug].cautions), slug
    bridge = by_slug["heels-on-bench-bridge"]
    assert "right angle" in bridge.steps[0] and "slightly bent" not in " ".join(bridge.steps)
    assert "two days" in " ".join(by_slug["nordic-hamstring-curl"].stop_signs)
    bench = by_slug["standing-hamstring-stretch-bench"]
    assert "standing leg straight" not in " ".join(bench.cautions)


def test_the_handout_does_not_invent_a_rhythm_no_card_asks_for(patient, therapist):
    twice = factories.make_exercise(None, slug="test-twice", times_per_day=2, days_per_week=7)
    weekly = factories.make_exercise(None, slug="test-weekly", times_per_day=1, days_per_week=2)
    plan = factories.make_plan(patient, therapist, [twice, weekly])
    text = handout_text(plan)
    # Not "twice a day, 2 days a week", which neither exercise asks for.
    assert "Do the exercises twice a day, 2 days a week" not in text
    assert "each card says how often" in text


def test_the_handout_prints_stop_signs_as_a_list_at_body_size(nerve_plan):
    with unscoped():
        markup = render_html(*load_plan(nerve_plan))
    assert '<div class="stop-signs">' in markup and "<li>•&nbsp;Pain spreads further" in markup
    css = (settings.BASE_DIR / "prescriptions/static/prescriptions/handout.css").read_text()
    body = re.search(r"^html \{[^}]*font-size: ([\d.]+)pt", css, re.M)
    assert body is not None and float(body.group(1)) >= 12
    # No rule makes the cautions, stop signs or red flags smaller than the body.
    for rule in re.findall(r"^([^{]*(?:stop|caution|red-flags|urgent)[^{]*)\{([^}]*)\}", css, re.M):
        size = re.search(r"font-size: ([\d.]+)(pt|em)", rule[1])
        assert size is None or (size.group(2) == "em" and float(size.group(1)) >= 1), rule


# --- The tick sheet ------------------------------------------------------------------


@pytest.mark.parametrize("large_print", [False, True])
def test_the_tick_sheet_boxes_the_days_each_exercise_is_due(patient, therapist, large_print):
    from urllib.parse import unquote

    from prescriptions import adherence
    from prescriptions.handouts.context import build_context

    daily = factories.make_exercise(None, slug="test-daily", times_per_day=1, days_per_week=7)
    three = factories.make_exercise(None, slug="test-three", times_per_day=2, days_per_week=3)
    plan = factories.make_plan(patient, therapist, [daily, three])
    with unscoped():
        patient.large_print = large_print
        patient.save()
        plan, items = load_plan(plan)
        weeks = build_context(plan, items)["tick_weeks"]
    assert len(weeks) == (2 if large_print else 1)
    days = [day for week in weeks for day in week.days]
    assert len(days) == 14
    for position, item in enumerate(items):
        due = [d for week in weeks for d in week.rows[position].due]
        # The rule adherence counts with: 7 or 6 of 14 days, evenly from the start.
        expected = [
            adherence.due_days(plan.start_date, day, day, item.days_per_week) == 1 for day in days
        ]
        assert due == expected and sum(due) == (14 if item.days_per_week == 7 else 6)
        for week in weeks:
            row = week.rows[position]
            svg = unquote(row.boxes.removeprefix("data:image/svg+xml,"))
            paths = {
                stroke: d
                for d, stroke in re.findall(r'<path d="([^"]*)" fill="none" stroke="(#\w+)"', svg)
            }
            # A box per session on each due day (once-a-day rows too, in either print),
            # one closed square each; and a rest day hatched with three strokes.
            assert paths.get("#2b3438", "").count("z") == sum(row.due) * item.times_per_day
            assert paths.get("#9aa5ad", "").count("M") == 3 * (len(row.due) - sum(row.due))


def test_the_handout_explains_the_rest_days_only_when_there_are_some(patient, therapist):
    daily = factories.make_exercise(None, slug="test-daily", days_per_week=7)
    weekly = factories.make_exercise(None, slug="test-weekly", days_per_week=2)
    assert "rest days" not in handout_text(factories.make_plan(patient, therapist, [daily]))
    assert "are rest days for that exercise" in handout_text(
        factories.make_plan(patient, therapist, [daily, weekly])
    )


def test_the_tiers_are_in_the_active_language_with_the_clinics_number():
    clinic = Clinic(name="Praxis", time_zone="Europe/Berlin", emergency_number="")
    with translation.override("en"):
        english = safety_tags.tier_texts(clinic)
    with translation.override("de"):
        german = safety_tags.tier_texts(clinic)
        german[0]["signs"].clear()  # a caller's copy: the next one is whole
        assert safety_tags.tier_texts(clinic)[0]["signs"]
    assert english[0]["label"] == "Emergency"
    assert german[0]["label"] != english[0]["label"]
    assert "112" in german[0]["action"]
    with translation.override("en"):
        assert safety_tags.tier_texts(Clinic(name="Other", emergency_number="999"))[0][
            "action"
        ].startswith("Call 999")
