"""The words texts are read with, in English and Spanish: which words carry which intent,
the days, shorthand typed on phones, phrases read as one word, and the words the reply
logic looks for (done, feeling better, the patient's routine...). Spanish joins the English
tables from ``spanish_words``; an English word keeps its intent where a word is both.
"""

from __future__ import annotations

import re

from bot.replies import spanish_words

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


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
        "greeting": "hi hii hiii hello hey heyy hiya howdy greetings morning menu afternoon "
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
