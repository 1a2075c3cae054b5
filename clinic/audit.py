"""The audit trail: who did what with which patient's data, when, from where.

One entry point, `record(request, action, ...)`, which every part of Rehabit
calls: the admin (through `clinic.admin_scoping.ClinicAdminMixin`, for every
page it shows and every change it saves), the portal, sign-ins, invitations,
exports and erasure. Entries are `AuditEntry` rows: written once, never
changed (no change or delete permission in the admin, a queryset that refuses
update and delete, and on PostgreSQL a trigger that refuses UPDATE and DELETE);
only `manage.py prune_audit` removes entries older than
`settings.AUDIT_RETENTION_DAYS`.

What an entry may hold is chosen so that erasing a patient leaves the trail
standing with no trace of who they were: the patient is a bare id (no foreign
key, no name), a patient's own login is named "patient <id>", never by its
email address, and the before/after values of a change leave out personal and
free-text fields (names, contact details, notes, comments), recording only
that they changed.

Why not django-auditlog: it runs on Django 6.1, but its LogEntry keeps
`object_repr` (a patient's name) and the values of every changed field, which an
erasure would then have to rewrite in an append-only table; it has no clinic
column, so its rows cannot follow Rehabit's clinic scoping (`clinic.scoping`,
managers that fail closed), and its admin lets superusers delete entries. The
glue to make it fit would be larger than this module.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models.fields.files import FieldFile

from clinic.models import AuditEntry, Patient, User, patient_for, therapist_for
from clinic.scoping import clinic_id_of

if TYPE_CHECKING:
    from django.http import HttpRequest

Action = AuditEntry.Action

# Fields whose values never enter the trail: only the fact that they changed.
# TextFields (notes, goals, comments) are left out as well, whatever the model.
PERSONAL_FIELDS: Mapping[str, frozenset[str]] = {
    "clinic.patient": frozenset(
        {"first_name", "last_name", "date_of_birth", "email", "phone", "notes", "user"}
    ),
    "clinic.user": frozenset({"email", "full_name", "password"}),
    "clinic.therapist": frozenset({"email", "full_name", "password"}),
}
CHANGED = "changed"  # what an entry says instead of a value it does not keep

# Who is acting in this request (set by clinic.middleware.ClinicScopeMiddleware), for
# records written where no request is at hand (model signals: the version history).
_acting: ContextVar[Any] = ContextVar("rehabit_acting_user", default=None)


@contextmanager
def acting_as(user: Any) -> Iterator[None]:
    token = _acting.set(user)
    try:
        yield
    finally:
        _acting.reset(token)


def acting_user() -> User | None:
    """The signed-in user of the current request, or None (a job, a command, anonymous)."""
    user = _acting.get()
    if user is None or not user.is_authenticated:
        return None
    return user  # type: ignore[no-any-return]


def actor_label(user: Any) -> str:
    """How an entry names who acted: staff by their email, a patient by their record's id."""
    if user is None or not user.is_authenticated:
        return ""
    if user.is_staff or user.is_superuser:
        return str(user.email)
    patient_id = getattr(getattr(user, "patient", None), "pk", None)
    return f"patient {patient_id}" if patient_id else f"user {user.pk}"


def patient_id_of(obj: models.Model | None) -> int | None:
    """The id of the patient whose data `obj` is (a patient, their plan, a log...), or None.

    Follows the model's scoping path to its clinic (`plan__patient__clinic`) as
    far as the patient.
    """
    if obj is None:
        return None
    if isinstance(obj, Patient):
        return obj.pk
    queryset_class = getattr(type(obj)._default_manager, "_queryset_class", None)
    path: str = getattr(queryset_class, "clinic_path", "")
    parts = path.split("__")
    if "patient" not in parts:
        return None
    value: Any = obj
    for part in parts[: parts.index("patient")]:
        value = getattr(value, part, None)
        if value is None:
            return None
    patient_id: int | None = getattr(value, "patient_id", None)
    return patient_id


def _client_address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # REMOTE_ADDR is the proxy's address behind a reverse proxy unless the
    # server (gunicorn's forwarded_allow_ips) passes the client's on.
    return request.META.get("REMOTE_ADDR") or None


def _asker_clinic_id(request: HttpRequest | None) -> int | None:
    # A request being signed in (Django's test client) may have no user yet.
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return None
    member = therapist_for(request) if user.is_staff else patient_for(request)
    return member.clinic_id if member is not None else None


