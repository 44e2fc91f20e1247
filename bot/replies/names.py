"""Finding the clinic's own names in a text (exercises, plans, body areas), typos and
missing spaces tolerated, and telling a plan on the list from one that only shares a word
with it ("Aetna HMO" is not Aetna).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from bot.replies.words import COMMON, KEYWORDS, by_first_letter

MAX_WINDOW_WORDS = 5
# How close a plan that is not accepted may come to the best match before it wins.
CAUTION_MARGIN = 8.0
# Runs of words looked up by each index (``PhraseIndex.closest``) kept between texts.
CLOSEST_KEPT = 4096


@dataclass(frozen=True)
class Hit:
    key: object
    start: int
    size: int
    score: float


@lru_cache(maxsize=16)
def windows(tokens: tuple[str, ...]) -> tuple[dict[str, list[tuple[int, int]]], tuple]:
    """Every run of up to ``MAX_WINDOW_WORDS`` words of a text, without its spaces: where
    each is (words, start), and the runs that may be a misspelt name (size, start, the
    run), shortest first: five letters or more, not all words known as they are (common
    words and keywords are never a misspelt name). Worked out once a text for the
    exercise, plan and area names."""
    at: dict[str, list[tuple[int, int]]] = {}
    unknown = []
    count = len(tokens)
    for start in range(count):
        squashed, only_known = "", True
        for end in range(start, min(start + MAX_WINDOW_WORDS, count)):
            token = tokens[end]
            squashed += token
            only_known = only_known and (token in COMMON or token in KEYWORDS)
            at.setdefault(squashed, []).append((end - start + 1, start))
            if not only_known and len(squashed) >= 5:
                unknown.append((end - start + 1, start, squashed))
    unknown.sort()  # shortest first
    return at, tuple(unknown)


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
        self._closest: dict[str, tuple[object, float] | None] = {}

    def scan(self, tokens: list[str]) -> list[Hit]:
        at, unknown = windows(tuple(tokens))
        hits = [
            Hit(self.exact[squashed], start, size, 100.0)
            for squashed in self.exact.keys() & at.keys()
            for size, start in at[squashed]
            if size <= self.max_words
        ]
        for size, start, squashed in unknown:
            if size > self.max_words:
                break
            if squashed in self.exact:
                continue
            found = self.closest(squashed)
            if found:
                hits.append(Hit(found[0], start, size, found[1]))
        return hits

    def closest(self, squashed: str) -> tuple[object, float] | None:
        """The name a run of words not known as it is was meant as, with its score; None
        when none is close enough. Runs recur from text to text ("tuesday", "lowerback"):
        each is looked up once (a bounded cache per index)."""
        if squashed in self._closest:
            return self._closest[squashed]
        cutoff = self.cutoff if len(squashed) >= 7 else max(self.cutoff, 80.0)
        choices = self.fuzzy_choices.get(squashed[0], ())
        if self.cautious is None:
            found = process.extractOne(squashed, choices, scorer=fuzz.ratio, score_cutoff=cutoff)
            result = (self.fuzzy[found[0]], found[1]) if found else None
        else:
            result = None
            found = process.extract(
                squashed, choices, scorer=fuzz.ratio, score_cutoff=cutoff, limit=4
            )
            if found:
                near = [f for f in found if f[1] >= found[0][1] - CAUTION_MARGIN]
                best = next(
                    (f for f in near if isinstance(self.fuzzy[f[0]], self.cautious)), found[0]
                )
                result = (self.fuzzy[best[0]], best[1])
        if len(self._closest) >= CLOSEST_KEPT:
            self._closest.clear()
        self._closest[squashed] = result
        return result

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
