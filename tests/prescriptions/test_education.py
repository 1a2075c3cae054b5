"""Patient-education pages: the shipped ones, on a plan, in the portal and the handout."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clinic.scoping import scope, unscoped
from prescriptions.handouts.context import load_plan, render_html
from prescriptions.library.loader import library_pages, load_library
from prescriptions.models import EducationPage
from tests.conftest import login

REQUIRED = {
    "sciatica-what-it-is",
    "sitting-driving-and-work",
    "pain-during-exercise",
    "stretching-advice",
    "running-warm-up-and-cool-down",
}


def test_the_library_ships_the_agreed_pages_each_with_sources():
    pages = {page.slug: page for page in library_pages()}
    assert set(pages) >= REQUIRED
    for page in pages.values():
        assert page.title and page.summary and len(page.summary) <= 200
        assert len(page.body.split("\n\n")) >= 3, page.slug
        assert page.sources, page.slug
    # The seeds' own caveats come with the advice that rests on them.
    assert "ask your therapist before" in pages["stretching-advice"].body
    assert "may help lower" in pages["running-warm-up-and-cool-down"].body
    assert "Staying active" in pages["sciatica-what-it-is"].body
    assert "NG59" in pages["sciatica-what-it-is"].sources


def test_no_page_states_its_own_limit_for_nerve_symptoms():
    for page in library_pages():
        assert "minute or so" not in page.body, page.slug


@pytest.mark.django_db
def test_loading_creates_the_pages_once_and_leaves_a_clinics_own_alone(clinic):
    with scope(clinic):
        own = EducationPage.objects.create(
            clinic=clinic, slug="sciatica-what-it-is", title="Ours", summary="s", body="b"
        )
    report = load_library()
    assert report.pages.created == len(library_pages())
    assert load_library().pages.unchanged == len(library_pages())
    with unscoped():
        own.refresh_from_db()
        assert own.title == "Ours"
        assert EducationPage.objects.shared().count() == len(library_pages())


@pytest.fixture
def plan_with_reading(plan, clinic, other_clinic):
    load_library()
    with unscoped():
        page = EducationPage.objects.get(clinic=None, slug="pain-during-exercise")
        plan.education.add(page)
    return plan


@pytest.mark.django_db
def test_the_portal_and_the_handout_show_the_plans_pages(client, patient, plan_with_reading):
    with unscoped():
        html = render_html(*load_plan(plan_with_reading))
    title = "Pain during exercise: what is fine and what is not"
    assert "Reading for you" in html and title in html
    assert "Some discomfort during exercise is normal" in html
    # Sources are for the therapist, not the patient.
    assert "common clinical convention" not in html
    page = login(client, patient).get(reverse("portal:plan")).content.decode()
    assert title in page and "common clinical convention" not in page


@pytest.mark.django_db
def test_a_clinic_cannot_see_another_clinics_pages(client, clinic, other_clinic, outsider):
    with scope(clinic):
        ours = EducationPage.objects.create(
            clinic=clinic, slug="ours", title="Riverside's own page", summary="s", body="b"
        )
    login(client, outsider)
    url = reverse("admin:prescriptions_educationpage_change", args=[ours.pk])
    assert client.get(url).status_code == 404
    listing = client.get(reverse("admin:prescriptions_educationpage_changelist"))
    assert "Riverside's own page" not in listing.content.decode()
