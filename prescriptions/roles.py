"""What each therapist role may do with exercise plans (see `clinic.roles`)."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS

from clinic.models import Therapist
from clinic.roles import RolePermissions, grant_role_permissions

PRESCRIPTIONS_PERMISSIONS: RolePermissions = {
    Therapist.Role.THERAPIST: {
        "exercise": ("view", "add", "change", "delete"),
        "exercisetranslation": ("view", "add", "change", "delete"),
        "plan": ("view", "add", "change", "delete"),
        "planitem": ("view", "add", "change", "delete"),
        "plantemplate": ("view", "add", "change", "delete"),
        "templateitem": ("view", "add", "change", "delete"),
        "plantemplatetranslation": ("view", "add", "change", "delete"),
        "templatephase": ("view", "add", "change", "delete"),
        "educationpage": ("view", "add", "change", "delete"),
        "sessionlog": ("view",),
        "exerciselog": ("view",),
        "outcomemeasure": ("view", "add", "change", "delete"),
        "questionnaireresponse": ("view",),
    },
}


def create_role_groups(
    app_config: AppConfig, using: str = DEFAULT_DB_ALIAS, apps: Any = global_apps, **kwargs: Any
) -> None:
    """post_migrate receiver: this app's part of the role groups."""
    grant_role_permissions(app_config, PRESCRIPTIONS_PERMISSIONS, using=using, apps=apps)
