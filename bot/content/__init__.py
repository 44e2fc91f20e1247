"""The clinic's content: loading and checking the content file.

The file (YAML, ``clinic.yaml`` beside this module by default) is the clinic's own words:
its name, phone, address, hours, accepted plans and exercises. ``load_content`` reads it
into frozen dataclasses and raises ``ContentError`` naming the first broken field, so a
bad edit stops the app at start-up instead of sending patients wrong answers.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.content.messages import EVERYWHERE, LANGUAGES, MARKERS, MESSAGES, SECOND_CHANCE
from bot.sms.segments import is_gsm7, plain_spanish, to_plain
from bot.text import normalize

DEFAULT_CONTENT_FILE = Path(__file__).with_name("clinic.yaml")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class ContentError(ValueError):
    """The content file is missing, unreadable, or a field in it is wrong."""


@dataclass(frozen=True)
class Span:
    start: dt.time
    end: dt.time


@dataclass(frozen=True)
class Plan:
    name: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Wording:
    """An exercise as one language says it."""

    name: str
    purpose: str
    steps: tuple[str, ...]
    tips: tuple[str, ...]
    aliases: tuple[str, ...] = ()  # the names patients know it by in this language


@dataclass(frozen=True)
class Exercise:
    id: str
    name: str
    purpose: str
    aliases: tuple[str, ...]  # every name patients know it by, in any language
    steps: tuple[str, ...]
    tips: tuple[str, ...]
    spanish: Wording | None = None

    def in_language(self, language: str) -> Wording:
        """Name, purpose, steps and tips in ``language`` (English when not written in it)."""
        if language == "es" and self.spanish is not None:
            return self.spanish
        return Wording(self.name, self.purpose, self.steps, self.tips, self.aliases)


@dataclass(frozen=True)
class Area:
    name: str
    aliases: tuple[str, ...]  # in any language
    exercises: tuple[Exercise, ...]
    spanish_name: str = ""

    def name_in(self, language: str) -> str:
        return self.spanish_name if language == "es" and self.spanish_name else self.name


@dataclass(frozen=True)
class Clinic:
    name: str
    phone: str
    address: str
    directions: str
    spanish: str
    directions_es: str = ""  # the directions in Spanish; the English ones when empty


@dataclass(frozen=True)
class Content:
    clinic: Clinic
    hours: dict[int, tuple[Span, ...]]  # weekday (Monday is 0) -> opening spans
    insurance: tuple[Plan, ...]
    other_plans: tuple[str, ...]
    exercises: tuple[Exercise, ...]
    areas: tuple[Area, ...]
    texts: dict[str, dict[str, str]]  # key -> language -> template (bot.content.messages)
    accents: bool = False  # Spanish written with every accent (SPANISH_ACCENTS), or plain
    # Example questions of the answers the second chance may give: key -> texts as read.
    examples: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Day and month names: "days", "days_short", "months" -> language -> names.
    calendar: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    def say(self, key: str, language: str = "en", **values: object) -> str:
        """The message ``key`` in ``language`` ("en" for a language it does not know), with
        its placeholders filled in."""
        templates = self.texts[key]
        template = templates.get(language) or templates["en"]
        return template.format(
            clinic=self.clinic.name, phone=self.clinic.phone, spanish=self.clinic.spanish,
            **values,
        )  # fmt: skip

    def exercise(self, exercise_id: str) -> Exercise:
        for exercise in self.exercises:
            if exercise.id == exercise_id:
                return exercise
        raise KeyError(exercise_id)


def load_content(path: str | Path | None = None, accents: bool = False) -> Content:
    """The content file at ``path``; its Spanish with every accent (``accents``) or in
    plain letters (the default: á, í, ó, ú as a, i, o, u)."""
    path = Path(path) if path else DEFAULT_CONTENT_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ContentError(f"content file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentError(f"content file {path} cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        raise ContentError(f"content file {path} is not valid YAML: {exc}") from None
    try:
        return parse_content(raw, accents)
    except ContentError as exc:
        raise ContentError(f"content file {path}: {exc}") from None


def parse_content(raw: Any, accents: bool = False) -> Content:
    top = _mapping(raw, "the file")
    spanish = Spanish(accents)
    clinic_raw = _mapping(top.get("clinic"), "clinic")
    clinic = Clinic(
        name=_text(clinic_raw.get("name"), "clinic.name"),
        phone=_text(clinic_raw.get("phone"), "clinic.phone"),
        address=_text(clinic_raw.get("address"), "clinic.address"),
        directions=_text(clinic_raw.get("directions"), "clinic.directions"),
        spanish=spanish.text(clinic_raw.get("spanish", ""), "clinic.spanish", required=False),
        directions_es=spanish.text(
            clinic_raw.get("directions_es", ""), "clinic.directions_es", required=False
        ),
    )
    if sum(ch.isdigit() for ch in clinic.phone) < 10:
        raise ContentError(f"clinic.phone: {clinic.phone!r} is not a phone number")

    hours_raw = _mapping(top.get("hours"), "hours")
    unknown_days = sorted(set(hours_raw) - set(DAYS))
    if unknown_days:
        raise ContentError(f"hours: unknown day {unknown_days[0]!r} (use {', '.join(DAYS)})")
    hours = {
        index: _spans(hours_raw.get(day) or [], f"hours.{day}") for index, day in enumerate(DAYS)
    }

    insurance = tuple(
        Plan(
            name=_text(item.get("name"), f"insurance[{i}].name"),
            aliases=_aliases(item.get("aliases"), f"insurance[{i}].aliases"),
        )
        for i, item in enumerate(_items(top.get("insurance"), "insurance"))
    )
    other_plans = _aliases(top.get("other_plans", []), "other_plans", required=False)
    accepted = {alias for plan in insurance for alias in plan.aliases}
    both = sorted(accepted & set(other_plans))
    if both:
        raise ContentError(f"other_plans: {both[0]!r} is also an accepted plan's alias")

    exercises: list[Exercise] = []
    for i, item in enumerate(_items(top.get("exercises"), "exercises")):
        where = f"exercises[{i}]"
        exercise_id = _text(item.get("id"), f"{where}.id")
        if not _ID.match(exercise_id):
            raise ContentError(f"{where}.id: {exercise_id!r} must be lower-case letters, digits, -")
        if any(e.id == exercise_id for e in exercises):
            raise ContentError(f"{where}.id: {exercise_id!r} is used twice")
        steps = _texts(item.get("steps"), f"{where}.steps")
        tips = _texts(item.get("tips", []), f"{where}.tips", required=False)
        aliases = _aliases(item.get("aliases"), f"{where}.aliases")
        wording = None
        if item.get("es") is not None:
            es = _mapping(item["es"], f"{where}.es")
            wording = Wording(
                name=spanish.text(es.get("name"), f"{where}.es.name"),
                purpose=spanish.text(es.get("purpose"), f"{where}.es.purpose"),
                steps=_same_numbers(
                    spanish.texts(es.get("steps"), f"{where}.es.steps"), steps,
                    f"{where}.es.steps",
                ),
                tips=_same_numbers(
                    spanish.texts(es.get("tips", []), f"{where}.es.tips", required=False),
                    tips, f"{where}.es.tips",
                ),
                aliases=_aliases(es.get("aliases"), f"{where}.es.aliases", spanish=True),
            )  # fmt: skip
            aliases = tuple(dict.fromkeys(aliases + wording.aliases))
        exercises.append(
            Exercise(
                id=exercise_id,
                name=_text(item.get("name"), f"{where}.name"),
                purpose=_text(item.get("purpose"), f"{where}.purpose"),
                aliases=aliases,
                steps=steps,
                tips=tips,
                spanish=wording,
            )
        )
    by_id = {e.id: e for e in exercises}

    areas = []
    for i, item in enumerate(_items(top.get("areas", []), "areas", required=False)):
        where = f"areas[{i}]"
        ids = _texts(item.get("exercises"), f"{where}.exercises")
        missing = [x for x in ids if x not in by_id]
        if missing:
            raise ContentError(f"{where}.exercises: no exercise has the id {missing[0]!r}")
        aliases = _aliases(item.get("aliases"), f"{where}.aliases")
        spanish_name = ""
        if item.get("es") is not None:
            es = _mapping(item["es"], f"{where}.es")
            spanish_name = spanish.text(es.get("name"), f"{where}.es.name")
            es_aliases = _aliases(es.get("aliases"), f"{where}.es.aliases", spanish=True)
            aliases = tuple(dict.fromkeys(aliases + es_aliases))
        areas.append(
            Area(
                name=_text(item.get("name"), f"{where}.name"),
                aliases=aliases,
                exercises=tuple(by_id[x] for x in ids),
                spanish_name=spanish_name,
            )
        )
    texts_raw = _mapping(top.get("texts"), "texts")
    texts = _catalogue(texts_raw, spanish)
    examples = _examples(texts_raw)
    calendar = _calendar(_mapping(top.get("calendar"), "calendar"), spanish)
    return Content(
        clinic, hours, insurance, other_plans, tuple(exercises), tuple(areas), texts, accents,
        examples, calendar,
    )  # fmt: skip


class Spanish:
    """Spanish as the setting writes it: the letters outside plain SMS text kept
    (``accents``) or made plain; any other character outside it refused."""

    def __init__(self, accents: bool):
        self.accents = accents

    def text(self, value: Any, where: str, required: bool = True) -> str:
        text = _text(value, where, required, spanish=True)
        return text if self.accents else plain_spanish(text)

    def texts(self, value: Any, where: str, required: bool = True) -> tuple[str, ...]:
        texts = _texts(value, where, required, spanish=True)
        return texts if self.accents else tuple(map(plain_spanish, texts))


NUMBER = re.compile(r"\d+")


def _same_numbers(translated: tuple[str, ...], english: tuple[str, ...], where: str):
    """A translation of steps or tips: as many, each with the English one's numbers (a
    step that says "hold 5 seconds" says 5 seconds)."""
    if len(translated) != len(english):
        raise ContentError(f"{where}: {len(translated)} of them, the English has {len(english)}")
    for i, (said, meant) in enumerate(zip(translated, english, strict=True)):
        if NUMBER.findall(said) != NUMBER.findall(meant):
            raise ContentError(
                f"{where}[{i}]: the numbers {NUMBER.findall(said)} are not the English "
                f"step's {NUMBER.findall(meant)}: the medical sense must be the same"
            )
    return translated


def _catalogue(raw: dict[str, Any], spanish: Spanish) -> dict[str, dict[str, str]]:
    """Every message the code says, in every language, with only the placeholders the code
    fills in."""
    unknown = sorted(set(raw) - set(MESSAGES))
    if unknown:
        raise ContentError(f"texts.{unknown[0]}: no such message (the keys are listed in "
                           "bot/content/messages.py)")  # fmt: skip
    texts: dict[str, dict[str, str]] = {}
    for key, allowed in MESSAGES.items():
        if key not in raw:
            raise ContentError(f"texts.{key}: missing (every message needs en and es)")
        by_language = _mapping(raw[key], f"texts.{key}")
        texts[key] = {}
        for language in LANGUAGES:
            where = f"texts.{key}.{language}"
            if not isinstance(by_language.get(language), str) or not by_language[language]:
                raise ContentError(f"{where}: missing: write the message in this language")
            template = _message(by_language[language], where, spanish if language == "es" else None)
            try:
                names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
            except ValueError as exc:
                raise ContentError(f"{where}: a {{ or }} out of place ({exc})") from None
            extra = sorted(names - allowed - EVERYWHERE)
            if extra:
                known = ", ".join(f"{{{n}}}" for n in sorted(allowed | EVERYWHERE))
                raise ContentError(f"{where}: unknown placeholder {{{extra[0]}}} (known: {known})")
            missing = [m for m in MARKERS.get(key, ()) if m not in template]
            if missing:
                raise ContentError(f"{where}: must contain {missing[0]}")
            texts[key][language] = template
    return texts


CALENDAR = {"days": 7, "days_short": 7, "months": 12}


def _calendar(raw: dict[str, Any], spanish: Spanish) -> dict[str, dict[str, tuple[str, ...]]]:
    calendar = {}
    for name, count in CALENDAR.items():
        by_language = _mapping(raw.get(name), f"calendar.{name}")
        calendar[name] = {}
        for language in LANGUAGES:
            where = f"calendar.{name}.{language}"
            read = spanish.texts if language == "es" else _texts
            names = read(by_language.get(language), where)
            if len(names) != count:
                raise ContentError(f"{where}: {count} names, in order, found {len(names)}")
            calendar[name][language] = names
    return calendar


def _examples(raw: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """The example questions of each answer that has them, in both languages, as texts are
    read (lower case, no accents or punctuation)."""
    examples = {}
    for key, entry in raw.items():
        if not isinstance(entry, dict) or "examples" not in entry:
            continue
        where = f"texts.{key}.examples"
        if key not in SECOND_CHANCE:
            raise ContentError(f"{where}: only these answers take examples: "
                               f"{', '.join(SECOND_CHANCE)}")  # fmt: skip
        by_language = _mapping(entry["examples"], where)
        found = []
        for language in LANGUAGES:
            found += _aliases(by_language.get(language, []), f"{where}.{language}",
                              required=False, spanish=language == "es")  # fmt: skip
        examples[key] = tuple(dict.fromkeys(found))
    return examples


def _message(value: str, where: str, spanish: Spanish | None = None) -> str:
    """A message as text: its lines kept (a list of hours is one line each), the spaces
    inside each line made single."""
    read = spanish.text if spanish else _text
    lines = [read(line, where) if line.strip() else "" for line in value.split("\n")]
    return "\n".join(lines).strip("\n")


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ContentError(f"{where}: expected a mapping of fields, found {_kind(value)}")
    return value


def _items(value: Any, where: str, required: bool = True) -> list[dict[str, Any]]:
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise ContentError(f"{where}: expected a non-empty list, found {_kind(value)}")
    return [_mapping(item, f"{where}[{i}]") for i, item in enumerate(value)]


def _text(value: Any, where: str, required: bool = True, spanish: bool = False) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ContentError(f"{where}: expected text, found {_kind(value)}")
    text = " ".join(to_plain(value).split())
    if not is_gsm7(plain_spanish(text) if spanish else text):
        bad = next(ch for ch in text if not is_gsm7(ch))
        raise ContentError(
            f"{where}: {bad!r} is not plain SMS text (GSM-7) and would make every text "
            "cost more than twice as much; use plain letters, ' and -"
        )
    return text


def _texts(value: Any, where: str, required: bool = True, spanish: bool = False) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or (required and not value):
        raise ContentError(f"{where}: expected a non-empty list of text, found {_kind(value)}")
    return tuple(_text(item, f"{where}[{i}]", spanish=spanish) for i, item in enumerate(value))


def _aliases(
    value: Any, where: str, required: bool = True, spanish: bool = False
) -> tuple[str, ...]:
    """Names as texts are read: lower case, no accents or punctuation."""
    names = _texts(value, where, required, spanish)
    return tuple(dict.fromkeys(normalize(name) for name in names if normalize(name)))


def _spans(value: Any, where: str) -> tuple[Span, ...]:
    if not isinstance(value, list):
        raise ContentError(f'{where}: expected a list like ["10:00-12:30"], found {_kind(value)}')
    spans = []
    for i, item in enumerate(value):
        match = _SPAN.match(item) if isinstance(item, str) else None
        if not match:
            raise ContentError(f"{where}[{i}]: expected HH:MM-HH:MM, found {item!r}")
        h1, m1, h2, m2 = map(int, match.groups())
        try:
            span = Span(dt.time(h1, m1), dt.time(h2, m2))
        except ValueError:
            raise ContentError(f"{where}[{i}]: {item!r} is not a time of day") from None
        if span.end <= span.start or (spans and span.start < spans[-1].end):
            raise ContentError(f"{where}[{i}]: {item!r} must end after it starts, in order")
        spans.append(span)
    return tuple(spans)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"text {value[:40]!r}"
    return type(value).__name__
