from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.utils import DEFAULT_DB_ALIAS


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
