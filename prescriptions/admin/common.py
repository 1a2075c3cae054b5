"""Pieces shared by the prescriptions admin pages: exercise thumbnails and the owner filter."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from prescriptions.models import Exercise

THUMB = (
    '<img src="{}" alt="{}" title="{}" class="rehabit-thumb" width="{}" height="{}" loading="lazy">'
)


def thumbnail(exercise: Exercise | None, size: int = 64) -> str:
    if exercise is None:
        return "–"
    text = exercise.illustration_text()
    return format_html(THUMB, exercise.illustration_url(), text, text, size, size * 5 // 8)


class OwnerFilter(admin.SimpleListFilter):
    title = _("owner")
    parameter_name = "owner"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("shared", _("Shared library")), ("clinic", _("Our clinic's own"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "shared":
            return queryset.filter(clinic__isnull=True)
        if self.value() == "clinic":
            return queryset.filter(clinic__isnull=False)
        return queryset
