"""Patient portal forms.

The sign-in and password pages render theirs with crispy-forms' Bootstrap 5 pack;
the session form, on the pages patients open most, writes its markup in Python
(`ButtonRadioSelect`, `choice_group_html`, the plain widgets and
`BootstrapBoundField`): the same HTML, without a template render per field.
"""

from __future__ import annotations

import datetime
import html
import uuid
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.forms import BoundField
from django.utils import translation
from django.utils.formats import localize, time_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from clinic.constraints import lazy_format
from clinic.models import PAIN_SCALE, Patient, User
from clinic.scoping import unscoped
from prescriptions.models import COMMENT_MAX_LENGTH, SYMPTOM_MINUTES, PlanItem, SessionLog, Side
from prescriptions.recording import SetsDone

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise


class PortalLoginForm(AuthenticationForm):
    # One message whatever went wrong, so the form never tells whether an
    # email address has an account.
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "That email address and password do not match. Check them and try again."
        ),
        "inactive": _("That email address and password do not match. Check them and try again."),
    }

    username = forms.EmailField(
        label=_("Email address"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if user.is_staff:
            return  # the view sends staff to the admin
        # A sign-in lookup: nobody is signed in yet, so there is no clinic scope.
        with unscoped():
            patient = Patient.objects.filter(user=user, is_active=True).first()
        if patient is None:
            raise forms.ValidationError(self.error_messages["invalid_login"], code="invalid_login")


class PortalPasswordResetForm(PasswordResetForm):
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        *args: Any,
        **kwargs: Any,
    ) -> None:
        # Written in the language the patient chose, not the one of the browser
        # that asked (a relative's computer, a clinic kiosk).
        # Asked by someone not signed in: no clinic scope, so the lookup says it.
        with unscoped():
            language = (
                Patient.objects.filter(user=context["user"])
                .values_list("preferred_language", flat=True)
                .first()
            )
        with translation.override(language or settings.LANGUAGE_CODE):
            super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)


class PortalSetPasswordForm(SetPasswordForm[User]):
    pass


class ButtonRadioSelect(forms.RadioSelect):
    """Radio buttons whose options (`{{ radio.tag }}`) are written in Python.

    The Today page shows some 40 of them (the sets of every exercise, the pain
    scale, nerve symptoms and effort); through the form renderer each option was
    three template renders, about 30 % of the page's time. The HTML is exactly what Django's
    radio_option.html, input.html and attrs.html templates make (a test compares
    the two); the whole group, if ever rendered as `{{ field }}`, still goes
    through the templates.
    """

    def _render(self, template_name: str, context: dict[str, Any], renderer: Any = None) -> Any:
        if template_name != self.option_template_name:
            return super()._render(template_name, context, renderer)  # type: ignore[misc]
        return _option_html(context["widget"])


def _escaped(value: Any) -> str:
    # django.utils.html.conditional_escape without its lazy-argument wrapper (a
    # third of the time here): safe text as it is, anything else escaped.
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value))


def _option_html(widget: dict[str, Any]) -> SafeString:
    # django/forms/widgets/input_option.html, input.html and attrs.html, in Python.
    # `|stringformat:'s'` there is str() here; it keeps safe text safe, as _escaped does.
    value = widget["value"]
    parts = [f'<input type="{_escaped(widget["type"])}" name="{_escaped(widget["name"])}"']
    if value is not None:
        parts.append(f' value="{_escaped(value)}"')
    for name, given in widget["attrs"].items():
        if given is True:
            parts.append(f" {_escaped(name)}")
        elif given is not False:
            parts.append(f' {_escaped(name)}="{_escaped(given)}"')
    parts.append(">")
    if widget.get("wrap_label"):
        label_id = widget["attrs"].get("id")
        opening = f'<label for="{_escaped(label_id)}">' if label_id else "<label>"
        # input.html ends in a newline, which the renderer strips only at the very end.
        parts = [opening, *parts, f"\n {_escaped(localize(widget['label']))}</label>"]
    return SafeString("".join(parts))


class PlainHiddenInput(forms.HiddenInput):
    """A hidden input written in Python (input.html, as `_option_html` writes it)."""

    def _render(self, template_name: str, context: dict[str, Any], renderer: Any = None) -> Any:
        return _option_html(context["widget"])


