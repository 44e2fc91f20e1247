"""Issue 20's held-aside set (tests/heldaside3/program.yaml): texts asking about the
patient's own program, written by a writer who saw only the clinic's page, scored through
the signed webhook from an enrolled patient with a known record, and from a number not
enrolled (which must get the general answers, nothing about anyone's record).

    python -m tests.program        # the figures, on SQLite

The patient: routine Cat and Camel, Pelvic Tilt, Prayer Stretch, Knee-to-Chest Raise; the
daily reminder at 6 PM; done on Monday (pain 5) and Tuesday (pain 3) of this week; asked on
Wednesday 11 March 2026 at 10 AM in New York.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from pathlib import Path

import time_machine
import yaml
from sqlalchemy import update

from bot.models import AdherenceDay, Patient, db
from bot.text import normalize
from tests.conftest import post_sms, reply_of
from tests.heldaside import ENROLLED, NY, Score, language_of, on_scratch_database
from tests.heldaside import enroll_at as enroll

HERE = Path(__file__).with_name("heldaside3")
NOW = dt.datetime(2026, 3, 11, 10, 0, tzinfo=NY)
ROUTINE = ["cat-camel", "pelvic-tilt", "prayer-stretch", "knee-to-chest"]
AREAS = ("my_reminder", "my_routine", "my_week", "general")
PATIENT = "+12025550161"
STRANGER = "+12025550162"


@cache
def texts(area: str) -> list[dict]:
    rows = yaml.safe_load((HERE / "program.yaml").read_text(encoding="utf-8"))
    return [row for row in rows if row["area"] == area]


def score(app, area: str) -> Score:
    result = Score(area)
    client = app.test_client()
    for i, row in enumerate(texts(area)):
        phone = f"+1703555{100 + i:04d}"
        _patient(app, phone, row["lang"])
        with time_machine.travel(NOW, tick=False):
            reply = reply_of(post_sms(client, row["text"], phone))
            stranger = reply_of(post_sms(client, row["text"], f"+1571555{100 + i:04d}"))
        wrong = _check(app, area, row, reply)
        label = f"[{row['lang']}] {row['text']!r} -> {reply[:100]!r}"
        if wrong:
            result.misses.append(f"{label}: {wrong}")
        else:
            result.right += 1
        if _personal(stranger):
            result.leaks.append(f"[{row['lang']}] {row['text']!r} -> {stranger[:100]!r}")
    return result


def _patient(app, phone: str, language: str) -> None:
    enroll(app, [phone], [language], ENROLLED)
    with app.app_context():
        patient = db.session.query(Patient).filter_by(phone=phone).one()
        db.session.execute(
            update(Patient)
            .where(Patient.id == patient.id)
            .values(routine=ROUTINE, reminder_time=dt.time(18))
        )
        for day, pain in ((9, 5), (10, 3)):
            db.session.add(
                AdherenceDay(
                    patient_id=patient.id, local_date=dt.date(2026, 3, day), pain=pain,
                    done_at=dt.datetime(2026, 3, day, 19, tzinfo=NY),
                )
            )  # fmt: skip
        db.session.commit()


def _steps(app, exercise_id: str) -> set[str]:
    exercise = next(e for e in app.extensions["content"].exercises if e.id == exercise_id)
    return {normalize(exercise.in_language(lang).steps[0])[:40] for lang in ("en", "es")}


def _names(app, exercise_id: str) -> set[str]:
    exercise = next(e for e in app.extensions["content"].exercises if e.id == exercise_id)
    return {normalize(exercise.in_language(lang).name) for lang in ("en", "es")}


PERSONAL = re.compile(
    r"6:00 ?PM|Your exercises|Sus ejercicios|days in a row|dias seguidos|of the last 7"
)


def _personal(reply: str) -> bool:
    """An answer that speaks of a patient's own record."""
    return bool(PERSONAL.search(reply))


def _check(app, area: str, row: dict, reply: str) -> str | None:
    plain = normalize(reply)
    if reply and language_of(reply) != row["lang"]:
        return "wrong language"
    if area == "my_reminder":
        return None if "6:00 PM" in reply else "not the patient's time"
    if area == "my_week":
        return None if re.search(r"\b2\b", reply) and re.search(r"\b3\b", reply) else "no week"
    if area == "general":
        return "personal" if _personal(reply) else None
    which = row["which"]
    if which == ["all"]:
        names = [min(_names(app, x), key=len) for x in ROUTINE]
        found = all(any(n in plain for n in _names(app, x)) for x in ROUTINE)
        return None if found else f"not the routine {names}"
    positions = [len(ROUTINE) if w == "last" else int(w) for w in which]
    for position in positions:
        exercise = ROUTINE[position - 1]
        shown = any(s in plain for s in _steps(app, exercise)) or (
            len(positions) > 1 and any(n in plain for n in _names(app, exercise))
        )
        if not shown:
            return f"not exercise {position} ({exercise})"
    return None


if __name__ == "__main__":  # python -m tests.program [area...]: the figures, on SQLite
    import sys

    for area in [a for a in sys.argv[1:] if a in AREAS] or AREAS:
        result = on_scratch_database(score, area)
        print(f"{result.line()}, {len(result.leaks)} told a stranger about a record")
        if "-q" not in sys.argv:
            for line in result.details():
                print("   ", line)
