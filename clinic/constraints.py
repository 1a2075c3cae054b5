"""Rules stated once: a bound's limits and message give the validators, the database
constraint and the form's limits (`Bound`); a constraint's error belongs to its field."""

from __future__ import annotations

import datetime
import decimal
import operator
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.utils import DEFAULT_DB_ALIAS
from django.utils import timezone
from django.utils.functional import lazy

if TYPE_CHECKING:
    from django.db.models.options import Options
    from django.utils.functional import _StrPromise as StrPromise


def _interpolate(message: StrPromise | str, values: Mapping[str, object]) -> str:
    return str(message) % values


_lazy_interpolate = lazy(_interpolate, str)


def lazy_format(message: StrPromise | str, values: Mapping[str, object]) -> StrPromise:
    """A translated message with its placeholders filled in when it is shown, in the
    reader's language (models and forms are imported before any language is active)."""
    return cast("StrPromise", _lazy_interpolate(message, values))


@dataclass(frozen=True)
class Bound:
    """A whole-number rule: its limits and the one message that states it.

    The model field's validators, the database CheckConstraint and the forms'
    limits all come from here, so the numbers and the words cannot disagree.
    `message` (marked with gettext_lazy) may use %(low)s and %(high)s. A lower
    limit of 0 is the column's own (positive integer fields): the database
    condition leaves it out, as the constraints always have.
    """

    low: int
    high: int
    message: StrPromise

    @property
    def text(self) -> StrPromise:
        return lazy_format(self.message, {"low": self.low, "high": self.high})

    def validators(self) -> list[MinValueValidator | MaxValueValidator]:
        return [
            MinValueValidator(self.low, message=self.text),
            MaxValueValidator(self.high, message=self.text),
        ]

    def condition(self, field: str, *, null: bool = False) -> Q:
        limits = {f"{field}__lte": self.high}
        if self.low:
            limits[f"{field}__gte"] = self.low
        within = Q(**limits)
        return Q(**{field: None}) | within if null else within

    def constraint(self, field: str, *, name: str, null: bool = False) -> FieldCheckConstraint:
        return FieldCheckConstraint(
            field=field,
            condition=self.condition(field, null=null),
            name=name,
            violation_error_message=self.text,
        )


class PythonCheckConstraint(models.CheckConstraint):
    """A CheckConstraint that model validation decides in Python where it can.

    Django validates a CheckConstraint with a query of its own (`SELECT 1 AS
    "_check" ...`, in a savepoint inside a transaction): a session log ran 13 of
    them, 10 inside the SQLite write transaction. `decide` reads the same
    condition without a query; what it cannot read goes to the database as before.
    The database constraint itself is unchanged (and so are migrations).
    """

    def validate(
        self,
        model: type[models.Model],
        instance: models.Model,
        exclude: Any = None,
        using: str = DEFAULT_DB_ALIAS,
    ) -> None:
        if exclude and self._expression_refs_exclude(  # type: ignore[attr-defined]
            model, self.condition, exclude
        ):
            return
        verdict = decide(self, instance, model=model)
        if verdict is None:
            super().validate(model, instance, exclude=exclude, using=using)
        elif not verdict:
            raise ValidationError(
                self.get_violation_error_message(), code=self.violation_error_code
            )


class FieldCheckConstraint(PythonCheckConstraint):
    """A CheckConstraint whose violation is reported against one form field.

    Django reports CheckConstraint violations as non-field errors, so a form shows
    "Sets must be between 1 and 10." at the top of the page instead of beside the
    box that is wrong. The database constraint is exactly the same; only the
    validation error names the field. `field` must be referenced by `condition`,
    so that forms which leave the field out also skip the check.
    """

    def __init__(self, *, field: str, **kwargs: Any) -> None:
        self.field = field
        super().__init__(**kwargs)

    def validate(
        self,
        model: type[models.Model],
        instance: models.Model,
        exclude: Any = None,
        using: str = DEFAULT_DB_ALIAS,
    ) -> None:
        try:
            super().validate(model, instance, exclude=exclude, using=using)
        except ValidationError as error:
            raise ValidationError({self.field: error.error_list}) from None

    def deconstruct(self) -> tuple[str, Any, dict[str, Any]]:
        path, args, kwargs = super().deconstruct()
        kwargs["field"] = self.field
        return path, args, kwargs

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FieldCheckConstraint):
            return super().__eq__(other) and self.field == other.field
        return super().__eq__(other)

    __hash__ = models.CheckConstraint.__hash__


class Undecidable(Exception):
    """A condition (or a value) that `decide` does not read; the database decides it."""


# SQL's three truth values: True, False and None for UNKNOWN (a comparison with NULL).
Truth = bool | None


