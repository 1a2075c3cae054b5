"""The migrations after main's (bounds, language choices) change no table and no row.

They only record validators, messages and choices in the migration state. No
model changes app. A database at main's migrations, filled with the demo data,
is migrated forward: every table keeps its row count, and no statement but the
migration bookkeeping touches the database.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from prescriptions.demo import seed_demo

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


@pytest.mark.django_db(transaction=True)
def test_migrating_a_demo_database_forward_keeps_every_row():
    executor = MigrationExecutor(connection)
    executor.migrate(MAIN)
    # These migrations leave the schema as it was, so today's code can fill it.
    seed_demo()
    before = row_counts()
    assert before["prescriptions_sessionlog"] > 200

    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    applied = len(executor.migration_plan(leaves))
    assert applied >= 3
    with CaptureQueriesContext(connection) as queries:
        executor.migrate(leaves)

    after = row_counts()
    # The bookkeeping: one row for each migration applied.
    assert after.pop("django_migrations") == before.pop("django_migrations") + applied
    assert after == before
    statements = ("ALTER", "CREATE", "DROP", "INSERT", "UPDATE", "DELETE")
    writes = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].lstrip().upper().startswith(statements)
        and "django_migrations" not in query["sql"]
    ]
    assert writes == []
