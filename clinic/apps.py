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
        from django.contrib.auth import signals

        from clinic import audit
        from clinic.roles import create_role_groups

        post_migrate.connect(create_role_groups, sender=self, dispatch_uid="clinic.roles")
        signals.user_logged_in.connect(audit.on_signed_in, dispatch_uid="clinic.audit.in")
        signals.user_logged_out.connect(audit.on_signed_out, dispatch_uid="clinic.audit.out")
        signals.user_login_failed.connect(
            audit.on_sign_in_failed, dispatch_uid="clinic.audit.failed"
        )


class RehabitAdminConfig(AdminConfig):
    default_site = "clinic.admin_site.RehabitAdminSite"
