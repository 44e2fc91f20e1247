"""An exercise described instead of named ("the one on all fours where you arch your back",
"el de acostado apretando el abdomen"): the words of each exercise's steps, in both
languages (``described`` in words.yaml), against the text's."""

from __future__ import annotations

import math
import re
from collections import Counter

from bot.content import Exercise
from bot.replies.words import DESCRIBED

# "the one where...", "el de...": an exercise described, not named.
DESCRIBING = re.compile(
    r"\b((the|that|this|which) (\w+ )?(one|exercise|stretch)|(el|ese|este) (\w+ )?(ejercicio|"
    r"estiramiento)|el de|el del|el que|la de|la que)\b"
)
DESCRIBED_WORDS = 2


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


class Descriptions:
    def __init__(self, exercises: tuple[Exercise, ...] | list[Exercise]):
        by_id = {exercise.id: exercise for exercise in exercises}
        self.words = [
            (by_id[key], frozenset(_stem(w) for w in " ".join(texts).split()))
            for key, texts in DESCRIBED.items()
            if key in by_id
        ]
        counts = Counter(w for _, words in self.words for w in words)
        self.weight = {w: math.log(len(self.words) / n) for w, n in counts.items()}

    def find(self, tokens: list[str]) -> Exercise | None:
        """The exercise a text describes instead of naming: the one whose words (from its
        steps, words.yaml) the text shares most, at least ``DESCRIBED_WORDS`` of them and
        more than any other's."""
        words = {_stem(t) for t in tokens}
        scores = []
        for exercise, described in self.words:
            shared = words & described
            # A word few exercises share ("chair", "sideways") says more than "leg".
            weight = sum(self.weight[w] for w in shared)
            scores.append((weight, len(shared), exercise))
        scores.sort(key=lambda score: score[0], reverse=True)
        best, second = scores[0], scores[1]
        if best[1] < DESCRIBED_WORDS or best[0] <= second[0]:
            return None
        return best[2]
