"""Reply logic: a patient's text in, the clinic's answer out.

Pure functions of the text, the clinic's content and the current time: no Flask, no
database. ``Replier(content).reply(text, now)`` is what the webhook, the chat command and
the simulator page all call. Compliance keywords (STOP, HELP, START) are decided before
this, in ``bot.compliance``; their texts are built here so every reply reads alike.

How a text is read: it is normalised (lower case, no punctuation, "&" read as "and"),
then scanned for safety first (emergency symptoms, pain during an exercise), then for
everything the patient asks, each with typo tolerance (rapidfuzz): exercises by name,
body areas, hours (of a day, "now", a part of the day), the address, the phone, insurance
(one plan or the list) and the small talk around them. Answers to several questions are
joined in the order they were asked.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein

from bot import spanish_words
from bot.content import Area, Content, Exercise, Plan, Span
from bot.segments import plain_spanish
from bot.text import normalize

# Only the first part of a very long text is read: a question sits at its start, and the
# reply must stay fast whatever is pasted into it.
MAX_READ_CHARS = 600
MAX_WINDOW_WORDS = 5
# How close a plan that is not accepted may come to the best match before it wins.
CAUTION_MARGIN = 8.0
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_SHORT = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DIAS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
DIAS_CORTOS = ("Lun", "Mar", "Mié", "Jue", "Vie", "Sáb", "Dom")
# The parts of the day, as the catalogue says them.
PART_NAMES = {"morning": "morning", "afternoon": "afternoon", "evening": "evening",
              "night": "evening"}  # fmt: skip


@dataclass(frozen=True)
class Reply:
    kind: str  # what the reply answers: "hours", "exercise", "emergency", ... joined by "+"
    body: str
    language: str = "en"  # what it is written in


# --- words --------------------------------------------------------------------------------


def words_by_intent(groups: dict[str, str]) -> dict[str, str]:
    """{intent: "word word ..."} read as {word: intent}; a word keeps its first intent."""
    index: dict[str, str] = {}
    for intent, words in groups.items():
        for word in words.split():
            index.setdefault(word, intent)
    return index


# Words that carry an intent, with their usual misspellings caught by fuzzy matching.
KEYWORDS = words_by_intent(
    {
        "hours": "hours hour hrs hr open opened opening opens close closed closing closes schedule "
        "timings lunch",
        "location": "address adress addr where located location locate directions direction "
        "directions map parking park plaza find zip zipcode near nearby store building suite "
        "landmark landmarks entrance",
        "phone": "phone call number talk speak someone person human receptionist staff "
        "representative contact somebody reach telephone referral referrals fax paperwork "
        "forms chiropractor chiropractic therapy therapist acupuncture needling massage "
        "adjustment adjustments services billing bill bills balance receipt receipts invoice "
        "statement",
        "insurance": "insurance insurances insured coverage covered cover network plans plan "
        "copay deductible accept accepted accepting",
        "list": "exercises exercise stretches stretch list routine routines workouts workout "
        "options all",
        "greeting": "hi hii hiii hello hey heyy hiya yo howdy greetings morning menu afternoon "
        "evening start bot robot automated",
        "thanks": "thanks thank thx ty tysm appreciate appreciated",
        "appointment": "appointment appointments appt appts book booking reschedule visit walkin "
        "newpatient cancel available availability",
        "spanish": "spanish",
        "holiday": "holiday holidays thanksgiving christmas xmas easter newyear memorial labor",
        "pain": "pain painful hurts hurt hurting ache aches aching sore sharp numb numbness "
        "tingling tingly tingle tingles spasm spasms cramp cramps pinched nerve herniated bulging "
        "disc discs sprain sprained strain strained headache headaches arthritis killing",
        "reminders": "reminder reminders remind reminding skip vacation",
        "about": "whyme",
        "enroll": "enroll",
        "media": "video videos vid vids youtube picture pictures pic pics photo photos image "
        "images diagram diagrams",
        "cost": "cost costs price prices pricing fee fees selfpay uninsured cash payment "
        "payments credit debit hsa fsa",
        "dosage": "reps rep repetitions howoften howlong",
        "ask_clinic": "pregnant pregnancy surgery osteoporosis medication medications meds "
        "cancer tumor stenosis scoliosis spondylolisthesis spondylosis degenerative fusion "
        "icing heat heating ibuprofen advil motrin tylenol aleve naproxen acetaminophen painkiller "
        "painkillers gym swimming swim jogging golf floorproblem weightloss activity",
    }
)

DAY_WORDS: dict[str, int | str] = {
    "mon": 0, "monday": 0, "mondays": 0,
    "tue": 1, "tues": 1, "tuesday": 1, "tuesdays": 1,
    "wed": 2, "weds": 2, "wednesday": 2, "wednesdays": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "thursdays": 3,
    "fri": 4, "friday": 4, "fridays": 4,
    "sat": 5, "saturday": 5, "saturdays": 5,
    "sun": 6, "sunday": 6, "sundays": 6,
    "today": "today", "tonight": "today", "tomorrow": "tomorrow", "tmrw": "tomorrow",
    "tmr": "tomorrow", "now": "now", "currently": "now", "rn": "now",
    "weekend": "weekend", "weekends": "weekend",
}  # fmt: skip
PART_OF_DAY = {"morning": (0, 12), "afternoon": (12, 17), "evening": (17, 24), "night": (17, 24)}
# Shorthand people type on phones, read as the word they mean.
SHORTHAND = {
    "u": "you", "ur": "your", "r": "are", "pls": "please", "plz": "please", "w": "with",
    "wat": "what", "wht": "what", "wen": "when", "whr": "where", "ya": "you", "yall": "you",
    "tx": "thanks", "addy": "address", "hrz": "hours", "ins": "insurance", "opn": "open",
    "2day": "today", "2nite": "tonight", "2morrow": "tomorrow", "2moro": "tomorrow",
    "tmrrw": "tomorrow", "exersize": "exercise", "exersizes": "exercises",
    "excersize": "exercise", "excersizes": "exercises", "exercize": "exercise",
    "exercizes": "exercises",
}  # fmt: skip

# Phrases read as one word, so that "walk ins" is not "walk insurance".
PHRASES = {
    # where, when, how much
    "get there": "directions", "find you": "directions", "were are you": "where are you",
    "were is": "where is", "what floor": "where", "which floor": "where",
    "new year": "newyear", "new years": "newyear",
    "self pay": "selfpay", "out of pocket": "selfpay", "no insurance": "uninsured",
    "without insurance": "uninsured", "dont have insurance": "uninsured",
    "do not have insurance": "uninsured", "dont have any insurance": "uninsured",
    "have no insurance": "uninsured", "how much is": "price is", "how much does": "price does",
    "how much do": "price do", "how much for": "price for", "how much are": "price are",
    "how much would": "price would", "how much will": "price will",
    # visits and the front desk
    "walk ins": "walkin", "walk in": "walkin", "new patients": "newpatient",
    "new patient": "newpatient", "can i come in": "can i visit", "could i come in": "could i visit",
    "see the doctor": "visit", "see a doctor": "visit", "running late": "call",
    "on my way": "call", "be late": "call", "update my address": "paperwork",
    "change my address": "paperwork", "my new address": "paperwork",
    "new phone number": "paperwork", "my address changed": "paperwork",
    # the exercises
    "how often": "howoften", "how many times": "howoften", "how long": "howlong",
    "remind me how": "how", "remind me what": "what", "remind me which": "which",
    # the text line itself, the reminders
    "who is this": "menu", "who am i texting": "menu", "is this the clinic": "menu",
    "is this clinic": "menu", "what can you do": "menu", "what can i ask": "menu",
    "what do you do": "menu", "how does this work": "menu", "good morning": "hello",
    "good afternoon": "hello", "good evening": "hello", "you all": "you", "y all": "you",
    "not today": "skip today", "why did i get": "whyme", "why am i getting": "whyme",
    "why do i get": "whyme", "who gave you my number": "whyme", "signed up": "whyme",
    "how did you get my number": "whyme", "sign me up": "enroll", "sign up": "enroll",
    "signup": "enroll", "want daily reminders": "enroll", "want reminders": "enroll",
    "get reminders": "enroll", "get the reminders": "enroll", "get daily reminders": "enroll",
    # The clinic's own name is not the body area "back".
    "back and spine clinic": "clinic", "back and spine": "clinic", "back clinic": "clinic",
    "spine clinic": "clinic",
    # questions for the patient's provider
    "or ice": "or icing", "ice or": "icing or", "use ice": "use icing", "ice pack": "icing",
    "ice it": "icing", "put ice": "put icing", "get down on the floor": "floorproblem",
    "get on the floor": "floorproblem", "get up off the floor": "floorproblem",
    "get up from the floor": "floorproblem", "lost weight": "weightloss",
    "losing weight": "weightloss", "is it ok to walk": "is it ok activity",
    "can i walk": "can i activity", "can i run": "can i activity",
}  # fmt: skip

PHRASES.update(spanish_words.PHRASES)
SHORTHAND.update(spanish_words.SHORTHAND)
# In a Spanish text, "ya" is "already", not "you".
SHORTHAND_ES = {k: v for k, v in SHORTHAND.items() if k not in spanish_words.NOT_SHORTHAND}
PHRASE_PATTERN = re.compile(
    r"(?<!\S)(?:" + "|".join(map(re.escape, sorted(PHRASES, key=len, reverse=True))) + r")(?!\S)"
)

# Common words never "corrected" into a keyword or a name by fuzzy matching.
COMMON = frozenset(
    "a about after again all also am an and any anyone are around as ask at back be been before "
    "being best better both but by can cant could day days did do does doing done dont down "
    "each even every feel feeling for from get gets getting give go going good got had has have "
    "having he help her here hers him his how i if im in into is it its ive just keep know last "
    "later left let lets like little long look looking lot make many may me might more most "
    "much my need needs new next no not now of off ok okay on once one only or other our out "
    "over own please really right said same see should side since so some still such sure take "
    "tell than that the their them then there these they thing things think this those though "
    "time times to too try two up us use very want was way we week well were what when where "
    "which while who why will with work would yes yet you your yours thats whats hows theres "
    "sorry hurt times other house hour late early walk walking medical records record note "
    "notes doctor doctors route road street highway avenue drive prime squat squats lunge "
    "lunges plank planks crunch crunches situps pushups bridge bridges yoga pilates deadlift "
    "deadlifts kneel kneeling floor copy copies never".split()
)


def by_first_letter(words) -> dict[str, list[str]]:
    """Fuzzy matches are looked for among words of the same first letter: people misspell
    the middle of a word, seldom its start ("killing" is not "billing")."""
    groups: dict[str, list[str]] = {}
    for word in words:
        groups.setdefault(word[0], []).append(word)
    return groups


# English words that are not Spanish ones, for telling the two apart.
ENGLISH_WORDS = frozenset(COMMON | {w for w, intent in KEYWORDS.items() if intent != "spanish"})
# One reader for both languages: the Spanish words join the English ones (an English word
# keeps its intent where a word is both).
for _intent, _words in spanish_words.KEYWORDS.items():
    for _word in _words.split():
        KEYWORDS.setdefault(_word, _intent)
DAY_WORDS.update({k: v for k, v in spanish_words.DAY_WORDS.items() if k not in DAY_WORDS})
FUZZY_KEYWORDS = by_first_letter(sorted(w for w in KEYWORDS if len(w) >= 5))
FUZZY_DAYS = by_first_letter(
    [d.lower() for d in DAY_NAMES] + ["tomorrow"]
    + [w for w, d in spanish_words.DAY_WORDS.items() if isinstance(d, int)]
)  # fmt: skip

# --- safety -------------------------------------------------------------------------------

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
    r"schedule|exercises))|(over )?my (words|tongue))\b"
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
                     r"(problems?|issues?)\b"),)),
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
         "flag_chest", ()),
        (r"\b(passed out|fainted|blacked out|lost consciousness|(feel|feeling) faint|about "
         r"to pass out)\b", "flag_fainting", ()),
        (r"\b(cant|cannot|can not|unable to|couldnt) (feel (my |the )?(left |right |both )?"
         r"(legs?|feet|foot|toes?|thighs?|lower body)|feel anything (below|in|from)|"
         r"move(?! on\b)|lift|stand on|walk|stand)\b"
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
         r"\bkeep (falling|falling down|tripping|stumbling)\b|"
         r"\b(after|since|from) (a|the|my) (bad )?fall\b|\bafter (falling|fall)\b|"
         r"\b(broke|broken|fractured?) (my |a |his |her )?(back|"
         r"spine|tailbone|hip|leg|neck|rib|ribs|vertebra\w*|bone)\b|"
         r"\bcar (accident|crash) (today|just now|now)\b|\b(i|we) (just )?(crashed|got hit)\b|"
         r"\b(was|got|been|were) (just )?hit by (a|an) (car|truck|vehicle|bus|bike|van)\b|"
         r"\brear ended( me)? (today|just now)\b|\b(accident|crash|wreck)\b.{0,20}\b(today|this "
         r"morning|this afternoon|this evening|tonight|just now|an hour ago)\b|"
         r"\bjust (been |got |was |were |had )?(in )?(a|an) (car |auto )?(accident|crash|wreck)\b",
         "flag_injury", (PAST_EVENT,)),
        (r"\b(i|just|got|was|am|been) (injured|badly hurt)\b|\binjured my\b|\bhurt myself\b|"
         r"\bjust got hurt\b|\b(got|was) hurt\b.*\b(today|just now)\b",
         "flag_injury", (DURING_EXERCISE, PAST_EVENT)),
        (r"\b(fever|chills)\b.*\bback\b|\bback\b.*\b(fever|chills)\b",
         "flag_fever", ()),
        (r"\b(worst (\w+ )?pain|unbearable|excruciating|cant move(?! on))\b|"
         r"\bsudden\w* (and )?(severe|intense|terrible|extreme|excruciating)\b|"
         r"\bpain\b.{0,20}\b(10|ten) (out of |of )?(10|ten)\b|"
         r"\b(10|ten) (out of |of )?(10|ten)\b.{0,10}\bpain\b", "flag_severe", ()),
        (r"\b(suicid\w*|kill myself|end my life|(want|wanna|going) to die|better off dead|"
         r"(dont|do not) want to (live|be alive)|feel like (im |i am )?dying)\b", SELF_HARM, ()),
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
        for flag in RED_FLAG_WORDS:
            limit = 2 if len(flag) >= 9 else 1
            if abs(len(flag) - len(word)) <= limit and (
                DamerauLevenshtein.distance(word, flag, score_cutoff=limit) <= limit
            ):
                words[i], changed = flag, True
                break
    return " ".join(words) if changed else normalized


SMALL_TALK = frozenset({"greeting", "thanks"})
MAX_ANSWERS = 3  # questions answered in one reply
MAX_REPLY_CHARS = 1600  # Twilio's limit for one message
ACCIDENT_WORDS = frozenset("accident crash wreck injury injured collision rear".split())
NERVE_SIGNS = frozenset("numb numbness tingling tingly tingle tingles needles".split())
ASKS_CLINIC = frozenset({"you", "your", "yall", "accepted", "covered", "ok", "okay"})
POLITE_WORDS = frozenset("hi hello hey please pls plz thanks thank you thx ty".split())
# "4", "#4", "exercise 4", "number 4": the exercise of that number in the list.
NUMBERED = re.compile(
    r"(?:(?:exercise|ex|stretch|number|no|el|ejercicio|numero|num) ?){0,2}(\d{1,2})"
)

DONE_WORDS = frozenset({"done", "finished", "did it", "all done", "complete", "completed"}) | (
    spanish_words.DONE_WORDS
)
# "I am done with my exercises for today!", "did them all": the routine is done.
DONE_PHRASE = re.compile(
    r"\b(done|finished|completed?)\b.*\b(exercises?|stretch\w*|routine|them|today|workout)\b|"
    r"\bdid (them|it|all|my (exercises|stretches|routine))\b|\b(all|im|i am) (done|finished)\b|"
    r"\b(termine|hice|acabe|complete)\b.*\b(ejercicios?|estiramientos?|rutina)\b|"
    r"\bya (termine|los hice|lo hice|acabe)\b"
)
# Body parts the clinic's home exercises are not for.
OTHER_BODY_PARTS = frozenset(
    "neck shoulder shoulders arm arms elbow elbows wrist wrists hand hands knee knees ankle "
    "ankles foot feet toes head jaw".split()
)
# The patient's own routine: answered from their record when the number is enrolled.
MY_ROUTINE = re.compile(
    r"\bmy (routine|exercises|stretches|workout)\b|\bsupposed to do\b|"
    r"\btodays? (routine|exercises|stretches)\b|\bwhat (exercises|stretches) do i do\b|"
    r"\b(exercises|stretches) (you|u) (gave|sent|showed) me\b|"
    r"\b(text|send) me (the|my) (exercises|stretches|routine)\b|"
    r"\bforgot (my|the) (exercises|stretches|routine)\b"
)
# "where" asks for the address only as a question of place, not "the stretch where you lie".
WHERE_NOT_PLACE = re.compile(
    r"\bwhere (you|u|i|we) (?!are\b|r\b|located\b|at\b|guys\b|park\b)|"
    r"\bwhere (should|do|would|will|can|must) (i|you) (feel|put|place|hold|keep|look)\b"
)
# "My back feels better", "the exercises are helping": good news, not a question.
FEELING_BETTER = re.compile(
    r"\b(feels?|feeling|felt) (so |a lot |a little |much |way |really )?(better|good|great)\b|"
    r"\b(exercises|stretches|they|it|routine) (are|is|have been|has been|really) "
    r"(helping|working)\b|\b(it|they|that|this|these) (really )?helped\b|"
    r"\b(me siento|estoy|me encuentro) (mucho |un poco |bastante )?mejor\b|\bya no me duele\b"
)
QUESTION_WORDS = frozenset("what which how does do will can should would is are why".split())
ACKNOWLEDGING = frozenset(
    "\U0001f44d\U0001f44c\U0001f64f\u2764\u2705\U0001f60a\U0001f642\U0001f44f\U0001f4aa"
)
YES_NO_SMALLTALK = frozenset({"ok", "okay", "k", "kk", "cool", "great", "awesome", "got it",
                              "nice", "perfect", "sounds good", "will do", "alright", "bye",
                              "good", "great thanks"})  # fmt: skip


# --- matching names (exercises, plans, areas) ----------------------------------------------


@dataclass(frozen=True)
class Hit:
    key: object
    start: int
    size: int
    score: float


class PhraseIndex:
    """Finds known names (with their aliases) in a tokenised text, tolerating typos.

    A name of five letters or more matches with a typo or a missing space ("piriformis
    strech", "catcamel"); a shorter one ("ql", "uhc", "cat") only exactly.
    """

    def __init__(
        self,
        named: list[tuple[str, object]],
        cutoff: float = 85.0,
        cautious: type | None = None,
    ):
        # With ``cautious`` set, a fuzzy match that comes close to a key of that type is
        # read as that key: "medicade" is as close to "medicaid" (not accepted) as to
        # "medicare" (accepted), so it must not be answered "yes".
        self.cautious = cautious
        self.exact: dict[str, object] = {}
        self.fuzzy: dict[str, object] = {}
        self.cutoff = cutoff
        self.aliases = [alias for alias, _ in named]
        for alias, key in named:
            squashed = alias.replace(" ", "")
            self.exact.setdefault(squashed, key)
            if len(squashed) >= 5:
                self.fuzzy.setdefault(squashed, key)
        self.fuzzy_choices = by_first_letter(self.fuzzy)
        self.max_words = min(MAX_WINDOW_WORDS, max(len(a.split()) for a, _ in named) + 1)

    def scan(self, tokens: list[str]) -> list[Hit]:
        hits = []
        # Words known as they are (common words, keywords) are never a misspelt name.
        known = [t in COMMON or t in KEYWORDS for t in tokens]
        for size in range(1, self.max_words + 1):
            for start in range(len(tokens) - size + 1):
                squashed = "".join(tokens[start : start + size])
                key = self.exact.get(squashed)
                if key is not None:
                    hits.append(Hit(key, start, size, 100.0))
                    continue
                if len(squashed) < 5 or all(known[start : start + size]):
                    continue
                cutoff = self.cutoff if len(squashed) >= 7 else max(self.cutoff, 80.0)
                if self.cautious is None:
                    choices = self.fuzzy_choices.get(squashed[0], ())
                    found = process.extractOne(
                        squashed, choices, scorer=fuzz.ratio, score_cutoff=cutoff
                    )
                    if found:
                        hits.append(Hit(self.fuzzy[found[0]], start, size, found[1]))
                    continue
                choices = self.fuzzy_choices.get(squashed[0], ())
                found = process.extract(
                    squashed, choices, scorer=fuzz.ratio, score_cutoff=cutoff, limit=4
                )
                if found:
                    near = [f for f in found if f[1] >= found[0][1] - CAUTION_MARGIN]
                    best = next(
                        (f for f in near if isinstance(self.fuzzy[f[0]], self.cautious)), found[0]
                    )
                    hits.append(Hit(self.fuzzy[best[0]], start, size, best[1]))
        return hits

    def find(self, tokens: list[str]) -> list[Hit]:
        """Best non-overlapping hits, in the order they appear in the text."""
        chosen: list[Hit] = []
        taken: set[int] = set()
        for hit in sorted(self.scan(tokens), key=lambda h: (-h.score, -h.size, h.start)):
            span = set(range(hit.start, hit.start + hit.size))
            if span & taken:
                continue
            chosen.append(hit)
            taken |= span
        return sorted(chosen, key=lambda h: h.start)


# --- the replier ---------------------------------------------------------------------------


@dataclass
class Reading:
    """What a text asks for, as found in it."""

    tokens: list[str]
    corrected: list[str] = field(default_factory=list)  # tokens, misspelt keywords mended
    intents: dict[str, int] = field(default_factory=dict)  # intent -> first position
    days: list[int | str] = field(default_factory=list)
    parts_of_day: list[str] = field(default_factory=list)
    exercises: list[Exercise] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)
    other_plans: list[str] = field(default_factory=list)
    areas: list[tuple[Area, int]] = field(default_factory=list)  # area, words matched
    exercise_words: int = 0  # most words one exercise name matched
    exercise_at: set[int] = field(default_factory=set)  # positions of exercise names
    area_at: set[int] = field(default_factory=set)  # positions of body areas
    other_body: str = ""  # a body part the exercises are not for ("neck")

    def add(self, intent: str, position: int) -> None:
        self.intents.setdefault(intent, position)

    def copy(self) -> Reading:
        """A copy to decide on: the decisions change its lists, not the one read."""
        return replace(
            self, corrected=list(self.corrected), intents=dict(self.intents),
            days=list(self.days), parts_of_day=list(self.parts_of_day),
            exercises=list(self.exercises), plans=list(self.plans),
            other_plans=list(self.other_plans), areas=list(self.areas),
            exercise_at=set(self.exercise_at), area_at=set(self.area_at),
        )  # fmt: skip


class Replier:
    """The clinic's answers, built once from the content and reused for every text."""

    def __init__(self, content: Content, timezone: ZoneInfo):
        self.content = content
        self.timezone = timezone
        self.phone = content.clinic.phone
        self.exercise_index = PhraseIndex(
            [(alias, e) for e in content.exercises for alias in e.aliases], cutoff=85.0
        )
        plans: list[tuple[str, object]] = [(a, p) for p in content.insurance for a in p.aliases]
        plans += [(alias, alias) for alias in content.other_plans]
        # Plans need a closer match than exercises: a wrong "yes" costs the patient money.
        self.plan_index = PhraseIndex(plans, cutoff=87.0, cautious=str)
        self.area_index = PhraseIndex(
            [(alias, a) for a in content.areas for alias in a.aliases], cutoff=88.0
        )
        self.numbered = {str(i): e for i, e in enumerate(content.exercises, start=1)}
        self.say = content.say  # every sentence comes from the content's catalogue
        # The last texts read, and their red flags (the same text is answered twice, once
        # in each language).
        self._read_once = functools.lru_cache(maxsize=64)(self._read)
        self._flags_once = functools.lru_cache(maxsize=64)(self._flags)
        # The days as written in each language, with accents or in plain letters as the
        # content is (SPANISH_ACCENTS).
        write = (lambda d: d) if content.accents else plain_spanish
        self.weekdays = {"en": DAY_NAMES, "es": tuple(map(write, DIAS))}
        self.weekdays_short = {"en": DAY_SHORT, "es": tuple(map(write, DIAS_CORTOS))}
        from bot.spanish import SpanishReplies  # it builds on this module's helpers

        # The words of the exercises' Spanish names say a text is Spanish ("gato y camello"),
        # unless English has them too ("abdominal").
        english_names = {
            w
            for e in content.exercises
            for a in set(e.aliases) - set(e.in_language("es").aliases)
            for w in a.split()
        } | {
            w
            for index in (self.plan_index, self.area_index)
            for a in index.aliases
            for w in a.split()
        }
        spanish_names = frozenset(
            w
            for e in content.exercises
            for a in e.in_language("es").aliases
            for w in a.split()
            if w not in english_names and w not in COMMON and w not in KEYWORDS
        )
        self.spanish = SpanishReplies(self, spanish_names)
        names = sorted(
            {a for e in content.exercises for a in e.aliases if " " in a}, key=len, reverse=True
        )
        self.exercise_names = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
        # Words of the content's own names are never "corrected" into a keyword: "stiff"
        # (an area) is not "staff".
        self.name_words = frozenset(
            word
            for index in (self.exercise_index, self.plan_index, self.area_index)
            for alias in index.aliases
            for word in alias.split()
        )

    # -- reading ---------------------------------------------------------------------------

    def read(self, normalized: str, spanish: bool = False) -> Reading:
        """What the text asks for. The webhook writes each answer in both languages: the
        second reading of the same text is the first one's, copied."""
        return self._read_once(normalized, spanish).copy()

    def _read(self, normalized: str, spanish: bool = False) -> Reading:
        normalized = _phrases(normalized)
        shorthand = SHORTHAND_ES if spanish else SHORTHAND
        tokens = [shorthand.get(t, t) for t in normalized.split()]
        if any(t in shorthand for t in normalized.split()):
            tokens = _phrases(" ".join(tokens)).split()  # "were r u": "where are you"
        reading = Reading(tokens, corrected=list(tokens))
        for position, token in enumerate(tokens):
            intent = KEYWORDS.get(token)
            day = DAY_WORDS.get(token)
            if (
                intent is None
                and day is None
                and len(token) >= 4
                and token not in COMMON
                and token not in spanish_words.COMMON
                and token not in self.name_words
            ):
                found = process.extractOne(
                    token, FUZZY_KEYWORDS.get(token[0], ()), scorer=fuzz.ratio, score_cutoff=80.0
                )
                if found:
                    intent = KEYWORDS[found[0]]
                    reading.corrected[position] = found[0]  # "execises": "exercises"
                else:
                    found = process.extractOne(
                        token, FUZZY_DAYS.get(token[0], ()), scorer=fuzz.ratio, score_cutoff=80.0
                    )
                    day = DAY_WORDS[found[0]] if found else None
            if intent:
                reading.add(intent, position)
            if day is not None and day not in reading.days:
                reading.days.append(day)
                reading.add("day", position)
            if token in PART_OF_DAY:
                reading.parts_of_day.append(token)
        if (
            "location" in reading.intents
            and WHERE_NOT_PLACE.search(" ".join(tokens))
            and not any(KEYWORDS.get(t) == "location" for t in tokens if t != "where")
        ):
            reading.intents.pop("location")
        for hit in self.exercise_index.find(tokens):
            if hit.key not in reading.exercises:
                reading.exercises.append(hit.key)  # type: ignore[arg-type]
                reading.add("exercise", hit.start)
            reading.exercise_words = max(reading.exercise_words, hit.size)
            reading.exercise_at.update(range(hit.start, hit.start + hit.size))
        hits = self.plan_index.find(tokens)
        for hit in joined_plans(hits, tokens):
            if isinstance(hit.key, str):
                name = " ".join(tokens[hit.start : hit.start + hit.size])
                reading.other_plans.append(name)
            elif hit.key not in reading.plans:
                reading.plans.append(hit.key)  # type: ignore[arg-type]
            reading.add("insurance", hit.start)
        for hit in self.area_index.find(tokens):
            if all(area is not hit.key for area, _ in reading.areas):
                reading.areas.append((hit.key, hit.size))  # type: ignore[arg-type]
                reading.add("area", hit.start)
            reading.area_at.update(range(hit.start, hit.start + hit.size))
        return reading

    # -- answering -------------------------------------------------------------------------

    def reply(self, text: str, now: dt.datetime, language: str | None = None) -> Reply:
        """The answer to one text, in ``language`` ("en", "es"; None: the text's own);
        ``now`` is an aware datetime (for "open now?")."""
        normalized = normalize(text[:MAX_READ_CHARS])
        given = language is not None
        emergency = self.red_flag(normalized, language)
        if emergency:
            return emergency
        if language is None:
            # The text's language: more Spanish words than English ones (as typed, before
            # shorthand and phrases are read), or a "¿" or "¡".
            spanish = SPANISH_MARKS.intersection(text) or self.spanish.is_spanish(
                normalized.split(), ENGLISH_WORDS
            )
            language = "es" if spanish else "en"
        if not normalized:
            if ACKNOWLEDGING.intersection(text):  # "👍": a thumbs-up, not a question
                return replace(Reply("thanks", self.thanks(language)), language=language)
            return replace(Reply("menu", self.menu(language)), language=language)
        # "exercise 3 please", "done thanks": the same without the polite words.
        core = " ".join(t for t in normalized.split() if t not in POLITE_WORDS)
        number = NUMBERED.fullmatch(core)
        if number and number.group(1) in self.numbered:
            return replace(
                Reply("exercise", self.exercise_text(self.numbered[number.group(1)], language)),
                language=language,
            )
        if core in DONE_WORDS:
            return replace(Reply("done", self.done(language)), language=language)
        reading = self.read(normalized, language == "es")
        if (
            not given
            and language == "en"
            and reading.corrected != reading.tokens
            and self.spanish.is_spanish(reading.corrected, ENGLISH_WORDS)
        ):
            language = "es"  # misspelt Spanish read right ("aseptan aetna"): Spanish after all
        mended = " ".join(reading.corrected)  # "my execises hurt": "my exercises hurt"
        # Safety first, in either language: pain during an exercise stops it.
        if self.exercise_pain(mended, reading) or self.exercise_pain(normalized, reading):
            if not given and SPANISH_PAIN.search(normalized):
                language = "es"
            return replace(self.stop_exercise(reading.exercises, language), language=language)
        asked = {"insurance", "location", "phone", "appointment", "exercise", "area"}
        if (
            DONE_PHRASE.search(mended)
            and not asked & set(reading.intents)
            and "you" not in reading.tokens  # "are you done today?" asks about the clinic
        ):
            return replace(Reply("done", self.done(language)), language=language)
        if (
            FEELING_BETTER.search(mended)
            and reading.tokens[0] not in QUESTION_WORDS
            and not (asked - {"area"} | {"pain"}) & set(reading.intents)
        ):
            return replace(Reply("better", self.feeling_better(language)), language=language)
        if MY_ROUTINE.search(mended) and not (asked | {"dosage"}) & set(reading.intents):
            # Without the patient's record (see bot.inbound), the whole list.
            return replace(Reply("my_routine", self.exercise_list(language)), language=language)
        return replace(self.answer(reading, now, normalized, language), language=language)

    def red_flag(self, normalized: str, language: str | None = None) -> Reply | None:
        """The emergency answer when the text names a red flag, in English or Spanish: in
        ``language``, or None: the language the red flag was named in."""
        found = self._flags_once(normalized)
        if found is None:
            return None
        flag, named_in = found
        language = language or named_in
        if flag == "crisis":
            return Reply("emergency", self.say("crisis", language), language)
        said = self.say("emergency", language, what=self.say(flag, language))
        return Reply("emergency", said, language)

    def _flags(self, normalized: str) -> tuple[str, str] | None:
        """The red flag a text names (its key in the catalogue, "crisis" for thoughts of
        self-harm) and the language it is named in."""
        # Exercise names are read as one word here: "knee to chest hurts" is not chest pain.
        text = self.exercise_names.sub(lambda m: m.group(0).replace(" ", ""), normalized)
        text = NEGATED_RED_FLAGS.sub(" ", spell_red_flags(text))  # "no chest pain, just..."
        for pattern, what, unless in EMERGENCY_PATTERNS:
            if not pattern.search(text) or any(
                self.about_exercise(text) if cancel == DURING_EXERCISE else cancel.search(text)
                for cancel in unless
            ):
                continue
            return ("crisis" if what == SELF_HARM else what), "en"
        flag = self.spanish.flag(normalized)
        return (flag, "es") if flag else None

    def about_exercise(self, text: str) -> bool:
        """The text speaks of doing an exercise (one by name, or exercising at all)."""
        if PAIN_WITH_ACTIVITY.search(text) or re.search(r"\bdoing\b", text):
            return True
        return bool(self.exercise_index.find(text.split()))

    def exercise_pain(self, normalized: str, reading: Reading) -> bool:
        """Pain during or after an exercise: stop it and call the clinic."""
        if not EXERCISE_PAIN.search(NO_PAIN.sub("", normalized)):
            return False
        if not reading.exercises and (
            ASKS_WHAT_HELPS & set(reading.tokens) or ASKS_FOR_EXERCISES.search(normalized)
        ):
            return False  # "what exercises help when I have pain": a question, not a report
        about_exercise = bool(reading.exercises) or bool(PAIN_WITH_ACTIVITY.search(normalized))
        return about_exercise and bool(DURING.search(normalized) or reading.exercises)

    def stop_exercise(self, exercises: list[Exercise], language: str) -> Reply:
        which = (
            self.say("the_exercise", language, exercise=exercises[0].in_language(language).name)
            if exercises
            else self.say("that_exercise", language)
        )
        return Reply("pain", self.say("exercise_pain", language, which=which))

    def answer(
        self, reading: Reading, now: dt.datetime, normalized: str, language: str = "en"
    ) -> Reply:
        intents = dict(reading.intents)
        strong = {"hours", "location", "phone", "insurance", "exercise", "appointment"}
        # An exercise named apart from the body area asks for that exercise ("the doctor
        # gave me stretches for my lower back, how do I do the knee to chest?"). An area
        # named with an exercise's own name ("hamstring") asks for that exercise, unless
        # the text asks what helps ("tight hamstrings", "stretches for my hips").
        if "area" in intents and reading.exercises and not reading.exercise_at & reading.area_at:
            intents.pop("area")
        if "area" in intents and reading.exercises:
            longest_area = max(size for _, size in reading.areas)
            asks_what_helps = "pain" in intents or _asks_what_helps(reading.tokens)
            if asks_what_helps or longest_area > reading.exercise_words:
                intents.pop("exercise")
                reading.exercises.clear()
            else:
                intents.pop("area")
        if "area" in intents:
            intents.pop("list", None)
            intents.pop("pain", None)
        if "area" in intents and strong & set(intents):
            intents.pop("area")  # "back" in "call me back" is not a body area
        # Days and parts of the day are about hours only when nothing else is asked ("my
        # back hurts now" is not "open now?").
        if "day" in intents:
            if not set(intents) - {"day", "greeting", "thanks", "spanish"}:
                intents["hours"] = intents["day"]
            intents.pop("day")
        if "spanish" in intents and len(intents) > 1 and "greeting" in intents:
            intents.pop("greeting")
        if "list" in intents and "exercise" in intents:
            intents.pop("list")
        if "cost" in intents:
            intents.pop("appointment", None)  # "how much is a visit": the price answers it
            if not reading.plans and not reading.other_plans:
                intents.pop("insurance", None)
        if (
            "dosage" in intents
            and not {"reps", "rep", "repetitions"} & set(reading.tokens)
            and not DOSAGE_CONTEXT & set(reading.tokens)
        ):
            intents.pop("dosage")  # "how long is the drive" is not about the exercises
        if "dosage" in intents and ({"exercise", "appointment"} & set(intents)):
            intents.pop("dosage")  # an exercise's steps say how long and how often
        if "dosage" in intents:
            intents.pop("list", None)
        if "enroll" in intents:
            intents.pop("reminders", None)  # "how do I sign up for reminders?"
        if "ask_clinic" in intents:
            reading.exercises.clear()  # "is the pelvic tilt safe if I'm pregnant?"
            for general in ("area", "list", "pain", "exercise"):
                intents.pop(general, None)  # ask the provider first, not a list to try
        other = [t for t in reading.tokens if t in OTHER_BODY_PARTS]
        if (
            other
            and {"pain", "list"} & set(intents)
            and not reading.exercises
            and "area" not in intents
        ):
            for general in ("list", "pain"):
                intents.pop(general, None)
            intents["other_body"] = reading.tokens.index(other[0])
            reading.other_body = other[0]
        if "pain" in intents:
            intents.pop("pain")
            if not set(intents) - SMALL_TALK:  # "hi, I have a herniated disc"
                intents = {"pain_general": 0}
        if set(intents) - SMALL_TALK:
            for small in SMALL_TALK:
                intents.pop(small, None)
        elif len(intents) > 1:
            intents.pop("thanks")  # "hi, thanks": the menu
        if (
            "phone" in intents
            and len(intents) > 1
            and {"hours", "location", "insurance"} & set(intents)
        ):
            intents.pop("phone")  # every one of those answers already gives the phone
        if not intents:
            if normalized in YES_NO_SMALLTALK:
                return Reply("thanks", self.thanks(language))
            unknown_plan = self.unknown_plan(reading.tokens)
            if unknown_plan:
                intents["insurance"] = 0
            else:
                return Reply("unknown", self.unknown(language))

        # The first questions asked, at most three: every one a reply to pay for, and
        # Twilio refuses a reply over 1,600 characters outright.
        asked = sorted(intents, key=intents.__getitem__)[:MAX_ANSWERS]
        parts = [self.section(intent, reading, now, language) for intent in asked]
        if len("\n\n".join(parts)) > MAX_REPLY_CHARS and len(reading.exercises) > 1:
            # Two exercises' steps and more: the first one's steps, the other by name.
            first, other = reading.exercises[:2]
            name = other.in_language(language).name.upper()
            other_one = self.say("exercise_other", language, name=name)
            parts[asked.index("exercise")] = f"{self.exercise_text(first, language)}\n\n{other_one}"
        while len("\n\n".join(parts)) > MAX_REPLY_CHARS and len(parts) > 1:
            parts.pop()
            asked.pop()
        return Reply("+".join(asked), "\n\n".join(parts))

    def section(self, intent: str, reading: Reading, now: dt.datetime, language: str = "en") -> str:
        if intent == "exercise":
            return "\n\n".join(self.exercise_text(e, language) for e in reading.exercises[:2])
        if intent == "area":
            return self.area_text(
                [area for area, _ in reading.areas], language
            ) + self.nerve_caveat(reading, language)
        if intent == "hours":
            return self.hours_text(reading, now, language)
        if intent == "location":
            return self.location(language)
        if intent == "insurance":
            return self.insurance_text(reading, language)
        if intent == "list":
            return self.exercise_list(language)
        if intent == "other_body":
            return self.say("other_body", language, part=reading.other_body) + self.nerve_caveat(
                reading, language
            )
        if intent == "about":
            return self.help_text(language == "es")
        # The answers that are one message of the catalogue.
        return self.say(SAID_AS.get(intent, "menu"), language)

    # -- texts -----------------------------------------------------------------------------

    def menu(self, language: str = "en") -> str:
        return self.say("menu", language)

    def unknown(self, language: str = "en") -> str:
        return self.say("unknown", language)

    def thanks(self, language: str = "en") -> str:
        return self.say("thanks", language)

    def feeling_better(self, language: str = "en") -> str:
        return self.say("feeling_better", language)

    def done(self, language: str = "en") -> str:
        return self.say("done", language)

    def location(self, language: str = "en") -> str:
        c = self.content.clinic
        directions = (c.directions_es or c.directions) if language == "es" else c.directions
        return self.say("location", language, address=c.address, directions=directions)

    def exercise_text(self, exercise: Exercise, language: str = "en") -> str:
        said = exercise.in_language(language)
        title = self.say(
            "exercise_title", language, name=said.name, purpose=_lower_first(said.purpose),
            english=exercise.name,
        )  # fmt: skip
        lines = [title] + [f"{i}. {step}" for i, step in enumerate(said.steps, start=1)]
        if said.tips:
            lines.append(self.say("exercise_tips", language, tips=" ".join(said.tips)))
        lines.append(self.say("exercise_stop", language))
        return "\n".join(lines)

    def exercise_list(self, language: str = "en") -> str:
        names = "\n".join(
            f"{i} {e.in_language(language).name}"
            + (f" ({e.name})" if e.in_language(language).name != e.name else "")
            for i, e in enumerate(self.content.exercises, 1)
        )
        return self.say("exercise_list", language, names=names)

    def routine_text(self, routine: list[str], language: str) -> str | None:
        """A patient's own routine, from their record; None when it names no exercise."""
        names = [
            e.in_language(language).name
            for x in routine
            for e in self.content.exercises
            if e.id == x
        ]
        if not names:
            return None
        return self.say("routine", language, routine=", ".join(names))

    def nerve_caveat(self, reading: Reading, language: str = "en") -> str:
        """For a text that names numbness or tingling ("tingling down my leg")."""
        return " " + self.say("nerve", language) if NERVE_SIGNS & set(reading.tokens) else ""

    def joined(self, names, language: str = "en") -> str:
        """Names as a list is said: "Aetna and Cigna"."""
        return f" {self.say('and', language)} ".join(names)

    def area_text(self, areas: list[Area], language: str = "en") -> str:
        chosen: list[Exercise] = []
        for area in areas:
            chosen += [e for e in area.exercises if e not in chosen]
        return self.say(
            "area",
            language,
            areas=self.joined((a.name for a in areas), language),
            exercises=", ".join(e.in_language(language).name for e in chosen),
        )

    def insurance_text(self, reading: Reading, language: str = "en") -> str:
        unknown = [plan_title(name) for name in reading.other_plans]
        if not reading.plans and not unknown:
            guess = self.unknown_plan(reading.tokens)
            if guess:
                unknown.append(guess)
        parts = self.insurance_answer(reading.plans, unknown, language)
        recent = not PAST_EVENT.search(" ".join(reading.tokens))
        if ACCIDENT_WORDS & set(reading.tokens) and recent:
            parts.append(self.say("accident", language))  # "I was in a car accident"
        return " ".join(parts)

    def insurance_answer(self, accepted: list[Plan], others: list[str], language: str) -> list:
        """Yes for each accepted plan named, not on the list for the others, the list when
        a plan is not on it or none was named. Never yes for a plan not accepted."""
        parts = []
        if accepted:
            names = self.joined(dict.fromkeys(p.name for p in accepted), language)
            parts.append(self.say("insurance_yes", language, plans=names))
        if others:
            key = "insurance_not_listed_many" if len(set(others)) > 1 else "insurance_not_listed"
            names = self.joined(dict.fromkeys(others), language)
            parts.append(self.say(key, language, plans=names))
        listed = ", ".join(p.name for p in self.content.insurance)
        if accepted and not others:
            parts.append(self.say("insurance_coverage", language))
        elif not parts:
            parts.append(self.say("insurance_list", language, plans=listed))
        else:
            parts.append(self.say("insurance_accepted", language, plans=listed))
        return parts

    def unknown_plan(self, tokens: list[str]) -> str | None:
        """The plan a patient named that is on neither list ("do you take Zorba Health")."""
        text = " ".join(tokens)
        insurance_words = {"insurance", "plan", "plans", "coverage", "covered", "network"}
        asks_about_insurance = bool(insurance_words & set(tokens))
        # "do you do massage", "i have a question": loose verbs name a plan only beside
        # an insurance word ("do you do my insurance, Zorba Health").
        verbs = r"take|accept|accepting|covered by|in network with"
        if asks_about_insurance:
            verbs += r"|cover|work with|bill|do you do|have|with"
        match = re.search(rf"\b(?:{verbs})\s+(.+)$", text)
        if not match:
            match = re.search(r"^(?:is|does)\s+(.+?)\s+(?:accepted|covered|ok|in network)\b", text)
        if not match:
            return None
        words = [
            w
            for w in match.group(1).split()
            if w not in PLAN_FILLER and w not in KEYWORDS and w not in COMMON
        ][:3]
        name = " ".join(words)
        if not name or name in NOT_PLANS or any(w in NOT_PLANS for w in words):
            return None
        # Without an insurance word, "do you take X" names a plan only when X is short,
        # and only when the clinic is asked ("I take deep breaths" names no plan).
        if not asks_about_insurance and (len(words) > 2 or not ASKS_CLINIC & set(tokens)):
            return None
        return plan_title(name)

    def hours_text(self, reading: Reading, now: dt.datetime, language: str = "en") -> str:
        local = now.astimezone(self.timezone)
        today = local.weekday()
        days = reading.days
        if "now" in days or (not days and _asks_now(reading.tokens)):
            return self.open_now(local, language)
        at = times_asked(" ".join(reading.tokens))  # "are you open monday at 1pm"
        if at and not days:
            days = ["today"]
        parts = reading.parts_of_day
        lines = []
        asked_days = []
        for day in days:
            if day == "weekend":
                lines += [
                    self.day_line(5, parts, at=at, language=language),
                    self.day_line(6, parts, at=at, language=language),
                ]
                asked_days += [5, 6]
            elif day == "today":
                lines.append(self.day_line(today, parts, "today", at, language))
                asked_days.append(today)
            elif day == "tomorrow":
                lines.append(self.day_line((today + 1) % 7, parts, "tomorrow", at, language))
                asked_days.append((today + 1) % 7)
            elif isinstance(day, int):
                lines.append(self.day_line(day, parts, at=at, language=language))
                asked_days.append(day)
        if not lines:
            return self.week_hours(language)
        if any(not self.content.hours[d] for d in asked_days):
            lines.append(self.week_hours(language))
        else:
            lines.append(self.say("call", language))
        return "\n".join(lines)

    def week_hours(self, language: str = "en") -> str:
        short = self.weekdays_short[language]
        hours = self.content.hours
        rows = [f"{short[d]} {self.spans(hours[d], language)}" for d in range(7) if hours[d]]
        closed = [short[d] for d in range(7) if not hours[d]]
        if closed:
            glue = " & " if language == "en" else f" {self.say('and', language)} "
            rows.append(self.say("hours_closed_days", language, days=glue.join(closed)))
        return self.say("hours_week", language, rows="\n".join(rows))

    def spans(self, spans: tuple[Span, ...], language: str = "en") -> str:
        text = spans_text(spans)
        return text if language == "en" else text.replace(" & ", f" {self.say('and', language)} ")

    def day_line(
        self,
        day: int,
        parts: list[str],
        relative: str = "",
        at: list[dt.time] = (),
        language: str = "en",
    ) -> str:
        """One day's hours: a day of the week, or ``relative`` ("today", "tomorrow")."""
        spans = self.content.hours[day]
        if not spans:
            if relative:
                return self.say("hours_closed_relative", language, day=self.say(relative, language))
            return self.say("hours_closed_on", language, day=self.weekdays[language][day])
        hours = self.spans(spans, language)
        if relative:
            label = self.say(relative, language).capitalize()
            line = [self.say("hours_day_relative", language, day=label, spans=hours)]
        else:
            line = [self.say("hours_day", language, day=self.weekdays[language][day], spans=hours)]
        for part in parts:
            lo, hi = PART_OF_DAY[part]
            inside = [
                Span(max(s.start, dt.time(lo)), min(s.end, dt.time(hi)) if hi < 24 else s.end)
                for s in spans
                if s.start.hour < hi and _hours(s.end) > lo
            ]
            named = self.say(PART_NAMES[part], language)
            if inside:
                spans_inside = self.spans(tuple(inside), language)
                line.append(self.say("hours_part_open", language, part=named, spans=spans_inside))
            else:
                line.append(self.say("hours_part_closed", language, part=named))
        for moment in at:
            open_then = any(s.start <= moment < s.end for s in spans)
            key = "hours_at_open" if open_then else "hours_at_closed"
            line.append(self.say(key, language, time=_clock(moment)))
        return " ".join(line)

    def open_now(self, local: dt.datetime, language: str = "en") -> str:
        moment = local.time()
        for span in self.content.hours[local.weekday()]:
            if span.start <= moment < span.end:
                return self.say("open_now", language, time=_clock(span.end))
        for ahead in range(8):
            day = (local.weekday() + ahead) % 7
            for span in self.content.hours[day]:
                if ahead == 0 and span.start <= moment:
                    continue
                when = (
                    self.say("today", language) if ahead == 0
                    else self.say("tomorrow", language) if ahead == 1
                    else self.say("on_day", language, day=self.weekdays[language][day])
                )  # fmt: skip
                return self.say("closed_now_until", language, when=when, time=_clock(span.start))
        return self.say("closed_now", language)

    def unavailable_text(self, language: str = "en") -> str:
        """When the database cannot take a text: the patient is told to call."""
        return self.say("unavailable", language)

    # -- compliance texts (the keywords are read in bot.compliance) ------------------------

    def help_text(self, spanish: bool = False) -> str:
        return self.say("help", "es" if spanish else "en")

    def opt_out_text(self, spanish: bool = False) -> str:
        return self.say("opt_out", "es" if spanish else "en")

    def opt_in_text(self, spanish: bool = False) -> str:
        return self.say("opt_in", "es" if spanish else "en")


# The intents answered with one message of the catalogue, by its key.
SAID_AS = {
    "appointment": "appointment", "cost": "cost", "dosage": "dosage",
    "ask_clinic": "ask_provider", "enroll": "enroll", "media": "media",
    "reminders": "reminders", "holiday": "holiday", "spanish": "spanish_spoken",
    "thanks": "thanks", "pain_general": "pain_general", "phone": "phone_person",
}  # fmt: skip

PLAN_FILLER = frozenset(
    "insurance insurances plan plans my the a an from through thru health healthcare medical "
    "coverage network in do you guys yall accept take does is it ok".split()
)
NOT_PLANS = frozenset(
    "walk walkins walk-ins ins new patients patient credit card cards cash check checks "
    "appointments appointment kids children child same day medicine questions pain "
    "x xray xrays ray rays mri massage massages acupuncture therapy debit visa mastercard "
    "amex pay payment payments".split()
)


def _asks_what_helps(tokens: list[str]) -> bool:
    words = set(tokens)
    return bool(
        words & {"help", "helps", "good", "best", "for", "tight", "stiff", "strengthen", "which"}
    )


def _asks_now(tokens: list[str]) -> bool:
    return "now" in tokens or "still" in tokens


def _hours(t: dt.time) -> float:
    return t.hour + t.minute / 60


# A clock time asked about: "1pm", "10 am", "3 30pm", "noon", or "at 2" (1 to 7 read as
# afternoon, 8 to 11 as morning: the hours a clinic keeps).
CLOCK_TIME = re.compile(r"\b(?:(\d{1,2})(?: (\d{2}))? ?(am|pm)|at (\d{1,2})(?: (\d{2}))?|(noon))\b")


def times_asked(text: str) -> list[dt.time]:
    times = []
    for match in CLOCK_TIME.finditer(text):
        if match.group(6):
            times.append(dt.time(12))
            continue
        hour = int(match.group(1) or match.group(4))
        minute = int(match.group(2) or match.group(5) or 0)
        suffix = match.group(3)
        if hour > 12 or minute > 59 or (suffix and hour == 0):
            continue
        if suffix == "pm" and hour != 12:
            hour += 12
        elif suffix == "am" and hour == 12:
            hour = 0
        elif not suffix and 1 <= hour <= 7:
            hour += 12
        times.append(dt.time(hour, minute))
    return times


def _clock(t: dt.time) -> str:
    hour = t.hour % 12 or 12
    suffix = "am" if t.hour < 12 else "pm"
    minutes = f":{t.minute:02d}" if t.minute else ""
    return f"{hour}{minutes}{suffix}"


def spans_text(spans: tuple[Span, ...]) -> str:
    return " & ".join(f"{_clock(s.start)}-{_clock(s.end)}" for s in spans)


def _phrases(normalized: str) -> str:
    """Phrases read as one word ("walk ins": "walkin"); twice, for a phrase made of one
    ("is this back and spine clinic": "is this clinic": "menu")."""
    for _ in range(2):
        replaced = PHRASE_PATTERN.sub(lambda m: PHRASES[m.group(0)], normalized)
        if replaced == normalized:
            break
        normalized = replaced
    return normalized


def joined_plans(hits: list[Hit], tokens: list[str]) -> list[Hit]:
    """An accepted plan's name beside one that is not on the list names one plan, and not an
    accepted one: "Aetna HMO", "Anthem Blue Cross", "Aetna Medicare Advantage PPO" (one word
    between them, but not "and" or "or") are never answered "yes"."""
    joined: list[Hit] = []
    for hit in hits:
        last = joined[-1] if joined else None
        gap = tokens[last.start + last.size : hit.start] if last else []
        if (
            last is not None
            and (not gap or (len(gap) == 1 and gap[0] not in PLAN_SEPARATORS))
            and (isinstance(last.key, str) or isinstance(hit.key, str))
        ):
            size = hit.start + hit.size - last.start
            joined[-1] = Hit("", last.start, size, min(last.score, hit.score))
            continue
        joined.append(hit)
    return joined


PLAN_SEPARATORS = frozenset("and or but also plus vs not nor y o e u pero".split())


def plan_title(name: str) -> str:
    """A plan's name as typed, written as a name: "uhc dual" -> "UHC Dual"."""
    return " ".join(
        w if w in SMALL_WORDS else w.upper() if len(w) <= 3 or w in ACRONYMS else w.capitalize()
        for w in name.split()
    )


SMALL_WORDS = frozenset("a an and for in of or the to by".split())


ACRONYMS = frozenset({"aarp", "bcbs", "phcs", "mhbp", "uhc"})


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text
