"""Finding patients by what staff type: a name (every word, accents and case aside) or part
of a number. The patients list and the audit trail's filter search alike."""

from __future__ import annotations

import re

from sqlalchemy import and_, or_

from bot.models import Patient
from bot.text import normalize


def search_condition(search: str):
    """Patients whose name (every word typed, accents and case aside) or number (three digits
    or more) holds what was typed, as a condition; None: nothing to search; False: nothing
    can match."""
    # As text: no control characters (PostgreSQL refuses a NUL), and "%" or "_" are
    # letters to look for, not wildcards.
    search = "".join(ch for ch in search[:100] if ch.isprintable()).strip()
    if not search:
        return None
    digits = re.sub(r"\D", "", search)
    # Every word typed, anywhere in the name, as the name is searched ("garcia maria",
    # "oconnor", "jose" for José); or the number's digits ("0143", "(703) 555-0143").
    words = normalize(search).split()
    conditions = []
    if words:
        conditions.append(and_(*(Patient.search_name.contains(w, autoescape=True) for w in words)))
    if len(digits) >= 3:
        conditions.append(Patient.phone.contains(digits))
    return or_(*conditions) if conditions else False
