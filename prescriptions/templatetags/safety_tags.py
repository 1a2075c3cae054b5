"""The shared safety text in templates: {% red_flags %} and {% nerve_rule %}.

The words live in prescriptions.safety; these tags only place them, so the
portal, the handout and the admin print the same sentences.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.functional import Promise

from clinic.models import Clinic
from prescriptions import safety

register = template.Library()


@register.simple_tag
def nerve_rule() -> Promise:
    return safety.NERVE_SETTLE_RULE


@register.simple_tag
def nerve_symptoms_last() -> Promise:
    return safety.NERVE_SYMPTOMS_LAST


@register.inclusion_tag("prescriptions/_red_flags.html")
def red_flags(
    clinic: Clinic | None,
    *,
    urgent_only: bool = False,
    printed: bool = False,
    compact: bool = False,
) -> dict[str, Any]:
    """The red-flag tiers, most urgent first, with `clinic`'s emergency number;
    `urgent_only` leaves out the third tier.

    `printed` writes the bullets into the text, for the handout (which draws no
    list markers: they cost render time)."""
    return {
        "tiers": tier_texts(clinic, urgent_only=urgent_only),
        "urgent_only": urgent_only,
        "printed": printed,
        "compact": compact,
    }


def tier_texts(clinic: Clinic | None, *, urgent_only: bool = False) -> list[dict[str, Any]]:
    """What prescriptions/_red_flags.html shows of each tier, as plain text in the
    current language (the portal's cached fragments take only plain values)."""
    number = safety.emergency_number(clinic)
    return [
        {
            "key": tier.key,
            "label": str(tier.label),
            "action": tier.action_for(number),
            "signs": [str(sign) for sign in tier.signs],
        }
        for tier in safety.tiers(urgent_only=urgent_only)
    ]
