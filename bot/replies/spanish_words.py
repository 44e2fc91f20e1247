"""How patients write in Spanish, for the one reader of texts (``bot.replies``): the words
that carry each intent, the days, shorthand and phrases (the ``spanish`` part of
words.yaml, beside this module). Written as texts are read: lower case, without accents.
English words win where a word is both.
"""

from __future__ import annotations

from pathlib import Path

import yaml

# The whole file, read once here (bot.replies.words takes its English part).
WORDS = yaml.safe_load(Path(__file__).with_name("words.yaml").read_text(encoding="utf-8"))
_WORDS = WORDS["spanish"]
KEYWORDS: dict[str, str] = _WORDS["intents"]  # intent -> its words, as in English
DAY_WORDS: dict[str, int | str] = _WORDS["days"]
SHORTHAND: dict[str, str] = _WORDS["shorthand"]
NOT_SHORTHAND = frozenset(_WORDS["not_shorthand"])  # English shorthand that is Spanish
PHRASES: dict[str, str] = _WORDS["phrases"]
COMMON = frozenset(_WORDS["common"].split())  # never "corrected" into a keyword
DONE_WORDS = frozenset(_WORDS["done"])
