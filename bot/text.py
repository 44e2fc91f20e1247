"""Normalising what people type, shared by the reply logic and the content loader."""

from __future__ import annotations

import functools
import re
import re._constants as ops
import re._parser as parser
import unicodedata

from bot.sms.segments import is_gsm7, to_plain

_NOT_WORD = re.compile(r"[^a-z0-9]+")
_APOSTROPHE = re.compile(r"(?<=[a-z])'(?=[a-z])")


@functools.lru_cache(maxsize=256)  # a text is read by several steps: normalised once
def normalize(text: str) -> str:
    """Lower-case, accents and punctuation removed, "&" read as "and", one space between words.

    >>> normalize("Cat & Camel!!")
    'cat and camel'
    >>> normalize("Child's pose")
    'childs pose'
    """
    text = to_plain(text).lower().replace("&", " and ").replace("+", " and ")
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _APOSTROPHE.sub("", text)
    return _NOT_WORD.sub(" ", text).strip()


def gsm_name(name: str) -> str:
    """A name written in the SMS alphabet: "Zoë" -> "Zoe", "José" stays (é is GSM-7).
    One character outside it would make the whole text cost more than twice as much."""
    out = []
    for ch in to_plain(name):
        if is_gsm7(ch):
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append(base if base and is_gsm7(base) else "")
    return "".join(out)


def safe_cell(value) -> str:
    """A cell a spreadsheet shows as text: one starting with = + - @ (or a tab or carriage
    return) would run as a formula when the file is opened (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# --- ruling texts out before a scan ---------------------------------------------------------


def starts(items: list) -> set[str] | None:
    """How a match of a parsed pattern may begin: the literal beginnings of its first word
    ("numb" for numb\\w*, "me" and "falta" for (me )?falta); None when it may begin with
    anything (a class, \\w, \\d). A text with no word beginning so cannot match: most texts
    are ruled out by a few dictionary lookups instead of a scan of every pattern."""
    prefix = ""
    for i, (op, av) in enumerate(items):
        if op is ops.LITERAL:
            if chr(av) == " ":
                return {prefix} if prefix else None
            prefix += chr(av)
            continue
        if prefix:  # "c" + (ant|ouldnt): "cant", "couldnt"
            rest = starts(items[i:])
            return {prefix} if rest is None else {prefix + r for r in rest}
        if op in (ops.AT, ops.ASSERT, ops.ASSERT_NOT):
            continue
        if op is ops.IN and av == [(ops.CATEGORY, ops.CATEGORY_DIGIT)]:
            return set("0123456789")
        if op is ops.SUBPATTERN:
            found = starts(list(av[-1]))
        elif op is ops.BRANCH:
            found = set()
            for branch in av[1]:
                each = starts(list(branch))
                if each is None:
                    return None
                found |= each
        elif op in (ops.MAX_REPEAT, ops.MIN_REPEAT):
            found = starts(list(av[2]))
            if found is not None and av[0] == 0:
                found = found | {""}
        else:
            return None
        if found is None or "" not in found:
            return found
        rest = starts(items[i + 1 :])  # it may be empty: what follows may begin the match
        return None if rest is None else (found - {""}) | rest
    return {prefix}


def _rarest_word(items: list) -> set[str] | None:
    """The beginnings of the word of a pattern that rules out the most texts: of the words
    every match has (between its spaces), the one whose beginnings are longest ("you can
    (send|start)": "send", "start"; "on hold": "hold"); of a list of alternatives, each
    one's. None when no such word can be told."""
    core = [(op, av) for op, av in items if op is not ops.AT]  # \b(a|b): the branches
    if len(core) == 1 and core[0][0] is ops.BRANCH:
        items = core
    if len(items) == 1 and items[0][0] is ops.BRANCH:
        found: set[str] = set()
        for branch in items[0][1][1]:
            each = _rarest_word(list(branch))
            if each is None:
                return None
            found |= each
        return found
    slots: list[list] = [[]]
    for op, av in items:
        if op is ops.LITERAL and chr(av) == " ":
            slots.append([])
        else:
            slots[-1].append((op, av))
    best = None
    for slot in slots:
        found = starts(slot)
        if not found or "" in found:
            continue
        if best is None or min(map(len, found)) > min(map(len, best)):
            best = found
    return best


SEEN_WORDS = 8192  # the words a WordIndex remembers the lists of, then starts afresh


class WordIndex:
    """Which of several lists of patterns (over whole words of a normalised text) may match
    a text, told from how any of their matches must begin: a text whose words begin no
    match of a list is ruled out by dictionary lookups, instead of a scan of every
    pattern. The long word lists (red flags, opt-outs, commands) are scanned only for the
    texts a list may match."""

    def __init__(self, lists: dict):
        self.always: set = set()  # lists whose matches may begin with anything
        self.seen: dict[str, frozenset] = {}  # word -> its lists (words recur across texts)
        self.by_head: dict[str, list[tuple[str, object]]] = {}
        for key, patterns in lists.items():
            found: set[str] = set()
            for pattern in patterns:
                each = _rarest_word(list(parser.parse(pattern)))
                if each is None:
                    self.always.add(key)
                    break
                found |= each
            else:
                for beginning in found:
                    self.by_head.setdefault(beginning[:2], []).append((beginning, key))

    def found(self, words: list[str]) -> set:
        """The keys of the lists that may match a text of these words."""
        keys = set(self.always)
        seen = self.seen
        for word in words:
            begun = seen.get(word)
            if begun is None:
                if len(seen) >= SEEN_WORDS:
                    seen.clear()
                begun = seen[word] = self._begun_by(word)
            keys |= begun
        return keys

    def _begun_by(self, word: str) -> frozenset:
        """The keys of the lists a match of which may begin with ``word``."""
        return frozenset(
            key
            for head in ((word[:2], word[:1]) if len(word) > 1 else (word,))
            for beginning, key in self.by_head.get(head, ())
            if word.startswith(beginning)
        )