class PlainNumberInput(forms.NumberInput):
    """A number box written in Python: Django's input.html and attrs.html, as
    `_option_html` writes them (a test compares the two)."""

    def _render(self, template_name: str, context: dict[str, Any], renderer: Any = None) -> Any:
        return _option_html(context["widget"])


class PlainCheckboxInput(forms.CheckboxInput):
    """A checkbox written in Python (checkbox.html is input.html)."""

    def _render(self, template_name: str, context: dict[str, Any], renderer: Any = None) -> Any:
        return _option_html(context["widget"])


class PlainTextarea(forms.Textarea):
    """A text area written in Python: Django's textarea.html and attrs.html."""

    def _render(self, template_name: str, context: dict[str, Any], renderer: Any = None) -> Any:
        widget = context["widget"]
        attrs = "".join(
            f" {_escaped(name)}" if given is True else f' {_escaped(name)}="{_escaped(given)}"'
            for name, given in widget["attrs"].items()
            if given is not False
        )
        value = _escaped(localize(widget["value"])) if widget["value"] else ""
        name = _escaped(widget["name"])
        return SafeString(f'<textarea name="{name}"{attrs}>\n{value}</textarea>')


class BootstrapBoundField(BoundField):
    """A field whose widget carries Bootstrap's `is-invalid` class when the field has
    errors, as crispy-forms' field template adds it (the class keeps its place among
    the attributes, before Django's aria-invalid and aria-describedby)."""

    def as_widget(
        self,
        widget: forms.Widget | None = None,
        attrs: dict[str, Any] | None = None,
        only_initial: bool = False,
    ) -> SafeString:
        if self.errors:
            css = (widget or self.field.widget).attrs.get("class", "")
            attrs = {**(attrs or {}), "class": f"{css} is-invalid".strip()}
        return super().as_widget(widget, attrs, only_initial)


def choice_group_html(
    field: BoundField,
    *,
    legend: Any,
    css: str,
    full_legend: Any = None,
    hide_legend: bool = False,
    sets_group: bool = False,
) -> SafeString:
    """A choice as a row of large buttons with radio semantics: a fieldset whose
    legend names it (`full_legend`, when given, is what screen readers hear), the help
    text and errors tied to it by aria-describedby, and one `.btn-check` radio and
    its label per option. Written in Python: the Today page has a dozen of these."""
    auto_id = _escaped(field.auto_id)
    errors = field.errors
    help_text = field.help_text
    fieldset = [f'<fieldset class="choice-group {_escaped(css)}{" is-invalid" if errors else ""}"']
    if sets_group:
        fieldset.append(" data-sets-group")
    if help_text or errors:
        described = f"{auto_id}_help" if help_text else ""
        if errors:
            described += f" {auto_id}_error"
        fieldset.append(f' aria-describedby="{described}"')
    fieldset.append(">")
    shown = f'<legend class="choice-legend{" visually-hidden" if hide_legend else ""}">'
    if full_legend:
        shown += f'<span class="visually-hidden">{_escaped(full_legend)}</span>'
        if not hide_legend:
            shown += f'<span aria-hidden="true">{_escaped(legend)}</span>'
    else:
        shown += _escaped(legend)
    if field.field.required and not sets_group:
        shown += '<span aria-hidden="true">*</span>'
    shown += "</legend>"
    help_html = (
        f'<p class="form-text mt-0" id="{auto_id}_help">{_escaped(help_text)}</p>'
        if help_text
        else ""
    )
    options = "".join(
        f'{radio.tag()}<label class="btn btn-outline-primary" for="{_escaped(radio.id_for_label)}">'
        f"{_escaped(localize(radio.choice_label))}</label>"
        for radio in field
    )
    error_html = (
        f'<p class="invalid-feedback d-block" id="{auto_id}_error">'
        f"{' '.join(_escaped(error) for error in errors)}</p>"
        if errors
        else ""
    )
    return SafeString(
        f"{''.join(fieldset)}\n  {shown}\n  {help_html}\n"
        f'  <div class="choice-buttons">\n    {options}\n  </div>\n  {error_html}\n</fieldset>\n'
    )


