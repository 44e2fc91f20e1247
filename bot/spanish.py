"""Spanish: telling a Spanish text from an English one, and the red flags named in Spanish.

The one reader of texts (``bot.replies``) reads Spanish words too (``bot.spanish_words``)
and the one writer says every answer in either language from the content's catalogue;
this module says which language a text is in and which red flag it names ("me caí", "no
puedo mover las piernas"): the emergency answer comes first, in either language.
"""

from __future__ import annotations

import re

from bot import spanish_words

# Words that say a text is in Spanish, besides the words of its intents and days.
MARKERS = (
    frozenset(
        "espanol habla hablan hola buenos buenas necesito quiero tienen donde cuando estan "
        "ustedes su sus que por favor ayuda usted puedo tengo tuve tiene el la los las del es "
        "con para pero muy hace mucho entiendo como cual cuales mi mis hay son sobre cuanto "
        "cuanta cuantos cuantas me se lo le un una y en ya listo hecho termine".split()
    )
    | {w for words in spanish_words.KEYWORDS.values() for w in words.split()}
    | set(spanish_words.DAY_WORDS)
    | spanish_words.COMMON
)

CRISIS = "crisis"  # thoughts of self-harm: the crisis line first
NEGATED = re.compile(
    r"\bno (tengo|hay|siento)( ningun[oa]?)? (fiebre|dolor de pecho|adormecimiento)\b"
)
EMERGENCY = [
    (re.compile(p), what)
    for p, what in [
        (r"\b(vejiga|intestino|orina|orinar|orine|orino|me hice pipi|control de (la )?orina|"
         r"incontinencia)\b", "flag_bladder"),
        (r"\b(ingle|entre las piernas|zona intima|genitales)\b",
         "flag_groin"),
        (r"\bdolor (de|en el) pecho\b|\bno puedo respirar\b|\bfalta de aire\b",
         "flag_chest"),
        (r"\bno (puedo|siento) (sentir|mover|caminar|pararme|las piernas|los pies)\b|"
         r"\b(piernas|pies) (debiles|dormidas|entumidas|entumecidas)\b|\bdebilidad\b",
         "flag_legs"),
        (r"\bme (cai|caigo)\b|\buna caida\b|\bacabo de (caerme|chocar|tener un accidente)\b|"
         r"\b(accidente|choque) (hoy|ahorita|ahora)\b", "flag_injury"),
        (r"\bfiebre\b.*\bespalda\b|\bespalda\b.*\bfiebre\b", "flag_fever"),
        (r"\bme desmaye\b|\bperdi el conocimiento\b", "flag_fainting"),
        (r"\b(suicid\w*|quiero morir(me)?|matarme|quitarme la vida)\b", CRISIS),
    ]
]  # fmt: skip


class SpanishReplies:
    def __init__(self, replier, names: frozenset[str] = frozenset()):
        self.replier = replier
        self.names = names  # words of the exercises' Spanish names

    def is_spanish(self, tokens: list[str], english: frozenset[str]) -> bool:
        """More Spanish words than English ones: "hola, do you take aetna?" is English."""
        spanish = sum(t in MARKERS or t in self.names for t in tokens)
        # The names of plans, areas and exercises are no language ("aceptan aetna better
        # health" is Spanish).
        names = self.replier.name_words
        return spanish > 0 and spanish > sum(t in english and t not in names for t in tokens)

    def flag(self, normalized: str) -> str | None:
        """The red flag a text names in Spanish: its key in the catalogue, or "crisis"."""
        normalized = NEGATED.sub(" ", normalized)  # "no tengo fiebre"
        for pattern, what in EMERGENCY:
            if pattern.search(normalized):
                return what
        return None
