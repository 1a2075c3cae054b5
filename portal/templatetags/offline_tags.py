"""Template filters of the offline portal (portal.offline)."""

from django import template

from clinic.models import Patient
from portal.offline import namespace

register = template.Library()


@register.filter
def offline_namespace(patient: Patient) -> str:
    """The name of the patient's offline storage on the phone (portal.offline)."""
    return namespace(patient)
