"""Reading a text: normalised words (shorthand and phrases read as the words they mean),
typos mended, the clinic's names found (exercises, plans, areas), the days and times asked
about, the red flags and pain during an exercise, and which language it is in. What the
text asks for is decided from this in ``bot.replies.intents``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field, replace

from rapidfuzz import fuzz, process

from bot.content import Area, Content, Exercise, Plan
from bot.replies import spanish_words
from bot.replies.described import DESCRIBING, Descriptions
from bot.replies.language import UNDECIDED_WORDS, detected_language
from bot.replies.names import PhraseIndex, joined_plans, plan_title
from bot.replies.red_flags import red_flag
from bot.replies.safety import (
    ASKS_FOR_EXERCISES,
    ASKS_WHAT_HELPS,
    DURING,
    DURING_EXERCISE,
    EMERGENCY_PATTERNS,
    EXERCISE_PAIN,
    NEGATED_RED_FLAGS,
    NO_PAIN,
    PAIN_WITH_ACTIVITY,
    SELF_HARM,
    SPANISH_EMERGENCY,
    SPANISH_NEGATED,
    spell_red_flags,
)
from bot.replies.words import (
    ASKS_CLINIC,
    COMMON,
    DAY_WORDS,
    FUZZY_DAYS,
    FUZZY_KEYWORDS,
    KEYWORDS,
    NOT_PLANS,
    PART_OF_DAY,
    PHRASE_PATTERN,
    PHRASES,
    PLAN_FILLER,
    SHORTHAND,
    SHORTHAND_ES,
    WHERE_NOT_PLACE,
)

# Only the first part of a very long text is read: the reply must stay fast whatever is
# pasted into it.
MAX_READ_CHARS = 600

# Words that say a text is in Spanish, besides the words of its intents and days.
MARKERS = (
    frozenset(
        "espanol habla hablan hola buenos buenas necesito quiero tienen donde cuando estan "
        "ustedes su sus que por favor ayuda usted puedo tengo tuve tiene el la los las del es "
        "con para pero muy hace mucho entiendo como cual cuales mi mis hay son sobre cuanto "
        "cuanta cuantos cuantas me se lo le un una y en ya listo hecho termine toman aceptan "
        "cubren reciben atienden llamo llamar numero telefono".split()
    )
    | {w for words in spanish_words.KEYWORDS.values() for w in words.split()}
    | set(spanish_words.DAY_WORDS)
    | spanish_words.COMMON
)


@dataclass
class Reading:
    """What a text asks for, as found in it."""

    tokens: list[str]
    corrected: list[str] = field(default_factory=list)  # tokens, misspelt keywords mended
    intents: dict[str, int] = field(default_factory=dict)  # intent -> first position
    days: list[int | str] = field(default_factory=list)
    parts_of_day: list[str] = field(default_factory=list)
    exercises: list[Exercise] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)
    other_plans: list[str] = field(default_factory=list)
    areas: list[tuple[Area, int]] = field(default_factory=list)  # area, words matched
    exercise_words: int = 0  # most words one exercise name matched
    exercise_at: set[int] = field(default_factory=set)  # positions of exercise names
    area_at: set[int] = field(default_factory=set)  # positions of body areas
    other_body: str = ""  # a body part the exercises are not for ("neck")

    def add(self, intent: str, position: int) -> None:
        self.intents.setdefault(intent, position)

    def copy(self) -> Reading:
        """A copy to decide on: the decisions change its lists, not the one read."""
        return replace(
            self, corrected=list(self.corrected), intents=dict(self.intents),
            days=list(self.days), parts_of_day=list(self.parts_of_day),
            exercises=list(self.exercises), plans=list(self.plans),
            other_plans=list(self.other_plans), areas=list(self.areas),
            exercise_at=set(self.exercise_at), area_at=set(self.area_at),
        )  # fmt: skip


@functools.lru_cache(maxsize=4096)
def _misspelt(token: str) -> tuple[str | None, object]:
    """The keyword a word not known as it is was meant as ("execises": "exercises"), or
    else the day ("wensday"); words recur from text to text: each is looked up once."""
    found = process.extractOne(
        token, FUZZY_KEYWORDS.get(token[0], ()), scorer=fuzz.ratio, score_cutoff=80.0
    )
    if found:
        return found[0], None
    found = process.extractOne(
        token, FUZZY_DAYS.get(token[0], ()), scorer=fuzz.ratio, score_cutoff=80.0
    )
    return None, (DAY_WORDS[found[0]] if found else None)


class Reader:
    """Reads texts for one clinic's content (its names), built once and reused."""

    def __init__(self, content: Content):
        self.exercise_index = PhraseIndex(
            [(alias, e) for e in content.exercises for alias in e.aliases], cutoff=85.0
        )
        plans: list[tuple[str, object]] = [(a, p) for p in content.insurance for a in p.aliases]
        plans += [(alias, alias) for alias in content.other_plans]
        # Plans need a closer match than exercises: a wrong "yes" costs the patient money.
        self.plan_index = PhraseIndex(plans, cutoff=87.0, cautious=str)
        self.area_index = PhraseIndex(
            [(alias, a) for a in content.areas for alias in a.aliases], cutoff=88.0
        )
        self.numbered = {str(i): e for i, e in enumerate(content.exercises, start=1)}
        # The last texts read, and their red flags (the same text is answered twice, once
        # in each language).
        self._read_once = functools.lru_cache(maxsize=64)(self._read)
        self.flag = functools.lru_cache(maxsize=64)(self._flags)
        # The words of the exercises' Spanish names say a text is Spanish ("gato y camello"),
        # unless English has them too ("abdominal").
        english_names = {
            w
            for e in content.exercises
            for a in set(e.aliases) - set(e.in_language("es").aliases)
            for w in a.split()
        } | {
            w
            for index in (self.plan_index, self.area_index)
            for a in index.aliases
            for w in a.split()
        }
        spanish_names = frozenset(
            w
            for e in content.exercises
            for a in e.in_language("es").aliases
            for w in a.split()
            if w not in english_names and w not in COMMON and w not in KEYWORDS
        )
        self.spanish_names = spanish_names
        names = sorted(
            {a for e in content.exercises for a in e.aliases if " " in a}, key=len, reverse=True
        )
        self.exercise_names = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
        # Words of the content's own names are never "corrected" into a keyword: "stiff"
        # (an area) is not "staff".
        self.name_words = frozenset(
            word
            for index in (self.exercise_index, self.plan_index, self.area_index)
            for alias in index.aliases
            for word in alias.split()
        )
        self.described = Descriptions(content.exercises)

    def read(self, normalized: str, spanish: bool = False) -> Reading:
        """What the text asks for. The webhook writes each answer in both languages: the
        second reading of the same text is the first one's, copied."""
        return self._read_once(normalized, spanish).copy()

    def _read(self, normalized: str, spanish: bool = False) -> Reading:
        normalized = _phrases(normalized)
        shorthand = SHORTHAND_ES if spanish else SHORTHAND
        tokens = [shorthand.get(t, t) for t in normalized.split()]
        if any(t in shorthand for t in normalized.split()):
            tokens = _phrases(" ".join(tokens)).split()  # "were r u": "where are you"
        reading = Reading(tokens, corrected=list(tokens))
        for position, token in enumerate(tokens):
            intent = KEYWORDS.get(token)
            day = DAY_WORDS.get(token)
            if (
                intent is None
                and day is None
                and len(token) >= 4
                and token not in COMMON
                and token not in spanish_words.COMMON
                and token not in self.name_words
            ):
                keyword, day = _misspelt(token)
                if keyword:
                    intent = KEYWORDS[keyword]
                    reading.corrected[position] = keyword  # "execises": "exercises"
            if intent:
                reading.add(intent, position)
            if day is not None and day not in reading.days:
                reading.days.append(day)
                reading.add("day", position)
            if token in PART_OF_DAY:
                reading.parts_of_day.append(token)
        if (
            "location" in reading.intents
            and WHERE_NOT_PLACE.search(" ".join(tokens))
            and not any(KEYWORDS.get(t) == "location" for t in tokens if t != "where")
        ):
            reading.intents.pop("location")
        for hit in self.exercise_index.find(tokens):
            if hit.key not in reading.exercises:
                reading.exercises.append(hit.key)  # type: ignore[arg-type]
                reading.add("exercise", hit.start)
            reading.exercise_words = max(reading.exercise_words, hit.size)
            reading.exercise_at.update(range(hit.start, hit.start + hit.size))
        hits = self.plan_index.find(tokens)
        for hit in joined_plans(hits, tokens):
            if isinstance(hit.key, str):
                name = " ".join(tokens[hit.start : hit.start + hit.size])
                reading.other_plans.append(name)
            elif hit.key not in reading.plans:
                reading.plans.append(hit.key)  # type: ignore[arg-type]
            reading.add("insurance", hit.start)
        for hit in self.area_index.find(tokens):
            if all(area is not hit.key for area, _ in reading.areas):
                reading.areas.append((hit.key, hit.size))  # type: ignore[arg-type]
                reading.add("area", hit.start)
            reading.area_at.update(range(hit.start, hit.start + hit.size))
        describing = DESCRIBING.search(" ".join(tokens))
        if describing and reading.exercises:  # "the hamstring one": the exercise, not an area
            reading.intents.pop("area", None)
            reading.areas.clear()
        if not reading.exercises and describing:
            described = self.described.find(tokens)
            if described is not None:  # "the one on all fours where you arch your back"
                reading.exercises.append(described)
                reading.intents = {"exercise": 0}  # its words name no area, plan or place
                reading.areas.clear()
        return reading

    def _flags(self, normalized: str) -> tuple[str, str] | None:
        """The red flag a text names (its key in the catalogue, "crisis" for thoughts of
        self-harm) and the language it is named in."""
        # Exercise names are read as one word here: "knee to chest hurts" is not chest pain.
        joined = self.exercise_names.sub(lambda m: m.group(0).replace(" ", ""), normalized)
        spelled = spell_red_flags(joined)
        text = NEGATED_RED_FLAGS.sub(" ", spelled)  # "no chest pain, just..."
        for pattern, what, unless in EMERGENCY_PATTERNS:
            if not pattern.search(text) or any(
                self.about_exercise(text) if cancel == DURING_EXERCISE else cancel.search(text)
                for cancel in unless
            ):
                continue
            return ("crisis" if what == SELF_HARM else what), "en"
        flag = self.spanish_flag(normalized)
        if flag:
            return flag, "es"
        # The clinical red flags as concepts, in either language, on the words as typed
        # ("accidente" is no slip of "accident") and then as mended.
        return red_flag(joined) or (red_flag(spelled) if spelled is not joined else None)

    def about_exercise(self, text: str) -> bool:
        """The text speaks of doing an exercise (one by name, or exercising at all)."""
        if PAIN_WITH_ACTIVITY.search(text) or re.search(r"\bdoing\b", text):
            return True
        return bool(self.exercise_index.find(text.split()))

    def exercise_pain(self, normalized: str, reading: Reading) -> bool:
        """Pain during or after an exercise: stop it and call the clinic."""
        if not EXERCISE_PAIN.search(NO_PAIN.sub("", normalized)):
            return False
        if not reading.exercises and (
            ASKS_WHAT_HELPS & set(reading.tokens) or ASKS_FOR_EXERCISES.search(normalized)
        ):
            return False  # "what exercises help when I have pain": a question, not a report
        about_exercise = bool(reading.exercises) or bool(PAIN_WITH_ACTIVITY.search(normalized))
        return about_exercise and bool(DURING.search(normalized) or reading.exercises)

    def spanish_flag(self, normalized: str) -> str | None:
        """The red flag a text names in Spanish: its key in the catalogue, or "crisis"."""
        normalized = SPANISH_NEGATED.sub(" ", normalized)  # "no tengo fiebre"
        for pattern, what in SPANISH_EMERGENCY:
            if pattern.search(normalized):
                return what
        return None

    def is_spanish(self, tokens: list[str], english: frozenset[str]) -> bool:
        """More Spanish words than English ones: "hola, do you take aetna?" is English.
        When the clinic's words do not tell ("toman united healthcare", "a que numero
        llamo"), the language detector (lingua, English or Spanish) reads the rest."""
        spanish = sum(t in MARKERS or t in self.spanish_names for t in tokens)
        # The names of plans, areas and exercises are no language ("aceptan aetna better
        # health" is Spanish).
        names = self.name_words
        english_count = sum(t in english and t not in names for t in tokens)
        if spanish != english_count or len(tokens) > UNDECIDED_WORDS:
            return spanish > english_count
        rest = [t for t in tokens if t not in names]
        return len(rest) >= 2 and detected_language(" ".join(rest)) == "es"

    def unknown_plan(self, tokens: list[str]) -> str | None:
        """The plan a patient named that is on neither list ("do you take Zorba Health")."""
        text = " ".join(tokens)
        insurance_words = {"insurance", "plan", "plans", "coverage", "covered", "network"}
        asks_about_insurance = bool(insurance_words & set(tokens))
        # "do you do massage", "i have a question": loose verbs name a plan only beside
        # an insurance word ("do you do my insurance, Zorba Health").
        verbs = r"take|accept|accepting|covered by|in network with"
        if asks_about_insurance:
            verbs += r"|cover|work with|bill|do you do|have|with"
        match = re.search(rf"\b(?:{verbs})\s+(.+)$", text)
        if not match:
            match = re.search(r"^(?:is|does)\s+(.+?)\s+(?:accepted|covered|ok|in network)\b", text)
        if not match:
            return None
        words = [
            w
            for w in match.group(1).split()
            if w not in PLAN_FILLER and w not in KEYWORDS and w not in COMMON
        ][:3]
        name = " ".join(words)
        if not name or name in NOT_PLANS or any(w in NOT_PLANS for w in words):
            return None
        # Without an insurance word, "do you take X" names a plan only when X is short,
        # and only when the clinic is asked ("I take deep breaths" names no plan).
        if not asks_about_insurance and (len(words) > 2 or not ASKS_CLINIC & set(tokens)):
            return None
        return plan_title(name)


