"""Queries compiled once and run many times with new parameters.

Turning a queryset into SQL costs more CPU than running it: for the user read
with their patient record and clinic, about two thirds of the time Django spends
on it. The per-request reads (the session, the signed-in user) and the cached
handout's run the same SQL on every request with other values, so
`PreparedQuery` compiles each once per database connection and scope, and then
only swaps the values in. Django still builds the objects from the rows
(`select_related`, annotations and `prefetch_related` as usual).

The clinic scope (`clinic.scoping`) is written into the SQL when it is compiled,
so the scope active at the call is part of the cache key: SQL compiled in one
clinic's scope is never run in another's.

`build` must depend on its arguments and nothing else: a date, a setting or any
other value it reads is written into the SQL once and kept. The arguments must
be whole numbers, strings, dates, (aware) datetimes or UUIDs that reach the SQL as
they are or as the database backend adapts a column's value (`adapt_datefield_value`,
`adapt_datetimefield_value`: SQLite takes dates as text;
`adapt_integerfield_value`: PostgreSQL a small integer as an Int2; a UUID is written
as its hex digits where the database has no uuid type, as UUIDField writes it), and the SQL
must not depend on their values (no lists for `__in`); both are checked when the
query is first compiled, by compiling it again with each argument changed, and a
query that breaks either rule raises TypeError then.
Each later call must pass arguments of the types it was compiled with.
"""

from __future__ import annotations

import copy
import datetime
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from clinic.scoping import Scope, current_scope

Argument = int | str | datetime.date | datetime.datetime | uuid.UUID
# How an argument is written into the parameters: as it is, or adapted as the
# backend adapts a column's value (the connection's operations, bound).
Adapter = Callable[[Any], Any] | None
_CACHE = "_rehabit_prepared_queries"


@dataclass(frozen=True)
class _Compiled:
    queryset: QuerySet[Any]
    compiler: SQLCompiler
    sql: str
    params: tuple[Any, ...]
    # How each column's value is read (they depend on the connection only).
    converters: dict[int, Any]
    # For each argument, its type and the places in `params` it fills (each with
    # how it is written there).
    types: tuple[type, ...]
    places: tuple[tuple[tuple[int, Adapter], ...], ...]


def _changed(arg: Argument) -> Argument:
    # bool is an int, but a different value would not be one of its type.
    if isinstance(arg, bool) or not isinstance(arg, (int, str, datetime.date, uuid.UUID)):
        raise TypeError(
            "A prepared query takes whole numbers, strings, dates, datetimes and UUIDs, "
            f"not {arg!r}."
        )
    if isinstance(arg, datetime.datetime) and not _aware_enough(arg):
        # The ORM would read it in the time zone active at each call.
        raise TypeError(f"A prepared query takes aware datetimes, not {arg!r}.")
    if isinstance(arg, datetime.date):
        # A day and a second: a different date, and a different time of day.
        step = datetime.timedelta(days=1, seconds=1)
        return arg + step if arg.year < datetime.MAXYEAR else arg - step
    if isinstance(arg, uuid.UUID):
        return uuid.UUID(int=arg.int ^ 1)
    return arg + 1 if isinstance(arg, int) else arg + "~"


def _adapters(connection: BaseDatabaseWrapper, arg: Argument) -> tuple[Adapter, ...]:
    """How `arg` may be written into the parameters: as it is, or as the backend
    adapts a date, datetime or integer column's value (PostgreSQL with psycopg 3
    writes a small integer as an Int2: `adapt_integerfield_value`)."""
    if isinstance(arg, datetime.datetime):
        return (None, connection.ops.adapt_datetimefield_value)
    if isinstance(arg, datetime.date):
        return (None, connection.ops.adapt_datefield_value)
    if isinstance(arg, uuid.UUID):
        return (None, _hex)
    if isinstance(arg, int):
        integer_types = getattr(connection.ops, "integerfield_type_map", {})
        return (None, *dict.fromkeys(integer_types.values()))
    return (None,)


def _hex(value: uuid.UUID) -> str:
    # UUIDField.get_db_prep_value on a database without a uuid type (SQLite).
    return value.hex


def _written(adapter: Adapter, arg: Argument) -> Any:
    return arg if adapter is None else adapter(arg)


_REFUSED: Any = object()


