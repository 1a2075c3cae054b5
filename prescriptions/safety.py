"""The safety text every patient reads: red flags in three tiers, and the nerve rule.

Written once here and shown on every nerve-exercise card, at the top of the
handout, in the portal and in the admin, so that a patient never reads two
different limits. The shipped library (prescriptions/library/exercises.toml)
does not repeat any of it: a test checks that its cards name no red flag and no
time limit for nerve symptoms of their own.

Where the tiers come from, for the therapist (see SOURCES): the cauda equina
signs, the early ones included, follow NICE NG59 and the NICE CKS topic on
sciatica; "keep active" is NG59's core advice. The wording is ours.
"""

from __future__ import annotations

import dataclasses

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from clinic.models import EMERGENCY_NUMBER_FALLBACK, Clinic


@dataclasses.dataclass(frozen=True)
class Tier:
    """One level of urgency: what to do, and the signs that call for it."""

    key: str
    label: Promise
    action: Promise
    signs: tuple[Promise, ...]

    def action_for(self, emergency_number: str) -> str:
        """The action in the current language, with the clinic's emergency number."""
        return str(self.action) % {"number": emergency_number}


EMERGENCY = Tier(
    key="emergency",
    label=_("Emergency"),
    # The number is the clinic's (Clinic.emergency_phone): one setting, every page.
    action=_("Call %(number)s or go to an emergency department (A&E) now if you notice:"),
    signs=(
        _(
            "difficulty passing urine, or your bladder feels different (you cannot tell "
            "when it is full, or the stream is weak)"
        ),
        _(
            "numbness or tingling around your back passage or genitals, or it feels "
            "different when you wipe after the toilet"
        ),
        _("leaking urine or stools, or not knowing that you need to go"),
        _(
            "new problems with sexual function, such as numbness during sex or difficulty "
            "getting an erection"
        ),
        _("pain, numbness or weakness in both legs"),
    ),
)

SAME_DAY = Tier(
    key="same_day",
    label=_("Same day"),
    action=_("See a doctor today (your GP, an urgent care centre or an out-of-hours service) if:"),
    signs=(
        _("your leg or foot becomes weak, or weakness you already had gets worse"),
        _("your foot slaps down or drags when you walk, or you trip over your toes"),
        _("you can no longer rise onto your toes on one leg when you could before"),
        _("you have a fever or feel generally unwell along with your back or leg pain"),
    ),
)

# The one limit for nerve symptoms. The library's cards and the handout's
# "How to use" box both show this sentence; none of them states its own.
NERVE_SETTLE_RULE = _(
    "A mild tingle or pull during a nerve exercise is fine if it fades as you ease off "
    "and has gone within a minute or so of stopping."
)
NERVE_SYMPTOMS_LAST = _(
    "tingling, numbness or pins and needles are still there a minute or so after you stop"
)

TELL_THERAPIST = Tier(
    key="tell_therapist",
    label=_("Tell your therapist"),
    action=_("Stop the exercise and call the clinic if:"),
    signs=(
        _("pain is sharp or shooting, or spreads further down your leg"),
        NERVE_SYMPTOMS_LAST,
        _("pain is worse the next morning and has not settled within a day"),
    ),
)

RED_FLAG_TIERS: tuple[Tier, ...] = (EMERGENCY, SAME_DAY, TELL_THERAPIST)
# Nerve cards repeat the two urgent tiers; the third is the card's own stop signs
# plus the nerve rule.
URGENT_TIERS: tuple[Tier, ...] = (EMERGENCY, SAME_DAY)

# For the therapist: where these rules come from. Listed in the admin; not
# printed for patients.
SOURCES: tuple[tuple[str, str], ...] = (
    (
        "NICE guideline NG59: Low back pain and sciatica in over 16s: assessment and "
        "management (2016, updated 2020)",
        "https://www.nice.org.uk/guidance/ng59",
    ),
    (
        "NICE Clinical Knowledge Summaries: Sciatica (lumbar radiculopathy), red flags "
        "including suspected cauda equina syndrome",
        "https://cks.nice.org.uk/topics/sciatica-lumbar-radiculopathy/",
    ),
)


def tiers(*, urgent_only: bool = False) -> tuple[Tier, ...]:
    return URGENT_TIERS if urgent_only else RED_FLAG_TIERS


def emergency_number(clinic: Clinic | None) -> str:
    """The number a patient of `clinic` calls; without a clinic (a superuser reading the
    library), the number that works in most countries."""
    return clinic.emergency_phone() if clinic is not None else EMERGENCY_NUMBER_FALLBACK
