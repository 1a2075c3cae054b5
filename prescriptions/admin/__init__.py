"""The therapist admin for this app, one module a page.

Importing the package registers every ModelAdmin: Django's admin autodiscovery
imports `prescriptions.admin`.
"""

from prescriptions.admin import education, exercises, logs, patients, plans, templates

__all__ = ["education", "exercises", "logs", "patients", "plans", "templates"]
