"""Whether a text asks how things stand ("is my reminder paused?", "am i on pause", "why did
my texts stop", "cuantos dias llevo"), rather than asking for something to be done ("can you
move it to 7?", "how about 7pm") or saying it ("did them all, pain 3").

A command's words often sit inside such a question ("why was I paused", "is it still 8am
for my reminder", "cuantos dias hice mis ejercicios"): the question is answered, nothing is
carried out. Pure; over a normalised text (``bot.text.normalize``).
"""

from __future__ import annotations

import re

# Words a text may open with before its question ("hey so what time...", "oye, sigue...").
OPENERS = frozenset(
    "hey hi hello hola oye so ok okay k sorry um umm uh oh wait also and but quick question "
    "question btw disculpe disculpa perdon perdona bueno pues buenas buenos dias tardes "
    "noches hii yo quick lol ah".split()
)
# "can you tell me", "me podria decir": the question follows.
INDIRECT = re.compile(
    r"^(?:\w+ ){0,3}?(?:(?:can|could|would) (?:you|u|ya) (?:please |pls )?(?:tell|let) me"
    r"(?: know)?|"
    r"tell me|i (?:want|wanna|would like|d like) to know|(?:i was |im |just )?wondering|"
    r"do (?:you|u) know|me (?:podria|podrias|puede|puedes|pueden|podrian) decir|digame|dime|"
    r"me dice|me dices|quisiera saber|quiero saber|sabe|sabes)(?: if| si)? "
)
# A question about how things stand begins with one of these...
WH = frozenset(
    "what whats wat wut when whens wen why how hows howm howd which where who whos que q "
    "cuando cual cuales como cuantos cuantas cuanto xq pq porque donde quien hasta".split()
)
# (Spanish asks by its "?" alone: "estoy lista" is a DONE, "estoy en pausa?" a question.)
YES_NO = frozenset(
    "is are r am was were did do does has have havent hasnt isnt arent wasnt werent didnt "
    "dont doesnt will wont".split()
)
# ...unless it proposes ("how about 7pm", "what if", "por que no a las 8", "como a las 7") or
# asks for something to be done ("will you move it", "do you mind", "are you able to").
PROPOSING = re.compile(
    r"^(?:how about|what about|what if|why not (?:at|try|make|move|change|just|[0-9])|"
    r"(?:por que|porque) no (?:a las|a la|mejor|lo |la |le |nos |me lo|cambi|[0-9])|que tal|"
    r"como a|como las|"
    r"como por|hasta (?:el|la|los|las|[0-9]|mañana|manana|lunes|martes|miercoles|jueves|"
    r"viernes|sabado|domingo|next|nuevo)|(?:will|would|do|does|are|r) (?:you|u|ya) "
    r"(?:mind|please|pls|be able|able|think you|guys mind)|(?:is|would) (?:it|that|there) "
    r"(?:be )?(?:possible|ok|okay|alright|fine|a way)|(?:will|wont) (?:you|u|ya)\b|"
    r"(?:is|would) [0-9]|esta bien|(?:que|q) (?:me |nos )?(?:lo |la |los |las )?"
    r"(?:cambi|mand|envi|pong|pas|mov)\w*)"
)
# "did" and "do" ask only of someone ("did you pause", "did i miss"): "did them all" and
# "do them later" say or ask for something; "did my exercises" is told by its "?".
SUBJECTS = re.compile(
    r"(?:i|you|u|someone|somebody|anyone|they|yall|we|the (?:staff|clinic|office|therapist|"
    r"doctor|system|app|reminders?|texts?|messages?))\b"
)
EITHER = re.compile(r"\b\d{1,2}(?: ?[ap] ?m)? (?:or|o) (?:a las |at )?\d")
# "...a las 7 o cambio?", "is it still on or not?"
OR_NOT = re.compile(
    r"\b(?:o|or) (?:no|not|nah|cambio|cambia|que|what|did (?:it|that) change|changed|ya se acabo|"
    r"is it over|se termino|ya termino)$"
)
# "did my pause end yet or am i still paused", "todavia sigo en pausa"
STILL = re.compile(
    r"\b(am i|are (?:they|my \w+|the \w+)|is (?:it|my \w+|the \w+)) still\b|\bor am i\b|"
    r"\bsigo en pausa\b|\btodavia (?:estoy|estan|esta|sigo|siguen|sigue)\b"
)
# "could you tell me how many days...", "mi fisioterapeuta me pregunto cuantos dias hice"
ASKED_WITHIN = re.compile(
    r"\b(tell me|let me know|know|wondering|saber|decir|dime|digame|pregunto|pregunta|"
    r"preguntando)\b (?:\w+ ){0,2}?(how|what|when|which|whether|if|cuantos|cuantas|cuando|que|"
    r"cual|si)\b"
)
ENDS_ASKING = re.compile(
    r"\b(why|what happened|por que|porque|xq|que paso|how come)( is that| sera| es eso)?$|"
    r"\b(is that (true|right|so)|es (verdad|cierto)|right|verdad|no es asi|sin querer)$"
)


def asks(normalized: str, raw: str = "") -> bool:
    """The text asks how things stand (see the module's doc); ``raw`` for its "?"."""
    words = INDIRECT.sub("", normalized).split()  # "could you tell me how many days..."
    while words and words[0] in OPENERS:
        words = words[1:]
    if not words:
        return False
    first = words[0]
    rest = " ".join(words)
    if first == "y" and len(words) > 1 and words[1] in YES_NO:
        return True  # "y did the messages stop": why
    if PROPOSING.match(rest):
        return False
    if first in WH or (first == "por" and words[1:2] == ["que"]):
        return True
    if first in ("did", "do", "does"):
        if "?" in raw or SUBJECTS.match(" ".join(words[1:4])):
            return True
    elif first in YES_NO:
        return True
    if OR_NOT.search(rest) or ("?" in raw and EITHER.search(rest)):
        return True  # "mi recordatorio es a las 8 o a las 9?"
    return any(p.search(rest) for p in (ENDS_ASKING, STILL, ASKED_WITHIN))


REQUESTING = re.compile(
    r"\b(can|could|would|instead|rather|prefer\w*|change|move|switch|make it|puede\w*|"
    r"podria\w*|puedes|quiero|quisiera|favor|mejor|en vez|cambi\w*|pasa\w*|mueva\w*|pon\w*)\b"
)


def question(normalized: str, raw: str) -> bool:
    """The text asks how things stand: by its words (``asks``), or by its "?" alone when
    nothing in it asks for something to be done ("reminders stopped?", "sigue pausado?")."""
    if asks(normalized, raw):
        return True
    return "?" in raw and REQUESTING.search(normalized) is None
