"""Issuing portal invitations: a one-time link with which a patient sets their password.

The therapist invites a patient from the admin. The patient's login is created
then if it does not exist (never a staff login), earlier links stop working, and
only a hash of the new token is kept, so the link can be shown or mailed once
and never read back from the database. The link leads to the portal, which
accepts it (`portal.invitations`); this module only names the portal's URL and
email templates, so the clinic layer never imports the portal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from clinic import audit, throttle
from clinic.models import Patient, PortalInvitation, User

if TYPE_CHECKING:
    from django.http import HttpRequest


def invitation_link(token: str) -> str:
    return settings.SITE_URL + reverse("portal:welcome", args=[token])


def _portal_user(patient: Patient) -> User:
    if patient.user is not None:
        if patient.user.is_staff or patient.user.is_superuser:
            raise ValidationError(
                _("This patient's login is a staff account; staff cannot use the portal.")
            )
        return patient.user
    if not patient.email:
        raise ValidationError(_("Add the patient's email address before inviting them."))
    if User.objects.filter(email__iexact=patient.email).exists():
        raise ValidationError(
            _("Another account already uses %(email)s.") % {"email": patient.email}
        )
    # No password: the account cannot sign in until the invitation is accepted.
    user = User.objects.create_user(email=patient.email, password=None, full_name=patient.full_name)
    patient.user = user
    patient.save(update_fields=["user"])
    return user


@transaction.atomic
def invite_patient(
    *,
    patient: Patient,
    invited_by: User | None,
    send_email: bool = True,
    request: HttpRequest | None = None,
) -> str:
    """Issue a fresh invitation and return its set-password link.

    Raises ValidationError (and changes nothing) when the patient cannot get a
    portal login: no email address, or the address belongs to another account.
    """
    user = _portal_user(patient)
    if send_email and not throttle.hit(throttle.INVITATION_PER_ACCOUNT, patient.pk):
        raise ValidationError(
            _(
                "%(patient)s was already sent %(limit)d invitations in the last hour. "
                "Please wait before sending another, or print the invitation instead."
            )
            % {"patient": patient, "limit": throttle.INVITATION_PER_ACCOUNT.limit}
        )
    now = timezone.now()
    patient.invitations.filter(used_at=None, revoked_at=None).update(revoked_at=now)
    token = PortalInvitation.new_token()
    invitation = PortalInvitation.objects.create(
        patient=patient,
        token_hash=PortalInvitation.hash_token(token),
        created_by=invited_by,
        created_at=now,
        expires_at=now + PortalInvitation.VALID_FOR,
    )
    link = invitation_link(token)
    audit.record(
        request,
        audit.Action.INVITE,
        obj=invitation,
        actor=invited_by,
        detail="sent by email" if send_email else "link shown to print",
    )
    if send_email:
        context = {
            "patient": patient,
            "clinic": patient.clinic,
            "link": link,
            "expires_at": invitation.expires_at,
        }
        with translation.override(patient.preferred_language):
            subject = render_to_string("portal/email/invitation_subject.txt", context)
            body = render_to_string("portal/email/invitation_body.txt", context)
        # Sent only once the invitation is safely stored.
        transaction.on_commit(
            lambda: send_mail(" ".join(subject.split()), body, None, [user.email])
        )
    return link
