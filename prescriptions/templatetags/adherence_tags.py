"""{% attention_list %}: the admin index's "patients who need attention" box."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from clinic import audit
from clinic.models import therapist_for
from prescriptions.adherence import patients_needing_attention

register = template.Library()

SHOWN = 25


@register.inclusion_tag("admin/prescriptions/attention_list.html", takes_context=True)
def attention_list(context: template.Context) -> dict[str, Any]:
    """The signed-in therapist's own clinic only.

    Superusers without a therapist profile see no list: they run the system and
    are not anyone's clinician, so the index does not put patients in front of them.
    """
    request = context.get("request")
    therapist = therapist_for(request) if request is not None else None
    if therapist is None or not request.user.has_perm("clinic.view_patient"):  # type: ignore[union-attr]
        return {"shown": False}
    clinic = therapist.clinic
    entries, total = patients_needing_attention(clinic, clinic.today(), limit=SHOWN)
    if entries:
        # Names with their adherence and pain: a read of patient data, like a list page.
        audit.record(request, audit.Action.VIEW, detail="attention list on the admin index")
    changelist = reverse("admin:clinic_patient_changelist")
    return {
        "shown": True,
        "clinic": clinic,
        # Each name leads to where its reasons show: the plan's progress panel.
        "entries": [
            (
                entry,
                reverse("admin:prescriptions_plan_change", args=[entry.plan_id]) + "#progress"
                if entry.plan_id is not None
                else reverse("admin:clinic_patient_change", args=[entry.patient.pk]),
            )
            for entry in entries
        ],
        "total": total,
        "more": total - len(entries),
        "all_url": f"{changelist}?attention=yes",
    }
