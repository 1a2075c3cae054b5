"""Right-to-left text people type stays in its own place: in the handout, the portal
and the admin lists (clinic.bidi)."""

from __future__ import annotations

import io
import re

import pytest
from django.template import Context, Template
from django.urls import reverse
from pypdf import PdfReader

from clinic.bidi import FSI, PDI, isolate
from clinic.scoping import scope
from prescriptions import handouts
from tests import factories
from tests.conftest import login

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: reverses what follows until its paragraph ends


def test_plain_text_is_left_alone():
    assert isolate("Paula Reed") == "Paula Reed"
    assert isolate("") == ""


@pytest.mark.parametrize("text", [f"Pa{RLO}ula", "שלום", "مرحبا", "Plan \u200f"])
def test_right_to_left_text_is_isolated(text):
    assert isolate(text) == f"{FSI}{text}{PDI}"


def test_an_override_in_the_first_name_stops_before_the_surname(db, clinic, therapist):
    patient = factories.make_patient(clinic, therapist, first_name=f"Pa{RLO}ula", last_name="Reed")
    assert patient.full_name == f"{FSI}Pa{RLO}ula{PDI} Reed"


def test_the_filter_wraps_in_bdi_and_escapes():
    rendered = Template("{% load bidi_tags %}{{ v|bdi }}|{{ e|bdi }}").render(
        Context({"v": f"<b>{RLO}x</b>", "e": ""})
    )
    assert rendered == f"<bdi>{FSI}&lt;b&gt;{RLO}x&lt;/b&gt;{PDI}</bdi>|"


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in reader.pages))


def test_the_handout_prints_the_surname_after_an_override_the_right_way_round(
    db, clinic, therapist, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    patient = factories.make_patient(clinic, therapist, first_name=f"Ro{RLO}sa", last_name="Lind")
    plan = factories.make_plan(
        patient,
        therapist,
        [factories.make_exercise(None, name="Glute bridge")],
        title=f"Knee {RLO}plan",
    )
    with scope(clinic):
        handout = handouts.get_handout(plan)
        with handout.pdf.open("rb") as f:
            text = _pdf_text(f.read())
    # Inside the value the override still applies (it is what the person typed);
    # what follows it does not turn around.
    assert "Lind" in text
    assert "dniL" not in text
    assert "Glute bridge" in text


def test_the_admin_isolates_titles_and_names_in_running_text(client, clinic, therapist):
    # A table cell is a paragraph of its own; running text ("Hip rehab – Paula
    # Reed", breadcrumbs, messages) is where an override would spill over.
    patient = factories.make_patient(clinic, therapist, first_name=f"Ro{RLO}sa", last_name="Lind")
    plan = factories.make_plan(
        patient, therapist, [factories.make_exercise(None)], title=f"Hip {RLO}rehab"
    )
    login(client, therapist)
    url = reverse("admin:prescriptions_plan_change", args=[plan.pk])
    html = client.get(url).content.decode()
    assert f"{FSI}Hip {RLO}rehab{PDI} – {FSI}Ro{RLO}sa{PDI} Lind" in html
    listing = client.get(reverse("admin:clinic_patient_changelist")).content.decode()
    assert f"{FSI}Ro{RLO}sa{PDI} Lind" in listing


def test_portal_pages_isolate_the_plans_title(client, clinic, therapist, patient):
    factories.make_plan(
        patient, therapist, [factories.make_exercise(None)], title=f"Hip {RLO}rehab"
    )
    login(client, patient)
    for name in ("portal:today", "portal:plan"):
        html = client.get(reverse(name)).content.decode()
        assert f"<bdi>{FSI}Hip {RLO}rehab{PDI}</bdi>" in html, name