def bootstrap_field_html(field: BoundField) -> SafeString:
    """A field with its label, errors and help text in Bootstrap 5's markup, as
    crispy-forms' `as_crispy_field` writes it (the same elements, classes, ids and
    aria attributes; a test compares the two), without its dozen template renders."""
    auto_id = _escaped(field.auto_id)
    required = field.field.required
    label = _escaped(field.label) + ('<span class="asteriskField">*</span>' if required else "")
    label_class = " requiredField" if required else ""
    errors = "".join(
        f'<p id="error_{n}_{auto_id}"><strong>{_escaped(error)}</strong></p>'
        for n, error in enumerate(field.errors, 1)
    )
    after = f'<div id="{auto_id}_error" class="invalid-feedback">{errors}</div>' if errors else ""
    if field.help_text:
        after += f'<div id="{auto_id}_helptext" class="form-text">{_escaped(field.help_text)}</div>'
    widget = field.as_widget()
    for_id = _escaped(field.id_for_label)
    if isinstance(field.field.widget, forms.CheckboxInput):
        return SafeString(
            f'<div class="mb-3"><div id="div_{auto_id}" class="form-check">{widget}'
            f'<label for="{for_id}" class="form-check-label{label_class}">{label}</label>'
            f"{after}</div></div>"
        )
    return SafeString(
        f'<div id="div_{auto_id}" class="mb-3">'
        f'<label for="{for_id}" class="form-label{label_class}">{label}</label>'
        f"{widget}{after}</div>"
    )


SCALE = {"low": PAIN_SCALE.low, "high": PAIN_SCALE.high}
# One large button per number (one tap, no menu); what the ends mean is the help text.
PAIN_CHOICES = [(n, str(n)) for n in range(PAIN_SCALE.low, PAIN_SCALE.high + 1)]
# The session's own fields, judged by SessionLog's rules (see SessionForm.clean).
SESSION_FIELDS = (
    "pain",
    "nerve_symptoms",
    "symptoms_lasted",
    "symptoms_minutes",
    "effort",
    "comment",
)


# The set buttons of each prescription, once a language: every session form built
# them for each of its items (the session POST's included), formatting each label.
_SETS_CHOICES: dict[tuple[int, str | None], list[tuple[int, str | _StrPromise]]] = {}


def _sets_choices(prescribed: int) -> list[tuple[int, str | _StrPromise]]:
    key = (prescribed, translation.get_language())
    choices = _SETS_CHOICES.get(key)
    if choices is None:
        choices = _SETS_CHOICES[key] = _new_sets_choices(prescribed)
    return choices


def _new_sets_choices(prescribed: int) -> list[tuple[int, str | _StrPromise]]:
    # Short labels: they are buttons side by side on a phone, and the group's name
    # says which exercise (and side) they count sets of.
    choices: list[tuple[int, str | _StrPromise]] = [(0, _("Not done"))]
    for n in range(1, max(prescribed, 1) + 1):
        label: str | _StrPromise = _("%(n)s of %(total)s") % {"n": n, "total": prescribed}
        if n == prescribed:
            # One set is simply done; "All 1" reads oddly on a button.
            label = _("Done") if prescribed == 1 else _("All %(total)s") % {"total": prescribed}
        choices.append((n, label))
    return choices


