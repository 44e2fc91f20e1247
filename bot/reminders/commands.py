"""What an enrolled patient can text back to the reminders, read inside a sentence.

DONE (with a pain score if given: "did them all, pain about five", "listo, dolor 2"), later
("can you ping me again in an hour"), a new daily time ("could you make it 6:30 tonight
instead?", "mejor a las 7 y media"), a pause with how long or until when ("I'm away until
the 15th, please hold them", "por dos semanas no me manden") and resume ("I'm back, send
them again"), in English and Spanish. A command is read from its cue words anywhere in the
text (``patient_commands.yaml``) and its slots: numbers in words become digits (``text2num``), the
dates and durations of a pause are read by ``dateparser`` against the patient's own today
(``resume_date``), a time of day by the small grammar below (dateparser reads "6:30 tonight"
as 6:30 AM and neither "half past five" nor "a las 7 de la tarde").

Pure functions: ``bot.reminders.checkins`` carries them out against the patient's record.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from text_to_num import alpha2digit

from bot.sms.questions import asks
from bot.text import WordIndex, normalize

WORDS = yaml.safe_load(Path(__file__).with_name("commands.yaml").read_text(encoding="utf-8"))


def _cues(name: str) -> re.Pattern:
    """One pattern of a cue list's phrases, each as whole words."""
    phrases = sorted(WORDS[name], key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(phrases) + r")\b")


# A thumbs-up, OK hand, check marks, a flexed arm: "done" without words.
DONE_SIGNS = frozenset("\U0001f44d\U0001f44c\u2705\u2714\u2611\U0001f4aa\u2713\U0001f64c")
DONE = _cues("done")
NOT_DONE = _cues("not_done")
PAIN = _cues("pain")
NO_PAIN = _cues("no_pain")
LATER = _cues("later")
RESUME = _cues("resume")
RESUME_FIRST = _cues("resume_first")  # "quiten la pausa": a resume that names the pause
LATER_FIRST = _cues("later_first")  # "in an hour", "en media hora": later whatever else
PAUSE = _cues("pause")
CHANGE = _cues("change")
AWAY = _cues("away")
# Whether a text may hold a command at all: a cue word of any, or a number.
# Whether a text may hold a command at all: a cue word of one (a new time's words need a
# time, so its number is the cue), or a number.
ANY_CUE = WordIndex({"cue":
    [r"\d", *(p for key in ("done", "later", "later_first", "resume", "resume_first", "pause",
                            "away") for p in WORDS[key]),
     "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|noon|midday|uno|una|dos|"
     "tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|mediodia|medio|ya|half|quarter"]
})  # fmt: skip
# A text that only acknowledges ("ok thanks") around a command.
POLITE = frozenset(WORDS["polite"].split())
DEFAULT_PAUSE_DAYS = 7
MAX_PAUSE_DAYS = 90
MAX_COMMAND_CHARS = 240  # longer texts are letters, not replies to a reminder

WEEKDAYS = {
    "monday": 0, "mon": 0, "lunes": 0, "tuesday": 1, "tue": 1, "tues": 1, "martes": 1,
    "wednesday": 2, "wed": 2, "miercoles": 2, "thursday": 3, "thu": 3, "thurs": 3, "jueves": 3,
    "friday": 4, "fri": 4, "viernes": 4, "saturday": 5, "sat": 5, "sabado": 5,
    "sunday": 6, "sun": 6, "domingo": 6,
}  # fmt: skip
MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|"
    "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|"
    "noviembre|diciembre"
)

MONTH_NUMBERS = {
    name: i % 12 + 1
    for i, name in enumerate(
        "january february march april may june july august september october november "
        "december enero febrero marzo abril mayo junio julio agosto septiembre octubre "
        "noviembre diciembre".split()
    )
}


@dataclass(frozen=True)
class Done:
    pain: int | None = None  # 0-10 when given


@dataclass(frozen=True)
class Later:
    pass


