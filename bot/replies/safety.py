"""Safety, read before anything else: the red flags that get "call 911" first (in English
and in Spanish), thoughts of self-harm (the 988 line), and pain during or after an
exercise (stop it and call the clinic). Patterns only; ``bot.replies.reading`` applies them.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz.distance import DamerauLevenshtein

from bot.replies.words import COMMON

# Each red flag: what matches it, what it is called, and what cancels it ("my bladder is
# fine", a fall "last year"); "during an exercise" marks an injury that is read as pain
# during an exercise ("I hurt myself doing the cat camel") instead.
DURING_EXERCISE = "during an exercise"
SELF_HARM = "Thoughts of harming yourself"
# A red flag the patient says is not there: "no chest pain, just back pain", "no fever".
NEGATED_RED_FLAGS = re.compile(
    r"\b(no|without|(dont|do not|didnt|did not) have|never had)( any)? (chest pain|numbness|"
    r"tingling|fever|chills|weakness|incontinence|trouble breathing|shortness of breath|"
    r"(bladder|bowel) (problems?|issues?|changes?))\b"
)
# A fall or an injury long past ("I fell last year", "injured in 2015") is no emergency now.
PAST_EVENT = re.compile(
    r"\b(years?|months?|weeks?) ago\b|\blast (year|month|week)\b|\bin (19|20)\d\d\b"
)
# Words after "fell", "slipped", "tripped" that make it no fall: "I fell behind", "slipped
# up", "fell off the wagon", "tripped over my words".
NOT_A_FALL = (
    r" (asleep|behind|for|short|apart|up|through|into|in love|off (the wagon|track|my (routine|"
    r"schedule|exercises))|(over )?my (words|tongue)|my mind|(out of )?my head)\b"
)
# A fall the patient says plainly left them unhurt ("tripped over my dog, totally fine"),
# with no "but" after it; anything else the text names (legs, bladder) is read still.
UNHURT = re.compile(
    r"\b((totally|completely|perfectly) (fine|ok|okay|unhurt)|(im|i am) not hurt|"
    r"(didnt|did not) get hurt|no injur(y|ies))\b(?!.{0,30}\bbut\b)"
)
# "That movie almost gave me a heart attack": a figure of speech.
FIGURATIVE = re.compile(
    r"\b((gave|give|giving|gives|almost|nearly|gonna give) (me |him |her |us )?(a )?heart attack)\b"
)
# Wanting to hurt oneself is no accident: the crisis line, not the injury's answer.
SELF_HARM_INTENT = (
    r"\b(want|wanna|going|gonna|thinking (about|of)|thought (about|of)|urge) (to )?"
    r"(hurt|harm|cut)(ing)? myself\b|\bself harm\w*"
)
EMERGENCY_PATTERNS = [
    (re.compile(p), what, unless)
    for p, what, unless in [
        (r"\b(bladder|bowel|bowels|pee|urine|urinate|poop|incontinen\w*|wet myself|wet my"
         r"self|(pooped|pooping|pooed|soiled|shit|shat) (myself|my pants)|"
         r"(peed|peeing|pissed|pissing) (myself|my pants)|wet my pants|wet (the|my) bed|"
         r"leak\w* (urine|pee)|control (my|when i) (bladder|bowels?|pee))\b",
         "flag_bladder",
         (re.compile(r"\b(is|are|feels?|seems?) (fine|ok|okay|normal)\b|\bno (bladder|bowel) "
                     r"(problems?|issues?)\b|\blike a (weak |small |tiny )?bladder\b"),)),
        (r"\b(groin|saddle|genital\w*|private parts?|inner thighs? (is|are|went|feels?) numb)\b|"
         r"\bnumb\w*\b.{0,20}\binner thighs?\b|\bno feeling (in|between) (my )?(butt|buttocks|"
         r"groin|crotch|privates|legs)\b|"
         r"\bnumb\w*\b.{0,30}\b(down there|(between|betwen|btwn) (my|the) legs|crotch|"
         r"privates|private area|perineum|vagina\w*|penis|anus)\b|\b(down there|"
         r"(between|betwen|btwn) (my|the) legs|crotch|privates|private area)\b.{0,30}\bnumb\w*",
         "flag_groin", ()),
        (r"\bchest (pain|hurts?|pressure|tight\w*)\b|\bheart attack\b|"
         r"\b(cant|cannot|can not|hard to|trouble|difficulty|difficult|struggling to) "
         r"breath(e|ing)?\b|\bshort(ness)? of breath\b|\b(hurts?|painful) to breathe?\b",
         "flag_chest", (FIGURATIVE,)),
        (r"\b(passed out|fainted|blacked out|lost consciousness|(feel|feeling) faint|about "
         r"to pass out)\b", "flag_fainting", ()),
        (r"\b(cant|cannot|can not|unable to|couldnt) (feel (my |the )?(left |right |both )?"
         r"(legs?|feet|foot|toes?|thighs?|lower body)|feel anything (below|in|from)|"
         r"move(?! on\b)|lift|stand on|walk|stand(?! (the|this|that|it|waiting|him|her|doing)\b))\b"
         r"(?!(?: \w+){0,4} (far|long|enough|very|much|well|without|too|anymore)\b)|"
         r"\b(sudden\w*|new) (weakness|weak)\b|"
         r"\b(legs?|knees?) (keep |keeps )?(gave|giving|give) (out|way)\b|\bfoot drop\b|"
         r"\b(foot|feet|leg|legs) (is |are |keeps? )?dragging\b|\bno feeling in (my )?(legs?|"
         r"feet|foot|toes)\b|"
         r"\b(legs?|feet|foot|toes) (is|are|went|go|goes|going|feels?|feel) (weak|numb|dead)\b|"
         r"\bparaly[sz]\w*\b|\b(can|could) (barely|hardly) walk\b|"
         r"\b(numb|weak) (legs?|feet|foot)\b", "flag_legs", ()),
        (r"\b(i|he|she|just|we|mom|dad) (fell|slipped|tripped|collapsed)\b(?!" + NOT_A_FALL + ")|"
         r"\bfell (down|off|on)\b(?!" + NOT_A_FALL + ")|\b(had|took) a (bad )?fall\b|"
         r"^(fell|slipped|tripped)\b(?!" + NOT_A_FALL + r")|"
         r"\b(slipped|tripped) (on|and|down|over)\b(?!" + NOT_A_FALL + ")|"
         r"\bkeep (falling|falling down|tripping|stumbling)\b(?! (asleep|behind))|"
         r"\b(after|since|from) (a|the|my) (bad )?fall\b|\bafter (falling|fall)\b|"
         r"\b(broke|broken|fractured?) (my |a |his |her )?(back|"
         r"spine|tailbone|hip|leg|neck|rib|ribs|vertebra\w*|bone)\b|"
         r"\bcar (accident|crash) (today|just now|now)\b|\b(i|we) (just )?(crashed|got hit)\b|"
         r"\b(was|got|been|were) (just )?hit by (a|an) (car|truck|vehicle|bus|bike|van)\b|"
         r"\brear ended( me)? (today|just now)\b|\b(accident|crash|wreck)\b.{0,20}\b(today|this "
         r"morning|this afternoon|this evening|tonight|just now|an hour ago)\b|"
         r"\bjust (been |got |was |were |had )?(in )?(a|an) (car |auto )?(accident|crash|wreck)\b",
         "flag_injury", (PAST_EVENT, UNHURT)),
        (r"\b(i|just|got|was|am|been) (injured|badly hurt)\b|\binjured my\b|\bhurt myself\b|"
         r"\bjust got hurt\b|\b(got|was) hurt\b.*\b(today|just now)\b",
         "flag_injury", (DURING_EXERCISE, PAST_EVENT, re.compile(SELF_HARM_INTENT))),
        (r"\b(fever|chills)\b.*\bback\b|\bback\b.*\b(fever|chills)\b",
         "flag_fever", ()),
        (r"\b(worst (\w+ )?pain|unbearable|excruciating|cant move(?! on))\b|"
         r"\bsudden\w* (and )?(severe|intense|terrible|extreme|excruciating)\b|"
         r"\bpain\b.{0,20}\b(10|ten) (out of |of )?(10|ten)\b|"
         r"\b(10|ten) (out of |of )?(10|ten)\b.{0,10}\bpain\b", "flag_severe", ()),
        (r"\b(suicid\w*|kill myself|end my life|(want|wanna|going) to die|better off dead|"
         r"(dont|do not) want to (live|be alive|wake up)|feel like (im |i am )?dying|"
         r"better off (without|w o|wo|w out) me|(everyone|everybody|family|world) (would|will|"
         r"d) be better off|end (it all|everything)|ending it all|take my (own )?life|"
         r"no (reason|point) (to|in) (live|living|going on)|not worth living|"
         r"whats the point (of living|anymore|of going on)|wish i (was|were) dead|"
         r"wish i (could|would) (just )?die|overdos\w*|od on)\b|" + SELF_HARM_INTENT + "|"
         r"\b(take|taking|swallow|swallowing|took|swallowed) (the |a )?(whole|entire) "
         r"(bottle|box|pack)\b|\b(take|taking|swallow|swallowing|took|swallowed) all (of )?"
         r"(my|the|these|those) (pills|meds|medications?|medicines?|tablets|relaxers|"
         r"painkillers|pain killers|pain pills)\b", SELF_HARM, ()),
    ]
]  # fmt: skip
# Exercising in general, and exercises people do besides the clinic's ("squats hurt").
# Safety answers do not depend on the language of the text: the words of pain and of doing
# an exercise are read in Spanish too ("me duele cuando hago el pelvic tilt").
ACTIVITY = (
    r"exercises?|exercising|stretch\w*|routine|workouts?|squats?|lunges?|planks?|crunch\w*|"
    r"sit ?ups?|push ?ups?|bridges?|yoga|pilates|deadlifts?|"
    r"ejercicios?|estiramientos?|estirar|estiro|rutina"
)
SPANISH_PAIN_WORDS = (
    r"duele|duelen|dolio|dolor|dolores|adolorid[oa]s?|punzadas?|ardor|arde|hormigue\w*|"
    r"entumid\w*|entumec\w*|mareo|mareos|maread[oa]|peor"
)
SPANISH_MARKS = frozenset("¿¡")  # a question or an exclamation opened as Spanish opens it
SPANISH_PAIN = re.compile(rf"\b({SPANISH_PAIN_WORDS})\b")  # the answer is then in Spanish
EXERCISE_PAIN = re.compile(
    r"\b(pain|painful|hurts?|hurting|hurted|ache|aches|aching|sore|sharp|pinch\w*|"
    rf"tingl\w*|numb\w*|burn\w*|pop\w*|worse|dizzy|dizziness|lightheaded|{SPANISH_PAIN_WORDS})\b"
)
DURING = re.compile(
    r"\b(cuando hago|cuando hice|cuando (lo|la|los|las) hago|al hacer|haciendo|durante|"
    r"despues de|despues del|desde que hago|con el|con la|con los|"
    r"when i|while i|after i|during|doing|after doing|since i|i did|i do|i tried|trying|"
    r"after the|after that|with the|from the|from doing|when doing|"
    r"(hurts?|hurting|painful|sore) to (do|try|hold)|if (it|this|that) (hurts?|is painful)|"
    r"(after|when|while) (my |the |these |those )?"
    rf"({ACTIVITY})|({ACTIVITY}) (hurts?|hurting|hurt|(is|are) painful|makes? \w+ (hurt|worse)))\b"
)
# Pain said not to be there: "no more pain after the stretches", "it doesn't hurt".
NO_PAIN = re.compile(
    r"\b(ya )?no (me )?(duele|duelen|dolio)\b|\bsin dolor\b|\bya no tengo dolor\b|"
    r"\b(no|no more|no longer) (pain|hurt\w*|ache|aches|soreness)\b|"
    r"\b(doesnt|does not|dont|didnt|did not|not|never) (hurt\w*|painful|sore)\b"
)
# "how long" and "how often" are about the exercises only beside one of these words.
DOSAGE_CONTEXT = frozenset(
    "hold holding stretch stretches stretching exercise exercises do doing these them each "
    "it routine repeat day daily week "
    "sostengo sostener mantengo mantener estiramiento estiramientos ejercicio ejercicios hago "
    "hacer rutina repito repetir dia semana repeticiones".split()
)
ASKS_WHAT_HELPS = frozenset(
    {"help", "helps", "best", "which", "recommend", "ayudan", "sirven", "mejores", "recomienda"}
)
ASKS_FOR_EXERCISES = re.compile(
    r"\b(what|which|any|some|good) (exercises?|stretch\w*)\b|\b(exercises?|stretch\w*) "
    r"(can|should|could) i do\b|\b(que|cuales|algunos|buenos) (ejercicios|estiramientos)\b"
)
PAIN_WITH_ACTIVITY = re.compile(rf"\b({ACTIVITY})\b")

# Red-flag words read through a typo ("beathing", "nmbness", "accdent"): people in distress
# type badly. Only words no everyday word is one slip away from: not "fainted" (painted),
# "slipped" (skipped), "injured" (insured), "fever" (never) or "chest" (chess).
RED_FLAG_WORDS = (
    "breathe breathing breath numbness bladder bowels tailbone paralyzed paralysed collapsed "
    "weakness accident urinate incontinence excruciating unbearable".split()
)
# Everyday words one slip away from a red-flag word, never corrected into it.
NOT_RED_FLAG_WORDS = frozenset(
    "ladder ladders towel towels bowls vowels bread breadth breaths dumbness unbeatable".split()
)
RED_FLAG_SET = frozenset(RED_FLAG_WORDS)


def spell_red_flags(normalized: str) -> str:
    """The text with near-misses of red-flag words written as the word."""
    words = normalized.split()
    changed = False
    for i, word in enumerate(words):
        if len(word) < 5 or word in RED_FLAG_SET or word in NOT_RED_FLAG_WORDS or word in COMMON:
            continue
        flag = _red_flag_spelt(word)
        if flag:
            words[i], changed = flag, True
    return " ".join(words) if changed else normalized


@lru_cache(maxsize=4096)
def _red_flag_spelt(word: str) -> str | None:
    """The red-flag word ``word`` is a slip of, if any (words recur from text to text:
    each is compared with the list once)."""
    for flag in RED_FLAG_WORDS:
        limit = 2 if len(flag) >= 9 else 1
        if abs(len(flag) - len(word)) <= limit and (
            DamerauLevenshtein.distance(word, flag, score_cutoff=limit) <= limit
        ):
            return flag
    return None


# --- in Spanish ----------------------------------------------------------------------------

# Each red flag named in Spanish, by its key in the catalogue.
CRISIS = "crisis"  # thoughts of self-harm: the crisis line first
SPANISH_NEGATED = re.compile(
    r"\bno (tengo|hay|siento)( ningun[oa]?)? (fiebre|dolor de pecho|adormecimiento)\b"
)
SPANISH_EMERGENCY = [
    (re.compile(p), what)
    for p, what in [
        (r"\b(vejiga|intestino|orina|orinar|orine|orino|me hice pipi|control de (la )?orina|"
         r"incontinencia)\b", "flag_bladder"),
        (r"\b(ingle|entre las piernas|zona intima|genitales)\b",
         "flag_groin"),
        (r"\bdolor (de|en el) pecho\b|\bno puedo respirar\b|\bfalta de aire\b",
         "flag_chest"),
        (r"\bno (puedo|siento) (sentir|mover|caminar|pararme|las piernas|los pies)\b|"
         r"\b(piernas|pies) (debiles|dormidas|entumidas|entumecidas)\b|\bdebilidad\b(?! por)",
         "flag_legs"),
        (r"\bme (cai|caigo)\b(?! de (la )?risa)|\buna caida\b|"
         r"\bacabo de (caerme|chocar|tener un accidente)\b|"
         r"\b(accidente|choque) (hoy|ahorita|ahora)\b", "flag_injury"),
        (r"\bfiebre\b.*\bespalda\b|\bespalda\b.*\bfiebre\b", "flag_fever"),
        (r"\bme desmaye\b|\bperdi el conocimiento\b", "flag_fainting"),
        (r"\b(suicid\w*|quiero morir(me)?|matarme|quitarme la vida|mejor sin mi|"
         r"no quiero (vivir|seguir viviendo|despertar)|(acabar|terminar) con todo|"
         r"no vale la pena vivir|(desearia|quisiera|ojala) (estar muert[oa]|morirme)|"
         r"sobredosis|(?<!no )(quiero|voy a|pienso en|pensando en) (hacerme dano|lastimarme|"
         r"cortarme)(?! (la|el|los|las|mi|mis|un|una|con)\b)|"
         r"(tomarme|tomar|tome|me tome) (todas|toda) (las|mis|la) (pastillas|pildoras|"
         r"medicinas|botella))\b", CRISIS),
    ]
]  # fmt: skip
