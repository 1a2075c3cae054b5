"""Writes that span several models: therapist accounts and their roles."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from clinic.models import Clinic, Therapist, User
from clinic.roles import GROUP_FOR_ROLE


def sync_role(therapist: Therapist) -> None:
    """Give the therapist's login exactly the permission group of their role."""
    user = therapist.user
    groups = Group.objects.filter(name__in=GROUP_FOR_ROLE.values())
    user.groups.remove(*groups)
    user.groups.add(Group.objects.get(name=GROUP_FOR_ROLE[Therapist.Role(therapist.role)]))
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])


@transaction.atomic
def create_therapist(
    *,
    clinic: Clinic,
    email: str,
    full_name: str,
    password: str | None,
    role: str = Therapist.Role.THERAPIST,
    job_title: str = "",
) -> Therapist:
    user = User.objects.create_user(
        email=email, password=password, full_name=full_name, is_staff=True
    )
    therapist = Therapist.objects.create(user=user, clinic=clinic, role=role, job_title=job_title)
    sync_role(therapist)
    return therapist
