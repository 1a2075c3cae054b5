"""Rules stated once: a bound's limits and message give the validators, the database
constraint and the form's limits (`Bound`); a constraint's error belongs to its field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.utils import DEFAULT_DB_ALIAS
from django.utils.functional import lazy

if TYPE_CHECKING:
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


class FieldCheckConstraint(models.CheckConstraint):
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


# Lookups `holds` understands: what the range and "give an amount" rules are made of.
_PYTHON_LOOKUPS = {
    "exact": lambda value, arg: value is None if arg is None else value == arg,
    "isnull": lambda value, arg: (value is None) is bool(arg),
    "lte": lambda value, arg: value is not None and value <= arg,
    "gte": lambda value, arg: value is not None and value >= arg,
    "lt": lambda value, arg: value is not None and value < arg,
    "gt": lambda value, arg: value is not None and value > arg,
}


def holds(condition: Q, values: Mapping[str, Any]) -> bool:
    """Whether `values` satisfy a constraint's condition, decided in Python.

    The same condition the database checks, read without a query: an editor that
    checks every row on every keystroke (the plan builder) cannot afford a query
    per constraint and row. Only plain comparisons with constants are understood;
    anything else raises, so a new kind of rule cannot pass unchecked.
    """
    results = []
    for child in cast("list[Any]", condition.children):
        if isinstance(child, Q):
            results.append(holds(child, values))
            continue
        key, arg = child
        field, _, lookup = str(key).partition("__")
        test = _PYTHON_LOOKUPS.get(lookup or "exact")
        if test is None or isinstance(arg, models.expressions.Combinable):
            raise NotImplementedError(f"holds() cannot decide {key!r} in Python.")
        results.append(bool(test(values.get(field), arg)))  # type: ignore[no-untyped-call]
    if condition.connector not in (Q.AND, Q.OR):
        raise NotImplementedError(f"holds() cannot decide {condition.connector} in Python.")
    result = all(results) if condition.connector == Q.AND else any(results)
    return not result if condition.negated else result
