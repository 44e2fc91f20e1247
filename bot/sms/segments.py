"""How many SMS segments a text costs, and keeping replies in plain GSM-7.

A text in the GSM 03.38 alphabet fits 160 characters in one segment, or 153 per segment
when it is split (the rest carries the header that joins the parts). One character outside
it (a curly quote, a long dash, an emoji) switches the whole text to UCS-2: 70 characters
in one segment, 67 per segment when split. Characters of the extension table (such as
``{ } [ ] ~ | ^ \\`` and the euro sign) cost two GSM-7 characters.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

# Typographic characters people paste from word processors, and their plain forms.
PLAIN_FORMS = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2012": "-",
        "\u2212": "-",
        "\u2010": "-",
        "\u2011": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\u2022": "-",
        "\t": " ",
    }
)


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


GSM7 = GSM7_BASIC | GSM7_EXTENSION


def is_gsm7(text: str) -> bool:
    return GSM7.issuperset(text)


# The letters of Spanish outside GSM-7 (its é, ñ, ü, ¿ and ¡ are in it), and their plain
# forms: one of them makes a whole text UCS-2.
SPANISH_ACCENTS = str.maketrans("áíóúÁÍÓÚ", "aiouAIOU")


def plain_spanish(text: str) -> str:
    return text.translate(SPANISH_ACCENTS)


def to_plain(text: str) -> str:
    """Replace typographic quotes, dashes and the like with their GSM-7 forms."""
    return text.translate(PLAIN_FORMS)


def count_segments(text: str) -> SegmentCount:
    if is_gsm7(text):
        units = len(text) + sum(text.count(ch) for ch in GSM7_EXTENSION)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    segments = (1 if units else 0) if units <= single else -(-units // multi)
    return SegmentCount(encoding, units, segments)


def in_parts(lines: list[str], hint: str, segments: int) -> tuple[str, ...]:
    """``lines`` as texts of at most ``segments`` segments each (a line longer than that
    alone is a part of its own), every part but the last ending with ``hint`` ("Text MORE
    for the rest"); no line left out, none cut."""
    parts: list[list[str]] = [[]]
    for line in lines:
        if parts[-1] and count_segments("\n".join([*parts[-1], line, hint])).segments > segments:
            parts.append([])
        parts[-1].append(line)
    last = len(parts) - 1
    return tuple("\n".join(part + ([hint] if i < last else [])) for i, part in enumerate(parts))
