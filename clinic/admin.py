"""The clinic side of the admin: logins, clinics and therapists.

Patients are registered by `prescriptions.admin.patients`, because their list
shows adherence, which the clinic layer does not know about.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminFileWidget
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.password_validation import validate_password
from django.db import models
from django.db.models import Count, Model, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic import (
    admin_audit,  # noqa: F401  (registers the audit trail)
    audit,
)
from clinic.admin_scoping import clinic_of, is_superuser
from clinic.models import Clinic, Therapist, User, therapist_for
from clinic.services import create_therapist, sync_role


class UserCreationForm(AdminUserCreationForm[User]):
    class Meta:
        model = User
        fields = ("email", "full_name")


class UserEditForm(UserChangeForm[User]):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin[User]):
    """Every login. Only superusers manage users directly; clinics manage therapists."""

    form = UserEditForm
    add_form = UserCreationForm
    list_display = ("email", "full_name", "is_staff", "is_superuser", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name",)}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),
    )

    actions = ("reset_two_factor",)

    @admin.action(description=_("Reset two-factor sign-in (lost phone)"))
    def reset_two_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        # The person sets up their authenticator again at their next sign-in
        # (straight away if their clinic or role requires it).
        users = list(queryset)
        TOTPDevice.objects.filter(user__in=users).delete()
        StaticDevice.objects.filter(user__in=users).delete()
        for user in users:
            audit.record(request, audit.Action.CHANGE, obj=user, detail="two-factor sign-in reset")
        self.message_user(
            request,
            ngettext(
                "Two-factor sign-in was reset for %(n)d user.",
                "Two-factor sign-in was reset for %(n)d users.",
                len(users),
            )
            % {"n": len(users)},
            messages.SUCCESS,
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_superuser(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_superuser(request)


class LabelledFileWidget(AdminFileWidget):
    """The admin's file input, named by a <label for>, not only a fieldset's legend.

    Django puts a file input in a fieldset whose legend is the field's name; a
    legend names the group, not the input, so a screen reader announces an
    unnamed "choose file" button (axe: label, critical). The "clear" checkbox
    beside a current file keeps its own label.
    """

    use_fieldset = False


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin[Clinic]):
    formfield_overrides = {models.ImageField: {"widget": LabelledFileWidget}}
    list_display = ("name", "email", "phone", "time_zone", "therapist_count", "patient_count")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}
    fieldsets = (
        (None, {"fields": ("name", "slug", "time_zone", "emergency_number")}),
        (_("Contact details"), {"fields": ("email", "phone", "address", "website")}),
        (
            _("Handouts and branding"),
            {"fields": ("logo", "brand_colour", "handout_footer", "paper_size")},
        ),
        (
            _("Patients who need attention"),
            {
                "description": _("When the admin's home page flags a patient."),
                "fields": (
                    "attention_days_without_log",
                    "attention_adherence_below",
                    "attention_pain_at_least",
                    "attention_pain_rise",
                ),
            },
        ),
        (
            _("Plan size: warnings and limit"),
            {"fields": ("warn_daily_minutes", "warn_exercise_count", "max_plan_exercises")},
        ),
        (
            _("Dose suggestions"),
            {
                "description": _(
                    "When the plan page suggests progressing or backing off an exercise. "
                    "The therapist always decides."
                ),
                "fields": (
                    "suggest_progress_adherence",
                    "suggest_progress_pain_max",
                    "suggest_effort_count",
                    "suggest_regress_pain_rise",
                    "suggest_min_days",
                ),
            },
        ),
        (_("Sign-in security"), {"fields": ("require_staff_two_factor",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Clinic]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_therapists=Count("therapists", distinct=True),
                n_patients=Count("patients", distinct=True, filter=Q(patients__is_active=True)),
            )
        )

    @admin.display(description=_("therapists"), ordering="n_therapists")
    def therapist_count(self, obj: Any) -> int:
        count: int = obj.n_therapists  # annotated by get_queryset
        return count

    @admin.display(description=_("active patients"), ordering="n_patients")
    def patient_count(self, obj: Any) -> int:
        count: int = obj.n_patients  # annotated by get_queryset
        return count

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_superuser(request)


class TherapistForm(forms.ModelForm[Therapist]):
    email = forms.EmailField(label=_("Email (sign-in)"))
    full_name = forms.CharField(label=_("Full name"), max_length=150)
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text=_("Leave empty when editing to keep the current password."),
    )
    is_active = forms.BooleanField(
        label=_("Can sign in"),
        required=False,
        initial=True,
        help_text=_("Untick when a therapist leaves; their plans stay."),
    )

    class Meta:
        model = Therapist
        fields = ("clinic", "role", "job_title")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            user = self.instance.user
            self.fields["email"].initial = user.email
            self.fields["full_name"].initial = user.full_name
            self.fields["is_active"].initial = user.is_active
        else:
            self.fields["password"].required = True
            self.fields["password"].help_text = ""

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip().lower()
        others = User.objects.filter(email__iexact=email)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.user_id)
        if others.exists():
            raise forms.ValidationError(_("Someone already signs in with this email address."))
        return email

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password") or ""
        if password:
            validate_password(password)
        return password


@admin.register(Therapist)
class TherapistAdmin(admin.ModelAdmin[Therapist]):
    """Clinic administrators manage their clinic's therapists; therapists only see them."""

    form = TherapistForm
    list_display = ("__str__", "email", "role", "job_title", "clinic", "active")
    list_filter = ("role",)
    list_select_related = ("user", "clinic")
    search_fields = ("user__full_name", "user__email")

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        fields = ["email", "full_name", "password", "role", "job_title", "is_active"]
        if is_superuser(request):
            fields.insert(0, "clinic")
        return fields

    def get_list_filter(self, request: HttpRequest) -> Any:
        return ("role", "clinic") if is_superuser(request) else ("role",)

    @admin.display(description=_("email"), ordering="user__email")
    def email(self, obj: Therapist) -> str:
        return obj.user.email

    @admin.display(description=_("can sign in"), boolean=True, ordering="user__is_active")
    def active(self, obj: Therapist) -> bool:
        return obj.user.is_active

    def _is_clinic_admin(self, request: HttpRequest) -> bool:
        therapist = therapist_for(request)
        return bool(therapist and therapist.is_clinic_admin)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request) or (
            self._is_clinic_admin(request) and super().has_add_permission(request)
        )

    def has_change_permission(self, request: HttpRequest, obj: Therapist | None = None) -> bool:
        return is_superuser(request) or (
            self._is_clinic_admin(request) and super().has_change_permission(request, obj)
        )

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # A therapist with plans cannot be deleted (PROTECT); deactivate instead.
        return is_superuser(request)

    def save_model(self, request: HttpRequest, obj: Therapist, form: Any, change: bool) -> None:
        data = form.cleaned_data
        clinic = obj.clinic if is_superuser(request) else clinic_of(request)
        assert clinic is not None
        if not change:
            created = create_therapist(
                clinic=clinic,
                email=data["email"],
                full_name=data["full_name"],
                password=data["password"],
                role=data["role"],
                job_title=data.get("job_title", ""),
            )
            obj.pk, obj.user, obj.clinic = created.pk, created.user, created.clinic
            obj.user.is_active = data["is_active"]
            obj.user.save(update_fields=["is_active"])
            return
        obj.clinic = clinic
        super().save_model(request, obj, form, change)
        user = obj.user
        user.email, user.full_name, user.is_active = (
            data["email"],
            data["full_name"],
            data["is_active"],
        )
        if data.get("password"):
            user.set_password(data["password"])
        user.save()
        sync_role(obj)
