"""A patient asking about their own program: their reminder ("what time is my reminder",
"sigue pausado?"), their routine or one exercise of it by its place ("what was exercise 2
again", "the last one", "el segundo"), their week ("whats my streak", "cuantos dias
llevo"). Read from the text alone (pure); the answer reads the patient's record
(``bot.inbound``), and a number not enrolled gets the general answer.
"""

from __future__ import annotations

import re

from bot.text import WordIndex

MY_REMINDER = re.compile(
    r"\b(my|mi|mis) (\w+ )?(reminders?|recordatorios?|texts?|msgs?|mensajes?|alerts?)\b|"
    r"\bstill (sending|getting|texting)\b|\bllega\w* (los |el |mis |mi )?(recordatorio|mensaje)|"
    r"\bnext (reminder|text)\b|\bwhen (is|does|do|will) (my|the|i get) (next )?"
    r"(reminder|text)|\b(reminders?|texts?) (still )?(on|off|paused|coming|active)\b|"
    r"\b(a )?que hora (me )?(llega|llegan|mandan|manda|envian|envia|sale)\b|"
    r"\b(sigue|siguen|esta|estan|estoy) (en )?(pausad[oa]s?|pausa|activ[oa]s?)\b|"
    r"\bwhat time (do|does|will) (i|you|it|they|my)\b.*\b(text|remind|send|get)\w*|"
    r"\bproximo recordatorio\b|\bcuando me (llega|mandan|manda|envian|escriben)\b"
)
MY_WEEK = re.compile(
    r"\bstreak\b|\bracha\b|\bhow (am i|m i|im|i am) doing\b|\bhow (have|did) i (been )?do\w*\b|"
    r"\bhow many (days|times)\b|\bmy (progress|week|stats|score|pain score|last pain)\b|"
    r"\blast pain\b|\bdays (in a row|done|this week)\b|\bcuantos dias\b|\bcuantas veces\b.*\b"
    r"(hice|he hecho|mande|llevo)\b|\bcomo (voy|me va|vamos)\b|\b(mi )?ultimo dolor\b|"
    r"\bmi progreso\b|\bdias seguidos\b|\bdid i (miss|skip|do)\b|\bmy pain\b|\bon track\b|"
    r"\bsummary\b|\bresumen\b|\bmi dolor\b"
)
ORDINALS = {
    "first": 1, "1st": 1, "primero": 1, "primer": 1, "primera": 1,
    "second": 2, "2nd": 2, "segundo": 2, "segunda": 2,
    "third": 3, "3rd": 3, "tercero": 3, "tercer": 3, "tercera": 3,
    "fourth": 4, "4th": 4, "cuarto": 4, "cuarta": 4,
    "fifth": 5, "5th": 5, "quinto": 5, "quinta": 5,
    "last": "last", "ultimo": "last", "ultima": "last",
}  # fmt: skip
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "uno": 1, "dos": 2, "tres": 3,
           "cuatro": 4, "cinco": 5}  # fmt: skip
POSITION = re.compile(
    r"\b(?:the |el |la |my |mi )?(?P<ord>" + "|".join(ORDINALS) + r")"
    r"(?:(?: (?P<count>two|2|dos|three|3|tres))?(?: (?:one|ones|exercise|exercises|stretch|"
    r"stretches|ejercicio|ejercicios|uno|estiramiento))\b|(?: (?P<count2>two|2|dos|three|3|"
    r"tres))\b|$| (?:como|cual|how|what))|(?:(?<=el )|(?<=la )|(?<=the ))(?P<ord2>"
    + "|".join(ORDINALS)
    + r")\b(?= |$)|"
    r"\b(?:exercise|ex|stretch|number|numero|num|ejercicio|estiramiento) ?(?:#|numero )?"
    r"(?P<n>[1-9]|one|two|three|four|five|uno|dos|tres|cuatro|cinco)\b"
)
PLACES = re.compile(r"\b(?:el|la|the|and|y) ([1-9])\b(?! de )")  # "explicame el 1 y el 3"
MY_ROUTINE = re.compile(
    r"\b(my|mi|mis) (routine|exercises|stretches|workout|rutina|ejercicios|estiramientos)\b|"
    r"\bsupposed to do\b|\btodays? (routine|exercises|stretches)\b|"
    r"\bwhat (exercises|stretches) do i do\b|\b(que|cuales) (ejercicios|estiramientos) "
    r"(me toca|me tocan|tengo que|debo)\b"
)


