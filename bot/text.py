"""Normalising what people type, shared by the reply logic and the content loader."""

from __future__ import annotations

import re
import unicodedata

from bot.segments import is_gsm7, to_plain

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
