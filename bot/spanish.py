"""Answers for patients who text in Spanish ("Se habla Espanol" is on the clinic's page).

Red-flag symptoms get "llame al 911" first, as in English. Hours, the address and
insurance are answered in Spanish from the same content; what the content has only in
English (the exercises' steps) is offered with the phone number of staff who speak
Spanish. Replies use plain letters (no accents): accented a, i, o, u are not in the SMS
alphabet and would double the price of every text.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from bot.replies import DIAS, Reply, joined_plans, plan_title, words_by_intent
from bot.text import normalize

if TYPE_CHECKING:
    from bot.replies import Replier

# Words that say a text is in Spanish; a few more are below with their intent.
MARKERS = frozenset(
    "espanol habla hablan hola buenos buenas necesito quiero tienen donde cuando estan "
    "ustedes su sus que por favor ayuda usted puedo tengo tuve tiene el la los las del es "
    "con para pero muy hace mucho entiendo".split()
)
INTENTS = words_by_intent(
    {
        "hours": "horario horarios hora horas abierto abiertos abren abre cierran cierra hoy "
        "manana",
        "location": "direccion ubicacion ubicados ubicado llegar donde estacionamiento",
        "insurance": "seguro seguros aseguranza aceptan acepta aceptas planes cobertura",
        "exercises": "ejercicio ejercicios estiramiento estiramientos",
        "appointment": "cita citas",
        "thanks": "gracias",
        "pain": "dolor dolores duele duelen adolorido adolorida espalda cuello rodilla cadera "
        "ciatica",
        "cost": "cuanto cuesta cuestan precio precios costo costos pagar pago",
        "greeting": "hola buenos buenas",
    }
)
DAY_WORDS = {normalize(name): i for i, name in enumerate(DIAS)} | {"sabados": 5, "domingos": 6}

CRISIS = "crisis"  # thoughts of self-harm: the crisis line first
NEGATED = re.compile(
    r"\bno (tengo|hay|siento)( ningun[oa]?)? (fiebre|dolor de pecho|adormecimiento)\b"
)
EMERGENCY = [
    (re.compile(p), what)
    for p, what in [
        (r"\b(vejiga|intestino|orinar|orine|orino|me hice pipi|control de (la )?orina|"
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
    def __init__(self, replier: Replier, names: frozenset[str] = frozenset()):
        self.replier = replier
        self.names = names  # words of the exercises' Spanish names
        self.content = replier.content
        self.say = replier.say

    def is_spanish(self, tokens: list[str], english: frozenset[str]) -> bool:
        """More Spanish words than English ones: "hola, do you take aetna?" is English."""
        spanish = sum(
            t in MARKERS or t in INTENTS or t in DAY_WORDS or t in self.names for t in tokens
        )
        return spanish > 0 and spanish > sum(t in english for t in tokens)

    def flag(self, normalized: str) -> str | None:
        """The red flag a text names in Spanish: its key in the catalogue, or "crisis"."""
        normalized = NEGATED.sub(" ", normalized)  # "no tengo fiebre"
        for pattern, what in EMERGENCY:
            if pattern.search(normalized):
                return what
        return None

    def reply(self, tokens: list[str], now: dt.datetime, language: str = "es") -> Reply:
        """A text read in Spanish, answered in ``language`` (Spanish unless the patient's
        record says otherwise)."""
        intents = list(dict.fromkeys(INTENTS[t] for t in tokens if t in INTENTS))
        plans = [  # (name, accepted plan or None): "aetna hmo" is one plan, not Aetna
            (plan_title(" ".join(tokens[h.start : h.start + h.size])), h.key)
            for h in joined_plans(self.replier.plan_index.find(tokens), tokens)
        ]
        if plans and "insurance" not in intents:
            intents.append("insurance")
        if len(intents) > 1:
            intents = [i for i in intents if i not in ("greeting", "thanks")] or intents
        if not intents:
            return Reply("spanish", self.say("menu", language))
        parts = [self.section(intent, tokens, plans, now, language) for intent in intents[:3]]
        return Reply("spanish+" + "+".join(intents[:3]), "\n\n".join(parts))

    def section(self, intent: str, tokens, plans, now: dt.datetime, language: str) -> str:
        if intent == "hours":
            return self.hours(tokens, now, language)
        if intent == "location":
            return self.replier.location(language)
        if intent == "insurance":
            accepted = [key for _, key in plans if not isinstance(key, str)]
            others = [name for name, key in plans if isinstance(key, str)]
            return " ".join(self.replier.insurance_answer(accepted, others, language))
        if intent == "exercises":
            return self.replier.exercise_list(language)
        return self.say(SAID_AS.get(intent, "menu"), language)

    def hours(self, tokens: list[str], now: dt.datetime, language: str) -> str:
        hours = self.content.hours
        local = now.astimezone(self.replier.timezone)
        days = [DAY_WORDS[t] for t in tokens if t in DAY_WORDS]
        if "hoy" in tokens:
            days.append(local.weekday())
        if "manana" in tokens and "por" not in tokens:  # "por la manana" is the morning
            days.append((local.weekday() + 1) % 7)
        days = list(dict.fromkeys(days))
        names = self.replier.weekdays[language]
        lines = [
            self.say(
                "hours_day",
                language,
                day=names[day],
                spans=self.replier.spans(hours[day], language),
            )
            if hours[day]
            else self.say("hours_closed_on", language, day=names[day])
            for day in days
        ]
        if not lines or any(not hours[day] for day in days):
            lines.append(self.replier.week_hours(language))
        else:
            lines.append(self.say("call", language))
        return "\n".join(lines)


# The Spanish intents answered with one message of the catalogue, by its key.
SAID_AS = {"appointment": "appointment", "pain": "pain_general", "thanks": "thanks",
           "cost": "cost", "greeting": "menu"}  # fmt: skip
