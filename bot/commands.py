"""What an enrolled patient can text back to the reminders, read from the text alone.

``DONE`` (and "done!", "did it", "finished", "all done", "listo", "hecho", a thumbs-up or a
check mark), with an optional pain score ("DONE 3", "done, pain 6/10"); "later"; a new
time ("7pm", "remind me at 7:30"); "pause" ("pause for a week", "pause until Monday");
"resume". Pure functions: ``bot.checkins`` carries them out against the patient's record.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bot.text import normalize

# A thumbs-up, OK hand, check marks, a flexed arm: "done" without words.
DONE_SIGNS = frozenset("\U0001f44d\U0001f44c\u2705\u2714\u2611\U0001f4aa\u2713")
DONE_WORDS = (
    "done|did it|did them|did my exercises|did my stretches|finished|all done|all finished|"
    "complete|completed|im done|i am done|done for today|done today|listo|lista|listos|hecho|"
    "terminado|terminada|termine|ya termine|ya lo hice|lo hice"
)
PAIN_WORDS = r"(?:pain|pain level|pain is|pain was|dolor|dolor de)"
# "done", "done 3", "done pain 6 10" (normalised from "done, pain 6/10"), "pain 4 done".
DONE = re.compile(
    rf"^(?:(?:{DONE_WORDS})(?: (?:{PAIN_WORDS} )?(?P<after>\d{{1,2}})(?: (?:10|out of 10|de 10))?)?"
    rf"|{PAIN_WORDS} (?P<before>\d{{1,2}})(?: (?:10|out of 10|de 10))? (?:{DONE_WORDS}))$"
)
POLITE = frozenset("thanks thank you thx ty ok okay gracias yay yes si".split())

LATER = re.compile(
    r"^(?:later|remind me later|later please|text me later|not now later|"
    r"in an hour|remind me in an hour|mas tarde|recuerdame mas tarde|luego)$"
)
RESUME = re.compile(
    r"^(?:resume|restart|resume reminders|restart reminders|start reminders again|"
    r"unpause|reanudar|continuar)$"
)
PAUSE = re.compile(
    r"^(?:pause|pausa|pausar)(?: (?:my )?reminders?| (?:los )?recordatorios)?"
    r"(?: (?P<how>for (?:a|one|1) week|for (?:two|2) weeks|for (?P<days>\d{1,2}) days?|"
    r"for a few days|until (?P<until>\w+)|hasta (?:el )?(?P<hasta>\w+)|por una semana))?$"
)
TIME = re.compile(
    r"^(?:(?:please )?(?:remind me|text me|send (?:it|them|my reminder)|change (?:my )?"
    r"(?:reminder|time|reminder time) to|move (?:it|my reminder) to|"
    r"recuerdame|a las)(?: at| a las)? )?"
    r"(?P<hour>\d{1,2})(?::? ?(?P<minute>[0-5]\d))? ?(?P<half>am|pm|a m|p m)?"
    r"(?: (?:please|instead|each day|every day|daily))?$"
)
WEEKDAYS = {
    "monday": 0, "mon": 0, "lunes": 0, "tuesday": 1, "tue": 1, "martes": 1,
    "wednesday": 2, "wed": 2, "miercoles": 2, "thursday": 3, "thu": 3, "jueves": 3,
    "friday": 4, "fri": 4, "viernes": 4, "saturday": 5, "sat": 5, "sabado": 5,
    "sunday": 6, "sun": 6, "domingo": 6,
}  # fmt: skip
DEFAULT_PAUSE_DAYS = 7
MAX_PAUSE_DAYS = 90


@dataclass(frozen=True)
class Done:
    pain: int | None = None  # 0-10 when given


@dataclass(frozen=True)
class Later:
    pass


@dataclass(frozen=True)
class NewTime:
    time: dt.time


@dataclass(frozen=True)
class Pause:
    days: int | None = None  # how long; None with ``weekday``: until that day
    weekday: int | None = None


@dataclass(frozen=True)
class Resume:
    pass


Command = Done | Later | NewTime | Pause | Resume


def read_command(body: str) -> Command | None:
    """The command a text is, or None (then it is a question for the reply logic)."""
    stripped = body.strip()
    if stripped and all(ch in DONE_SIGNS or ch.isspace() or ch == "\ufe0f" for ch in stripped):
        return Done()
    if len(stripped) > 60:
        return None
    text = normalize(stripped.replace("/", " "))
    words = [w for w in text.split() if w not in POLITE] or text.split()
    text = " ".join(words)
    if not text:
        return None
    done = DONE.fullmatch(text)
    if done:
        score = done.group("after") or done.group("before")
        if score is None:
            return Done()
        return Done(int(score)) if int(score) <= 10 else None
    if LATER.fullmatch(text):
        return Later()
    if RESUME.fullmatch(text):
        return Resume()
    pause = PAUSE.fullmatch(text)
    if pause:
        return _pause(pause)
    when = TIME.fullmatch(text)
    if when and (when.group("half") or when.group("minute") or text != when.group("hour")):
        return _time(when)
    return None


def _pause(match: re.Match) -> Pause | None:
    how = match.group("how") or ""
    if match.group("days"):
        return Pause(days=min(int(match.group("days")), MAX_PAUSE_DAYS))
    if "two" in how or "2" in how:
        return Pause(days=14)
    if "few" in how:
        return Pause(days=3)
    day = match.group("until") or match.group("hasta")
    if day:
        return Pause(weekday=WEEKDAYS[day]) if day in WEEKDAYS else None
    return Pause(days=DEFAULT_PAUSE_DAYS)


def _time(match: re.Match) -> NewTime | None:
    hour, minute = int(match.group("hour")), int(match.group("minute") or 0)
    half = (match.group("half") or "").replace(" ", "")
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    elif hour <= 7:
        hour += 12  # "remind me at 7": 7 PM (7 in the morning is in quiet hours anyway)
    if hour > 23:
        return None
    return NewTime(dt.time(hour, minute))


def resume_date(pause: Pause, today: dt.date) -> dt.date:
    """The local date reminders start again."""
    if pause.weekday is not None:
        ahead = (pause.weekday - today.weekday()) % 7 or 7
        return today + dt.timedelta(days=ahead)
    return today + dt.timedelta(days=pause.days or DEFAULT_PAUSE_DAYS)


# ESPAÑOL and ENGLISH (alone, or "en español", "in English please"): the language the
# number is answered in from now on.
LANGUAGES = {
    "espanol": "es", "en espanol": "es", "spanish": "es", "in spanish": "es",
    "english": "en", "ingles": "en", "en ingles": "en", "in english": "en",
}  # fmt: skip


def read_language(body: str) -> str | None:
    """The language a text asks to be answered in from now on, or None."""
    if len(body) > 40:
        return None
    words = [w for w in normalize(body).split() if w not in POLITE and w not in ASKING]
    return LANGUAGES.get(" ".join(words))


ASKING = frozenset("please pls plz por favor".split())
