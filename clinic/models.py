"""People and clinics: logins, clinics, therapists, patients and portal invitations.

The clinic layer: everything else (plans, logs, the portal) builds on these.
Each clinic-owned model's default manager is scoped (clinic.scoping).
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
import zoneinfo
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.bidi import isolate
from clinic.constraints import Bound, PythonCheckConstraint
from clinic.scoping import ScopedManager, ScopedQuerySet, unscoped
from clinic.uploads import validate_illustration

if TYPE_CHECKING:
    from django.http import HttpRequest
    from django.utils.functional import _StrPromise as StrPromise


# Scales shared by the clinic's settings and the patients' logs.
PAIN_SCALE = Bound(0, 10, _("Pain is scored from %(low)s to %(high)s."))
PERCENT = Bound(0, 100, _("Adherence is a percentage from %(low)s to %(high)s."))
# The clinic's limit on exercises in one plan may be set within these bounds.
PLAN_EXERCISE_LIMIT = Bound(
    1, 200, _("The most exercises in one plan must be between %(low)s and %(high)s.")
)
DEFAULT_MAX_PLAN_EXERCISES = 40

# The emergency number printed with the red flags when a clinic has not set its own:
# the usual one where the clinic is, told by its time zone. 112 reaches the emergency
# services across the EU and from most mobile phones elsewhere, so it is the fallback.
EMERGENCY_NUMBER_FALLBACK = "112"
EMERGENCY_NUMBERS_BY_ZONE: dict[str, str] = {
    **dict.fromkeys(
        (
            "Europe/London",
            "Europe/Belfast",
            "Europe/Guernsey",
            "Europe/Jersey",
            "Europe/Isle_of_Man",
            "GB",
        ),
        "999",
    ),
    **dict.fromkeys(
        (
            "America/New_York",
            "America/Chicago",
            "America/Denver",
            "America/Phoenix",
            "America/Los_Angeles",
            "America/Anchorage",
            "America/Detroit",
            "America/Boise",
            "America/Indiana/Indianapolis",
            "America/Kentucky/Louisville",
            "Pacific/Honolulu",
            "America/Toronto",
            "America/Vancouver",
            "America/Edmonton",
            "America/Winnipeg",
            "America/Halifax",
            "America/St_Johns",
            "America/Regina",
            "America/Mexico_City",
        ),
        "911",
    ),
    **dict.fromkeys(
        (
            "Australia/Sydney",
            "Australia/Melbourne",
            "Australia/Brisbane",
            "Australia/Perth",
            "Australia/Adelaide",
            "Australia/Hobart",
            "Australia/Darwin",
        ),
        "000",
    ),
    "Pacific/Auckland": "111",
}
EMERGENCY_NUMBER_VALIDATOR = RegexValidator(
    r"^[0-9]{2,6}$",
    _("Give the emergency number as 2 to 6 digits, without spaces, such as 112 or 999."),
)


def language_choices() -> list[tuple[str, str | StrPromise]]:
    """The languages Rehabit speaks (settings.LANGUAGES), read when the choices are needed,
    so that adding a language changes no migration."""
    return list(settings.LANGUAGES)


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        # Sign-in is case-insensitive on the email address.
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """Anyone who signs in: therapists (staff, through the admin) and patients (portal)."""

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    is_staff = models.BooleanField(
        _("staff status"),
        default=False,
        help_text=_("Can sign in to the therapist admin. Never set for patients."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = ["full_name"]  # type: ignore[misc]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_ci_unique",
                violation_error_message=_("A user with this email address already exists."),
            ),
        ]

    def __str__(self) -> str:
        return isolate(self.full_name) or self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Set by set_password() until saved (AbstractBaseUser.save clears it).
        password_changed = getattr(self, "_password", None) is not None
        super().save(*args, **kwargs)
        if password_changed:
            PortalInvitation.revoke_for(self)

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class ClinicQuerySet(ScopedQuerySet["Clinic"]):
    clinic_path = "pk"


def emergency_number_for_zone(time_zone: str) -> str:
    return EMERGENCY_NUMBERS_BY_ZONE.get(time_zone, EMERGENCY_NUMBER_FALLBACK)


class Clinic(models.Model):
    class PaperSize(models.TextChoices):
        A4 = "A4", _("A4")
        LETTER = "letter", _("US Letter")

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("short name"), unique=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    address = models.TextField(_("address"), blank=True)
    website = models.URLField(_("website"), blank=True)
    logo = models.ImageField(
        _("logo"),
        upload_to="clinics/logos/",
        blank=True,
        validators=[validate_illustration],
        help_text=_("PNG or JPEG, up to 2 MB. Printed on handouts."),
    )
    brand_colour = models.CharField(
        _("brand colour"),
        max_length=7,
        default="#0b6e69",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a hex colour such as #0b6e69."))],
        help_text=_("Used for headings on handouts and in the patient portal."),
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/London", choices=time_zone_choices
    )
    emergency_number = models.CharField(
        _("emergency number"),
        max_length=6,
        blank=True,
        validators=[EMERGENCY_NUMBER_VALIDATOR],
        help_text=_(
            "The number patients should call in an emergency, printed with the warning signs "
            "on handouts, in the portal and in the admin. Leave empty for the usual number "
            "where the clinic is, told by its time zone: 999 in the UK, 911 in the US and "
            "Canada, 000 in Australia, 111 in New Zealand, otherwise 112."
        ),
    )
    handout_footer = models.CharField(
        _("handout footer"),
        max_length=300,
        blank=True,
        help_text=_("Printed at the foot of every handout page, e.g. opening hours."),
    )
    paper_size = models.CharField(
        _("paper size"), max_length=6, choices=PaperSize, default=PaperSize.A4
    )
    # "Patients who need attention" thresholds (issue: adherence).
    attention_days_without_log = models.PositiveSmallIntegerField(
        _("flag after days without a log"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    attention_adherence_below = models.PositiveSmallIntegerField(
        _("flag adherence below (%)"),
        default=50,
        validators=PERCENT.validators(),
    )
    attention_pain_at_least = models.PositiveSmallIntegerField(
        _("flag pain at or above (0-10)"),
        default=7,
        validators=PAIN_SCALE.validators(),
    )
    attention_pain_rise = models.PositiveSmallIntegerField(
        _("flag pain rising by (points in a week)"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(PAIN_SCALE.high)],
    )
    warn_daily_minutes = models.PositiveSmallIntegerField(
        _("warn when a plan takes more minutes a day than"),
        default=45,
        validators=[MinValueValidator(5), MaxValueValidator(600)],
    )
    warn_exercise_count = models.PositiveSmallIntegerField(
        _("warn when a plan has more exercises than"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    # A hard limit (unlike the warning above): a plan that long is no home programme,
    # and its handout would take minutes to print (issue 17).
    max_plan_exercises = models.PositiveSmallIntegerField(
        _("most exercises in one plan"),
        default=DEFAULT_MAX_PLAN_EXERCISES,
        validators=PLAN_EXERCISE_LIMIT.validators(),
        help_text=_("A plan with more exercises than this cannot be saved."),
    )
    # Dose suggestions (prescriptions.suggestions): the thresholds of its rules.
    suggest_progress_adherence = models.PositiveSmallIntegerField(
        _("suggest progressing at adherence of at least (%)"),
        default=80,
        validators=PERCENT.validators(),
    )
    suggest_progress_pain_max = models.PositiveSmallIntegerField(
        _("suggest progressing only with pain at most (0-10)"),
        default=3,
        validators=PAIN_SCALE.validators(),
    )
    suggest_effort_count = models.PositiveSmallIntegerField(
        _("sessions rated 'too easy' or 'too hard' that count"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(14)],
        help_text=_("How often in two weeks before a rating tips the suggestion."),
    )
    suggest_regress_pain_rise = models.PositiveSmallIntegerField(
        _("suggest backing off when pain rises by (points in two weeks)"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(PAIN_SCALE.high)],
    )
    suggest_min_days = models.PositiveSmallIntegerField(
        _("days with logs needed before suggesting a change"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(14)],
    )
    require_staff_two_factor = models.BooleanField(
        _("require two-factor sign-in for all staff"),
        default=False,
        help_text=_(
            "Therapists and administrators then sign in to the admin with a code from an "
            "authenticator app as well as their password. Patients are not asked."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ScopedManager.from_queryset(ClinicQuerySet)()

    class Meta:
        verbose_name = _("clinic")
        verbose_name_plural = _("clinics")
        ordering = ["name"]
        constraints = [
            PythonCheckConstraint(
                condition=PERCENT.condition("attention_adherence_below"),
                name="clinic_attention_adherence_percent",
                violation_error_message=PERCENT.text,
            ),
            PythonCheckConstraint(
                condition=PAIN_SCALE.condition("attention_pain_at_least"),
                name="clinic_attention_pain_scale",
                violation_error_message=PAIN_SCALE.text,
            ),
            PLAN_EXERCISE_LIMIT.constraint(
                "max_plan_exercises", name="clinic_max_plan_exercises_range"
            ),
        ]

    def __str__(self) -> str:
        return isolate(self.name)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def emergency_phone(self) -> str:
        """The emergency number the red flags tell this clinic's patients to call."""
        return self.emergency_number or emergency_number_for_zone(self.time_zone)

    def today(self) -> datetime.date:
        """Today's date where the clinic is: patients' days follow the clinic's clock."""
        return timezone.localdate(timezone=self.zone)


