"""Reply logic: the answer to one text, from the text, the clinic's content and the time.

Pure functions of those: no database, no network. ``Replier(content, zone).reply(text,
now, language)`` is what the webhook, the chat command and the simulator page call. In
three steps, each its own module, each importing only the ones before it:

- ``reading``: normalising (case, punctuation, accents, shorthand, phrases), typo-tolerant
  matching of the clinic's names and the words of each intent (``words``, in English and
  Spanish), the red flags and pain during an exercise (``safety``), the text's language;
- ``intents``: what was asked, in order (hours, an exercise, insurance...);
- ``writing``: the answer from the content's catalogue, in the language asked for.

Compliance keywords (STOP, HELP, START) are decided before this, in ``bot.sms.compliance``;
their texts are written here so that every reply reads alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.content import Content
from bot.replies.intents import SecondChance, decide
from bot.replies.names import PhraseIndex
from bot.replies.reading import MAX_READ_CHARS, Reader, detected_language
from bot.replies.safety import SPANISH_MARKS, SPANISH_PAIN
from bot.replies.words import (
    ACKNOWLEDGING,
    COMMON,
    DONE_PHRASE,
    DONE_WORDS,
    ENGLISH_WORDS,
    FEELING_BETTER,
    KEYWORDS,
    MY_ROUTINE,
    NUMBERED,
    POLITE_WORDS,
    QUESTION_WORDS,
)
from bot.replies.writing import Reply, Writer
from bot.text import normalize

__all__ = ["Answer", "COMMON", "KEYWORDS", "MAX_READ_CHARS", "PhraseIndex", "Replier", "Reply"]


@dataclass(frozen=True)
class Answer:
    """What a text gets, read once: its kind, the language it was read in, and how to
    write it in either language."""

    kind: str
    language: str
    write: Callable[[str], str]  # the answer's text in a language ("en", "es")

    def reply(self, language: str | None = None) -> Reply:
        language = language or self.language
        return Reply(self.kind, self.write(language), language)


class Replier(Writer):
    """The clinic's answers, built once from the content and reused for every text."""

    def __init__(self, content: Content, timezone: ZoneInfo):
        super().__init__(content, timezone, Reader(content))
        self.second_chance = SecondChance(content.examples)
        detected_language("hola")  # the language models load now, not on a patient's text

    def reply(self, text: str, now: dt.datetime, language: str | None = None) -> Reply:
        """The answer to one text, in ``language`` ("en", "es"; None: the text's own);
        ``now`` is an aware datetime (for "open now?")."""
        return self.understand(text, now, language).reply()

    def understand(self, text: str, now: dt.datetime, language: str | None = None) -> Answer:
        """The text read once, and the answer it gets, to be written in its language or the
        other (``Answer.write``): the webhook writes both, and sends the one the number's
        language calls for. ``language``: read and answer as that language."""
        normalized = normalize(text[:MAX_READ_CHARS])
        given = language is not None
        flagged = self.flagged(normalized, language)
        if flagged:
            flag, language = flagged
            kind = self.emergency(flag, language).kind
            return Answer(kind, language, lambda lang: self.emergency(flag, lang).body)
        if language is None:
            # The text's language: more Spanish words than English ones (as typed, before
            # shorthand and phrases are read), or a "¿" or "¡".
            spanish = SPANISH_MARKS.intersection(text) or self.reader.is_spanish(
                normalized.split(), ENGLISH_WORDS
            )
            language = "es" if spanish else "en"
        if not normalized:
            if ACKNOWLEDGING.intersection(text):  # "👍": a thumbs-up, not a question
                return Answer("thanks", language, self.thanks)
            return Answer("menu", language, self.menu)
        # "exercise 3 please", "done thanks": the same without the polite words.
        core = " ".join(t for t in normalized.split() if t not in POLITE_WORDS)
        number = NUMBERED.fullmatch(core)
        if number and number.group(1) in self.reader.numbered:
            exercise = self.reader.numbered[number.group(1)].id
            return Answer("exercise", language, lambda lang: self.exercise_parts(exercise, lang)[0])
        if core in DONE_WORDS:
            return Answer("done", language, self.done)
        reading = self.reader.read(normalized, language == "es")
        if (
            not given
            and language == "en"
            and reading.corrected != reading.tokens
            and self.reader.is_spanish(reading.corrected, ENGLISH_WORDS)
        ):
            language = "es"  # misspelt Spanish read right ("aseptan aetna"): Spanish after all
        mended = " ".join(reading.corrected)  # "my execises hurt": "my exercises hurt"
        # Safety first, in either language: pain during an exercise stops it.
        if self.reader.exercise_pain(mended, reading) or self.reader.exercise_pain(
            normalized, reading
        ):
            if not given and SPANISH_PAIN.search(normalized):
                language = "es"
            exercises = list(reading.exercises)
            return Answer("pain", language, lambda lang: self.stop_exercise(exercises, lang).body)
        asked = {"insurance", "location", "phone", "appointment", "exercise", "area"}
        if (
            DONE_PHRASE.search(mended)
            and not asked & set(reading.intents)
            and "you" not in reading.tokens  # "are you done today?" asks about the clinic
        ):
            return Answer("done", language, self.done)
        if (
            FEELING_BETTER.search(mended)
            and reading.tokens[0] not in QUESTION_WORDS
            and not (asked - {"area"} | {"pain"}) & set(reading.intents)
        ):
            return Answer("better", language, self.feeling_better)
        if MY_ROUTINE.search(mended) and not (asked | {"dosage"}) & set(reading.intents):
            # Without the patient's record (see bot.sms.inbound), the whole list.
            return Answer("my_routine", language, self.exercise_list)
        asked = decide(reading, normalized, self.reader.unknown_plan, self.second_chance)
        written = self.write(list(asked), reading, now, language)
        return Answer(
            written.kind, language,
            lambda lang: written.body if lang == language else self.write(
                list(asked), reading, now, lang).body,
        )  # fmt: skip

    def red_flag(self, normalized: str, language: str | None = None) -> Reply | None:
        """The emergency answer when the text names a red flag, in English or Spanish: in
        ``language``, or None: the language the red flag was named in."""
        flagged = self.flagged(normalized, language)
        return flagged and self.emergency(*flagged)

    def flagged(self, normalized: str, language: str | None = None) -> tuple[str, str] | None:
        """The red flag the text names and the language to answer it in (``language``, or
        None: Spanish if the flag or the words are); None without one."""
        found = self.reader.flag(normalized)
        if found is None:
            return None
        flag, named_in = found
        if language is None:
            spanish = named_in == "es" or self.reader.is_spanish(normalized.split(), ENGLISH_WORDS)
            language = "es" if spanish else "en"
        return flag, language
