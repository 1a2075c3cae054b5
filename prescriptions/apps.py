"""The prescriptions app's configuration: its role permissions and the handout file cleanup."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PrescriptionsConfig(AppConfig):
    name = "prescriptions"
    verbose_name = _("Exercise plans")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connect the receivers that delete a handout's PDF with its row and that
        # write the version history.
        from prescriptions import (
            handouts,  # noqa: F401
            history,  # noqa: F401
        )
        from prescriptions.roles import create_role_groups

        post_migrate.connect(create_role_groups, sender=self, dispatch_uid="prescriptions.roles")
