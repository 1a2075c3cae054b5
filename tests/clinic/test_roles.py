"""The role groups come from post_migrate receivers (clinic/roles.py, prescriptions/roles.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from clinic.models import Therapist
from clinic.roles import CLINIC_PERMISSIONS, GROUP_FOR_ROLE
from prescriptions.roles import PRESCRIPTIONS_PERMISSIONS


def granted(group: str) -> set[tuple[str, str]]:
    return set(
        Group.objects.get(name=group).permissions.values_list("content_type__app_label", "codename")
    )


def expected(role: Therapist.Role) -> set[tuple[str, str]]:
    """What a role may do: its own grants and those of the roles below it."""
    found = set()
    for app, spec in (("clinic", CLINIC_PERMISSIONS), ("prescriptions", PRESCRIPTIONS_PERMISSIONS)):
        for lower in Therapist.Role:
            found |= {
                (app, f"{action}_{model}")
                for model, actions in spec.get(lower, {}).items()
                for action in actions
            }
            if lower == role:
                break
    return found


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Therapist.Role))
def test_each_group_has_exactly_its_roles_permissions(role):
    assert granted(GROUP_FOR_ROLE[role]) == expected(role)
    assert ("clinic", "add_therapist") in expected(Therapist.Role.CLINIC_ADMIN)
    assert ("clinic", "add_therapist") not in expected(Therapist.Role.THERAPIST)


@pytest.mark.django_db(transaction=True)
def test_the_groups_come_back_after_the_database_is_flushed():
    Group.objects.all().delete()
    call_command("flush", interactive=False, verbosity=0)
    for role, name in GROUP_FOR_ROLE.items():
        assert granted(name) == expected(role)