@dataclass(frozen=True)
class NewTime:
    time: dt.time | None = None
    shift: int = 0  # minutes later (earlier when negative) than the present daily time


@dataclass(frozen=True)
class Pause:
    days: int | None = None  # how long; None with ``weekday`` or ``date``: until then
    weekday: int | None = None
    date: str | None = None  # a date in words ("the 15th", "20 de marzo", "next week")
    after: bool = False  # "through Sunday": back the day after ``weekday`` or ``date``


@dataclass(frozen=True)
class Resume:
    pass


Command = Done | Later | NewTime | Pause | Resume


# Words the number readers would misread: "cuarto" is also "fourth", "una" also "one".
SPOKEN_TIMES = (
    (re.compile(r"\by cuarto\b"), "y 15"), (re.compile(r"\by media\b"), "y 30"),
    (re.compile(r"\bmenos cuarto\b"), "menos 15"), (re.compile(r"\ba la una\b"), "a las 1"),
    (re.compile(r"\bhalf (?=\d{1,2}\b(?! (?:hours?|days?|weeks?)))"), "half past "),
)  # fmt: skip


UN_BEFORE_NUMBER = re.compile(
    r"\b(?:un|una|uno) (?=(?:dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|[2-9]|10)\b)"
)


def prepare(body: str) -> str:
    """The text as the command grammar reads it: lower case, no accents, numbers in words
    as digits (English and Spanish), and "6:30", "3/10" kept."""
    text = re.sub(r"#\s?(?=\d)", "number ", body)  # "#1": a place in the routine, no time
    text = re.sub(r"(?<=\d)\s?([:/.])\s?(?=\d)", lambda m: {":": " colon ", "/": " slash ",
                  ".": " colon "}[m.group(1)], text)  # fmt: skip
    text = normalize(text)
    for spoken, written in SPOKEN_TIMES[:4]:
        text = spoken.sub(written, text)
    text = UN_BEFORE_NUMBER.sub("", text)  # "en un seis": 6, not 1 and 6
    # Isolated "one", "un", "una" stay words ("un poco", "a week"); "dos" and on are digits.
    if NUMBER_WORD.search(text):
        text = alpha2digit(alpha2digit(text, "en", threshold=0), "es", threshold=2)
    text = SPOKEN_TIMES[4][0].sub(SPOKEN_TIMES[4][1], text)
    text = re.sub(
        r"\b(\d{1,2}) y ([0-5]\d|[1-9])\b", lambda m: f"{m[1]} colon {int(m[2]):02d}", text
    )
    text = re.sub(r"\b(\d{1,2}) menos 15\b", lambda m: f"{int(m[1]) - 1} colon 45", text)
    return text.replace(" colon ", ":").replace(" slash ", "/")