def own_program(normalized: str) -> tuple[str, tuple] | None:
    """What a text asks about the patient's own program: ("reminder", ()), ("week", ()),
    ("routine", positions) where positions are 1-based places or "last" (none: the whole
    routine), or None."""
    if not WORDS.found(normalized.split()):
        return None  # most texts: no word any of these could begin with
    if MY_WEEK.search(normalized):
        return "week", ()
    places = [int(m.group(1)) for m in PLACES.finditer(normalized)]
    if len(places) > 1 or (places and re.search(r"\b(how|como|explain|explica\w*)\b", normalized)):
        return "routine", tuple(places)  # "explicame el 1 y el 3", "how do i do 1 and 2"
    firsts = re.search(r"\b(?:los|las|the) (dos|tres|2|3|two|three) primer[oa]s\b", normalized)
    if firsts:
        count = firsts.group(1)
        return "routine", tuple(range(1, (int(count) if count.isdigit() else NUMBERS[count]) + 1))
    found = POSITION.search(normalized)
    if found is None and MY_REMINDER.search(normalized):
        return "reminder", ()
    if found:
        if found.group("n"):
            n = found.group("n")
            return "routine", (int(n) if n.isdigit() else NUMBERS[n],)
        first = ORDINALS[found.group("ord") or found.group("ord2")]
        count = found.group("count") or found.group("count2")
        if count and first == 1:  # "the first two"
            total = int(count) if count.isdigit() else NUMBERS[count]
            return "routine", tuple(range(1, total + 1))
        return "routine", (first,)
    if MY_ROUTINE.search(normalized):
        return "routine", ()
    return None


# --- the answers, from the patient's record ---------------------------------------------------


WORDS = WordIndex(
    {"program": [p.pattern for p in (MY_REMINDER, MY_WEEK, POSITION, PLACES, MY_ROUTINE)]
     + [r"(los|las|the) (dos|tres|2|3|two|three) primer[oa]s"]}
)  # fmt: skip


def routine_answer(writer, routine: list[str], positions: tuple, language: str) -> str | None:
    """The patient's exercises, numbered as in their reminder, or the steps of the one
    asked for by its place; None when the routine names no exercise."""
    by_id = {e.id: e for e in writer.content.exercises}
    exercises = [by_id[x] for x in routine if x in by_id]
    if not exercises:
        return None
    places = [len(exercises) if p == "last" else p for p in positions]
    if any(not 1 <= p <= len(exercises) for p in places):
        places = []  # "exercise 5" of four: the whole routine
    if len(places) == 1:
        return writer.exercise_text(exercises[places[0] - 1], language)
    if not places:  # the whole routine, in the reminder's order
        return writer.routine_text([e.id for e in exercises], language)
    numbered = ", ".join(
        f"{i} {e.in_language(language).name}" for i, e in enumerate(exercises, 1) if i in places
    )
    return writer.say("my_routine_some", language, routine=numbered)


def reminder_answer(writer, time: str, paused: bool, until: str | None, pain_paused: bool,
                    language: str) -> str:  # fmt: skip
    """When the reminder comes, or why and until when it does not; how to change it."""
    if paused and pain_paused:
        return writer.say("my_reminder_pain", language)  # only staff lift it: no RESUME
    if paused and until is None:
        return writer.say("my_reminder_held", language)
    if paused:
        return writer.say("my_reminder_paused", language, time=time, date=until)
    return writer.say("my_reminder", language, time=time)


def week_answer(writer, done: int, streak: int, pain: int | None, language: str) -> str:
    """Days done of the last 7, the streak when worth saying, the last pain score."""
    parts = [writer.say("my_week", language, count=done)]
    if streak >= 2:
        parts.append(writer.say("my_week_streak", language, days=streak))
    if pain is not None:
        parts.append(writer.say("my_week_pain", language, pain=pain))
    return " ".join(parts)
