"""Migrations keep every row of a demo database, back and forward.

The migrations after main's of before (bounds, language choices) only record
validators, messages and choices in the migration state: no statement but the
migration bookkeeping touches the database when they run. Later ones may add
columns; no row is lost either way.
"""

from __future__ import annotations

import dataclasses

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from prescriptions.demo import seed_demo
from prescriptions.demo.loader import read_demo
from prescriptions.library.loader import load_library

# The last migrations on main before this work.
MAIN = [
    ("clinic", "0005_preferred_language_en_de_only"),
    ("prescriptions", "0004_drop_redundant_sessionlog_index"),
]


def row_counts() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


# Later migrations that only record validators, messages and choices: no statement
# but the bookkeeping may touch the database when they run.
STATE_ONLY = [
    ("clinic", "0007_patient_language_choices_from_settings"),
    ("prescriptions", "0005_bounds_from_one_definition"),
]


# The shipped library in other languages: tables added after main, which
# load_library fills (the demo data loads the library).
LIBRARY_LANGUAGE_TABLES = {
    "prescriptions_exercisetranslation",
    "prescriptions_plantemplatetranslation",
    "prescriptions_educationpagetranslation",
}

# The version history (prescriptions.history), written as the demo is seeded. An
# upgraded database starts it empty: no history was kept before, and none is made up.
HISTORY_TABLES = {"prescriptions_planversion", "prescriptions_patientversion"}


def writes_in(queries: CaptureQueriesContext) -> list[str]:
    statements = ("ALTER", "CREATE", "DROP", "INSERT", "UPDATE", "DELETE")
    return [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].lstrip().upper().startswith(statements)
        and "django_migrations" not in query["sql"]
    ]


@pytest.mark.django_db(transaction=True)
def test_migrating_a_demo_database_forward_keeps_every_row():
    # The demo's outcome questionnaires live in tables added after main's of
    # before: going back that far drops them, so this demo is seeded without them.
    data = read_demo()
    patients = tuple(
        dataclasses.replace(
            patient, plans=tuple(dataclasses.replace(p, outcomes=()) for p in patient.plans)
        )
        for patient in data.patients
    )
    seed_demo(dataclasses.replace(data, patients=patients))
    before = row_counts()
    assert before["prescriptions_sessionlog"] > 200
    # Back to main's migrations of before this work (rows stay, added columns and
    # tables go). An added table is empty here (the audit trail), or holds shared
    # library rows that load_library brings back after the upgrade (protocol phases,
    # education pages) ...
    MigrationExecutor(connection).migrate(MAIN)
    at_main = {k: v for k, v in row_counts().items() if k != "django_migrations"}
    assert at_main == {k: v for k, v in before.items() if k in at_main}
    reloaded = {"prescriptions_templatephase", "prescriptions_educationpage"}
    skipped = {
        *at_main,
        *reloaded,
        "django_migrations",
        *LIBRARY_LANGUAGE_TABLES,
        *HISTORY_TABLES,
    }
    assert all(v == 0 for k, v in before.items() if k not in skipped)

    # ... forward through the state-only migrations, which write nothing ...
    executor = MigrationExecutor(connection)
    with CaptureQueriesContext(connection) as queries:
        executor.migrate(STATE_ONLY)
    assert writes_in(queries) == []

    # ... and on to the newest, keeping every row; the library's other languages,
    # protocol phases and education pages come back with load_library, which the
    # operator runs after every upgrade.
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    load_library()
    after = row_counts()
    assert all(after[table] == 0 for table in HISTORY_TABLES)
    assert {k: v for k, v in after.items() if k not in HISTORY_TABLES} == {
        k: v for k, v in before.items() if k not in HISTORY_TABLES
    }