def read_command(body: str) -> Command | None:
    """The command a text holds, or None (then it is a question for the reply logic)."""
    stripped = body.strip()
    if stripped and all(ch in DONE_SIGNS or ch.isspace() or ch == "\ufe0f" for ch in stripped):
        return Done()
    if len(stripped) > MAX_COMMAND_CHARS:
        return None
    words = normalize(stripped).split()
    if not ANY_CUE.found(words):
        return None  # most texts: no word a command has, and no number (cheap to tell)
    text = prepare(stripped)
    if not text:
        return None
    words = text.split()
    # "are you done?", "how is the knee to chest done", "why did my texts stop": questions,
    # not a DONE.
    asking = asks(text, stripped) or words[0] in ("can", "could", "should")
    if PAUSE.match(text):  # "pause for 2 weeks, getting a procedure done"
        return read_pause(text)
    if DONE.search(text) and not NOT_DONE.search(text) and not asking:
        pain = pain_score(text)
        if pain is False:
            return None  # a score out of range ("done 45"): not guessed
        return Done(pain)
    if words[0] in PAIN_FIRST and len(words) <= 6 and DONE_AFTER.search(text):
        return Done(pain_score(text) or None)
    first = next((w for w in words if w not in POLITE), "")
    if first == "ya" and PAIN.search(text) and isinstance(pain_score(text), int):
        return Done(pain_score(text))  # "ya, dolor 1": done already, and the pain
    when = time_of_day(text)
    shift = SHIFT.search(text)
    if shift and when is None and (CHANGE.search(text) or RELATIVE_EVERY.search(text)):
        hours = {"a": 1, "an": 1, "1/2": 0.5, "half an": 0.5, "media": 0.5, "una": 1}.get(
            shift.group("n")
        )
        hours = hours if hours is not None else int(shift.group("n"))
        sign = 1 if shift.group("way") in ("later", "after", "mas tarde", "despues") else -1
        return NewTime(shift=int(sign * hours * 60))
    if RESUME_FIRST.search(text):
        return Resume()
    if LATER_FIRST.search(text) and when is None:
        return Later()
    pausing = PAUSE.search(text) or (AWAY.search(text) and names_a_date(text))
    if pausing:
        pause = read_pause(text)
        if pause == Pause(days=DEFAULT_PAUSE_DAYS) and PAUSED_STATE.search(text):
            return None  # "r my reminders paused", "esta en pausa o activado": how it stands
        return pause
    if when is not None and (CHANGE.search(text) or _only_a_time(words)):
        return NewTime(when) if when != INVALID else None
    if RESUME.search(text):
        return Resume()
    if LATER.search(text) and when is None:
        return Later()
    return None


SHIFT = re.compile(
    r"\b(?P<n>\d|an|a|1/2|half an|media|una) (?:hours?|hrs?|horas?) (?P<way>later|earlier|before|"
    r"after|mas tarde|antes|despues|mas temprano)\b"
)
HOURS_IN_WORDS = {"a": 1, "an": 1, "una": 1, "1/2": 0.5, "half an": 0.5, "media": 0.5}
RELATIVE_EVERY = re.compile(r"\b(every day|from now on|todos los dias|de ahora en adelante)\b")
PAIN_FIRST = frozenset({"pain", "dolor"})
DONE_AFTER = re.compile(r"\b(done|listo|lista|hecho|terminado)$")


def pain_score(text: str) -> int | None | bool:
    """The pain score a DONE text gives: 0-10, None when it gives none, False when the only
    number is out of range ("done 45")."""
    if NO_PAIN.search(text):
        return 0
    text = re.sub(r"\b(uno|una|one)\b(?= ?$|\W)", "1", text) if PAIN.search(text) else text
    scored = re.search(r"\b(\d{1,2}) ?(?:/|out of|of|de|sobre) ?10\b", text)
    if scored:
        score = int(scored.group(1))
        return score if score <= 10 else False
    went = re.search(r"\b(?:from|de) \d{1,2} (?:to|a) (\d{1,2})\b", text)  # "from 6 to 3"
    if went:
        return int(went.group(1)) if int(went.group(1)) <= 10 else False
    numbers = [
        (m.start(), int(m.group()))
        for m in re.finditer(r"(?<![:\d])\b\d{1,3}\b(?!:| ?(?:am|pm|a m|p m)\b)", text)
    ]
    if not numbers:
        return None
    after = [m.end() for m in PAIN.finditer(text)]
    if after:  # the number nearest a word of pain, after it rather than before
        _, score = min(numbers, key=lambda n: min(n[0] - a if n[0] >= a else 20 + a - n[0]
                                                 for a in after))  # fmt: skip
    elif len(numbers) == 1 and (re.fullmatch(r"\D*\b\d{1,3}\b\W*", text) or ABOUT.search(text)):
        score = numbers[0][1]  # "done 3", "done, about a 5 today"
    else:
        return None
    return score if score <= 10 else False


ABOUT = re.compile(
    r"\b(about|around|like|maybe|probably|como|tipo|mas o menos)( a| an| un| en)? \d"
)


