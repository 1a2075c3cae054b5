"""App configurations: the clinic app, and the admin with Rehabit's own site."""

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = _("Clinic")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from clinic.roles import create_role_groups

        post_migrate.connect(create_role_groups, sender=self, dispatch_uid="clinic.roles")


class RehabitAdminConfig(AdminConfig):
    default_site = "clinic.admin_site.RehabitAdminSite"
