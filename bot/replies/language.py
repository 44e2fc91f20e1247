"""The language of a short text the clinic's words leave open: lingua, restricted to
English and Spanish (its models ship with the package, loaded once at start)."""

from __future__ import annotations

import functools

# A short text whose words are as English as Spanish is read by the language detector.
UNDECIDED_WORDS = 12


@functools.cache
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    builder = LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.SPANISH)
    return builder.with_preloaded_language_models().build(), Language.SPANISH


def detected_language(text: str) -> str:
    """English or Spanish, as lingua reads a short text (its models ship with it): Spanish
    only when it is fairly sure (a lone "yo" or "medicade" is no Spanish)."""
    detector, spanish = _detector()
    return "es" if detector.compute_language_confidence(text, spanish) >= SURELY else "en"


SURELY = 0.75