# --- a time of day ------------------------------------------------------------------------

INVALID = dt.time(23, 59, 59, 999999)  # a time was written, but none a clock has ("13pm")
EVENING = re.compile(
    r"\b(pm|p m|tonight|evening|evenings|afternoon|at night|in the night|de la tarde|"
    r"de la noche|por la tarde|por la noche|en la tarde|en la noche|esta noche|esta tarde)\b"
)
MORNING = re.compile(r"\b(am|a m|morning|mornings|de la manana|por la manana|en la manana)\b")
CLOCK = re.compile(
    r"(?:\b(?P<half>half past|1/2 past|quarter past|quarter to|quarter till) (?P<h1>\d{1,2})\b)|"
    r"(?:\b(?P<h2>\d{1,2})(?::(?P<m2>[0-5]\d)| (?P<m3>[0-5]\d)(?= ?(?:am|pm|a m|p m)\b)|"
    r" (?P<m4>[0-5]\d)(?= (?:de la|por la|tonight|instead|please))"
    r")?(?: ?(?P<ampm>am|pm|a m|p m)\b)?)"
)
TIME_CONTEXT = re.compile(
    r"\b(at|a las|a la|around|about|like|by|las|to|for|make it|instead|tonight|pm|am|tipo|"
    r"in the (?:morning|evening|afternoon)|at night|morning|evening|tarde|noche|manana|"
    r"p m|a m|o clock|oclock|en punto|de la tarde|de la noche|de la manana|mejor)\b"
)
# Of several times, the one asked for: "better at 7:15" rather than "at 6 I'm driving",
# "7 in the evening? I walk the dog at 6" rather than the dog's.
WANTED_BEFORE = re.compile(
    r"\b(to|mejor|better|prefer\w*|change\w*|cambi\w*|make it|rather|instead|seria|quiero|"
    r"me gustaria|can it be|could it be|maybe|tipo|como a)\b[^0-9]*$"
)
EXERCISE_BEFORE = re.compile(
    r"\b(exercises?|excercises?|ejercicios?|stretch|estiramiento|number|numero|num|ex) ?$"
)
UNWANTED_BEFORE = re.compile(r"\b(en vez de|en lugar de|instead of|not|no|wake up|walk)\b[^0-9]*$")
UNWANTED_AFTER = re.compile(
    r" ?(?:am|pm|a m|p m)?\s*(?:\w+ )?(no (?:puedo|me funciona\w*|sirve)|doesnt|does not|dont|"
    r"is (?:dinner|bad|too)|estoy|tengo|i (?:am|m) |im |isnt|wont|is when)"
)
NOON = re.compile(r"\b(noon|midday|mediodia|medio dia)\b")


def time_of_day(text: str) -> dt.time | None:
    """The time of day a text names ("7pm", "6:30 tonight", "half past five in the evening",
    "a las 7 y media de la tarde"), or None; ``INVALID`` for "13pm". Of several, the last
    ("at 6 I'm driving, better 7:15 pm")."""
    times = list(_times(text))
    if times:
        best = max(times, key=lambda t: (t[1], t[2]))
        return best[0] if best[1] >= 0 else None
    if NOON.search(text):
        return dt.time(12)
    return None


def _times(text: str):
    for match in CLOCK.finditer(text):
        hour_text = match.group("h1") or match.group("h2")
        if hour_text is None:
            continue
        start, end = match.span()
        before = text[max(0, start - 14) : start]
        if EXERCISE_BEFORE.search(before):
            continue  # "the steps of exercise one": a place in the routine
        after = text[end : end + 16]
        explicit = match.group("ampm") or match.group("m2") or match.group("half")
        explicit = explicit or match.group("m3") or match.group("m4")
        if not explicit and not (TIME_CONTEXT.search(before) or TIME_CONTEXT.search(after)):
            continue  # a number that is no time ("for 3 days", "pain 4")
        if re.match(r" ?(day|days|week|weeks|dia|dias|semana|semanas|min|minutes|hour|hours|"
                    r"hora|horas|th|st|nd|rd|de (?:" + MONTHS + r"))\b", after):  # fmt: skip
            continue
        wanted = WANTED_BEFORE.search(text[max(0, start - 24) : start])
        unwanted = UNWANTED_BEFORE.search(text[max(0, start - 24) : start]) or (
            UNWANTED_AFTER.match(text[end : end + 30])
        )
        weight = -1 if unwanted else (1 if wanted else 0)
        yield _clock(match, int(hour_text), text[max(0, start - 20) : end + 30]), weight, start


