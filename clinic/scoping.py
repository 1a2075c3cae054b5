"""Clinic scoping: a query of clinic-owned rows runs inside a scope, or it raises.

Every model whose rows belong to a clinic (patients, therapists, plans, logs,
handouts, the clinic itself, and a clinic's own exercises and templates) gets
its default manager from a `ScopedQuerySet`, which names the path from the
model to its clinic. Each query through that manager carries a condition that
is decided when the SQL is written, from the scope active at that moment:

* `scope(clinic)`: only that clinic's rows, plus the shared library (exercises
  and protocols without a clinic) for the models that have shared rows;
* `scope(None)`: a signed-in user who belongs to no clinic, or a job on the
  shared library: no clinic's rows, the shared library only;
* `unscoped()`: every clinic's rows, said out loud (superusers, and jobs that
  work across clinics such as the reminder sender and the demo data);
* no scope at all: the query raises ScopeError instead of returning every
  clinic's rows. This is what makes a forgotten scope loud.

The condition is checked when the query is compiled, not when the queryset is
built, so a queryset built at import time (a form field's choices) follows the
scope of the request that evaluates it, and a scoped queryset used as a
subquery, in `exists()` or in an UPDATE is checked like any other.

Requests enter the scope of the signed-in user's clinic in
`clinic.middleware.ClinicScopeMiddleware`. What is not guarded: `Model.save()`
and related-object access (`plan.patient`) use Django's base manager, and joins
from an unscoped model (`User`) reach rows without a condition. Those follow a
row the asker already has, or they are sign-in lookups, which say `unscoped()`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import models
from django.db.models import F
from django.db.models.lookups import Lookup
from django.db.models.sql import Query

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler

    from clinic.models import Clinic

M = TypeVar("M", bound=models.Model)


class ScopeError(Exception):
    """A query of clinic-owned rows ran outside any clinic scope."""


@dataclass(frozen=True)
class Scope:
    """Whose rows a query may see: one clinic's (or none: `clinic_id` None), or every clinic's."""

    clinic_id: int | None
    every_clinic: bool = False


_current: ContextVar[Scope | None] = ContextVar("rehabit_clinic_scope", default=None)


def current_scope() -> Scope | None:
    """The active scope, or None when there is none (queries of clinic-owned rows raise)."""
    return _current.get()


@contextmanager
def _entered(value: Scope | None) -> Iterator[None]:
    token = _current.set(value)
    try:
        yield
    finally:
        _current.reset(token)


def scope(clinic: Clinic | int | None) -> AbstractContextManager[None]:
    """Within this block, queries see `clinic`'s rows and the shared library.

    `None` means a clinic of nobody: the shared library and nothing else.
    """
    clinic_id = clinic if isinstance(clinic, int) or clinic is None else clinic.pk
    return _entered(Scope(clinic_id=clinic_id))


def unscoped() -> AbstractContextManager[None]:
    """Within this block, queries see every clinic's rows. Use it where that is the point."""
    return _entered(Scope(clinic_id=None, every_clinic=True))


def outside_any_scope() -> AbstractContextManager[None]:
    """Within this block there is no scope: queries of clinic-owned rows raise.

    Each request starts here, whatever the code around it (a test) had entered.
    """
    return _entered(None)


def stream_in_scope[T](chunks: Iterator[T], value: Scope | None) -> Iterator[T]:
    """`chunks`, each one computed inside the scope `value` (from `current_scope()`).

    A streamed response's body is read after the request's scope has ended; this
    puts each chunk back in it, and yields outside it, so the scope never leaks
    into whatever reads the stream.
    """
    while True:
        with _entered(value):
            try:
                chunk = next(chunks)
            except StopIteration:
                return
        yield chunk


