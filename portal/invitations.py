"""Accepting a portal invitation: the patient sets their password with the one-time link.

The link was issued by `clinic.invitations.invite_patient`; only a hash of its
token is stored, so the token is looked up by its hash.
"""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from clinic.models import PortalInvitation, User


class InvitationInvalid(Exception):
    """The link is unknown, used, revoked or expired: the patient needs a new one."""


def find_invitation(token: str) -> PortalInvitation:
    """The usable invitation for `token`, or InvitationInvalid."""
    invitation = (
        PortalInvitation.objects.usable()
        .select_related("patient__user", "patient__clinic")
        .filter(token_hash=PortalInvitation.hash_token(token))
        .first()
    )
    if invitation is None or invitation.patient.user is None:
        raise InvitationInvalid(token)
    return invitation


def exchange_token(invitation: PortalInvitation) -> str:
    """Give the invitation a new token, for the visitor's session only, and return it.

    The emailed link works once: whoever later finds it (in a server's access log,
    a browser's history, a forwarded email) finds it useless.
    """
    token = PortalInvitation.new_token()
    invitation.token_hash = PortalInvitation.hash_token(token)
    invitation.save(update_fields=["token_hash"])
    return token


@transaction.atomic
def accept_invitation(token: str, password: str) -> User:
    """Set the patient's password with a usable invitation and use it up.

    Raises InvitationInvalid for a bad link, ValidationError for a weak password;
    either way nothing changes.
    """
    invitation = find_invitation(token)
    # Lock the row so that two simultaneous submits cannot both use the link.
    # of=self: the clinic scope joins the patient, whose row stays unlocked.
    locked = (
        PortalInvitation.objects.select_for_update(of=("self",)).usable().filter(pk=invitation.pk)
    )
    if locked.first() is None:
        raise InvitationInvalid(token)
    user = invitation.patient.user
    assert user is not None
    validate_password(password, user)
    # Used up first: the new password then revokes the patient's other invitations.
    invitation.used_at = timezone.now()
    invitation.save(update_fields=["used_at"])
    user.set_password(password)
    user.is_active = True
    user.save(update_fields=["password", "is_active"])
    return user