def record(
    request: HttpRequest | None,
    action: str,
    *,
    patient: Patient | int | None = None,
    obj: models.Model | None = None,
    changes: Mapping[str, Any] | None = None,
    detail: str = "",
    actor: User | None = None,
    clinic_id: int | None = None,
) -> AuditEntry:
    """Write one audit entry and return it.

    `request` gives who acted, their clinic and their address (None for jobs
    and commands; `actor` names a user explicitly, as for a failed sign-in).
    `obj` is the row concerned: its type, id, clinic and patient fill the
    entry unless `patient` or `clinic_id` say otherwise. `changes` maps field
    names to {"before": ..., "after": ...} (see `form_changes`).
    """
    user = actor
    asker = getattr(request, "user", None)
    if user is None and asker is not None and asker.is_authenticated:
        user = asker
    patient_id = patient.pk if isinstance(patient, Patient) else patient
    if patient_id is None:
        patient_id = patient_id_of(obj)
    if clinic_id is None and obj is not None:
        try:
            clinic_id = clinic_id_of(obj)
        except TypeError:  # not a clinic-owned model (a login, a group)
            clinic_id = None
    if clinic_id is None and isinstance(patient, Patient):
        clinic_id = patient.clinic_id
    if clinic_id is None:
        clinic_id = _asker_clinic_id(request)
    if clinic_id is None and actor is not None and request is None:
        clinic_id, _patient_id = _member_of(actor)
    entry = AuditEntry(
        actor=user,
        actor_label=actor_label(user)[:254],
        clinic_id=clinic_id,
        patient_id=patient_id,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        changes=dict(changes) if changes else None,
        detail=detail[:300],
        ip_address=_client_address(request),
    )
    # Model.save() needs no clinic scope: a refused lookup is recorded too.
    entry.save()
    return entry


def plain(value: Any) -> Any:
    """`value` as JSON can hold it: rows by their id, dates as ISO text, sets as lists."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta):
        return str(value) if isinstance(value, datetime.timedelta) else value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.QuerySet):
        return sorted(plain(item) for item in value)
    if isinstance(value, Iterable):
        return [plain(item) for item in value]
    return str(value)


def keeps_values(model: type[models.Model], field_name: str) -> bool:
    """Whether the trail may hold this field's values (not personal, not free text)."""
    if field_name in PERSONAL_FIELDS.get(model._meta.label_lower, frozenset()):
        return False
    try:
        field = model._meta.get_field(field_name)
    except Exception:  # a form-only field (a password, an email on the therapist form)
        return field_name not in {"password", "email", "full_name"}
    return not isinstance(field, models.TextField)


def value_changes(
    model: type[models.Model], before: Mapping[str, Any], after: Mapping[str, Any]
) -> dict[str, Any]:
    """The changed fields as {"field": {"before": x, "after": y}}, or "changed" where the
    trail keeps no values."""
    changes: dict[str, Any] = {}
    for name in [*before, *(name for name in after if name not in before)]:
        old, new = plain(before.get(name)), plain(after.get(name))
        # A browser sends a textarea's line breaks as CRLF: not a change of text.
        if isinstance(old, str) and isinstance(new, str):
            old, new = old.replace("\r\n", "\n"), new.replace("\r\n", "\n")
        if old == new:
            continue
        changes[name] = {"before": old, "after": new} if keeps_values(model, name) else CHANGED
    return changes


def form_changes(form: Any) -> dict[str, Any]:
    """The changes a bound, valid ModelForm made: its changed fields' initial and cleaned values."""
    model = form._meta.model
    names = [name for name in form.changed_data if name in form.cleaned_data]
    before = {name: form.initial.get(name) for name in names}
    after = {name: form.cleaned_data[name] for name in names}
    # value_changes drops a field whose plain values are equal ("" and None are not).
    return value_changes(model, before, after)


# ---------------------------------------------------------------------------
# Sign-ins (connected in ClinicConfig.ready): staff and patients alike.


def _member_of(user: Any) -> tuple[int | None, int | None]:
    """(clinic id, patient id) of a login: a patient's record or a therapist's clinic."""
    from clinic.models import Therapist
    from clinic.scoping import unscoped

    with unscoped():
        patient = Patient.objects.filter(user_id=user.pk).values("pk", "clinic_id").first()
        if patient is not None:
            return patient["clinic_id"], patient["pk"]
        clinic_id = (
            Therapist.objects.filter(user_id=user.pk).values_list("clinic_id", flat=True).first()
        )
    return clinic_id, None


def on_signed_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    clinic_id, patient_id = _member_of(user)
    record(
        request,
        Action.SIGN_IN,
        actor=user,
        patient=patient_id,
        clinic_id=clinic_id,
        detail=_where(request),
    )


def on_signed_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    clinic_id, patient_id = _member_of(user)
    record(request, Action.SIGN_OUT, actor=user, patient=patient_id, clinic_id=clinic_id)


def on_sign_in_failed(
    sender: Any, credentials: Mapping[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # The typed address is kept only when it names an account (then as that
    # account): an unknown address may be a patient's, mistyped.
    typed = str(credentials.get("username") or credentials.get("email") or "").strip()
    user = User.objects.filter(email__iexact=typed).first() if typed else None
    clinic_id, patient_id = _member_of(user) if user is not None else (None, None)
    record(
        request,
        Action.SIGN_IN_FAILED,
        actor=user,
        patient=patient_id,
        clinic_id=clinic_id,
        detail=_where(request) + ("" if user is not None else " (unknown address)"),
    )


def _where(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return "admin" if request.path.startswith("/admin") else "portal"