def asks_what_helps(tokens: list[str]) -> bool:
    words = set(tokens)
    return bool(
        words & {"help", "helps", "good", "best", "for", "tight", "stiff", "strengthen", "which"}
    )


def asks_now(tokens: list[str]) -> bool:
    return "now" in tokens or "still" in tokens


# A clock time asked about: "1pm", "10 am", "3 30pm", "noon", or "at 2" (1 to 7 read as
# afternoon, 8 to 11 as morning: the hours a clinic keeps).
CLOCK_TIME = re.compile(r"\b(?:(\d{1,2})(?: (\d{2}))? ?(am|pm)|at (\d{1,2})(?: (\d{2}))?|(noon))\b")


# In Spanish: "a las 3", "a la 1", "a las 3 de la tarde", "mediodía" read as "at 3",
# "at 1", "at 3pm", "noon"; a number only with "a las" before or "de la tarde" after it.
SPANISH_CLOCK_TIME = re.compile(
    r"\b(?:(a (?:las|la)) )?(\d{1,2})(?: (\d{2}))?(?: de la (tarde|noche|manana))?\b"
    r"(?(1)|(?(4)|(?!)))|\bmediodia\b"
)
SPANISH_HALF = {"tarde": "pm", "noche": "pm", "manana": "am"}


