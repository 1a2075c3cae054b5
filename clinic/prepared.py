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
be whole numbers or strings that reach the SQL as they are, and the SQL must
not depend on their values (no lists for `__in`); both are checked when the
query is first compiled, by compiling it again with each argument changed, and
a query that breaks either rule raises TypeError then.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.sql.compiler import SQLCompiler

from clinic.scoping import Scope, current_scope

Argument = int | str
_CACHE = "_rehabit_prepared_queries"


@dataclass(frozen=True)
class _Compiled:
    queryset: QuerySet[Any]
    compiler: SQLCompiler
    sql: str
    params: tuple[Any, ...]
    # How each column's value is read (they depend on the connection only).
    converters: dict[int, Any]
    # For each argument, the places in `params` it fills.
    places: tuple[tuple[int, ...], ...]


def _changed(arg: Argument) -> Argument:
    # bool is an int, but a different value would not be one of its type.
    if isinstance(arg, bool) or not isinstance(arg, (int, str)):
        raise TypeError(f"A prepared query takes whole numbers and strings, not {arg!r}.")
    return arg + 1 if isinstance(arg, int) else arg + "~"


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
        for arg, places in zip(args, compiled.places, strict=True):
            for place in places:
                params[place] = arg
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
        queryset, compiler, sql, params = self._sql(connection, args)
        places = []
        for n, arg in enumerate(args):
            changed = [*args[:n], _changed(arg), *args[n + 1 :]]
            _, _, other_sql, other_params = self._sql(connection, changed)
            if other_sql != sql or len(other_params) != len(params):
                raise TypeError(f"The SQL of {self.build!r} depends on its arguments' values.")
            found = tuple(
                i for i, (a, b) in enumerate(zip(params, other_params, strict=True)) if a != b
            )
            as_given = all(type(params[i]) is type(arg) and params[i] == arg for i in found)
            if not found or not as_given:
                raise TypeError(f"Argument {n} of {self.build!r} does not reach the SQL as it is.")
            places.append(found)
        converters = compiler.get_converters([s[0] for s in compiler.select[: compiler.col_count]])
        return _Compiled(queryset, compiler, sql, params, converters, tuple(places))
