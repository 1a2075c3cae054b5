"""One answer for "the database or the disk cannot take this now": a friendly 503.

A database that is locked by another writer for longer than Rehabit waits, a full
disk, a database server that is down or restarting, a dropped connection: none of
these is the visitor's fault or a bug, and each passes. They are answered with
status 503 and a `Retry-After` header (portal and admin alike), never with a 400
or a 500, and logged once, with the cause, by Django's request logger. Anything
else (a programming error such as a missing table) stays a 500.
"""

from __future__ import annotations

import errno
import sqlite3
import sys
from types import ModuleType

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views import defaults

psycopg: ModuleType | None
try:
    import psycopg
except ImportError:  # PostgreSQL support is optional
    psycopg = None

# How long a visitor is asked to wait: a lock held for a checkpoint or a backup
# has passed by then, and a restarting database server is back.
RETRY_AFTER_SECONDS = 30

# OSError numbers of a storage that is full or cannot be written now.
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS}
# SQLite's messages for a busy or full database (sqlite3 gives no error code
# before Python 3.11's sqlite_errorcode, and the messages are stable).
_SQLITE_MESSAGES = (
    "database is locked",
    "database table is locked",
    "database or disk is full",
    "disk i/o error",
    "unable to open database file",
)
# PostgreSQL error classes that pass: connection exceptions (08), insufficient
# resources such as a full disk or too many connections (53), operator
# intervention such as a shutdown or restart (57P), and serialization failures.
_POSTGRES_SQLSTATES = ("08", "53", "57P", "40001", "40P01")


def _causes(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _passes(error: BaseException) -> bool:
    if isinstance(error, OSError) and not isinstance(error, DatabaseError):
        return error.errno in _STORAGE_ERRNOS
    if isinstance(error, sqlite3.OperationalError):
        message = str(error).lower()
        return any(text in message for text in _SQLITE_MESSAGES)
    if psycopg is not None and isinstance(error, psycopg.Error):
        sqlstate: str | None = error.sqlstate
        if sqlstate is None:
            # No answer from the server at all: the connection is gone or refused.
            return isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError))
        return sqlstate.startswith(_POSTGRES_SQLSTATES)
    return False


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` (or what caused it) means the database or the disk cannot
    take the request now, rather than a bug."""
    return any(_passes(cause) for cause in _causes(error))


def unavailable_response() -> HttpResponse:
    """The 503 page. Rendered without a request context, like the 500 page, so that
    it needs no database: the session, the user and the clinic may be out of reach."""
    content = loader.get_template("503.html").render({})
    response = HttpResponse(content, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """The project's handler500: a passing database or storage fault is a 503."""
    error = sys.exc_info()[1]
    if error is not None and is_unavailable(error):
        return unavailable_response()
    return defaults.server_error(request, template_name)
