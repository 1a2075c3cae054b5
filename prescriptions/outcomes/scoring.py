"""Scoring outcome questionnaires: the one place a score is computed.

Each instrument names its rule in instruments.toml, with the source's words
for it beside the rule:

* ``mean``: the mean of the items answered, none answered is no score (PSFS:
  the mean of the activities the patient rated);
* ``mean_all``: the mean of all items, any missing is no score (NPRS worst and
  average over 24 hours);
* ``sum_all``: the sum of all items, any missing is no score (LEFS: the source
  asks for every item and gives no rule for a missing one);
* ``single``: the one item's answer (GROC).

Answers outside an item's scale are refused (ValueError), never clipped: the
portal's form refuses them first, so one here is a programming error.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from prescriptions.outcomes.library import Instrument, Item

# Scores are kept to one decimal place (a PSFS mean of three ratings is 4.3).
PLACES = Decimal("0.1")

Answers = Mapping[str, int | None]


def check_answers(items: tuple[Item, ...], answers: Answers) -> None:
    """Raise ValueError for an answer to an unknown item or outside its scale."""
    known = {item.link_id: item for item in items}
    for link_id, value in answers.items():
        item = known.get(link_id)
        if item is None:
            raise ValueError(f"No item {link_id!r} in this questionnaire.")
        if value is not None and value not in item.scale.values:
            raise ValueError(f"{value} is outside the scale of item {link_id!r}.")


def score(instrument: Instrument, items: tuple[Item, ...], answers: Answers) -> Decimal | None:
    """The instrument's score for these answers, or None where its source says not to score."""
    check_answers(items, answers)
    values = [answers.get(item.link_id) for item in items]
    given = [v for v in values if v is not None]
    if not items:
        return None
    result: Decimal
    if instrument.rule == "mean":
        if not given:
            return None
        result = Decimal(sum(given)) / len(given)
    elif instrument.rule == "mean_all":
        if len(given) != len(values):
            return None
        result = Decimal(sum(given)) / len(given)
    elif instrument.rule == "sum_all":
        if len(given) != len(values):
            return None
        result = Decimal(sum(given))
    elif instrument.rule == "single":
        if len(given) != 1 or len(values) != 1:
            return None
        result = Decimal(given[0])
    else:  # pragma: no cover - library.parse refuses unknown rules
        raise ValueError(f"Unknown scoring rule {instrument.rule!r}.")
    return result.quantize(PLACES, rounding=ROUND_HALF_UP)