def _spanish_time(match: re.Match) -> str:
    if match.group(2) is None:
        return "noon"
    minutes = f" {match.group(3)}" if match.group(3) else ""
    half = SPANISH_HALF.get(match.group(4) or "", "")
    return f"{'at ' if match.group(1) else ''}{match.group(2)}{minutes}{half}"


def times_asked(text: str) -> list[dt.time]:
    if "a la" in text or " de la " in text or "mediodia" in text:
        text = SPANISH_CLOCK_TIME.sub(_spanish_time, text)
    times = []
    for match in CLOCK_TIME.finditer(text):
        if match.group(6):
            times.append(dt.time(12))
            continue
        hour = int(match.group(1) or match.group(4))
        minute = int(match.group(2) or match.group(5) or 0)
        suffix = match.group(3)
        if hour > 12 or minute > 59 or (suffix and hour == 0):
            continue
        if suffix == "pm" and hour != 12:
            hour += 12
        elif suffix == "am" and hour == 12:
            hour = 0
        elif not suffix and 1 <= hour <= 7:
            hour += 12
        times.append(dt.time(hour, minute))
    return times


def _phrases(normalized: str) -> str:
    """Phrases read as one word ("walk ins": "walkin"); twice, for a phrase made of one
    ("is this back and spine clinic": "is this clinic": "menu")."""
    for _ in range(2):
        replaced = PHRASE_PATTERN.sub(lambda m: PHRASES[m.group(0)], normalized)
        if replaced == normalized:
            break
        normalized = replaced
    return normalized