def _all(values: list[Truth]) -> Truth:
    if False in values:
        return False
    return None if None in values else True


def _any(values: list[Truth]) -> Truth:
    if True in values:
        return True
    return None if None in values else False


def _kind(value: object) -> str:
    """Values of one kind compare in Python as they do in SQL; other pairs are not read."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float, decimal.Decimal)):
        return "number"
    if isinstance(value, datetime.datetime):
        return "aware" if timezone.is_aware(value) else "naive"
    for kind in (str, datetime.date, datetime.time, uuid.UUID):
        if isinstance(value, kind):
            return kind.__name__
    raise Undecidable(f"a value of type {type(value).__name__}")


def _compare(value: object, arg: object, test: Callable[[Any, Any], bool]) -> Truth:
    if value is None or arg is None:
        return None
    kind = _kind(value)
    if kind != _kind(arg):
        raise Undecidable(f"{value!r} against {arg!r}")
    return test(value, arg)


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[object, object], Truth]:
    def compare(value: object, arg: object) -> Truth:
        # Text sorts by the database's collation, which Python does not know.
        if isinstance(value, str) or isinstance(arg, str):
            raise Undecidable("an ordering of text")
        return _compare(value, arg, test)

    return compare


def _in(value: object, args: object) -> Truth:
    if not isinstance(args, (list, tuple, set, frozenset)) or not args or None in args:
        raise Undecidable("an IN list that is not plain")
    return _any([_compare(value, arg, operator.eq) for arg in args])


def _range(value: object, args: object) -> Truth:
    if not isinstance(args, (list, tuple)) or len(args) != 2:
        raise Undecidable("a range that is not a pair")
    low, high = args
    return _all([_ordered(operator.ge)(value, low), _ordered(operator.le)(value, high)])


def _isnull(value: object, arg: object) -> Truth:
    if not isinstance(arg, bool):
        raise Undecidable("isnull with a value that is not True or False")
    return (value is None) is arg


_LOOKUPS: dict[str, Callable[[object, object], Truth]] = {
    "exact": lambda value, arg: _compare(value, arg, operator.eq),
    "lt": _ordered(operator.lt),
    "lte": _ordered(operator.le),
    "gt": _ordered(operator.gt),
    "gte": _ordered(operator.ge),
    "in": _in,
    "range": _range,
    "isnull": _isnull,
}


def _field_value(meta: Options[Any], instance: models.Model, name: str) -> object:
    # The values Django's own check sends: the model's local concrete fields.
    if name == "pk":
        return instance.pk
    for field in meta.local_concrete_fields:
        if name in (field.name, field.attname) and not field.generated:
            return getattr(instance, field.attname)
    raise Undecidable(f"the field {name!r}")


def _truth(condition: Q, meta: Options[Any], instance: models.Model) -> Truth:
    results: list[Truth] = []
    for child in cast("list[Any]", condition.children):
        if isinstance(child, Q):
            results.append(_truth(child, meta, instance))
            continue
        if not isinstance(child, tuple):
            raise Undecidable(f"the expression {child!r}")
        key, arg = child
        name, _, lookup = str(key).partition("__")
        value = _field_value(meta, instance, name)
        if not lookup and arg is None:
            lookup, arg = "isnull", True  # as Django reads `field=None`
        elif isinstance(arg, F):
            arg = _field_value(meta, instance, cast("Any", arg).name)  # NULL = NULL is UNKNOWN
        elif hasattr(arg, "resolve_expression"):
            raise Undecidable(f"the expression {arg!r}")
        test = _LOOKUPS.get(lookup or "exact")
        if test is None:
            raise Undecidable(f"the lookup {key!r}")
        results.append(test(value, arg))
    if condition.connector == Q.AND:
        result = _all(results)
    elif condition.connector == Q.OR:
        result = _any(results)
    else:
        raise Undecidable(f"the connector {condition.connector}")
    if condition.negated and result is not None:
        return not result
    return result


def decide(
    constraint: models.CheckConstraint,
    instance: models.Model,
    *,
    model: type[models.Model] | None = None,
) -> bool | None:
    """Whether `instance` passes `constraint`, decided in Python; None when it cannot tell.

    Reads Q trees of comparisons (exact, lt, lte, gt, gte, in, range, isnull) between
    a field and a constant or another field (F) of the same row, with SQL's
    three-valued logic: a comparison with NULL is UNKNOWN, and a CHECK passes
    unless its condition is FALSE. Anything else (text ordering, transforms,
    joins, expressions, values of mixed types) is left to the database: None.
    """
    condition = constraint.condition
    if not isinstance(condition, Q):
        return None
    meta = (model or type(instance))._meta
    try:
        return _truth(condition, meta, instance) is not False
    except (Undecidable, TypeError):
        return None
