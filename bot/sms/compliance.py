"""Compliance keywords: opting out (STOP), back in (START) and HELP.

Twilio's default opt-out keywords and the carriers' rules decide what counts. A keyword is
the whole text (case, spaces and punctuation aside), or a keyword with a polite word or two
around it ("stop please", "please unsubscribe me"): a patient who asks to stop is stopped.
Twilio's ``OptOutType`` field, sent when its Advanced Opt-Out is on, is honoured too.
"""

from __future__ import annotations

import functools
import re
from enum import StrEnum
from pathlib import Path

import yaml
from rapidfuzz.distance import DamerauLevenshtein

from bot.reminders.commands import names_a_date
from bot.text import WordIndex, normalize


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


# The keywords and the words around them are data (compliance.yaml, beside this module).
WORDS = yaml.safe_load(Path(__file__).with_name("compliance.yaml").read_text(encoding="utf-8"))
SPANISH_OPT_OUT_WORDS = frozenset(WORDS["opt_out_spanish"])
OPT_OUT_WORDS = frozenset(WORDS["opt_out"]) | SPANISH_OPT_OUT_WORDS
OPT_IN_WORDS = frozenset(WORDS["opt_in"])
HELP_WORDS = frozenset(WORDS["help"])
POLITE = frozenset(WORDS["polite"].split())
AGREEING = frozenset(WORDS["agreeing"].split())
SOFTENING = POLITE | frozenset(WORDS["softening"].split())
ELSEWHERE = frozenset(WORDS["elsewhere"].split())
MAX_SENTENCE_WORDS = 12
CLAUSE = re.compile(r"[,.;:!?\n()]+|\s[-\u2013\u2014]+\s")
STOP_SLIPS = frozenset(WORDS["stop_slips"])
OPT_OUT_TYPES = {"STOP": Keyword.OPT_OUT, "START": Keyword.OPT_IN, "HELP": Keyword.HELP}
# Consent may be revoked by any reasonable means (the FCC's TCPA rules), not only by a
# keyword: a sentence asking to stop contact, in English or Spanish (compliance.yaml).


CONTACT = "(?:" + re.sub(r"\s*\|\s*", "|", WORDS["contact"].strip()) + ")"


def _sentences(key: str) -> list[str]:
    return [p.replace("{contact}", CONTACT) for p in WORDS[key]]


REVOKING = re.compile(r"\b(?:" + "|".join(_sentences("revoking")) + r")\b")
SPANISH_REVOKING = re.compile(r"\b(?:" + "|".join(_sentences("revoking_spanish")) + r")\b")
REVOKING_WORDS = WordIndex({"revoking": _sentences("revoking") + _sentences("revoking_spanish")})
REMINDERS_ONLY = re.compile(
    r"\b(?:" + re.sub(r"\s*\|\s*", "|", WORDS["reminders_only"].strip()) + r")\b"
)


def is_spanish_keyword(keyword: str) -> bool:
    """The keyword was Spanish ("alto", "no mas mensajes", "si"): confirm in Spanish."""
    return (
        keyword in SPANISH_OPT_OUT_WORDS
        or keyword in ("si", "ayuda")
        or SPANISH_REVOKING.fullmatch(keyword) is not None
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
    revoking = revokes(text)
    if revoking and not for_a_while(text) and not only_some(text):
        return Keyword.OPT_OUT, revoking[:40]
    standing = _keyword_on_its_own(body)
    if standing:
        return Keyword.OPT_OUT, standing
    return None


@functools.lru_cache(maxsize=64)  # classify and unclear read the same text
def revokes(text: str) -> str | None:
    """The words of a normalised text that ask to stop contact, or None."""
    if not REVOKING_WORDS.found(text.split()):
        return None
    for pattern in (SPANISH_REVOKING, REVOKING):
        for found in pattern.finditer(text):
            # "dont stop the reminders", "no dejen de mandar": asks for the opposite.
            if not KEEP_ON.search(text, 0, found.start()):
                return found.group(0)
    return None


def for_a_while(text: str) -> bool:
    """A request to stop the reminders for a time ("stop the reminders until Monday", "no
    me manden recordatorios por una semana"): a pause, not a revocation of consent."""
    return names_a_date(text) and (REMINDERS_ONLY.search(text) is not None or not ALL.search(text))


def unclear(body: str) -> bool:
    """Stop-words about the reminders for a while, or about some texts and not others
    ("stop the tips but keep the appointment reminders"): the answer asks."""
    text = normalize(body)
    return bool(text) and revokes(text) is not None and (for_a_while(text) or only_some(text))


def only_some(text: str) -> bool:
    return KEEP.search(text) is not None


KEEP_ON = re.compile(r"\b(dont|do not|please dont|pls dont|never|no|nunca)\s\Z")
ALL = re.compile(r"\b(all|ever|never|anymore|any more|nada|nunca|jamas|todo)\b")
KEEP = re.compile(r"\b(" + "|".join(WORDS["keeping"]) + r")\b")


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
