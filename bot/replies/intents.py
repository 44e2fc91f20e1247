"""Deciding what a text asks for, from its reading: which questions (hours, the address,
an exercise, a body area, insurance...) and in which order, when several words could mean
several things ("back" in "call me back" is not a body area). What is said is written in
``bot.replies.writing``.
"""

from __future__ import annotations

from collections.abc import Callable

from rapidfuzz import fuzz, process

from bot.content.messages import SECOND_CHANCE
from bot.replies.reading import Reading, asks_what_helps
from bot.replies.safety import DOSAGE_CONTEXT
from bot.replies.words import OTHER_BODY_PARTS, SMALL_TALK, YES_NO_SMALLTALK

MAX_ANSWERS = 3  # questions answered in one reply
# How close (rapidfuzz's token set ratio, 0-100) a text the rules do not read must come to
# an answer's example to get that answer: chosen on held-out phrasings as the threshold
# with the most right answers and no wrong one (tests/test_second_chance.py shows it).
SECOND_CHANCE_THRESHOLD = 80.0


class SecondChance:
    """Before "Sorry, I did not understand": the answer whose example questions (in the
    content's catalogue) the text comes closest to, when close enough. Its answers are
    only ``SECOND_CHANCE``'s: never an emergency, an insurance "yes" or an opt-out."""

    def __init__(self, examples: dict[str, tuple[str, ...]], threshold=SECOND_CHANCE_THRESHOLD):
        pairs = [(text, SECOND_CHANCE[key]) for key, texts in examples.items() for text in texts]
        self.examples = [text for text, _ in pairs]
        self.intents = [intent for _, intent in pairs]
        self.threshold = threshold

    def __call__(self, normalized: str) -> str | None:
        found = process.extractOne(
            normalized, self.examples, scorer=fuzz.token_set_ratio, score_cutoff=self.threshold
        )
        return self.intents[found[2]] if found else None


def decide(
    reading: Reading,
    normalized: str,
    unknown_plan: Callable[[list[str]], object],
    second_chance: Callable[[str], str | None] = lambda _: None,
) -> list[str]:
    """The questions a text asks, in the order asked (at most ``MAX_ANSWERS``: every one a
    reply to pay for), or ["thanks"] or ["unknown"]. ``reading`` is changed to match (an
    exercise a body area was meant by is dropped)."""
    intents = dict(reading.intents)
    strong = {"hours", "location", "phone", "insurance", "exercise", "appointment"}
    # An exercise named apart from the body area asks for that exercise ("the doctor
    # gave me stretches for my lower back, how do I do the knee to chest?"). An area
    # named with an exercise's own name ("hamstring") asks for that exercise, unless
    # the text asks what helps ("tight hamstrings", "stretches for my hips").
    if "area" in intents and reading.exercises and not reading.exercise_at & reading.area_at:
        intents.pop("area")
    if "area" in intents and reading.exercises:
        longest_area = max(size for _, size in reading.areas)
        helps = "pain" in intents or asks_what_helps(reading.tokens)
        if helps or longest_area > reading.exercise_words:
            intents.pop("exercise")
            reading.exercises.clear()
        else:
            intents.pop("area")
    if "area" in intents:
        intents.pop("list", None)
        intents.pop("pain", None)
    if "media" in intents:  # "videos of the exercises?": its answer says what to text
        intents.pop("list", None)
    if "area" in intents and strong & set(intents):
        intents.pop("area")  # "back" in "call me back" is not a body area
    # Days and parts of the day are about hours only when nothing else is asked ("my
    # back hurts now" is not "open now?").
    if "day" in intents:
        if not set(intents) - {"day", "greeting", "thanks", "spanish"}:
            intents["hours"] = intents["day"]
        intents.pop("day")
    if "spanish" in intents and len(intents) > 1 and "greeting" in intents:
        intents.pop("greeting")
    if "list" in intents and "exercise" in intents:
        intents.pop("list")
    if "cost" in intents:
        intents.pop("appointment", None)  # "how much is a visit": the price answers it
        if not reading.plans and not reading.other_plans:
            intents.pop("insurance", None)
    if (
        "dosage" in intents
        and not {"reps", "rep", "repetitions"} & set(reading.tokens)
        and not DOSAGE_CONTEXT & set(reading.tokens)
    ):
        intents.pop("dosage")  # "how long is the drive" is not about the exercises
    if "dosage" in intents and ({"exercise", "appointment"} & set(intents)):
        intents.pop("dosage")  # an exercise's steps say how long and how often
    if "dosage" in intents:
        intents.pop("list", None)
    if "enroll" in intents:
        intents.pop("reminders", None)  # "how do I sign up for reminders?"
    if "ask_clinic" in intents:
        reading.exercises.clear()  # "is the pelvic tilt safe if I'm pregnant?"
        for general in ("area", "list", "pain", "exercise"):
            intents.pop(general, None)  # ask the provider first, not a list to try
    other = [t for t in reading.tokens if t in OTHER_BODY_PARTS]
    if (
        other
        and {"pain", "list"} & set(intents)
        and not reading.exercises
        and "area" not in intents
    ):
        for general in ("list", "pain"):
            intents.pop(general, None)
        intents["other_body"] = reading.tokens.index(other[0])
        reading.other_body = other[0]
    if "pain" in intents:
        intents.pop("pain")
        if not set(intents) - SMALL_TALK:  # "hi, I have a herniated disc"
            intents = {"pain_general": 0}
    if set(intents) - SMALL_TALK:
        for small in SMALL_TALK:
            intents.pop(small, None)
    elif len(intents) > 1:
        intents.pop("thanks")  # "hi, thanks": the menu
    if (
        "phone" in intents
        and len(intents) > 1
        and {"hours", "location", "insurance"} & set(intents)
    ):
        intents.pop("phone")  # every one of those answers already gives the phone
    if not intents:
        if normalized in YES_NO_SMALLTALK:
            return ["thanks"]
        if unknown_plan(reading.tokens):
            intents["insurance"] = 0
        else:
            guess = second_chance(normalized)
            return [guess] if guess else ["unknown"]

    return sorted(intents, key=intents.__getitem__)[:MAX_ANSWERS]
