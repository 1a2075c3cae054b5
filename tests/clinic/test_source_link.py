"""The AGPL asks that users of a modified copy be offered its source."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import login

SOURCE = "https://git.example-clinic.org/rehabit"


@pytest.mark.parametrize(
    ("who", "url"),
    [("patient", "portal:today"), ("therapist", "admin:index"), (None, "portal:login")],
)
def test_it_links_to_the_source_when_the_operator_sets_it(client, settings, request, who, url):
    settings.SOURCE_URL = SOURCE
    if who:
        login(client, request.getfixturevalue(who))

    page = client.get(reverse(url)).content.decode()

    assert f'<a href="{SOURCE}">Source code</a>' in page


def test_it_shows_no_empty_link_by_default(client, patient, settings):
    settings.SOURCE_URL = ""
    login(client, patient)
    assert "Source code" not in client.get(reverse("portal:today")).content.decode()
