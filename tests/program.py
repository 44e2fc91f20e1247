"""A patient asking about their own program (issue 20), scored through the signed webhook
from an enrolled patient with a known record, and from a number not enrolled (which must
get the general answers, nothing about anyone's record).

Two sources of texts in one form: the held-aside sets (``tests/heldaside3/program.yaml``,
``tests/heldaside4/program.yaml``, each written by a writer who saw only the clinic's page,
before the reader was changed for it) and the phrasing tables
(``tests/program_phrasings.yaml``, which the reader is held to whole).

    python -m tests.program [heldaside3|heldaside4] [area...] [-q]   # the figures, SQLite

The patient: routine Cat and Camel, Pelvic Tilt, Prayer Stretch, Knee-to-Chest Raise; the
daily reminder at 6 PM; done on Monday (pain 5) and Tuesday (pain 3) of this week; asked on
Wednesday 11 March 2026 at 10 AM in New York. For the area ``my_paused`` the reminders are
paused after two high pain scores (only staff lift that pause). Whatever is asked, the
record must stay as it was: a question is not a command.
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
from bot.reminders import checkins, schedule
from bot.sms.segments import count_segments
from bot.text import normalize
from tests.conftest import post_sms, reply_of
from tests.heldaside import ENROLLED, NY, Score, language_of, on_scratch_database
from tests.heldaside import enroll_at as enroll

# The held-aside sets in the same form, each written apart before the reader was changed
# for it; "phrasings": the phrasing tables, in their own form (``_phrasings``).
SETS = ("heldaside3", "heldaside4", "heldaside5", "heldaside6", "heldaside7", "heldaside8")
PHRASINGS = Path(__file__).with_name("program_phrasings.yaml")
NOW = dt.datetime(2026, 3, 11, 10, 0, tzinfo=NY)
ROUTINE = ["cat-camel", "pelvic-tilt", "prayer-stretch", "knee-to-chest"]
AREAS = ("my_reminder", "my_routine", "my_week", "my_paused", "general")


@cache
def texts(area: str, folder: str = SETS[0]) -> list[dict]:
    if folder == "phrasings":
        rows = _phrasings()
    else:
        path = Path(__file__).with_name(folder) / "program.yaml"
        rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [row for row in rows if row["area"] == area]


def _phrasings() -> list[dict]:
    """The phrasing tables as rows of the held-aside form: ``reminder: {en: [...]}`` ->
    ``{area: my_reminder, lang: en, text: ...}``; ``positions`` are routine rows."""
    tables = yaml.safe_load(PHRASINGS.read_text(encoding="utf-8"))
    rows = []
    for table, by_language in tables.items():
        for language, phrasings in by_language.items():
            for phrasing in phrasings:
                row = phrasing if isinstance(phrasing, dict) else {"text": phrasing}
                area = "my_routine" if table == "positions" else f"my_{table}"
                which = row.get("which", ["all"] if area == "my_routine" else None)
                rows.append({"area": area, "lang": language, "text": row["text"]} | (
                    {"which": which} if which else {}
                ))  # fmt: skip
    return rows


def score(app, area: str, folder: str = SETS[0], language: str | None = None) -> Score:
    result = Score(area)
    client = app.test_client()
    rows = [r for r in texts(area, folder) if language in (None, r["lang"])]
    for i, row in enumerate(rows):
        phone, stranger_phone = f"+1703555{i:04d}", f"+1571555{i:04d}"
        _patient(app, phone, row["lang"], pain_paused=area == "my_paused")
        before = _record(app, phone)
        with time_machine.travel(NOW, tick=False):
            reply = reply_of(post_sms(client, row["text"], phone))
            stranger = reply_of(post_sms(client, row["text"], stranger_phone))
        wrong = _check(app, area, row, reply)
        if wrong is None and _record(app, phone) != before:
            wrong = f"the record changed: {before} -> {_record(app, phone)}"
        label = f"[{row['lang']}] {row['text']!r} -> {reply[:100]!r}"
        if wrong:
            result.misses.append(f"{label}: {wrong}")
        else:
            result.right += 1
        if _personal(stranger):
            result.leaks.append(f"[{row['lang']}] {row['text']!r} -> {stranger[:100]!r}")
    return result


def _patient(app, phone: str, language: str, pain_paused: bool = False) -> None:
    enroll(app, [phone], [language], ENROLLED)
    with app.app_context():
        patient = db.session.query(Patient).filter_by(phone=phone).one()
        db.session.execute(
            update(Patient)
            .where(Patient.id == patient.id)
            .values(routine=ROUTINE, reminder_time=dt.time(18), paused=pain_paused)
        )
        for day, pain in ((9, 5), (10, 3)):
            db.session.add(
                AdherenceDay(
                    patient_id=patient.id, local_date=dt.date(2026, 3, day), pain=pain,
                    done_at=dt.datetime(2026, 3, day, 19, tzinfo=NY),
                )
            )  # fmt: skip
        if pain_paused:
            schedule.record_change(
                db.session.connection(), patient.id, "pause", checkins.PAIN_PAUSE_DETAIL,
                ("app", "the app"), dt.datetime(2026, 3, 10, 20, tzinfo=NY),
            )  # fmt: skip
        db.session.commit()


def _record(app, phone: str) -> tuple:
    """What a command would change: the pause, the time, the routine, the days done."""
    with app.app_context():
        patient = db.session.query(Patient).filter_by(phone=phone).one()
        days = db.session.query(AdherenceDay).filter_by(patient_id=patient.id).count()
        return (patient.paused, patient.paused_until, patient.reminder_time, patient.routine,
                patient.language, days)  # fmt: skip


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
    if area != "general" and count_segments(reply).segments > 2:
        return f"{count_segments(reply).segments} segments"
    if area == "my_reminder":
        return None if "6:00 PM" in reply else "not the patient's time"
    if area == "my_paused":  # said why, and how to reach the clinic; never "text RESUME"
        pain = re.search(r"\b(pain|dolor)\b", plain) and re.search(r"\d{3}-\d{4}", reply)
        resume = re.search(r"\b(RESUME|REANUDAR)\b", reply)
        return None if pain and not resume else "not the pain pause and the clinic's number"
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


if __name__ == "__main__":  # python -m tests.program [set...] [area...] [-q]: the figures
    import sys

    for folder in [s for s in sys.argv[1:] if s in (*SETS, "phrasings")] or SETS:
        for area in [a for a in sys.argv[1:] if a in AREAS] or AREAS:
            print(folder, end=" ")
            result = on_scratch_database(score, area, folder)
            print(f"{result.line()}, {len(result.leaks)} told a stranger about a record")
            if "-q" not in sys.argv:
                for line in result.details():
                    print("   ", line)
