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


# The word lists are data (words.yaml, beside this module, read by spanish_words).
WORDS = spanish_words.WORDS
KEYWORDS = words_by_intent(WORDS["english"]["intents"])

DAY_WORDS: dict[str, int | str] = dict(WORDS["english"]["days"])
PART_OF_DAY = {"morning": (0, 12), "afternoon": (12, 17), "evening": (17, 24), "night": (17, 24)}
# Shorthand people type on phones, read as the word they mean.
SHORTHAND: dict[str, str] = dict(WORDS["english"]["shorthand"])

# Phrases read as one word, so that "walk ins" is not "walk insurance".
PHRASES: dict[str, str] = dict(WORDS["english"]["phrases"])

PHRASES.update(spanish_words.PHRASES)
SHORTHAND.update(spanish_words.SHORTHAND)
# In a Spanish text, "ya" is "already", not "you".
SHORTHAND_ES = {k: v for k, v in SHORTHAND.items() if k not in spanish_words.NOT_SHORTHAND}
PHRASE_PATTERN = re.compile(
    r"(?<!\S)(?:" + "|".join(map(re.escape, sorted(PHRASES, key=len, reverse=True))) + r")(?!\S)"
)

# Common words never "corrected" into a keyword or a name by fuzzy matching.
COMMON = frozenset(WORDS["english"]["common"].split())
# The words that describe each exercise, from its steps (both languages): "the one on all
# fours where you arch your back" finds the Cat and Camel.
DESCRIBED: dict[str, list[str]] = WORDS["described"]


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
