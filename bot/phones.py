"""Phone numbers: masking them for logs."""

from __future__ import annotations


def mask(number: str | None) -> str:
    """Keep the country code and the last two digits: '+12025550123' -> '+1*******23'."""
    if not number:
        return "-"
    digits = [i for i, ch in enumerate(number) if ch.isdigit()]
    keep = set(digits[-2:]) | (set(digits[:1]) if number.startswith("+") else set())
    return "".join(ch if (i in keep or not ch.isdigit()) else "*" for i, ch in enumerate(number))