def _clock(match: re.Match, hour: int, around: str) -> dt.time:
    minute = int(match.group("m2") or match.group("m3") or match.group("m4") or 0)
    half = match.group("half")
    if half:
        minute = {"half past": 30, "1/2 past": 30, "quarter past": 15}.get(half, 45)
        hour = hour - 1 if half.startswith("quarter t") else hour
    if minute > 59:
        return INVALID
    ampm = (match.group("ampm") or "").replace(" ", "")
    if ampm:
        if not 1 <= hour <= 12:
            return INVALID
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    elif hour <= 12 and EVENING.search(around):
        hour = hour % 12 + 12
    elif hour <= 12 and MORNING.search(around):
        hour %= 12
    elif hour <= 7:
        hour += 12  # "remind me at 7": 7 PM (7 in the morning is in quiet hours anyway)
    if hour > 23:
        return INVALID
    return dt.time(hour, minute)


TIME_WORDS = frozenset(
    "at a las la y media cuarto de tarde noche manana pm am p m tonight in the evening "
    "morning afternoon o clock oclock en punto around about like half past quarter to "
    "instead mejor por".split()
)


def _only_a_time(words: list[str]) -> bool:
    """The text is a time and little else ("7pm", "at 7:30 please", "a las 7 y media")."""
    rest = [w for w in words if w not in POLITE and w not in TIME_WORDS]
    return all(re.search(r"\d", w) for w in rest) and any(re.search(r"\d", w) for w in words)


# --- a pause ------------------------------------------------------------------------------

DURATION = re.compile(
    r"\b(?:for|por|durante|x)? ?(?:the next |the |los proximos |las proximas )?"
    r"(?P<n>\d{1,3}|a|an|one|una|un|a couple of|a few|couple|few|unos|unas|un par de)? ?"
    r"(?P<unit>days?|dias?|day|weeks?|wks?|semanas?|months?|mes|meses|weekend|fin de semana|"
    r"finde)\b"
)
# The pause as a state, not asked for: with no length or date, no command.
PAUSED_STATE = re.compile(
    r"\b(?:esta|estan|estoy|sigue|siguen|queda|quedan|tengo|r|are|is|am|im|was|were|been|got|get|"
    r"still)(?: \w+){0,3} (?:en pausa|pausad[oa]s?|paused|on hold)\b"
)
AGO = re.compile(
    r"\bhace (?:como |unos |unas )?(?:\d{1,3}|un|una|dos|tres|un par de) (?:days?|dias?|semanas?|"
    r"meses|mes)\b|\b(?:\d{1,3}|a|one|two|three|a couple of|a few|few) (?:days?|weeks?|months?) "
    r"ago\b"
)
UNTIL = re.compile(
    r"\b(?P<word>until|till|til|untill|hasta|through|thru|back on|back the|back by|back "
    r"(?:next )?(?=monday|tuesday|wednesday|thursday|friday|saturday|sunday)|regreso el|"
    r"vuelvo el|regreso|vuelvo|starting|start again on|empezando|a partir del?|after)\b"
    r"(?: (?:im|i am|i get|i m) back(?: on)?| que regrese(?: el)?| que vuelva(?: el)?)?"
    r" ?(?P<rest>.{0,40})"
)
DATE_WORDS = re.compile(
    r"\b(?:(?:el |the |this |next |este )?(?:" + "|".join(WEEKDAYS) + r") (?:the |el )?"
    r"\d{1,2}(?:st|nd|rd|th)?\b)|"
    r"\b(?:(?:next|este|el|this|proximo|que viene)\s)?(?:"
    + "|".join(WEEKDAYS)
    + r")\b(?:\s(?:que viene|proximo))?|"
    r"\b(?:the )?\d{1,2}(?:st|nd|rd|th)?(?: of)? (?:" + MONTHS + r")\b|"
    r"\b(?:" + MONTHS + r") \d{1,2}(?:st|nd|rd|th)?\b|"
    r"\b(?:el |the )?\d{1,2}(?:st|nd|rd|th)\b|\bel \d{1,2}\b|"
    r"\b(?:next week|la semana que viene|la proxima semana|proxima semana|tomorrows?|manana|"
    r"end of the month|fin de mes|the end of the month|fin del mes|next month|el mes que viene)\b|"
    r"\b(?:" + "|".join(m for m in MONTH_NUMBERS if m != "may") + r")\b"
)


