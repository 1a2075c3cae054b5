"""Rehabit's admin site: the stock admin, with tamper-proof inputs and richer pickers."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinic import two_factor
from clinic.admin_scoping import ClinicAdminMixin


class RichAutocompleteView(AutocompleteJsonView):
    """Lets the searched model's admin add to each result (a picture, a dosage).

    A ModelAdmin with an `autocomplete_extra(obj)` method returns a dict that is
    merged into the result for `obj`; the exercise admin adds the drawing.
    """

    def serialize_result(self, obj: Any, to_field_name: str) -> dict[str, Any]:
        result = super().serialize_result(obj, to_field_name)
        extra = getattr(self.model_admin, "autocomplete_extra", None)
        if extra is not None:
            result.update(extra(obj))
        return result


def possible_keys(field: Any, values: list[Any]) -> list[Any]:
    """`values` without those that cannot be a value of `field` ("abc" for an
    integer key, a number past the column's range): querying with one raises."""
    kept = []
    for value in values:
        if value not in (None, ""):
            try:
                field.clean(value, None)
            except ValidationError:
                continue
        kept.append(value)
    return kept


class SafeAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete re-renders a refused form by querying the submitted
    value; a value that cannot be a key makes that query raise, a 500 instead of
    "Select a valid choice". Such values are left out of the query."""

    def optgroups(self, name: str, value: Any, attr: Any = None) -> Any:
        remote = self.field.remote_field
        target = remote.model._meta.get_field(remote.field_name)
        return super().optgroups(name, possible_keys(target, value), attr)


class SafeAutocompleteMixin:
    """Use SafeAutocompleteSelect for autocomplete fields (ModelAdmin and inlines)."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        autocomplete = self.get_autocomplete_fields(request)  # type: ignore[attr-defined]
        if "widget" not in kwargs and db_field.name in autocomplete:
            kwargs["widget"] = SafeAutocompleteSelect(
                db_field,
                self.admin_site,  # type: ignore[attr-defined]
                using=kwargs.get("using"),
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class SafeInputAdminMixin(SafeAutocompleteMixin, admin.ModelAdmin[Any]):
    """Tampered input gets the admin's own message, never a 500.

    Besides safe autocomplete widgets: a tampered action request
    (`_selected_action=abc`, or a number past the column's range) makes the
    stock admin's action query raise. Such ids are dropped instead, which leaves
    Django's own answer for an empty selection: "Items must be selected in order
    to perform actions on them. No items have been changed."
    """

    def action_checkbox(self, obj: Any) -> SafeString:
        """The row's selection box, written directly: the stock one renders a form
        widget through the template engine for every row, a fifth of a 50-row list's
        time (bench/adherence.py). The same HTML (tests compare the two)."""
        label = format_html(gettext("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )

    def response_action(
        self, request: HttpRequest, queryset: QuerySet[Any], *args: Any, **kwargs: Any
    ) -> Any:
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        valid = possible_keys(self.opts.pk, selected)
        if len(valid) != len(selected):
            post = request.POST.copy()
            post.setlist(helpers.ACTION_CHECKBOX_NAME, valid)
            request.POST = post  # type: ignore[assignment]
        return super().response_action(request, queryset, *args, **kwargs)


OTP_APPS = {"otp_totp", "otp_static"}


class RehabitAdminSite(admin.AdminSite):
    site_header = _("Rehabit")
    site_title = _("Rehabit")
    index_title = _("Home-exercise plans")
    # The plan page and the patient list need the full width for their columns.
    enable_nav_sidebar = False
    # "View site" led therapists to the patients' sign-in page, which refuses
    # staff; the admin is the therapists' site, so the link goes.
    site_url = None

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        from clinic.models import therapist_for

        context = super().each_context(request)
        therapist = therapist_for(request) if request.user.is_authenticated else None
        # The Exports page (CSV downloads) is for clinic administrators and superusers.
        context["rehabit_can_export"] = request.user.is_superuser or (
            therapist is not None and therapist.is_clinic_admin
        )
        return context

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        # Every ModelAdmin on this site, including Django's and third-party ones
        # (groups, axes, task results), gets the safe autocomplete and actions,
        # and the clinic rules (404 for hidden objects, a read-only shared library).
        models = (
            model_or_iterable
            if isinstance(model_or_iterable, list | tuple)
            else [model_or_iterable]
        )
        if all(model._meta.app_label in OTP_APPS for model in models):
            # django-otp's device admins show each device's secret key and QR code;
            # staff manage their own second factor (clinic.two_factor), superusers
            # reset someone else's from the user admin.
            return
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, SafeInputAdminMixin):
            bases = (SafeInputAdminMixin, ClinicAdminMixin, admin_class)
            admin_class = type(admin_class.__name__, bases, {})
        super().register(model_or_iterable, admin_class, **options)

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)
        # Signing out, and the second-factor pages themselves, come before the gate.
        if getattr(view, "__name__", "") == "logout" or getattr(view, "before_gate", False):
            return inner

        @wraps(view)
        def gated(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            return two_factor.gate(request) or inner(request, *args, **kwargs)

        return gated

    def get_urls(self) -> list[URLPattern | URLResolver]:
        return [
            path("two-factor/", self.admin_view(two_factor.manage), name="two_factor"),
            path("two-factor/setup/", self.admin_view(two_factor.setup), name="two_factor_setup"),
            path(
                "two-factor/verify/", self.admin_view(two_factor.verify), name="two_factor_verify"
            ),
            *super().get_urls(),
        ]

    def autocomplete_view(self, request: HttpRequest) -> HttpResponse:
        return RichAutocompleteView.as_view(admin_site=self)(request)  # type: ignore[return-value]
