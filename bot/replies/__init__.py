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
from dataclasses import replace
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

__all__ = ["COMMON", "KEYWORDS", "MAX_READ_CHARS", "PhraseIndex", "Replier", "Reply"]


class Replier(Writer):
    """The clinic's answers, built once from the content and reused for every text."""

    def __init__(self, content: Content, timezone: ZoneInfo):
        super().__init__(content, timezone, Reader(content))
        self.second_chance = SecondChance(content.examples)
        detected_language("hola")  # the language models load now, not on a patient's text

    def reply(self, text: str, now: dt.datetime, language: str | None = None) -> Reply:
        """The answer to one text, in ``language`` ("en", "es"; None: the text's own);
        ``now`` is an aware datetime (for "open now?")."""
        normalized = normalize(text[:MAX_READ_CHARS])
        given = language is not None
        emergency = self.red_flag(normalized, language)
        if emergency:
            return emergency
        if language is None:
            # The text's language: more Spanish words than English ones (as typed, before
            # shorthand and phrases are read), or a "¿" or "¡".
            spanish = SPANISH_MARKS.intersection(text) or self.reader.is_spanish(
                normalized.split(), ENGLISH_WORDS
            )
            language = "es" if spanish else "en"
        if not normalized:
            if ACKNOWLEDGING.intersection(text):  # "👍": a thumbs-up, not a question
                return replace(Reply("thanks", self.thanks(language)), language=language)
            return replace(Reply("menu", self.menu(language)), language=language)
        # "exercise 3 please", "done thanks": the same without the polite words.
        core = " ".join(t for t in normalized.split() if t not in POLITE_WORDS)
        number = NUMBERED.fullmatch(core)
        if number and number.group(1) in self.reader.numbered:
            return replace(
                Reply(
                    "exercise",
                    self.exercise_parts(self.reader.numbered[number.group(1)].id, language)[0],
                ),
                language=language,
            )
        if core in DONE_WORDS:
            return replace(Reply("done", self.done(language)), language=language)
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
            return replace(self.stop_exercise(reading.exercises, language), language=language)
        asked = {"insurance", "location", "phone", "appointment", "exercise", "area"}
        if (
            DONE_PHRASE.search(mended)
            and not asked & set(reading.intents)
            and "you" not in reading.tokens  # "are you done today?" asks about the clinic
        ):
            return replace(Reply("done", self.done(language)), language=language)
        if (
            FEELING_BETTER.search(mended)
            and reading.tokens[0] not in QUESTION_WORDS
            and not (asked - {"area"} | {"pain"}) & set(reading.intents)
        ):
            return replace(Reply("better", self.feeling_better(language)), language=language)
        if MY_ROUTINE.search(mended) and not (asked | {"dosage"}) & set(reading.intents):
            # Without the patient's record (see bot.sms.inbound), the whole list.
            return replace(Reply("my_routine", self.exercise_list(language)), language=language)
        asked = decide(reading, normalized, self.reader.unknown_plan, self.second_chance)
        return replace(self.write(asked, reading, now, language), language=language)

    def red_flag(self, normalized: str, language: str | None = None) -> Reply | None:
        """The emergency answer when the text names a red flag, in English or Spanish: in
        ``language``, or None: the language the red flag was named in."""
        found = self.reader.flag(normalized)
        if found is None:
            return None
        flag, named_in = found
        if language is None:  # the text's own: Spanish if the flag or the words are
            spanish = named_in == "es" or self.reader.is_spanish(normalized.split(), ENGLISH_WORDS)
            language = "es" if spanish else "en"
        return self.emergency(flag, language)