def _adapter_for(connection: BaseDatabaseWrapper, pairs: Sequence[tuple[Argument, Any]]) -> Any:
    """The way of writing the arguments that gives each the parameter found beside it
    (the same type, an equal value), or _REFUSED."""
    for adapter in _adapters(connection, pairs[0][0]):
        try:
            written = [_written(adapter, arg) for arg, _ in pairs]
        except (TypeError, ValueError, AttributeError):
            continue
        if all(type(w) is type(p) and w == p for w, (_, p) in zip(written, pairs, strict=True)):
            return adapter
    return _REFUSED


def _aware_enough(moment: datetime.datetime) -> bool:
    return not settings.USE_TZ or timezone.is_aware(moment)


def _fits(arg: Argument, kind: type) -> bool:
    # A datetime is a date and a bool an int, but neither is written as one.
    if isinstance(arg, bool) or (kind is datetime.date and isinstance(arg, datetime.datetime)):
        return False
    if kind is datetime.datetime and isinstance(arg, datetime.datetime):
        return _aware_enough(arg)
    return isinstance(arg, kind)


_NOTHING: Any = object()


class PreparedQuery[M: Model]:
    """`build(*args)` as a list of objects, its SQL compiled once per connection and scope."""

    def __init__(self, build: Callable[..., QuerySet[M]], using: str = DEFAULT_DB_ALIAS) -> None:
        self.build = build
        self.using = using

    def __call__(self, *args: Argument) -> list[M]:
        connection = connections[self.using]
        # Kept on the connection, which belongs to one thread: no lock, and it goes with it.
        cache: dict[tuple[PreparedQuery[Any], Scope | None], _Compiled]
        cache = connection.__dict__.setdefault(_CACHE, {})
        key = (self, current_scope())
        compiled = cache.get(key)
        if compiled is None:
            try:
                compiled = cache[key] = self._compile(connection, args)
            except EmptyResultSet:
                # Nothing to find whatever the values (a scoped model in `scope(None)`).
                cache[key] = _NOTHING
                return []
        if compiled is _NOTHING:
            return []
        params = list(compiled.params)
        for arg, kind, places in zip(args, compiled.types, compiled.places, strict=True):
            if not _fits(arg, kind):
                raise TypeError(f"{self.build!r} was prepared for a {kind.__name__}, not {arg!r}.")
            for place, adapter in places:
                params[place] = arg if adapter is None else adapter(arg)
        compiler = copy.copy(compiled.compiler)
        compiler.as_sql = lambda *a, **k: (compiled.sql, tuple(params))  # type: ignore[method-assign]
        compiler.get_converters = lambda expressions: compiled.converters  # type: ignore[method-assign]
        queryset = compiled.queryset._chain()  # type: ignore[attr-defined]
        queryset.query.get_compiler = lambda *a, **k: compiler
        return list(queryset)

    def _sql(
        self, connection: BaseDatabaseWrapper, args: Sequence[Argument]
    ) -> tuple[QuerySet[M], SQLCompiler, str, tuple[Any, ...]]:
        queryset = self.build(*args)
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        return queryset, compiler, sql, tuple(params)

    def _compile(self, connection: BaseDatabaseWrapper, args: Sequence[Argument]) -> _Compiled:
        changed_args = [_changed(arg) for arg in args]  # refused before the ORM sees them
        queryset, compiler, sql, params = self._sql(connection, args)
        places = []
        for n, (arg, changed_arg) in enumerate(zip(args, changed_args, strict=True)):
            changed = [*args[:n], changed_arg, *args[n + 1 :]]
            _, _, other_sql, other_params = self._sql(connection, changed)
            if other_sql != sql or len(other_params) != len(params):
                raise TypeError(f"The SQL of {self.build!r} depends on its arguments' values.")
            found = [i for i, (a, b) in enumerate(zip(params, other_params, strict=True)) if a != b]
            adapters = [
                _adapter_for(connection, [(arg, params[i]), (changed_arg, other_params[i])])
                for i in found
            ]
            if not found or any(adapter is _REFUSED for adapter in adapters):
                raise TypeError(f"Argument {n} of {self.build!r} does not reach the SQL as it is.")
            places.append(tuple(zip(found, adapters, strict=True)))
        converters = compiler.get_converters([s[0] for s in compiler.select[: compiler.col_count]])
        return _Compiled(
            queryset,
            compiler,
            sql,
            params,
            converters,
            tuple(type(arg) for arg in args),
            tuple(places),
        )
