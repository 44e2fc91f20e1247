"""The clinical red flags for back pain as concepts (``red_flags.yaml``): cauda equina
(numbness in the saddle, bladder or bowel trouble, weak legs), cardiac and aortic (chest
pain, pain spreading to the arm or jaw, tearing pain in the back), infection (fever with
back pain), fracture (a fall, an accident), malignancy (weight loss, night pain, cancer with
back pain), stroke, and other urgent signs, in English and Spanish.

A concept holds when every group it names is in the text, each group a list of patterns
(whole words, casual and misspelt forms among them), none of its matches right after a
negation, and nothing the concept is cancelled by. Read after the older patterns of
``bot.replies.safety``, which keep their own cases; a text either names is answered 911
first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.text import WordIndex

DATA = yaml.safe_load(Path(__file__).with_name("red_flags.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Group:
    name: str
    patterns: tuple[tuple[re.Pattern, str], ...]  # each with the language it is written in

    def find(self, text: str, negated: re.Pattern) -> str | None:
        """The language of the first match not right after a negation, or None."""
        for pattern, language in self.patterns:
            for match in pattern.finditer(text):
                if not negated.search(text, 0, match.start()):
                    return language
        return None


@dataclass(frozen=True)
class Concept:
    flag: str
    groups: tuple[Group, ...]
    unless: re.Pattern | None
    names: frozenset[str]  # its groups'

    def named_in(self, text: str, present: set[str], negated: re.Pattern) -> str | None:
        """The language the concept is named in, or None when the text does not name it
        (``present``: the groups whose words the text may have, ``INDEX.found``)."""
        if self.unless is not None and self.unless.search(text):
            return None
        languages = []
        for group in self.groups:
            found = group.find(text, negated)
            if found is None:
                return None
            languages.append(found)
        return "es" if "es" in languages else "en"


def _words(patterns: list[str]) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(f"(?:{p})" for p in patterns) + r")\b")


def _group(name: str, data: dict) -> Group:
    return Group(name, tuple((_words(data[lang]), lang) for lang in ("en", "es") if data.get(lang)))


def load(data: dict = DATA) -> tuple[tuple[Concept, ...], re.Pattern]:
    groups = {name: _group(name, spec) for name, spec in data["groups"].items()}
    concepts = tuple(
        Concept(
            spec["flag"],
            tuple(groups[name] for name in spec["all"]),
            _words(spec["unless"]) if spec.get("unless") else None,
            frozenset(spec["all"]),
        )
        for spec in data["concepts"]
    )
    # A negation just before a match (a word between at most): "no fever", "no real fever".
    # "No siento cuando me limpio" is numbness itself: a word of feeling between ends it.
    negated = re.compile(
        r"\b(?:" + "|".join(data["negations"]) + r")(?: (?!siento|senti|sentia|feel)\w+)? \Z"
    )
    return concepts, negated


CONCEPTS, NEGATED = load()
INDEX = WordIndex(
    {name: [p for lang in ("en", "es") for p in spec.get(lang) or ()]
     for name, spec in DATA["groups"].items()}
)  # fmt: skip


def red_flag(text: str) -> tuple[str, str] | None:
    """The first concept a normalised text names: (its catalogue key, the language it is
    named in), or None."""
    present = INDEX.found(text.split())
    if not present:
        return None
    for concept in CONCEPTS:
        if not concept.names <= present:
            continue
        language = concept.named_in(text, present, NEGATED)
        if language is not None:
            return concept.flag, language
    return None
