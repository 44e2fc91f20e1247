"""A patient asking about their own program: their reminder ("what time is my reminder",
"sigue pausado?"), their routine or one exercise of it by its place ("what was exercise 2
again", "the last one", "el segundo"), their week ("whats my streak", "cuantos dias
llevo"). Read from the text alone (pure); the answer reads the patient's record
(``bot.sms.inbound``), and a number not enrolled gets the general answer.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from bot.sms.questions import question

MY_REMINDER = re.compile(
    r"\b(my|mi|mis) (\w+ )?(reminders?|recordatorios?|texts?|msgs?|mensajes?|alerts?)\b|"
    r"^(my|mi) (time|hora)\b|\b(reminders?|recordatorios?) (time|hora)\b|"
    r"\bhora (del|de mi|de los|de mis) (recordatorio|mensaje|texto)|"
    r"\b(time|hour) (of|for|on) (my|the) (daily )?(reminder|text|message)|"
    r"\bstill (sending|getting|texting)\b|\bllega\w* (los |el |mis |mi )?(recordatorio|mensaje)|"
    r"\bnext (reminder|text)\b|\bwhen (is|does|do|will) (my|the|i get) (next )?"
    r"(reminder|text)|\b(reminders?|texts?) (still )?(on|off|paused|coming|active)\b|"
    r"\b(a )?(que|q) hora (me )?(llega|llegan|mandan|manda|envian|envia|sale|escriben)\b|"
    r"\b(sigue|siguen|esta|estan|estoy) (en )?(pausad[oa]s?|pausa|activ[oa]s?)\b|"
    r"\b(what|which) (time|hour) ((do|does|will|r|are|is|am) )?(i|you|u|it|they|my|the|ya)\b.*"
    r"\b(text|remind|send|get|come|arrive)\w*|\bwhen do (you|u|ya|yall)( guys)? (usually )?"
    r"(send|text)\b|\bproximo recordatorio\b|"
    r"\bcuando me (llega|mandan|manda|envian|escriben)\b|\btime of day\b.*\b(send|text|remind|"
    r"get|come)|\b(exercise |daily )?(texts?|reminders?|messages?|msgs?) (usually |normally )?"
    r"(come|arrive|get sent|go out)\b|\b(recordatorios?|reminders?) (\w+ ){0,3}(activ[oa]s?|"
    r"prendid[oa]s?|on|apagad[oa]s?)\b|\b(recordatorios?|reminders?) (a )?(que|q) (hora|hra|hr)\b|"
    r"\b(que|q|hora en que|hora en q) (hora|hra|hr)? ?(me )?(llega|llegan|mandan|manda|envian|"
    r"envia)\b|\b(what|which) (time|hour)\b.*\b((my|the) (daily |exercise )?(reminder|text|"
    r"message|msg|alert)s?|schedul\w*|supposed to (arrive|come|get)|(they|it) (arrive|come)s?)\b|"
    r"\b(que|q|what|which) (dias|days)\b.*\b(mandan|manda|envian|llega\w*|send|get|come|text|"
    r"remind\w*)\b|\bhora (del|de mi|de los|de mis|de el) (reminder|aviso|msj|alerta)\b|"
    r"\b(a )?(que|q) hora\b.*\b(programad\w*|aviso|recordatorio|mensaje|msj)\b|"
    r"\b(mensaj\w*|recordatorio\w*|texto\w*|msj\w*|reminders?|texts?)\b.*\b(llega|llegan|come|comes|"
    r"arrive|arrives)\b.*\b(fines? de semana|weekends?|sabado|domingo|saturday|sunday|dias|days)\b"
)
# When or how often the reminder is sent: about the reminder, whatever else the text names
# ("cuantos dias a la semana me mandan el recordatorio").
SENT_WHEN = re.compile(
    r"\b(what time|which time|que hora|q hora|a que hora|when|cuando|how often|cada cuanto|"
    r"which days|what days|que dias|cuantos dias)\b.*\b(reminders?|recordatorios?|aviso)\b|"
    r"\b(reminders?|recordatorios?|aviso)\b.*\b(what time|que hora|q hora|a que hora|when|"
    r"cuando)\b"
)
WHICH_EXERCISES = re.compile(
    r"\b(what|which|cuales|que) (exercises|stretches|ejercicios|estiramientos)\b"
)
# Asked, any word for the reminders is about them ("el recordatorio llega tambien los fines
# de semana?", "q dias de la semana me recuerdan").
REMINDERS = re.compile(r"\b(reminders?|remind\w*|recordatorios?|recuerdan|aviso|avisos)\b")
# and, after the routine's words ("my exercises? phone deleted the msgs"), the texts
THE_TEXTS = re.compile(
    r"\b(los|mis|the|my|daily|diarios) (textos|mensajes|texts|messages|msgs|msjs)\b"
)
# Asked, these are about the reminders not coming: "why did my texts stop", "am i on pause",
# "ya no me llegan los mensajes?", "when do they start again".
NOT_COMING = re.compile(
    r"\b(paus\w*|on hold|suspend\w*|suspendid\w*|apagad\w*|desactiv\w*|pararon|dejaron de|"
    r"(texts?|messages?|msgs?|reminders?|it|they) (stopp?ed|stop|quit)|stopp?ed (coming|getting|"
    r"sending|texting|arriving)|quit (coming|sending|texting)|turn\w* (them |it |my \w+ )?off|"
    r"ya no (me )?(llega|llegan|escriben|mandan|recibo|envian)|no me (llega|llegan|llego|"
    r"llegaron|escriben|mandan)|not (getting|receiving|texting|sending)|no longer|anymore|"
    r"havent (gotten|got|received|been getting)|never came|start (again|back)|restart\w*|"
    r"back on|come back|volver a (activar|mandar|llegar|recibir)|reactiv\w*|me quit\w*|"
    r"now nothing|ahora (nada|ya no)|ni (ayer|hoy) (ni (hoy|ayer) )?me (llego|llegaron)|"
    r"(start|starting) (getting|receiving) (\w+ ){0,3}again)\b"
)
# Asked, the pain score given: "q dolor les reporte la ultima ves", "what pain did i send"
PAIN_GIVEN = re.compile(
    r"\b(dolor|pain)\b.*\b(reporte|mande|puse|di|reported|sent|gave|texted|send)\b|"
    r"\b(reporte|mande|puse|reported|sent|gave|texted)\b.*\b(dolor|pain)\b"
)
MY_WEEK = re.compile(
    r"\bstreak\b|\bracha\b|\bhow ?(am i|m i|im|i am|m) do\w*\b|\bhow (have|"
    r"did) i (been )?do\w*\b|\bhow many (\w+ )?(days|times|sessions|dones)\b|\bmy (progress|"
    r"week|stats|score|pain score|last pain|numbers|record)\b|\b(last|ultimo|ultima) (pain|"
    r"dolor|puntaje|nivel)|\bpain (number|level|rating|score)s? (did i|i (sent|gave|reported|"
    r"texted))|\bdays (in a row|done|this week)\b|\bcuant[oa]s (dias|sesiones)\b|"
    r"\bcuant[oa]s veces\b.*\b(hice|he|e|hizo|mande|mandado|llevo|puse|complete|reporte|"
    r"termine|esta semana)\b|\b(tal|como|que) (voy|lo llevo|llevo)\b|\bvoy con (los |lo |"
    r"mis )?ejercicio|\b(doing|did|done) (better|worse)\b|\bhave i been doing\b|"
    r"\bthis week than\b|\bcomo (voy|me va|vamos|va mi)\b|\bvoy bien\b|\bmi progreso\b|"
    r"\bdias seguidos\b|\bdid i (miss|skip|do)\b|\bmy pain\b|\bon track\b|\bsummary\b|"
    r"\bresumen\b|\bmi dolor\b|\bconsisten\w*\b|\bconstante\b|\bkeeping up\b|\bcumpliendo\b|"
    r"\b(did|does|will) (yesterday|that|it|today) count\b|\bse conto\b|\bmis (numeros|"
    r"estadisticas)\b|\breporte de (avance|progreso)\b|\bavance\b|\bmejorado\b|\b(puntaje|"
    r"nivel) de dolor\b|\bde los 7 dias\b|\bme falt\w* (algun |un )?dia\b|\bmiss\w* (a|"
    r"any) days?\b|\b(dolor|pain) (que |q |score |number )?(i )?(reporte|mande|di|puse|"
    r"reported|sent|gave)\b|\bcomo me (fue|va)\b|\b(ya )?(hice|did i do) (mis |los |my |"
    r"the )?(ejercicios|estiramientos|exercises|stretches) (ayer|anteayer|yesterday)\b|"
    r"\bhice (todos )?mis (ejercicios|estiramientos) (esta semana|la semana)|\b(every|each|"
    r"all) days? this week\b|\bcumpl\w* (todos los|cada) dias?\b|\bsemana cumpli\w*|"
    r"\bprogress\b|\bimprov\w*|\btodos los dias (esta|la) semana\b|\bfalt\w* (algun |un |"
    r"ningun )?dia|\b(how|hw|hows) ?(am i|m i|im|i am|m) do\w*"
)
ORDINALS = {
    "first": 1, "1st": 1, "primero": 1, "primer": 1, "primera": 1, "1ro": 1, "1ero": 1, "1er": 1,
    "second": 2, "2nd": 2, "segundo": 2, "segunda": 2, "2do": 2, "2da": 2,
    "third": 3, "3rd": 3, "tercero": 3, "tercer": 3, "tercera": 3, "3ro": 3, "3ero": 3,
    "3er": 3, "3ra": 3,
    "fourth": 4, "4th": 4, "cuarto": 4, "cuarta": 4, "4to": 4, "4ta": 4,
    "fifth": 5, "5th": 5, "quinto": 5, "quinta": 5, "5to": 5,
    "last": "last", "ultimo": "last", "ultima": "last", "final": "last",
}  # fmt: skip
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "uno": 1, "dos": 2, "tres": 3,
           "cuatro": 4, "cinco": 5}  # fmt: skip
_ORD = "|".join(ORDINALS)
_NUM = r"[1-9]|one|two|three|four|five|uno|dos|tres|cuatro|cinco"
_NOUN = r"(?:one|ones|exercises?|excercises?|stretch|stretches|ejercicios?|uno|estiramientos?)"
POSITION = re.compile(
    r"\b(?:the |el |la |my |mi )?(?P<ord>" + _ORD + r")"
    r"(?:(?: (?P<count>two|2|dos|three|3|tres))?(?: " + _NOUN + r")\b|"
    r"(?: (?P<count2>two|2|dos|three|3|tres))\b| (?:como|cual|how|what))|"
    r"(?:(?<=el )|(?<=la )|(?<=the ))(?P<ord2>" + _ORD + r")\b(?= |$)(?! (?:vez|veces|time|times|"
    r"week|weekend|semana|night|noche|visit|visita|cita|appointment|dia|day|mes|month|session|"
    r"sesion|pain|dolor|score|numero de dolor|one i sent|report\w*))|"
    r"\b(?:exercises?|excercises?|ex|stretch|numbers?|numero|num|ejercicios?|ejercisios?|"
    r"estiramiento) ?(?:numero |number )?(?P<n>" + _NUM + r")\b(?! ?(?:am|pm|a m|p m)\b)"
)
# "que me toca de ultimo", "el 2 de mi lista", "the 3 on my list"
PLACE_IN_LIST = re.compile(
    r"\b(?:el|la|the|number|numero|num)? ?([1-9]) (?:de|on|in|from|of|en) (?:mi|la|my|the|tu|su) "
    r"(?:lista|list|rutina|routine|program\w*|text|mensaje)\b|\b(?:de|al) (ultimo|final)\b"
)
# "exercises 1 through 3", "del 1 al 3"
RANGE = re.compile(
    r"\b([1-9]) (?:through|thru|to|-|a|al|hasta el|hasta) ([1-9])\b(?! ?(?:am|pm|de)\b)"
)
# "which stretch was listed first?", "cual va de primero"
LISTED = re.compile(
    r"\b(?:listed|comes?|came|goes|went|va|viene|sale|is|was) (?:de )?(first|last|primero|ultimo)\b"
)
# "the first and the last", "el primero y el ultimo"
ORDINAL_PAIR = re.compile(
    r"\b(" + _ORD + r") (?:ones? )?(?:and|y|&|n) (?:the |el |la )?(" + _ORD + r")\b"
)
# "explicame el 1 y el 3", "what were 1 and 2", "numbers 2 and 3", "3 and 4 again"
PLACES = re.compile(
    r"\b(?:el |la |the |numbers? |numeros? )?([1-9](?: [1-9])*) (?:and|y|&|n) (?:the |el |la )?"
    r"([1-9])\b"
    r"(?! ?(?:am|pm|a m|p m|de(?! (?:mi|la lista|la rutina|tu|su)\b)|days?|dias?|hours?|horas?|"
    r"veces|times|weeks?|semanas?)\b)"
)
# "como se hace el 2", "how do i do the 3": one place, asked about
PLACE_ASKED = re.compile(
    r"\b(?:how|como|explain|explica\w*|cual|what)\b.*\b(?:el|la|the) ([1-9])\b"
    r"(?! ?(?:am|pm|a m|p m|de|days?|dias?|hours?|horas?|veces|times|weeks?|semanas?)\b)"
)
HASH = re.compile(r"#\s?([1-9])(?!\d)")  # "#2?", "cual era el #2" (read before normalising)
MY_ROUTINE = re.compile(
    r"\b(my|mi|mis) (\w+ )?(routine|exercises|stretches|workout|rutina|ejercicios|estiramientos|"
    r"program|programa|plan|list|lista|exercise list|home exercises)\b|"
    r"\bsupposed to do\b|\b(full|whole|entire|complete|completa|entera) (routine|rutina|program|"
    r"programa)\b|\btodays? (routine|exercises|stretches)\b|"
    r"\bwhat (exercises|stretches) do i do\b|\b(que|cuales) (ejercicios|estiramientos) "
    r"(me toca|me tocan|tengo que|debo|me dio|me dieron)\b|"
    r"\b(ejercicios|estiramientos) de mi (programa|plan|rutina|lista)\b|"
    r"\b(ejercicios|estiramientos|exercises|stretches|list|lista)\b.*\b(me (dio|dieron|dejo|"
    r"dejaron|mando|mandaron|envio|enviaron|asigno|asignaron|toca|tocan)|(gave|sent|showed|"
    r"assigned|prescribed) me)\b"
)
FIRSTS = re.compile(r"\b(?:los|las|the) (dos|tres|2|3|two|three) primer[oa]s\b")
# Words a typo may hide ("reminer", "recordatrio", "excercises"), set right before reading:
# a word of six letters or more starting as one of these do, within two edits.
FIXABLE = ("reminder", "reminders", "recordatorio", "recordatorios", "exercise", "exercises",
           "ejercicio", "ejercicios")  # fmt: skip


def own_program(normalized: str, raw: str = "") -> tuple[str, tuple] | None:
    """What a text asks about the patient's own program: ("reminder", ()), ("week", ()),
    ("routine", positions) where positions are 1-based places or "last" (none: the whole
    routine), or None. ``raw``: the text as sent, for its "#2" and its "?"."""
    if not signalled(normalized) and "#" not in raw:
        return None  # most texts: no word any of these is read from
    words = normalized.split()
    if any(len(w) >= 6 and w[:2] in _FIXABLE_HEADS for w in words):
        normalized = " ".join(_fixed(w) for w in words)
    hashed = HASH.search(raw) if "#" in raw else None
    asked = None  # told only where it decides
    if NOT_COMING.search(normalized) and (asked := question(normalized, raw)):
        return "reminder", ()  # "why did my texts stop", "was my program put on hold"
    if MY_WEEK.search(normalized) and not SENT_WHEN.search(normalized):
        return "week", ()
    if PAIN_GIVEN.search(normalized) and (
        asked if asked is not None else question(normalized, raw)
    ):
        return "week", ()
    positions = _positions(normalized, hashed)
    if positions:
        return "routine", positions
    if MY_REMINDER.search(normalized):
        return "reminder", ()

    def asks_about_it() -> bool:  # when it is sent, or asked at all
        if SENT_WHEN.search(normalized):
            return True
        return question(normalized, raw) if asked is None else asked

    if REMINDERS.search(normalized) and not WHICH_EXERCISES.search(normalized) and asks_about_it():
        return "reminder", ()  # "el reminder de mis ejercicios a que hora esta puesto?"
    if MY_ROUTINE.search(normalized):
        return "routine", ()
    if THE_TEXTS.search(normalized) and asks_about_it():
        return "reminder", ()  # "todavia me van a mandar los textos o ya se acabo"
    return None


def _positions(normalized: str, hashed: re.Match | None) -> tuple:
    """The places in the routine a text names, in order: "exercise 2", "the first two",
    "the first and the last", "#3", "el 1 y el 3"."""
    found: list = []
    if hashed:
        found.append(int(hashed.group(1)))
    for pair in PLACES.finditer(normalized):
        found += [int(n) for n in pair.group(1).split()] + [int(pair.group(2))]
    for pair in ORDINAL_PAIR.finditer(normalized):
        found += [ORDINALS[pair.group(1)], ORDINALS[pair.group(2)]]
    for span in RANGE.finditer(normalized):
        found += list(range(int(span.group(1)), int(span.group(2)) + 1))
    for listed in LISTED.finditer(normalized):
        found.append(ORDINALS[listed.group(1)])
    for place in PLACE_IN_LIST.finditer(normalized):
        found.append(int(place.group(1)) if place.group(1) else "last")
    if not found and (asked := PLACE_ASKED.search(normalized)):
        found.append(int(asked.group(1)))
    firsts = FIRSTS.search(normalized)
    if firsts:
        found += list(range(1, _number(firsts.group(1)) + 1))
    for match in POSITION.finditer(normalized):
        if match.group("n"):
            found.append(_number(match.group("n")))
            continue
        first = ORDINALS[match.group("ord") or match.group("ord2")]
        count = match.group("count") or match.group("count2")
        if count and first == 1:  # "the first two"
            found += list(range(1, _number(count) + 1))
        else:
            found.append(first)
    return tuple(dict.fromkeys(found))


def _number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBERS[word]


_FIXABLE_HEADS = frozenset(w[:2] for w in FIXABLE)


@lru_cache(maxsize=4096)
def _fixed(word: str) -> str:
    if len(word) < 6 or word[:2] not in _FIXABLE_HEADS or word in FIXABLE:
        return word
    found = process.extractOne(word, FIXABLE, scorer=Levenshtein.distance, score_cutoff=2)
    return found[0] if found else word


# --- the answers, from the patient's record ---------------------------------------------------


# The words the patterns above are read from, by their first four letters (typos mostly
# keep them: "reminer", "recordatrio", "excercises", "ejercisios"), and the shorter ones
# whole; with a digit, "#2", "my time", "mi hora". A text with none of them is not about
# the patient's program (the hours, the address, the plans: most texts), told by set
# lookups. tests/test_program.py holds it to the reader: it rules out no text of the
# tables and the held-aside sets that the reader would read.
SIGNALS = frozenset(
    "remi remn remd reco recu avis text mens mess aler noti send sent mand envi escr "
    "rout ruti exer exce exsc exor ejer ejes ejec estr esti stre prog plan list work "
    "rach week sema days dias pain dolo doin cons trac summ resu scor punt avan mejo cump "
    "falt miss skip keep coun cont nume stat repo hice "
    "firs seco thir four fift last fina prim segu terc cuar quin ulti numb "
    "paus hold susp stop quit apag desa pard paro dejo deja anym long noth nada lleg "
    "rest back volv reac agai turn star acti pren".split()
)  # fmt: skip
SHORT_SIGNALS = frozenset(
    "msg msgs txt txts msj msjs off ex num voy fue va".split()
)  # fmt: skip
OWN_TIME = re.compile(r"\b(my|mi) (time|hora)\b")


def signalled(normalized: str) -> bool:
    """The text has a word the program's patterns are read from (see ``SIGNALS``)."""
    for word in normalized.split():
        if word[:4] in SIGNALS or word in SHORT_SIGNALS or word[:1].isdigit():
            return True
    return OWN_TIME.search(normalized) is not None


def routine_answer(writer, routine: list[str], positions: tuple, language: str) -> str | None:
    """The patient's exercises, numbered as in their reminder, or the steps of the one
    asked for by its place; None when the routine names no exercise."""
    by_id = {e.id: e for e in writer.content.exercises}
    exercises = [by_id[x] for x in routine if x in by_id]
    if not exercises:
        return None
    places = list(dict.fromkeys(len(exercises) if p == "last" else p for p in positions))
    if any(not 1 <= p <= len(exercises) for p in places):
        places = []  # "exercise 5" of four: the whole routine
    if len(places) == 1:  # its steps, within two segments; MORE for the rest
        return writer.exercise_parts(exercises[places[0] - 1].id, language)[0]
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
