"""The outcome-measure library: validated questionnaires shipped as data.

`instruments.toml` beside this module is the one source of each instrument's
wording (English and German), answer scales, source, licence terms, scoring
rule, score range, direction and MCID. It is read once and checked as it is
read: a wrong entry raises LibraryError naming the instrument and the field.
Instruments are not database rows: a validated questionnaire is not something
a clinic edits. A plan's OutcomeMeasure names one by its `code`.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.translation import get_language

INSTRUMENTS_FILE = Path(__file__).resolve().parent / "instruments.toml"
RULES = ("mean", "mean_all", "sum_all", "single")
# PSFS: a patient names at most this many activities (Stratford et al. 1995).
PSFS_MAX_ACTIVITIES = 5


class LibraryError(Exception):
    """instruments.toml is wrong. The message names the instrument and the field."""


def _german() -> bool:
    return (get_language() or "en").split("-")[0] == "de"


@dataclass(frozen=True)
class Scale:
    """The answers to an item: whole numbers from `low` to `high`, each with a label."""

    code: str
    low: int
    high: int
    labels_en: tuple[str, ...]
    labels_de: tuple[str, ...]
    ends_en: tuple[str, str] | None
    ends_de: tuple[str, str] | None

    @property
    def values(self) -> range:
        return range(self.low, self.high + 1)

    def choices(self) -> list[tuple[int, str]]:
        """Every answer with its label, in the active language (a 0-10 rating labels its ends)."""
        labels = self.labels_de if _german() else self.labels_en
        ends = self.ends_de if _german() else self.ends_en
        if labels:
            return list(zip(self.values, labels, strict=True))
        out = []
        for value in self.values:
            label = str(value)
            if ends and value == self.low:
                label = f"{value} – {ends[0]}"
            elif ends and value == self.high:
                label = f"{value} – {ends[1]}"
            out.append((value, label))
        return out

    def label(self, value: int) -> str:
        return dict(self.choices()).get(value, str(value))


@dataclass(frozen=True)
class Item:
    link_id: str
    text_en: str
    text_de: str
    scale: Scale

    @property
    def text(self) -> str:
        return self.text_de if _german() else self.text_en


@dataclass(frozen=True)
class Instrument:
    code: str
    short: str
    name_en: str
    name_de: str
    source: str
    licence: str
    scoring: str
    missing: str
    rule: str
    min_score: int
    max_score: int
    higher_is_better: bool
    mcid: float
    mcid_source: str
    change_scale: bool
    intro_en: str
    intro_de: str
    fixed_items: tuple[Item, ...]
    # PSFS: the items are the patient's own activities, each rated on this scale.
    activity_scale: Scale | None

    def __str__(self) -> str:
        return f"{self.short} – {self.name_en}"

    @property
    def name(self) -> str:
        return self.name_de if _german() else self.name_en

    @property
    def intro(self) -> str:
        return self.intro_de if _german() else self.intro_en

    @property
    def needs_activities(self) -> bool:
        return self.activity_scale is not None

    def items(self, activities: list[str] | None = None) -> tuple[Item, ...]:
        """The questions in order; for the PSFS, one per activity the patient named."""
        if self.activity_scale is None:
            return self.fixed_items
        return tuple(
            Item(link_id=f"activity-{n}", text_en=text, text_de=text, scale=self.activity_scale)
            for n, text in enumerate((activities or [])[:PSFS_MAX_ACTIVITIES], start=1)
        )

    def is_worse(self, change: float) -> bool:
        """Whether a change in score (later minus earlier) is worse by at least the MCID."""
        return (-change if self.higher_is_better else change) >= self.mcid


def _scale(raw: dict[str, Any]) -> Scale:
    code = raw.get("code", "?")
    try:
        low, high = int(raw["low"]), int(raw["high"])
        labels_en = tuple(raw.get("labels_en", ()))
        labels_de = tuple(raw.get("labels_de", ()))
        ends_en = tuple(raw["ends_en"]) if "ends_en" in raw else None
        ends_de = tuple(raw["ends_de"]) if "ends_de" in raw else None
    except (KeyError, TypeError, ValueError) as error:
        raise LibraryError(f"scale {code}: {error}") from None
    if low >= high:
        raise LibraryError(f"scale {code}: low must be below high")
    steps = high - low + 1
    if labels_en or labels_de:
        if len(labels_en) != steps or len(labels_de) != steps:
            raise LibraryError(f"scale {code}: labels_en and labels_de need {steps} labels each")
    elif ends_en is None or ends_de is None or len(ends_en) != 2 or len(ends_de) != 2:
        raise LibraryError(f"scale {code}: give labels_en/labels_de or ends_en/ends_de")
    return Scale(code, low, high, labels_en, labels_de, ends_en, ends_de)


TEXT_FIELDS = (
    "short",
    "name_en",
    "name_de",
    "source",
    "licence",
    "scoring",
    "missing",
    "mcid_source",
    "intro_en",
    "intro_de",
)


def _instrument(raw: dict[str, Any], scales: dict[str, Scale]) -> Instrument:
    code = raw.get("code", "?")
    for name in TEXT_FIELDS:
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise LibraryError(f"instrument {code}: {name} is required")
    if raw.get("rule") not in RULES:
        raise LibraryError(f"instrument {code}: rule must be one of {', '.join(RULES)}")
    items = []
    for item in raw.get("items", []):
        scale = scales.get(item.get("scale"))
        if scale is None:
            raise LibraryError(f"instrument {code}: item {item.get('link_id')} has no known scale")
        items.append(Item(str(item["link_id"]), item["text_en"], item["text_de"], scale))
    activity_scale = scales.get(raw["activity_scale"]) if "activity_scale" in raw else None
    if not items and activity_scale is None:
        raise LibraryError(f"instrument {code}: it needs items or an activity_scale")
    if len({item.link_id for item in items}) != len(items):
        raise LibraryError(f"instrument {code}: two items share a link_id")
    try:
        instrument = Instrument(
            code=code,
            **{name: raw[name] for name in TEXT_FIELDS},
            rule=raw["rule"],
            min_score=int(raw["min_score"]),
            max_score=int(raw["max_score"]),
            higher_is_better=bool(raw["higher_is_better"]),
            mcid=float(raw["mcid"]),
            change_scale=bool(raw.get("change_scale", False)),
            fixed_items=tuple(items),
            activity_scale=activity_scale,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise LibraryError(f"instrument {code}: {error}") from None
    if not instrument.min_score < instrument.max_score:
        raise LibraryError(f"instrument {code}: min_score must be below max_score")
    if not 0 < instrument.mcid < instrument.max_score - instrument.min_score:
        raise LibraryError(f"instrument {code}: the MCID must lie within the score range")
    return instrument


def parse(text: str) -> dict[str, Instrument]:
    data = tomllib.loads(text)
    scales = {raw["code"]: _scale(raw) for raw in data.get("scale", [])}
    instruments: dict[str, Instrument] = {}
    for raw in data.get("instrument", []):
        instrument = _instrument(raw, scales)
        if instrument.code in instruments:
            raise LibraryError(f"instrument {instrument.code}: listed twice")
        instruments[instrument.code] = instrument
    return instruments


@functools.cache
def instruments() -> dict[str, Instrument]:
    """Every shipped instrument by code, in the order of the data file."""
    return parse(INSTRUMENTS_FILE.read_text(encoding="utf-8"))


def get(code: str) -> Instrument:
    """The instrument with this code; KeyError for an unknown one."""
    return instruments()[code]


def instrument_choices() -> list[tuple[str, str]]:
    """For OutcomeMeasure.instrument: read when needed, so a new instrument needs no migration."""
    return [(code, f"{i.short} – {i.name_en}") for code, i in instruments().items()]
