"""Dosage in plain words, and how long it takes.

Used by the handout, the portal and the admin so that a patient reads the same
sentence everywhere: "3 sets of 10, each side, twice a day".
"""

from __future__ import annotations

import dataclasses
import functools

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.translation import get_language, ngettext, npgettext
from django.utils.translation import gettext as _

from prescriptions.models import DosageFields, Side

# Seconds one repetition takes at a steady home-exercise tempo.
SECONDS_PER_REP = 4
# Getting into position, changing sides and reading the sheet.
SETUP_SECONDS = 30


def times_per_day_words(n: int) -> str:
    """How many sessions a day, in words: 'once a day', 'twice a day', '3 times a day'."""
    if n == 1:
        return _("once a day")
    if n == 2:
        return _("twice a day")
    return _("%(n)s times a day") % {"n": n}


def days_per_week_words(n: int) -> str:
    """How many days a week, in words: 'every day' for 7, else '5 days a week'."""
    if n >= 7:
        return _("every day")
    return ngettext("%(n)s day a week", "%(n)s days a week", n) % {"n": n}


SIDE_WORDS = {
    Side.EACH: lambda: _("each side"),
    Side.LEFT: lambda: _("left side only"),
    Side.RIGHT: lambda: _("right side only"),
    Side.ALTERNATING: lambda: _("alternating sides"),
    Side.AFFECTED: lambda: _("affected side only"),
}


def describe(d: DosageFields, *, times_a_day: bool = True) -> str:
    """The whole dosage as one sentence, e.g. '3 sets of 10, each side, twice a day'.

    Without ``times_a_day`` it is one session's dose ('3 sets of 10, each side'):
    the portal's Today page logs one session and says which one it is.

    Written once per process for each dose and language (My plan writes six and
    Today twelve a request, a fifth of My plan's time in translation lookups).
    """
    return _described(
        get_language(),
        _Dose(
            d.duration_minutes,
            d.reps,
            d.sets,
            d.hold_seconds,
            d.side,
            d.times_per_day,
            d.days_per_week,
        ),
        times_a_day,
    )


@dataclasses.dataclass(frozen=True)
class _Dose:
    """The fields `describe` reads, as a key."""

    duration_minutes: int | None
    reps: int | None
    sets: int
    hold_seconds: int | None
    side: str
    times_per_day: int
    days_per_week: int


@functools.lru_cache(maxsize=2048)
def _described(language: str | None, d: _Dose, times_a_day: bool) -> str:
    # The language is part of the key: the words below are in the active one.
    parts: list[str] = []
    if d.duration_minutes:
        parts.append(
            ngettext("%(n)s minute", "%(n)s minutes", d.duration_minutes)
            % {"n": d.duration_minutes}
        )
    elif d.reps:
        # English says "3 sets of 10"; other languages name the repetitions, and
        # their plural follows the repetitions, not the sets.
        # Translators: the repetitions in "3 sets of 10", e.g. "10 Wiederholungen".
        reps = npgettext("dosage: the repetitions in '3 sets of 10'", "%(n)s", "%(n)s", d.reps) % {
            "n": d.reps
        }
        parts.append(
            ngettext("%(sets)s set of %(reps)s", "%(sets)s sets of %(reps)s", d.sets)
            % {"sets": d.sets, "reps": reps}
        )
        if d.hold_seconds:
            parts.append(
                ngettext("hold each %(n)s second", "hold each %(n)s seconds", d.hold_seconds)
                % {"n": d.hold_seconds}
            )
    elif d.hold_seconds:
        parts.append(
            ngettext("hold %(n)s second", "hold %(n)s seconds", d.hold_seconds)
            % {"n": d.hold_seconds}
        )
        if d.sets > 1:
            parts.append(ngettext("%(n)s time", "%(n)s times", d.sets) % {"n": d.sets})
    side = SIDE_WORDS.get(Side(d.side))
    if d.side == Side.ALTERNATING and d.reps and not d.duration_minutes:
        # "1 set of 10, alternating sides" left open whether 10 was per side.
        parts.append(alternating_words(d.reps))
    elif side:
        parts.append(side())
    if times_a_day or not parts:
        parts.append(times_per_day_words(d.times_per_day))
    if d.days_per_week < 7:
        parts.append(days_per_week_words(d.days_per_week))
    return ", ".join(parts)


@receiver(setting_changed)
def _forget_words(*, setting: str, **kwargs: object) -> None:
    """New languages or catalogues (tests change them) make new words."""
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS"}:
        _described.cache_clear()


def alternating_words(reps: int) -> str:
    """The repetitions of an alternating exercise count both sides: say how many a side."""
    if reps % 2 == 0:
        return _("alternating sides, %(n)s each side") % {"n": reps // 2}
    return _("alternating sides, both sides counted together")


def sides(d: DosageFields) -> int:
    """How many times the whole dosage is done: twice when it is done on each side."""
    return 2 if d.side == Side.EACH else 1


def session_seconds(d: DosageFields) -> int:
    """Estimated time for one session of this exercise, rests included."""
    if d.duration_minutes:
        return d.duration_minutes * 60
    per_set = (d.reps or 1) * SECONDS_PER_REP if d.reps else 0
    if d.hold_seconds:
        per_set = (d.reps or 1) * (d.hold_seconds + (2 if d.reps else 0))
    work = per_set * d.sets * sides(d)
    rests = d.rest_seconds * max(d.sets * sides(d) - 1, 0)
    return work + rests + SETUP_SECONDS


def daily_seconds(items: list[DosageFields]) -> int:
    """Estimated time a day: each exercise's session times the sessions a day."""
    return sum(session_seconds(d) * d.times_per_day for d in items)


def minutes(seconds: int) -> int:
    """Rounded up to whole minutes, never zero for real work."""
    return max(1, -(-seconds // 60)) if seconds else 0