class InClinicScope(Lookup):
    """The WHERE condition every scoped query carries; its SQL depends on the scope.

    Written when the query is compiled: `clinic_id = %s` (with `OR clinic_id IS
    NULL` for models with shared rows), nothing at all for `unscoped()`, and
    ScopeError without a scope.
    """

    lookup_name = "in_clinic_scope"
    prepare_rhs = False

    def __init__(self, path: str, *, shared_rows: bool, label: str) -> None:
        super().__init__(F(path), shared_rows)
        self.label = label

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> Any:
        current = _current.get()
        if current is None:
            raise ScopeError(
                f"{self.label} rows belong to clinics: query them inside "
                "clinic.scoping.scope(clinic), or inside unscoped() where every "
                "clinic's rows are meant."
            )
        if current.every_clinic:
            raise FullResultSet
        column, params = compiler.compile(self.lhs)
        shared = bool(self.rhs)
        if current.clinic_id is None:
            if not shared:
                raise EmptyResultSet
            return f"{column} IS NULL", list(params)
        if shared:
            return f"({column} = %s OR {column} IS NULL)", [*params, current.clinic_id, *params]
        return f"{column} = %s", [*params, current.clinic_id]


def require_scope(label: str) -> None:
    """Raise ScopeError unless a scope is active (for writes, which compile no WHERE)."""
    if _current.get() is None:
        raise ScopeError(
            f"{label} rows belong to clinics: create them inside a clinic scope or unscoped()."
        )


class ScopedQuerySet(models.QuerySet[M]):
    """Base for the QuerySet of a clinic-owned model, whose default manager is
    `ScopedManager.from_queryset(ThatQuerySet)()`.

    `clinic_path` is the lookup from the model to its clinic ("clinic",
    "patient__clinic", "pk" for the clinic itself); with `shared_rows`, rows
    whose clinic is empty (the shared library) are visible in every scope.
    """

    clinic_path: ClassVar[str]
    shared_rows: ClassVar[bool] = False

    def create(self, **kwargs: Any) -> M:
        require_scope(self.model._meta.label)
        return super().create(**kwargs)

    def bulk_create(self, objs: Iterable[M], *args: Any, **kwargs: Any) -> list[M]:
        require_scope(self.model._meta.label)
        return super().bulk_create(objs, *args, **kwargs)


def has_shared_rows(model: type[models.Model]) -> bool:
    """Whether `model` has rows of no clinic that every clinic sees (the shared library)."""
    queryset_class = getattr(model._default_manager, "_queryset_class", None)
    return bool(getattr(queryset_class, "shared_rows", False))


def clinic_id_of(obj: models.Model) -> int | None:
    """The id of the clinic `obj` belongs to, following its model's `clinic_path`."""
    queryset_class = getattr(type(obj)._default_manager, "_queryset_class", None)
    path: str | None = getattr(queryset_class, "clinic_path", None)
    if path is None:
        raise TypeError(f"{type(obj).__name__} is not a clinic-owned model.")
    if path == "pk":
        clinic_id: int = obj.pk
        return clinic_id
    *through, last = path.split("__")
    value: Any = obj
    for part in through:
        value = getattr(value, part, None)
        if value is None:
            return None
    return getattr(value, f"{last}_id", None)


# Each scoped model's query with its InClinicScope condition, built once: the filter
# resolves the joins along clinic_path, which cost a fifth of a session POST (issue 11),
# and builds the same query every time (the condition's SQL is decided when a query is
# compiled, from the scope active then). Every queryset gets a copy (Query.chain).
_SCOPED_QUERIES: dict[tuple[type[models.Model], type[models.QuerySet[Any]]], Query] = {}


class ScopedManager(models.Manager[M]):
    """The default manager of a clinic-owned model: every queryset carries InClinicScope."""

    def get_queryset(self) -> models.QuerySet[M]:
        queryset = super().get_queryset()
        if not isinstance(queryset, ScopedQuerySet):
            raise TypeError(f"{self.model.__name__}'s QuerySet must be a ScopedQuerySet.")
        key = (self.model, type(queryset))
        scoped = _SCOPED_QUERIES.get(key)
        if scoped is None:
            scoped = _SCOPED_QUERIES[key] = queryset.filter(
                InClinicScope(
                    queryset.clinic_path,
                    shared_rows=queryset.shared_rows,
                    label=self.model._meta.label,
                )
            ).query
        queryset.query = scoped.chain()
        return queryset
