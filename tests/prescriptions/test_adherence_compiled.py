"""The remembered texts of the adherence expressions (prescriptions.adherence._remembered).

Every statement a page sends must be the same, text and parameters, whether the
expressions' texts are built fresh, built for the first time, or read back from
what an earlier request (or an earlier reference in the same query) built. Each
page is requested three ways and the statements the database receives compared.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.db.models import F, Q
from django.test import Client
from django.urls import reverse

from clinic.models import Patient
from clinic.scoping import scope, unscoped
from prescriptions import adherence
from prescriptions.admin.patients import PatientAdmin
from prescriptions.models import SessionLog
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:clinic_patient_changelist"
Statements = list[tuple[str, tuple[Any, ...]]]


@contextmanager
def statements() -> Iterator[Statements]:
    """The reads' SQL and parameters as the database receives them (the writes,
    such as the audit entry of a view, carry the time)."""
    sent: Statements = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.startswith("SELECT"):
            sent.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield sent


def fresh(key: tuple[Any, ...], build: Callable[[], tuple[str, Sequence[Any]]]) -> Any:
    text, params = build()
    return text, list(params)


def assert_same(got: Statements, built: Statements) -> None:
    assert len(got) == len(built)
    for (sql, params), (sql_built, params_built) in zip(got, built, strict=True):
        assert sql == sql_built
        assert params == params_built


def three_ways(run: Callable[[], object]) -> tuple[Statements, Statements, Statements]:
    """The statements of `run` with texts built fresh, remembered cold and warm
    (after a first run, which fills the pages' other caches)."""
    run()
    with mock.patch.object(adherence, "_remembered", fresh), statements() as built:
        run()
    adherence._TEXTS.clear()
    with statements() as cold:
        run()
    with statements() as warm:
        run()
    return built, cold, warm


@pytest.fixture
def patients(clinic, therapist, colleague, shared_exercise) -> list[Patient]:
    today = clinic.today()
    made = []
    for n, back in enumerate(([0, 1, 2, 8], [12, 13], [])):
        p = factories.make_patient(
            clinic, therapist if n else colleague, first_name=f"Pat{n}", last_name="Logged"
        )
        plan = factories.make_plan(
            p, therapist, [shared_exercise], start_date=today - datetime.timedelta(days=20)
        )
        with unscoped():
            for k in back:
                SessionLog.objects.create(
                    plan=plan, date=today - datetime.timedelta(days=k), pain=min(10, 3 + k)
                )
        made.append(p)
    made.append(factories.make_patient(clinic, therapist, first_name="Ann", last_name="Planless"))
    return made


# Every filter, every column's sort both ways, a search, and combinations.
PAGES: list[dict[str, str]] = [
    {},
    {"attention": "yes"},
    {"adherence": "low"},
    {"adherence": "ok"},
    {"adherence": "none"},
    {"last_log": "stale"},
    {"last_log": "never"},
    {"is_active__exact": "1"},
    *({"o": f"{sign}{n}"} for n in range(1, 9) for sign in ("", "-")),
    {"q": "Pat1"},
    {"attention": "yes", "q": "Logged", "o": "-5"},
    {"adherence": "low", "last_log": "stale", "o": "6.-8"},
    {"attention": "yes", "is_active__exact": "1", "o": "5.1"},
]


@pytest.mark.parametrize("per_page", [50, 1], ids=["one page", "pages"])
@pytest.mark.parametrize("params", PAGES, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()))
def test_it_sends_the_same_statements_for_every_list(
    client: Client, therapist, patients, params, per_page
) -> None:
    login(client, therapist)
    url = reverse(CHANGELIST)

    def run() -> None:
        with mock.patch.object(PatientAdmin, "list_per_page", per_page):
            response = client.get(url, params)
        assert response.status_code == 200

    built, cold, warm = three_ways(run)
    assert any("julianday" in sql or "::date" in sql for sql, _ in built)
    assert_same(cold, built)
    assert_same(warm, built)


def test_it_sends_the_same_statements_for_a_superusers_list(admin_client, patients) -> None:
    url = reverse(CHANGELIST)
    for params in ({}, {"attention": "yes"}, {"o": "-5"}):
        built, cold, warm = three_ways(lambda: admin_client.get(url, params))  # noqa: B023
        assert_same(cold, built)
        assert_same(warm, built)


def test_it_sends_the_same_statements_for_the_index_and_the_patient_page(
    client: Client, therapist, patients
) -> None:
    login(client, therapist)
    for url in (
        reverse("admin:index"),
        reverse("admin:clinic_patient_change", args=[patients[0].pk]),
    ):
        built, cold, warm = three_ways(lambda: client.get(url))  # noqa: B023
        assert_same(cold, built)
        assert_same(warm, built)


def test_a_text_remembered_at_the_top_is_not_reused_in_a_subquery(clinic, patients) -> None:
    """The outer reference's alias (the patient table, or U0 inside a subquery) is
    part of the key."""
    today = clinic.today()

    def run() -> None:
        with scope(clinic):
            # Every expression in the filter: the attention conditions, the figures,
            # the newest log's date and pain, the pain change and the streak.
            flagged = (
                adherence.annotate_patients(Patient.objects.all(), today)
                .annotate(streak=adherence.StreakDays(F("pk"), today))
                .filter(
                    adherence.attention_q(today)
                    | adherence.no_log_q(today)
                    | Q(latest_pain__gte=0, adherence_28__gte=0)
                    | Q(pain_change_7d__isnull=False)
                    | Q(streak__gte=0)
                )
            )
            list(flagged.order_by(F("adherence_7")))
            list(Patient.objects.filter(pk__in=flagged.values("pk")))

    built, cold, warm = three_ways(run)
    # The second reads the flagged patients in a subquery, under other aliases.
    assert '"W0"."id"' in built[1][0]
    assert_same(cold, built)
    assert_same(warm, built)


def test_it_writes_a_text_once(client: Client, therapist, patients) -> None:
    """A second request for the same page builds none of the texts again."""
    login(client, therapist)
    url = reverse(CHANGELIST)
    adherence._TEXTS.clear()
    client.get(url, {"attention": "yes", "o": "5"})
    kept = len(adherence._TEXTS)
    with mock.patch.object(
        adherence._SessionsSQL, "__init__", side_effect=AssertionError("built again")
    ):
        response = client.get(url, {"attention": "yes", "o": "5"})
    assert response.status_code == 200
    assert kept and len(adherence._TEXTS) == kept


def test_it_empties_itself_when_full(monkeypatch) -> None:
    monkeypatch.setattr(adherence, "TEXTS_KEPT", 2)
    adherence._TEXTS.clear()
    for n in range(3):
        assert adherence._remembered(("test", n), lambda: (f"t{n}", [n])) == (f"t{n}", [n])  # noqa: B023
    assert list(adherence._TEXTS) == [("test", 2)]
    # An unhashable parameter in the key: built, not kept.
    assert adherence._remembered(("test", [1]), lambda: ("u", [1])) == ("u", [1])
    assert list(adherence._TEXTS) == [("test", 2)]