def names_a_date(text: str) -> bool:
    """A normalised text names a date or a length of time ("until Monday", "por 2 semanas");
    numbers may still be words."""
    if NUMBER_WORD.search(text):
        text = alpha2digit(alpha2digit(text, "en", threshold=0), "es", threshold=2)
    lengths = (m for m in DURATION.finditer(text) if m.group("n") or m.group("unit") in WEEKS
               or m.group().startswith(("for", "por", "durante")))  # fmt: skip
    return (
        next(lengths, None) is not None
        or DATE_WORDS.search(text)
        or HOLIDAYS.search(text)
        or (UNTIL_BACK.search(text))
    )


WEEKS = frozenset({"week", "weeks", "weekend", "semana", "semanas", "fin de semana", "finde"})
UNTIL_BACK = re.compile(  # "until I'm back", "hasta que regrese"
    r"\b(until|till|til|untill) (i|im|i am|i get|i come|we|were) ?(back|return|get back|home)?|"
    r"\bhasta (que|q) (regrese|vuelva|este|me recupere|me mejore|llegue)"
)
HOLIDAYS = re.compile(
    r"\b(christmas|xmas|thanksgiving|new year|easter|the holidays|navidad|ano nuevo|"
    r"semana santa|pascua|las fiestas)\b"
)


NUMBER_WORD = re.compile(
    r"\b(one|two|three|four|five|six|seven|eight|nine|ten|dos|tres|cuatro|"
    r"cinco|seis|siete|ocho|nueve|diez|quince)\b"
)


def read_pause(text: str) -> Pause | None:
    """A pause: how long ("for 10 days", "por dos semanas"), until when ("until Monday",
    "hasta el 20 de marzo", "till I'm back on the 23rd"), else a week. A date that cannot
    be read ("until someday") is no command: better the reply logic than a wrong pause."""
    text = AGO.sub(" ", text)  # "hace 3 dias que no me llega nada": no length of a pause
    until = UNTIL.search(text)
    if until:
        found = DATE_WORDS.search(until.group("rest"))
        if found:
            return _until(found.group(), until.group("word") in ("through", "thru", "after"), text)
        if until.group("word") in ("until", "till", "til", "untill", "hasta"):
            duration = DURATION.search(until.group("rest"))
            if not duration:
                return None
    duration = DURATION.search(text)
    if duration:
        return _for(duration)
    found = DATE_WORDS.search(text)
    if found:  # "skip tomorrow's reminder": the day skipped, back the day after
        skipped = found.group() in ("tomorrow", "tomorrows", "manana", "today", "hoy")
        return _until(found.group().rstrip("s") if skipped else found.group(), skipped, text)
    return Pause(days=DEFAULT_PAUSE_DAYS)


