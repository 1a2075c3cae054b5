"""`{% same_for_everyone %}` (portal.templatetags.frame_tags): the portal's page frame
rendered once per language and page name, with nothing of the page inside it."""

from __future__ import annotations

import re

import pytest
from django.template import TemplateSyntaxError, engines
from django.urls import reverse
from django.utils import translation

from clinic.scoping import unscoped
from tests.conftest import login

NAV = (
    '<a href="{% url "portal:today" %}"{% if current == "today" %} aria-current="page"{% endif %}>'
    '{% translate "Today" %}</a><a href="{% url "portal:plan" %}">{% translate "My plan" %}</a>'
)


def render(source: str, context: dict | None = None, language: str = "en") -> str:
    with translation.override(language):
        return engines["django"].from_string(source).render(context or {})


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("current", ["today", "plan"])
def test_it_renders_what_its_content_renders(language, current):
    plain = render("{% load i18n %}" + NAV, {"current": current}, language)
    kept = render(
        "{% load i18n frame_tags %}{% same_for_everyone current=current %}"
        + NAV
        + "{% endsame_for_everyone %}",
        {"current": current},
        language,
    )
    assert kept == plain
    assert ('aria-current="page"' in kept) is (current == "today")
    assert ("Heute" in kept) is (language == "de")


def test_it_keeps_one_rendering_per_language_and_value():
    template = engines["django"].from_string(
        "{% load i18n frame_tags %}{% same_for_everyone current=current %}"
        + NAV
        + "{% endsame_for_everyone %}"
    )
    seen: dict[tuple[str, str], str] = {}
    for language in ("en", "de", "en"):
        for current in ("today", "plan", "today"):
            with translation.override(language):
                page = template.render({"current": current})
            seen.setdefault((language, current), page)
            assert page == seen[language, current]
    assert len(set(seen.values())) == 4


def test_it_shows_nothing_of_the_page_inside_it():
    template = engines["django"].from_string(
        "{% load frame_tags %}{% same_for_everyone %}[{{ name }}]{% endsame_for_everyone %}"
        "{{ name }}"
    )
    assert template.render({"name": "Paula Reed"}) == "[]Paula Reed"
    # The next patient's page: their own name outside, nobody's inside.
    assert template.render({"name": "Oscar Lane"}) == "[]Oscar Lane"


def test_it_takes_only_named_values():
    with pytest.raises(TemplateSyntaxError, match="name=value"):
        render("{% load frame_tags %}{% same_for_everyone current %}{% endsame_for_everyone %}")


def test_the_portal_frame_follows_the_page_and_the_patients_language(client, patient):
    login(client, patient)

    def current_link(url: str) -> str:
        page = client.get(url).content.decode()
        found = re.search(r'<a [^>]*href="([^"]+)"[^>]* aria-current="page"', page)
        assert found is not None
        return found.group(1)

    assert current_link(reverse("portal:today")) == reverse("portal:today")
    assert current_link(reverse("portal:plan")) == reverse("portal:plan")
    assert current_link(reverse("portal:history")) == reverse("portal:history")
    with unscoped():
        type(patient).objects.filter(pk=patient.pk).update(preferred_language="de")
    page = client.get(reverse("portal:today")).content.decode()
    assert ">Heute</a>" in page and ">Mein Plan</a>" in page and ">My plan</a>" not in page
