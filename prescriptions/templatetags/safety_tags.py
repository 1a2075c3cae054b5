"""The shared safety text in templates: {% red_flags %} and {% nerve_rule %}.

The words live in prescriptions.safety; these tags only place them, so the
portal, the handout and the admin print the same sentences.
"""

from __future__ import annotations

import functools
from typing import Any

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import Promise
from django.utils.translation import get_language

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
    current language (the portal's cached fragments take only plain values).

    Written once per process for each language and emergency number (My plan
    asks twice a request), and copied out, so no caller can change the next one's."""
    texts = _tier_texts(get_language(), safety.emergency_number(clinic), urgent_only)
    return [{**tier, "signs": list(tier["signs"])} for tier in texts]


@functools.lru_cache(maxsize=256)
def _tier_texts(language: str | None, number: str, urgent_only: bool) -> tuple[dict[str, Any], ...]:
    # The language is part of the key: the words below are in the active one.
    return tuple(
        {
            "key": tier.key,
            "label": str(tier.label),
            "action": tier.action_for(number),
            "signs": tuple(str(sign) for sign in tier.signs),
        }
        for tier in safety.tiers(urgent_only=urgent_only)
    )


@receiver(setting_changed)
def _forget_words(*, setting: str, **kwargs: object) -> None:
    """New languages or catalogues (tests change them) make new words."""
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS"}:
        _tier_texts.cache_clear()
