from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = _("Clinic")
    default_auto_field = "django.db.models.BigAutoField"


class RehabitAdminConfig(AdminConfig):
    default_site = "clinic.admin_site.RehabitAdminSite"