class SharedChoiceField(forms.ChoiceField):
    """A choice field whose copy in each form shares its choices: Django's deep-copies
    them, lazy labels and all, for every form built (a fifth of building the session
    form). The list is copied, so a form that replaces or extends it changes only its
    own; the (value, label) pairs themselves cannot change."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        result = forms.Field.__deepcopy__(self, memo)
        result._choices = list(self._choices)  # type: ignore[attr-defined]
        return result


class SharedTypedChoiceField(SharedChoiceField, forms.TypedChoiceField):
    pass


class SessionKeyForm(forms.Form):
    """A session form's replay key alone: what the Today page renders afresh around
    the rest of its form, a cached fragment (portal.views.today)."""

    idempotency_key = forms.UUIDField(
        widget=PlainHiddenInput,
        error_messages={
            "required": _("This form has expired. Please reload the page and try again."),
            "invalid": _("This form has expired. Please reload the page and try again."),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A new key for every rendered form: sending this same form again is a replay.
        self.fields["idempotency_key"].initial = uuid.uuid4()


class SessionForm(SessionKeyForm):
    """One session: what was done of each exercise and how it felt."""

    pain = SharedTypedChoiceField(
        label=lazy_format(_("Pain right now (%(low)s to %(high)s)"), SCALE),
        help_text=lazy_format(
            _("%(low)s means no pain, %(high)s the worst pain imaginable."), SCALE
        ),
        choices=PAIN_CHOICES,
        coerce=int,
        widget=ButtonRadioSelect(attrs={"class": "btn-check"}),
        error_messages={
            "required": lazy_format(
                _("Choose how much pain you have now, from %(low)s to %(high)s."), SCALE
            )
        },
    )
    nerve_symptoms = SharedChoiceField(
        label=_("Nerve symptoms during the exercises"),
        choices=SessionLog.NerveSymptoms.choices,
        initial=SessionLog.NerveSymptoms.NONE,
        widget=ButtonRadioSelect,
    )
    symptoms_lasted = forms.BooleanField(
        label=_("The tingling or numbness lasted after I finished"),
        required=False,
        widget=PlainCheckboxInput(attrs={"class": "checkboxinput form-check-input"}),
        bound_field_class=BootstrapBoundField,
    )
    # The upper limit is the model's (with its message); the browser knows it too.
    symptoms_minutes = forms.IntegerField(
        label=_("For about how many minutes?"),
        required=False,
        min_value=SYMPTOM_MINUTES.low,
        widget=PlainNumberInput(attrs={"inputmode": "numeric", "max": SYMPTOM_MINUTES.high}),
        bound_field_class=BootstrapBoundField,  # type: ignore[call-arg]  # not in the stubs yet
    )
    effort = SharedChoiceField(
        label=_("How hard did it feel?"),
        choices=SessionLog.Effort.choices,
        required=False,
        widget=ButtonRadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything to tell your therapist? (optional)"),
        required=False,
        widget=PlainTextarea(
            attrs={"rows": 3, "maxlength": COMMENT_MAX_LENGTH, "class": "textarea form-control"}
        ),
        bound_field_class=BootstrapBoundField,  # type: ignore[call-arg]  # not in the stubs yet
    )

    def __init__(
        self,
        *args: Any,
        items: list[PlanItem],
        log: SessionLog | None = None,
        fill_all: bool = False,
        **kwargs: Any,
    ) -> None:
        if log is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "pain": log.pain,
                "nerve_symptoms": log.nerve_symptoms,
                "symptoms_lasted": log.symptoms_lasted,
                "symptoms_minutes": log.symptoms_minutes,
                "effort": log.effort,
                "comment": log.comment,
            }
        super().__init__(*args, **kwargs)
        # After the field's own `min` (crispy-forms' attribute order).
        self.fields["symptoms_minutes"].widget.attrs["class"] = "numberinput form-control"
        self.items = items
        done = {row.item_id: row for row in log.exercises.all()} if log is not None else {}
        for item in items:
            choices = _sets_choices(item.sets)
            row = done.get(item.pk)
            name = item.exercise.name
            if item.side == Side.EACH:
                self.fields[f"item_{item.pk}_left"] = self._sets_field(
                    choices, _("%(name)s: sets done, left side") % {"name": name}, _("Left side")
                )
                self.fields[f"item_{item.pk}_right"] = self._sets_field(
                    choices, _("%(name)s: sets done, right side") % {"name": name}, _("Right side")
                )
                if row is not None:
                    self.initial[f"item_{item.pk}_left"] = row.sets_left or 0
                    self.initial[f"item_{item.pk}_right"] = row.sets_right or 0
            else:
                self.fields[f"item_{item.pk}"] = self._sets_field(
                    choices, _("%(name)s: sets done") % {"name": name}, _("Sets done")
                )
                if row is not None:
                    self.initial[f"item_{item.pk}"] = row.sets_done
        if fill_all:
            # "I did all of these": every exercise at its full prescription, which
            # the patient can then lower for any one of them.
            for item in items:
                for bound in self.sets_fields(item):
                    self.initial[bound.name] = max(item.sets, 1)

    @staticmethod
    def shown_of(items: list[PlanItem], *, fill_all: bool = False) -> list[tuple[Any, ...]]:
        """All that the form, unbound and without a log, shows of `items` (the names,
        labels, choices and initial values of their set fields come from these alone,
        in `__init__` above): the key of its cached rendering (portal.views.today)."""
        return [
            (item.pk, str(item.side), item.sets, str(item.exercise.name), fill_all)
            for item in items
        ]

    @staticmethod
    def _sets_field(
        choices: list[tuple[int, str | _StrPromise]],
        label: str | _StrPromise,
        short: str | _StrPromise,
    ) -> forms.Field:
        field = forms.TypedChoiceField(
            label=short,
            choices=choices,
            coerce=int,
            initial=0,
            # Large buttons with radio semantics: one tap, no menu to open.
            widget=ButtonRadioSelect(attrs={"class": "btn-check"}),
            error_messages={"invalid_choice": _("Choose how many sets you did.")},
        )
        # The full label (with the exercise's name) names the group for screen readers.
        field.group_label = label  # type: ignore[attr-defined]
        return field

    def clean(self) -> dict[str, Any]:
        """The session's values by SessionLog's own rules (its validators and
        constraints, with their messages), then what only this form asks."""
        data = super().clean() or {}
        minutes_missing = data.get("symptoms_lasted") and data.get("symptoms_minutes") is None
        given = {name: data[name] for name in SESSION_FIELDS if name in data}
        if not given.get("symptoms_lasted"):
            given["symptoms_minutes"] = None  # not asked unless the symptoms lasted
        log = SessionLog(**given)
        try:
            log.full_clean(
                exclude=[f.name for f in SessionLog._meta.fields if f.name not in given],
                validate_unique=False,
            )
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        if minutes_missing and "symptoms_minutes" not in self.errors:
            self.add_error("symptoms_minutes", _("Say for about how many minutes they lasted."))
        return data

    def sets_fields(self, item: PlanItem) -> list[forms.BoundField]:
        if item.side == Side.EACH:
            return [self[f"item_{item.pk}_left"], self[f"item_{item.pk}_right"]]
        return [self[f"item_{item.pk}"]]

    def sets_done(self) -> dict[int, SetsDone]:
        data = self.cleaned_data
        result: dict[int, SetsDone] = {}
        for item in self.items:
            if item.side == Side.EACH:
                result[item.pk] = (
                    None,
                    data[f"item_{item.pk}_left"],
                    data[f"item_{item.pk}_right"],
                )
            else:
                result[item.pk] = (data[f"item_{item.pk}"], None, None)
        return result


def _reminder_times(current: datetime.time | None) -> list[tuple[str, str]]:
    # Half-hour steps from 06:00 to 22:30: a list is easier on a phone than a
    # time box, and "No reminders" is a choice of its own rather than an empty
    # box that is hard to clear. A time set earlier off the grid stays listed.
    times = [datetime.time(hour, minute) for hour in range(6, 23) for minute in (0, 30)]
    if current is not None and current not in times:
        times = sorted([*times, current])
    return [("", str(_("No reminders")))] + [
        (moment.strftime("%H:%M"), time_format(moment)) for moment in times
    ]


def _parse_time(value: str) -> datetime.time:
    return datetime.datetime.strptime(value, "%H:%M").time()


class PortalSettingsForm(forms.ModelForm[Patient]):
    reminder_time = forms.TypedChoiceField(
        label=_("Preferred reminder time"),
        help_text=_(
            "On days with exercises to do, we send you an email at about this time, "
            "unless you have already recorded a session."
        ),
        coerce=_parse_time,
        empty_value=None,
        required=False,
    )

    class Meta:
        model = Patient
        fields = ["preferred_language", "reminder_time"]
        labels = {"preferred_language": _("Language")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = self.instance.reminder_time
        field = self.fields["reminder_time"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = _reminder_times(current)
        if current is not None:
            self.initial["reminder_time"] = current.strftime("%H:%M")
