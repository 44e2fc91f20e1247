"""Compliance keywords: opting out (STOP), back in (START) and HELP.

Twilio's default opt-out keywords and the carriers' rules decide what counts. A keyword is
the whole text (case, spaces and punctuation aside), or a keyword with a polite word or two
around it ("stop please", "please unsubscribe me"): a patient who asks to stop is stopped.
Twilio's ``OptOutType`` field, sent when its Advanced Opt-Out is on, is honoured too.
"""

from __future__ import annotations

import re
from enum import StrEnum

from rapidfuzz.distance import DamerauLevenshtein

from bot.text import normalize


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


# Spanish too (the clinic texts Spanish-speaking patients in Spanish): ALTO, PARAR...
SPANISH_OPT_OUT_WORDS = frozenset({"alto", "parar", "pare", "basta", "detener", "cancelar"})
OPT_OUT_WORDS = (
    frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout",
               "opt out"})
    | SPANISH_OPT_OUT_WORDS
)  # fmt: skip
OPT_IN_WORDS = frozenset({"start", "unstop", "yes", "subscribe", "resubscribe", "si"})
HELP_WORDS = frozenset({"help", "info", "ayuda"})
# Words that may stand around an opt-out keyword without changing what it asks.
POLITE = frozenset(
    "please pls plz me now all texts text texting messages message msgs it thanks thank you "
    "sending send these them the my reminder reminders daily".split()
)
# Words that may follow YES or START without changing what it says: "yes please".
AGREEING = frozenset(
    "please pls plz thanks thank you ty ok okay sure i agree por favor gracias".split()
)
# Words that may stand in a keyword's own clause ("no thanks, STOP", "ok stop now", "no
# gracias, ALTO", "I said STOP") without making it about something else.
SOFTENING = POLITE | frozenset(
    "no nope ok okay just i said already again but and so ya gracias por favor ahora "
    "seriously really".split()
)
# A text that speaks of these is plainly about something else ("stop, it hurts when I do
# the bridge", "cancel, I can't make it tomorrow"): its keyword is not an opt-out.
ELSEWHERE = frozenset(
    "appointment appt appointments visit session schedule reschedule tomorrow today tonight "
    "monday tuesday wednesday thursday friday saturday sunday exercise exercises stretch "
    "stretches stretching routine pain hurts hurt hurting ache sore doctor therapist smoking "
    "back leg legs hip hips knee knees neck shoulder "
    "cita citas ejercicio ejercicios estiramiento dolor duele manana hoy espalda pierna".split()
)
MAX_SENTENCE_WORDS = 12
CLAUSE = re.compile(r"[,.;:!?\n()]+|\s[-\u2013\u2014]+\s")
# STOP with two neighbouring letters swapped or one doubled; not "spot", "post" or "tops".
STOP_SLIPS = frozenset({"tsop", "sotp", "stpo", "sstop", "sttop", "stopp", "stopstop"})
OPT_OUT_TYPES = {"STOP": Keyword.OPT_OUT, "START": Keyword.OPT_IN, "HELP": Keyword.HELP}
# Consent may be revoked by any reasonable means (the FCC's TCPA rules), not only by a
# keyword: "please don't text me", "take me off your list", "no more messages" opt out
# too. Not "stop" in a sentence ("should I stop the stretch?") or "cancel my appointment".
SPANISH_REVOKING = (
    r"^para$|\bno (me )?(envie|envien|mande|manden) mas\b|"
    r"\bno mas (mensajes|textos|recordatorios)\b|^no mas$"
)
REVOKING = re.compile(
    r"\b(stop|quit) (text|txt|messag|msg|contact|send|email)\w*\b|"
    r"\b(dont|do not|never) (ever )?(text|txt|messag|msg|contact|send|email)\w* (me|us)\b|"
    r"\bno more (texts?|txts?|messages?|msgs?|reminders?)\b|"
    r"\b(remove|take|delete) (me|my number|this number) (off|from)\b|\bleave me alone\b|"
    r"\b(opt|sign) me out\b|\bopt out\b|\bunsubscribe\b|^(you have the |this is the |)?wrong "
    r"(number|person)\b|" + SPANISH_REVOKING
)


def is_spanish_keyword(keyword: str) -> bool:
    """The keyword was Spanish ("alto", "no mas mensajes", "si"): confirm in Spanish."""
    return (
        keyword in SPANISH_OPT_OUT_WORDS
        or keyword in ("si", "ayuda")
        or re.fullmatch(SPANISH_REVOKING, keyword) is not None
    )


def classify(body: str, opt_out_type: str | None = None) -> tuple[Keyword, str] | None:
    """The compliance keyword a text is, with the word that made it so, or None."""
    if opt_out_type and opt_out_type.strip().upper() in OPT_OUT_TYPES:
        kind = OPT_OUT_TYPES[opt_out_type.strip().upper()]
        return kind, (normalize(body) or opt_out_type.lower())[:40]
    text = normalize(body)
    if not text:
        return None
    squashed = text.replace(" ", "")
    if text in OPT_OUT_WORDS or squashed in OPT_OUT_WORDS:
        return Keyword.OPT_OUT, squashed
    if text in OPT_IN_WORDS:
        return Keyword.OPT_IN, text
    words = text.split()
    if words[0] in OPT_IN_WORDS and all(w in AGREEING for w in words[1:]):
        return Keyword.OPT_IN, words[0]  # "yes please", "yes thank you"
    if text in HELP_WORDS:
        return Keyword.HELP, text
    if _misspelt_opt_out(squashed):
        return Keyword.OPT_OUT, squashed[:40]
    words = text.replace("opt out", "optout").split()
    keywords = [w for w in words if w in OPT_OUT_WORDS]
    if (
        len(keywords) == 1
        and len(words) <= 5
        and all(w in POLITE for w in words if w not in keywords)
    ):
        return Keyword.OPT_OUT, keywords[0]
    revoking = REVOKING.search(text)
    if revoking:
        return Keyword.OPT_OUT, revoking.group(0)[:40]
    standing = _keyword_on_its_own(body)
    if standing:
        return Keyword.OPT_OUT, standing
    return None


def _keyword_on_its_own(body: str) -> str | None:
    """A carriers' keyword standing as its own clause of a short text ("no thanks, STOP",
    "No gracias. ALTO"), unless the text is plainly about something else: the keyword
    then says what the patient wants, whatever else the text says around it."""
    clauses = [normalize(c) for c in CLAUSE.split(body[:300])]
    clauses = [c for c in clauses if c]
    if sum(len(c.split()) for c in clauses) > MAX_SENTENCE_WORDS:
        return None
    found = None
    for clause in clauses:
        words = clause.replace("opt out", "optout").split()
        keywords = [w for w in words if w in OPT_OUT_WORDS]
        if len(keywords) == 1 and all(w in SOFTENING for w in words if w not in keywords):
            found = keywords[0]
    if found is None:
        return None
    if any(w in ELSEWHERE for clause in clauses for w in clause.split()):
        return None
    return found


def _misspelt_opt_out(word: str) -> bool:
    """A text that is only a misspelt STOP ("stpo", "sotp") or UNSUBSCRIBE ("unsubcribe"):
    a patient trying to opt out is opted out; sending on would be the costly mistake."""
    if word in STOP_SLIPS:
        return True
    return len(word) >= 9 and DamerauLevenshtein.distance(word, "unsubscribe") <= 2