class TherapistQuerySet(ScopedQuerySet["Therapist"]):
    clinic_path = "clinic"


class Therapist(models.Model):
    class Role(models.TextChoices):
        THERAPIST = "therapist", _("Therapist")
        CLINIC_ADMIN = "clinic_admin", _("Clinic administrator")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="therapist",
        verbose_name=_("user"),
    )
    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, related_name="therapists", verbose_name=_("clinic")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role, default=Role.THERAPIST)
    job_title = models.CharField(
        _("job title"), max_length=80, blank=True, help_text=_("e.g. Physiotherapist, MSc")
    )

    objects = ScopedManager.from_queryset(TherapistQuerySet)()

    class Meta:
        verbose_name = _("therapist")
        verbose_name_plural = _("therapists")
        ordering = ["user__full_name"]

    def __str__(self) -> str:
        return str(self.user)

    @property
    def is_clinic_admin(self) -> bool:
        return self.role == self.Role.CLINIC_ADMIN


class PatientQuerySet(ScopedQuerySet["Patient"]):
    clinic_path = "clinic"

    def active(self) -> PatientQuerySet:
        return self.filter(is_active=True)


class Patient(models.Model):
    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, related_name="patients", verbose_name=_("clinic")
    )
    first_name = models.CharField(_("first name"), max_length=80)
    last_name = models.CharField(_("last name"), max_length=80)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=language_choices, default="en"
    )
    primary_therapist = models.ForeignKey(
        Therapist,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="patients",
        verbose_name=_("primary therapist"),
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="patient",
        verbose_name=_("portal login"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    large_print = models.BooleanField(
        _("large-print handouts"),
        default=False,
        help_text=_("Bigger type and one exercise per page."),
    )
    reminder_time = models.TimeField(
        _("preferred reminder time"),
        null=True,
        blank=True,
        help_text=_(
            "A reminder email is sent at about this time (clinic time) on exercise days "
            "that have no session logged yet. Empty: no reminders."
        ),
    )
    # Written only by portal.reminders, which claims the day here before sending
    # so that two senders never email the same patient twice on one day.
    last_reminded_on = models.DateField(
        _("last reminded on"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("The last day a reminder email was sent (clinic time)."),
    )
    notes = models.TextField(
        _("clinical notes"), blank=True, help_text=_("Only therapists see these.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ScopedManager.from_queryset(PatientQuerySet)()

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        ordering = ["last_name", "first_name"]
        indexes = [models.Index(fields=["clinic", "last_name", "first_name"])]

    def __str__(self) -> str:
        return self.full_name

    def clean(self) -> None:
        super().clean()
        therapist = self.primary_therapist
        if therapist is not None and self.clinic_id and therapist.clinic_id != self.clinic_id:
            raise ValidationError(
                {"primary_therapist": _("Choose a therapist of the patient's own clinic.")}
            )

    @property
    def full_name(self) -> str:
        # Each part isolated: an override in the first name must not reverse the surname.
        return f"{isolate(self.first_name)} {isolate(self.last_name)}".strip()


class PortalInvitationQuerySet(ScopedQuerySet["PortalInvitation"]):
    clinic_path = "patient__clinic"

    def usable(self) -> PortalInvitationQuerySet:
        return self.filter(used_at=None, revoked_at=None, expires_at__gt=timezone.now())

    def revoke_unused(self) -> int:
        return self.filter(used_at=None, revoked_at=None).update(revoked_at=timezone.now())


class PortalInvitation(models.Model):
    """A one-time set-password link for a patient's portal account.

    Only a hash of the token is stored: the link itself is shown or mailed once.
    Issuing a new invitation revokes the patient's earlier ones.
    """

    VALID_FOR = datetime.timedelta(hours=72)

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("patient")
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ScopedManager.from_queryset(PortalInvitationQuerySet)()

    class Meta:
        verbose_name = _("portal invitation")
        verbose_name_plural = _("portal invitations")
        ordering = ["-created_at"]
        constraints = [
            PythonCheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="invitation_expires_after_created",
                violation_error_message=_("An invitation must expire after it was created."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} ({self.created_at:%Y-%m-%d})"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    @classmethod
    def revoke_for(cls, user: User) -> None:
        """A patient who signs in with a password, or whose password changes, needs
        no invitation any more: one still lying in a mailbox would let whoever reads
        it set a new password. Any request may do this, signed in or not."""
        if user.pk is None or user.is_staff:
            return
        with unscoped():
            cls.objects.filter(patient__user=user).revoke_unused()


@receiver(user_logged_in, dispatch_uid="clinic.revoke_invitations_on_sign_in")
def _revoke_invitations_on_sign_in(sender: Any, user: User, **kwargs: Any) -> None:
    PortalInvitation.revoke_for(user)


def therapist_for(request: HttpRequest) -> Therapist | None:
    """The signed-in therapist's profile with its clinic, or None (superusers without a
    profile, patients). Looked up once per request."""
    if not hasattr(request, "_rehabit_therapist"):
        request._rehabit_therapist = _profile(Therapist, request)  # type: ignore[attr-defined]
    therapist: Therapist | None = request._rehabit_therapist  # type: ignore[attr-defined]
    return therapist


def patient_for(request: HttpRequest) -> Patient | None:
    """The signed-in patient's record with its clinic (active or not), or None.
    Looked up once per request."""
    if not hasattr(request, "_rehabit_patient"):
        request._rehabit_patient = _profile(Patient, request)  # type: ignore[attr-defined]
    patient: Patient | None = request._rehabit_patient  # type: ignore[attr-defined]
    return patient


def _profile[P: (Therapist, Patient)](model: type[P], request: HttpRequest) -> P | None:
    user = request.user
    if not user.is_authenticated:
        return None
    # Read with the user (clinic.backends.ProfileBackend): no query of its own.
    relation = model._meta.get_field("user").remote_field
    if relation.is_cached(user):
        return cast("P | None", relation.get_cached_value(user))
    # A sign-in lookup: it decides which clinic's scope the request enters.
    with unscoped():
        return model.objects.select_related("clinic").filter(user_id=user.pk).first()


class AuditEntryQuerySet(ScopedQuerySet["AuditEntry"]):
    clinic_path = "clinic"

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(_("Audit entries cannot be changed."))

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(_("Audit entries cannot be deleted; old ones are pruned."))


class AppendOnlyError(Exception):
    """An attempt to change or delete an audit entry (clinic.audit)."""


class AuditEntry(models.Model):
    """One thing someone did with patient data, or with the clinic's setup (clinic.audit).

    Append-only: written once by `clinic.audit.record`, never changed; only the
    prune command removes entries past the retention period. The patient is
    kept as a bare id, not a foreign key, so that erasing a patient leaves the
    entries standing with an id that no longer names anybody, and no entry holds
    a patient's name, contact details or free text (see clinic.audit).
    """

    class Action(models.TextChoices):
        VIEW = "view", _("viewed")
        CREATE = "create", _("created")
        CHANGE = "change", _("changed")
        DELETE = "delete", _("deleted")
        EXPORT = "export", _("exported")
        DOWNLOAD = "download", _("downloaded")
        SIGN_IN = "sign_in", _("signed in")
        SIGN_IN_FAILED = "sign_in_failed", _("sign-in failed")
        SIGN_OUT = "sign_out", _("signed out")
        INVITE = "invite", _("invited to the portal")
        REFUSED = "refused", _("refused")
        ERASE = "erase", _("erased")

    timestamp = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    # No database constraints: deleting a login or a clinic must not touch the trail.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    actor_label = models.CharField(_("who"), max_length=254, blank=True)
    clinic = models.ForeignKey(
        Clinic,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("clinic"),
    )
    patient_id = models.PositiveBigIntegerField(_("patient id"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=Action)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    changes = models.JSONField(_("changes"), null=True, blank=True, encoder=DjangoJSONEncoder)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)

    objects = ScopedManager.from_queryset(AuditEntryQuerySet)()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["-timestamp", "-id"]
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["clinic", "timestamp"], name="audit_clinic_time"),
            models.Index(fields=["patient_id", "timestamp"], name="audit_patient_time"),
        ]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M} {self.actor_label} {self.get_action_display()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(_("Audit entries cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(_("Audit entries cannot be deleted; old ones are pruned."))


class ThrottleCounter(models.Model):
    """Requests counted per rule and key in fixed windows (`clinic.throttle`).

    In the database so that every web process counts against the same limit. The
    key is a hash: no address or email is stored here.
    """

    key = models.CharField(max_length=64)
    window_ends = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_ends"], name="throttle_key_window"),
        ]
        indexes = [models.Index(fields=["window_ends"], name="throttle_window_ends")]

    def __str__(self) -> str:
        return f"{self.key[:8]}… {self.count} until {self.window_ends:%H:%M}"


class StoredFile(models.Model):
    """A file kept in the database by `clinic.storage.DatabaseStorage`: uploaded
    pictures and logos, rendered handouts.

    In the database so that every web server and task worker reads the same files
    with nothing else shared (README, "More than one server"). Not clinic-scoped:
    a file is reached only through the row that names it (a handout, a clinic's
    logo, an exercise), which is scoped.
    """

    name = models.CharField(max_length=255, unique=True)
    content = models.BinaryField()
    size = models.PositiveBigIntegerField()
    # What the handout cache key hashes for a file a handout shows (a logo, a picture).
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} ({self.size} bytes)"