def _until(words: str, after: bool, text: str = "") -> Pause:
    bare = re.sub(r"\b(next|este|el|this|proximo|que viene)\b", "", words).split()
    if len(bare) == 1 and bare[0] in WEEKDAYS:
        if re.search(
            bare[0] + r" (?:of )?(?:next week|la semana que viene|la proxima semana)", text
        ):
            return Pause(date=f"{bare[0]} next week", after=after)
        return Pause(weekday=WEEKDAYS[bare[0]], after=after)
    if bare and bare[0] in WEEKDAYS and len(bare) > 1:  # "el jueves 19": the 19th
        words = " ".join(bare[1:])
    return Pause(date=words, after=after)


def _for(match: re.Match) -> Pause:
    n, unit = match.group("n") or "1", match.group("unit")
    count = {"a couple of": 2, "couple": 2, "a few": 3, "few": 3, "unos": 3, "unas": 3,
             "un par de": 2}.get(n)  # fmt: skip
    if count is None:
        count = int(n) if n.isdigit() else 1
    if unit in ("weekend", "fin de semana", "finde"):
        return Pause(weekday=0)  # back on Monday
    days = count * {"d": 1, "w": 7, "s": 7, "m": 30}[unit[0]]
    return Pause(days=min(max(days, 1), MAX_PAUSE_DAYS))


def resume_date(pause: Pause, today: dt.date) -> dt.date:
    """The local date reminders start again (a date that cannot be read: a week on)."""
    if pause.weekday is not None:
        ahead = (pause.weekday - today.weekday()) % 7 or 7
        back = today + dt.timedelta(days=ahead)
    elif pause.date is not None:
        back = _date_after(pause.date, today) or today + dt.timedelta(days=DEFAULT_PAUSE_DAYS)
    else:
        return today + dt.timedelta(days=pause.days or DEFAULT_PAUSE_DAYS)
    back += dt.timedelta(days=1) if pause.after else dt.timedelta(0)
    return min(back, today + dt.timedelta(days=MAX_PAUSE_DAYS))


def _date_after(words: str, today: dt.date) -> dt.date | None:
    """A date in words, the next one after ``today`` (dateparser, English or Spanish)."""
    first_of_next = (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    next_week = re.fullmatch(r"(\w+) next week", words)
    if next_week and next_week.group(1) in WEEKDAYS:  # in the week after this one
        monday = today + dt.timedelta(days=7 - today.weekday())
        return monday + dt.timedelta(days=WEEKDAYS[next_week.group(1)])
    month = MONTH_NUMBERS.get(words.strip())
    if month:  # "until April": back on the first
        year = today.year + (1 if month <= today.month else 0)
        return dt.date(year, month, 1) if month != today.month else first_of_next
    if words in ("end of the month", "the end of the month", "fin de mes", "fin del mes"):
        return (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    if words in ("next month", "el mes que viene"):
        return (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    cleaned = re.sub(r"\b(el|the|of|este|proximo|que viene)\b", " ", words)
    cleaned = re.sub(r"\b(\d{1,2})(st|nd|rd|th)\b", r"\1", cleaned).strip()
    if re.fullmatch(r"\d{1,2}", cleaned):  # "the 15th": this month's, else next month's
        day = int(cleaned)
        for month_start in (today.replace(day=1), (today.replace(day=28) + dt.timedelta(days=4))):
            try:
                candidate = month_start.replace(day=day)
            except ValueError:
                continue
            if candidate > today:
                return candidate
        return None
    parsed = _dateparser().parse(
        cleaned,
        languages=["en", "es"],
        settings={
            "RELATIVE_BASE": dt.datetime.combine(today, dt.time(12)),
            "PREFER_DATES_FROM": "future",
        },
    )
    if parsed is None:
        return None
    day = parsed.date()
    return day if day > today else None


@cache
def _dateparser():
    import dateparser  # its language data loads on first use: only a pause by date needs it

    return dateparser


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
