"""The two therapist roles as permission groups, made after every `migrate`.

A therapist and a clinic administrator differ in which kinds of object they
may touch at all; which rows they see is the clinic scope's business
(`clinic.scoping`). Each app states what each role may do with its own models
and connects `grant_role_permissions` to `post_migrate` in its AppConfig, as
django.contrib.auth does for permissions: the groups are there after any
`migrate` and after a test database is flushed, with nothing to rebuild by hand.
A clinic administrator has everything a therapist has, and more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import DEFAULT_DB_ALIAS, router

from clinic.models import Therapist

GROUP_FOR_ROLE = {
    Therapist.Role.THERAPIST: "Therapists",
    Therapist.Role.CLINIC_ADMIN: "Clinic administrators",
}

# For each role: model name -> the actions ("view", "add", ...) it adds to the roles below it.
RolePermissions = Mapping[Therapist.Role, Mapping[str, Sequence[str]]]

CLINIC_PERMISSIONS: RolePermissions = {
    Therapist.Role.THERAPIST: {
        "patient": ("view", "add", "change", "delete"),
        "portalinvitation": ("view", "add"),
        "therapist": ("view",),
        "clinic": ("view",),
    },
    Therapist.Role.CLINIC_ADMIN: {
        "therapist": ("add", "change", "delete"),
        "clinic": ("change",),
        "user": ("view", "add", "change"),
    },
}


def grant_role_permissions(
    app_config: AppConfig,
    permissions: RolePermissions,
    *,
    using: str = DEFAULT_DB_ALIAS,
    apps: Any = global_apps,
) -> None:
    """Create the role groups if needed and give them `permissions` on `app_config`'s models.

    Permissions are added, never taken away, so that each app adds its own to
    the same groups. `apps` is the migration state `post_migrate` passes.
    """
    if app_config.models_module is None:
        return
    try:
        group_model = apps.get_model("auth", "Group")
        permission_model = apps.get_model("auth", "Permission")
    except LookupError:
        return
    if not router.allow_migrate_model(using, group_model):
        return
    # post_migrate runs this app's receivers before auth's, which creates the
    # permissions: create them now (it is idempotent).
    create_permissions(app_config, verbosity=0, using=using, apps=apps)
    granted: dict[str, list[str]] = {}
    for role in Therapist.Role:  # lowest role first: each inherits the ones before
        for model, actions in permissions.get(role, {}).items():
            granted.setdefault(model, []).extend(actions)
        group, _created = group_model.objects.using(using).get_or_create(name=GROUP_FOR_ROLE[role])
        codenames = [
            f"{action}_{model}" for model, actions in granted.items() for action in actions
        ]
        group.permissions.add(
            *permission_model.objects.using(using).filter(
                content_type__app_label=app_config.label, codename__in=codenames
            )
        )


def create_role_groups(
    app_config: AppConfig, using: str = DEFAULT_DB_ALIAS, apps: Any = global_apps, **kwargs: Any
) -> None:
    """post_migrate receiver: the clinic app's part of the role groups."""
    grant_role_permissions(app_config, CLINIC_PERMISSIONS, using=using, apps=apps)
