"""The patient list's rows, rendered as Django's admin renders them, with less work a cell.

Django's `items_for_result` works out each cell's column afresh for every row: it
looks the name up among the model's fields (an exception for every column that is
an admin method: seven of the patient list's ten), asks for the empty-value text,
builds the CSS class, and resolves the row's change URL again to carry the list's
filters over. At 50 rows that was most of the page's rendering (16 ms of 22 ms
CPU, bench/adherence.py). Here the columns are worked out once a page, each cell
only reads its value and formats it with Django's own display functions (a date
or a yes/no icon once a page), and the rows' links follow the first row's, so the
HTML is the same, byte for byte (tests/prescriptions/test_admin_rows.py compares
the two on varied rows). The 50 rows of the attention list: 13.1 ms CPU with
Django's renderer, 3.7 ms here.

Only the plain list is rendered here: an editable list (formset), a popup or a
`to_field` list, and any column that is not an admin method or a model field
(a model property, a callable, a lookup across relations) go to Django's own
`items_for_result`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.templatetags.admin_list import (
    ResultList,
    result_headers,
    result_hidden_fields,
)
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import display_for_field, display_for_value
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.urls import NoReverseMatch
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString


@dataclass(frozen=True)
class _Column:
    row_class: str  # the class attribute's value as Django writes it, before "nowrap"
    link: bool
    empty: str
    # Where the row's value cannot be read (ObjectDoesNotExist): Django's text and class.
    missing: str
    missing_class: str
    # An admin method (value = method(row)) or a model field (value = getattr(row, name)).
    method: Callable[[Any], Any] | None = None
    boolean: bool = False
    field: models.Field[Any, Any] | None = None
    name: str = ""


def _link_in_col(is_first: bool, field_name: Any, cl: ChangeList) -> bool:
    # Django's items_for_result.link_in_col.
    if cl.list_display_links is None:
        return False
    if is_first and not cl.list_display_links:
        return True
    return field_name in cl.list_display_links


def _columns(cl: ChangeList) -> list[_Column] | None:
    """Each column as Django's items_for_result works it out, or None if one is of a
    kind rendered only by Django."""
    model_admin = cl.model_admin
    opts = cl.lookup_opts
    default_empty = model_admin.get_empty_value_display()
    columns = []
    first = True
    for name in cl.list_display:
        link = _link_in_col(first, name, cl)
        if link:
            first = False
        if not isinstance(name, str) or name == "__str__":
            return None
        classes = [f"field-{name}"]
        try:
            field = opts.get_field(name)
        except FieldDoesNotExist:
            field = None
        if field is None:
            attr = getattr(model_admin, name, None)
            if attr is None or not callable(attr):
                return None
            if name == "action_checkbox":
                classes = ["action-checkbox"]
            columns.append(
                _Column(
                    row_class=" ".join(classes),
                    link=link,
                    empty=getattr(attr, "empty_value_display", default_empty),
                    method=attr,
                    boolean=getattr(attr, "boolean", False),
                    missing=default_empty,
                    missing_class=f"field-{name}",
                )
            )
            continue
        # A plain concrete field; relations other than a foreign key, and fields
        # Django made itself, go to Django.
        if (
            not isinstance(field, models.Field)
            or field.name != name  # a foreign key's column ("therapist_id")
            or (field.is_relation and field.related_model is None)  # a generic relation
            or field.auto_created
            or field.many_to_many
            or field.one_to_many
            or (field.is_relation and not isinstance(field.remote_field, models.ManyToOneRel))
        ):
            return None
        if isinstance(field, (models.DateField, models.TimeField, models.ForeignKey)):
            classes.append("nowrap")
        columns.append(
            _Column(
                row_class=" ".join(classes),
                link=link,
                empty=default_empty,
                field=field,
                name=name,
                missing=default_empty,
                missing_class=f"field-{name}",
            )
        )
    return columns


# Values whose text depends only on the value (and the request's language and time
# zone): written once a page. A date or a yes/no icon recurs on many rows.
_SHARED_TEXT = (type(None), bool, int, datetime.date)
Texts = dict[tuple[int, type, Any], Any]


def _cell(index: int, column: _Column, result: Any, texts: Texts) -> tuple[Any, str]:
    """(the cell's text, its class attribute) as items_for_result gives them."""
    row_class = column.row_class
    if column.method is not None:
        try:
            value = column.method(result)
        except ObjectDoesNotExist:
            return column.missing, column.missing_class
        if isinstance(value, (datetime.date, datetime.time)):
            row_class += " nowrap"
        if not isinstance(value, _SHARED_TEXT):
            return display_for_value(value, column.empty, column.boolean), row_class
        key = (index, type(value), value)
        text = texts.get(key)
        if text is None:
            text = texts[key] = display_for_value(value, column.empty, column.boolean)
        return text, row_class
    field = column.field
    assert field is not None
    try:
        value = getattr(result, column.name)
    except ObjectDoesNotExist:
        return column.missing, column.missing_class
    if isinstance(field.remote_field, models.ManyToOneRel):
        return (column.empty if value is None else value), row_class
    if not isinstance(value, _SHARED_TEXT):
        return display_for_field(value, field, column.empty, avoid_link=column.link), row_class
    key = (index, type(value), value)
    text = texts.get(key)
    if text is None:
        text = texts[key] = display_for_field(value, field, column.empty, avoid_link=column.link)
    return text, row_class


class _Links:
    """Each row's change link with the list's filters carried over. Django reverses
    each row's URL and resolves it again to find how to carry them; both come out
    the same for every row of a list but for the id, so with whole-number ids the
    first row's link is the pattern of the others'."""

    def __init__(self, cl: ChangeList) -> None:
        self.cl = cl
        self.context: dict[str, Any] = {
            "preserved_filters": cl.preserved_filters,
            "opts": cl.opts,
        }
        self.around: tuple[str, str] | None = None

    def __call__(self, result: Any) -> str | None:
        pk = getattr(result, self.cl.pk_attname)
        if self.around is not None and type(pk) is int:
            head, tail = self.around
            return f"{head}{pk}{tail}"
        try:
            url = self.cl.url_for_result(result)
        except NoReverseMatch:
            return None
        full = add_preserved_filters(self.context, url)
        # ".../<id>/change/" and the filters after it.
        head, found, rest = full.rpartition(f"/{pk}/")
        if type(pk) is int and found and "?" not in url and full.startswith(url):
            self.around = (f"{head}/", f"/{rest}")
        return full


def _items(
    cl: ChangeList, columns: list[_Column], links: _Links, texts: Texts, result: Any
) -> Iterator[str]:
    first = True
    for index, column in enumerate(columns):
        text, row_class = _cell(index, column, result, texts)
        row_class_attr = f' class="{row_class}"'
        if column.link:
            tag = "th" if first else "td"
            first = False
            url = links(result)
            inner: str
            if url is None:
                inner = conditional_escape(text)
            else:
                inner = f'<a href="{conditional_escape(url)}">{conditional_escape(text)}</a>'
            yield SafeString(f"<{tag}{row_class_attr}>{inner}</{tag}>")
        else:
            yield SafeString(f"<td{row_class_attr}>{conditional_escape(text)}</td>")


def results(cl: ChangeList) -> Iterator[ResultList]:
    """Django's admin_list.results(cl), the plain list's rows rendered here."""
    columns = None
    if not cl.formset and not cl.is_popup and not cl.to_field:
        columns = _columns(cl)
    if columns is None:
        yield from admin_list.results(cl)
        return
    links = _Links(cl)
    texts: Texts = {}
    for res in cl.result_list:
        yield ResultList(None, _items(cl, columns, links, texts, res))


def result_list(cl: ChangeList) -> dict[str, Any]:
    """Django's admin_list.result_list(cl), its rows from results() above."""
    headers = list(result_headers(cl))
    num_sorted_fields = 0
    for h in headers:
        if h["sortable"] and h["sorted"]:
            num_sorted_fields += 1
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": num_sorted_fields,
        "results": list(results(cl)),
    }
