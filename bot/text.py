"""Normalising what people type, shared by the reply logic and the content loader."""

from __future__ import annotations

import re
import unicodedata

from bot.segments import to_plain

_NOT_WORD = re.compile(r"[^a-z0-9]+")
_APOSTROPHE = re.compile(r"(?<=[a-z])'(?=[a-z])")


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
