"""Sessions are rows in the database, read by clinic.sessions.SessionStore: one ended
on the server (signing out elsewhere, an erasure) ends at once, and an expired one
is never read back."""

from __future__ import annotations

import datetime

from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.sessions import SessionStore
from tests.conftest import login


def test_it_reads_the_session_in_one_statement(client, patient):
    login(client, patient)
    key = client.session.session_key
    with CaptureQueriesContext(connection) as queries:
        data = SessionStore(key).load()
    assert len(queries) == 1
    assert data["_auth_user_id"] == str(patient.user_id)


def test_a_session_deleted_on_the_server_signs_the_browser_out(client, patient):
    login(client, patient)
    assert client.get(reverse("portal:today")).status_code == 200
    Session.objects.filter(session_key=client.session.session_key).delete()
    response = client.get(reverse("portal:today"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))


def test_an_expired_session_is_not_read(client, patient):
    login(client, patient)
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    store = SessionStore(key)
    assert store.load() == {}
    assert store.session_key is None
    assert client.get(reverse("portal:today")).status_code == 302


def test_an_unknown_or_malformed_key_reads_nothing(db):
    assert SessionStore("x" * 32).load() == {}
    assert SessionStore("short").load() == {}
