"""Check constraints decided in Python (clinic.constraints.decide) say what the database says.

Every CheckConstraint of every installed model is tried on values either side of
each of its limits, on each choice, and on NULL, one combination of its fields at
a time; Django's own database check (the query `decide` saves) is the referee.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import itertools
from collections.abc import Iterator
from typing import Any, cast

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import F, Q
from django.test.utils import CaptureQueriesContext

from clinic.constraints import PythonCheckConstraint, decide
from prescriptions.models import Exercise, SessionLog

# (model, constraint): every CheckConstraint in the project, third parties' included.
CHECKS = [
    (model, constraint)
    for model in apps.get_models()
    for constraint in model._meta.constraints
    if isinstance(constraint, models.CheckConstraint)
]

A_DAY = datetime.date(2026, 3, 10)
A_MOMENT = datetime.datetime(2026, 3, 10, 9, 30, tzinfo=datetime.UTC)


def _leaves(condition: Q) -> Iterator[tuple[str, Any]]:
    for child in cast("list[Any]", condition.children):
        if isinstance(child, Q):
            yield from _leaves(child)
        else:
            yield child


def _around(arg: Any) -> list[Any]:
    """A limit and its neighbours: on it, just inside and just outside either way."""
    if isinstance(arg, bool):
        return [True, False]
    if isinstance(arg, (int, decimal.Decimal)):
        return [arg - 1, arg, arg + 1]
    if isinstance(arg, str):
        return [arg, f"not-{arg}"]
    if isinstance(arg, (list, tuple)):
        return [value for item in arg for value in _around(item)]
    return []


def _samples(model: type[models.Model], name: str, condition: Q) -> list[Any]:
    """Values to try in one field: around every constant it meets, its choices, NULL."""
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    values: list[Any] = [None]
    for key, arg in _leaves(condition):
        if str(key).split("__")[0] == name and not isinstance(arg, F):
            values += _around(arg)
    values += [value for value, _label in getattr(field, "choices", None) or []]
    if isinstance(field, models.BooleanField):
        values += [True, False]
    elif isinstance(field, models.DateTimeField):
        values += [A_MOMENT, A_MOMENT - datetime.timedelta(hours=1), A_MOMENT]
    elif isinstance(field, models.DateField):
        values += [A_DAY, A_DAY - datetime.timedelta(days=1), A_DAY + datetime.timedelta(days=1)]
    elif isinstance(field, (models.IntegerField, models.ForeignKey, models.AutoField)):
        values += [1, 2]
    return list(dict.fromkeys(values))


def _in_database(model: type[models.Model], constraint: Any, instance: models.Model) -> bool:
    # Django's own validation, by its query (what PythonCheckConstraint saves).
    try:
        models.CheckConstraint.validate(constraint, model, instance)
    except ValidationError:
        return False
    return True


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "constraint"), CHECKS, ids=[constraint.name for _model, constraint in CHECKS]
)
def test_python_and_the_database_agree(model, constraint):
    condition = constraint.condition
    names = sorted({ref[0] for ref in model._get_expr_references(condition)})
    outcomes = set()
    for values in itertools.product(*(_samples(model, name, condition) for name in names)):
        instance = model()
        for name, value in zip(names, values, strict=True):
            field = model._meta.pk if name == "pk" else model._meta.get_field(name)
            setattr(instance, field.attname, value)
        in_python = decide(constraint, instance, model=model)
        assert in_python is not None, (constraint.name, dict(zip(names, values, strict=True)))
        assert in_python is _in_database(model, constraint, instance), (
            constraint.name,
            dict(zip(names, values, strict=True)),
        )
        outcomes.add(in_python)
    # The samples reach both sides of every rule (else the agreement proves little).
    assert outcomes == {True, False}, constraint.name


def test_every_project_rule_is_decided_in_python():
    ours = [
        constraint
        for model, constraint in CHECKS
        if model._meta.app_label in {"clinic", "prescriptions", "portal"}
    ]
    assert ours
    for constraint in ours:
        assert isinstance(constraint, PythonCheckConstraint), constraint.name


def test_it_does_not_follow_joins():
    # Django cannot check these either (a FieldError); decide does not pretend to.
    rule = PythonCheckConstraint(condition=Q(clinic__name="x"), name="t")
    assert decide(rule, Exercise(name="Wall sit")) is None


def test_a_comparison_with_null_passes_as_in_sql():
    rule = PythonCheckConstraint(condition=Q(pain__lte=10), name="t")
    assert decide(rule, SessionLog(pain=cast("Any", None))) is True
    assert decide(rule, SessionLog(pain=11)) is False
    # NOT UNKNOWN is still UNKNOWN: it passes too.
    negated = PythonCheckConstraint(condition=~Q(pain__lte=10), name="t")
    assert decide(negated, SessionLog(pain=cast("Any", None))) is True
    assert decide(negated, SessionLog(pain=3)) is False


@pytest.mark.parametrize(
    "condition",
    [
        Q(name__icontains="wall"),  # a lookup it does not read
        Q(name__gt="m"),  # text order is the database's collation
        Q(sets__lte=F("reps") + 1),  # an expression
        Q(sets="3"),  # text against a number
    ],
)
@pytest.mark.django_db
def test_what_it_cannot_read_goes_to_the_database(condition):
    rule = PythonCheckConstraint(condition=condition, name="t")
    exercise = Exercise(name="Wall sit", sets=3, reps=10)
    assert decide(rule, exercise) is None
    with CaptureQueriesContext(connection) as queries, contextlib.suppress(ValidationError):
        rule.validate(Exercise, exercise)
    assert [q for q in queries.captured_queries if '"_check"' in q["sql"]]


@pytest.mark.django_db
def test_a_decided_rule_asks_nothing_and_reports_its_field(django_assert_num_queries):
    log = SessionLog(pain=11, session_number=1, symptoms_lasted=False, nerve_symptoms="none")
    errors = {}
    with django_assert_num_queries(0):
        for constraint in SessionLog._meta.constraints:
            if isinstance(constraint, models.CheckConstraint):
                try:
                    constraint.validate(SessionLog, log)
                except ValidationError as error:
                    errors.update(error.message_dict)
    assert list(errors) == ["pain"]
    rule = next(c for c in SessionLog._meta.constraints if c.name == "sessionlog_pain_scale")
    assert errors["pain"] == [str(rule.violation_error_message)]
