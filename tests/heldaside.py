"""The held-aside set: patients' texts written apart from the reader's tables (by writers
who saw only the clinic's page, before the reader was changed), scored through the signed
webhook against what each text asks for.

The data is in ``tests/heldaside/*.yaml``; its writers' instructions are in its README.
Each area is scored as the fraction of its texts that came out right; ``score(app, area)``
posts every text of an area and returns a ``Score`` with the misses, so a failing test
names them. The moment is fixed (the writers were told: Wednesday 11 March 2026, 10 AM in
New York, today's reminder already sent at 9 AM, the daily time 6 PM).

    python -m tests.heldaside            # every area's figure, on SQLite

prints the figures reported in the issue's notes.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import time_machine
import yaml
from lingua import Language, LanguageDetectorBuilder
from sqlalchemy import select, update

from bot.models import AdherenceDay, ConsentEvent, Patient, ReminderDelivery, db
from bot.patients import records as pt
from bot.text import normalize
from tests.conftest import post_sms, reply_of, sweep

# The sets, each written apart before a change of the reader (README in the first);
# HELDASIDE_DIR: another one in the same form, to score before it joins them.
SETS = {
    "first": Path(__file__).with_name("heldaside"),
    "second": Path(__file__).with_name("heldaside2"),
    "third": Path(__file__).with_name("heldaside9"),
}
if os.environ.get("HELDASIDE_DIR"):
    SETS = {"given": Path(os.environ["HELDASIDE_DIR"])}
NY = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 3, 11, 10, 0, tzinfo=NY)  # a Wednesday
TODAY = NOW.date()
ENROLLED = dt.datetime(2026, 3, 1, 12, 0, tzinfo=NY)
# Fictional numbers (555-01xx) in area codes of Virginia and the District, whose sending
# hours are the clinic's own: one number per text, so no text sees another's state.
AREA_CODES = ("202", "703", "571", "540", "804", "757", "434", "276")

# Which file holds each area, and whether its texts come from enrolled patients.
AREAS = {
    "red_flag": ("redflags", False),
    "near_miss": ("redflags", False),
    "opt_out": ("optouts_questions", True),
    "not_opt_out": ("optouts_questions", True),
    "question": ("optouts_questions", False),
    "reschedule": ("commands", True),
    "pause": ("commands", True),
    "later": ("commands", True),
    "resume": ("commands", True),
    "done_pain": ("commands", True),
    "done": ("commands", True),
}


@cache
def texts(area: str, folder: Path) -> list[dict]:
    name, _ = AREAS[area]
    rows = yaml.safe_load((folder / f"{name}.yaml").read_text(encoding="utf-8"))
    return [row for row in rows if row["area"] == area]


@dataclass
class Score:
    area: str
    right: int = 0
    misses: list[str] = field(default_factory=list)
    wrong_language: list[str] = field(default_factory=list)
    asked: int = 0  # opt-outs: unclear texts answered with a question
    leaks: list[str] = field(default_factory=list)  # a stranger told about a record

    @property
    def total(self) -> int:
        return self.right + len(self.misses)

    @property
    def fraction(self) -> float:
        return self.right / self.total if self.total else 1.0

    def line(self) -> str:
        spanish = f", {len(self.wrong_language)} answered in the wrong language"
        return f"{self.area}: {self.right}/{self.total} ({self.fraction:.1%}){spanish}"

    def details(self) -> list[str]:
        return (
            self.misses
            + [f"language: {w}" for w in self.wrong_language]
            + [f"leak: {leak}" for leak in self.leaks]
        )


def on_scratch_database(scorer, *args) -> Score:
    """A score on a fresh SQLite database, the console sender's texts kept quiet (for the
    figures printed by ``python -m``)."""
    import contextlib
    import io
    import tempfile

    from flask_migrate import upgrade

    from bot import create_app
    from tests.conftest import base_config

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(base_config(f"sqlite:///{folder}/scratch.sqlite3"))
        with app.app_context():
            upgrade()
        quiet = io.StringIO()
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            return scorer(app, *args)


@cache
def _detector():
    return LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.SPANISH).build()


SPANISH_WORDS = frozenset(
    "el la los las de del en su sus no esta nuestra nuestro llame llamenos para por con que "
    "es un una y al hoy pruebe escriba responda usted estamos aceptamos preguntas".split()
)
ENGLISH_WORDS = frozenset(
    "the is on our we you your please call to for and of a at try text are us reply "
    "accept questions".split()
)


def language_of(reply: str) -> str:
    """The language of an answer (the catalogue's sentences, among names of plans and
    exercises in English): its function words, else lingua."""
    words = normalize(reply).split()
    spanish = sum(w in SPANISH_WORDS for w in words)
    english = sum(w in ENGLISH_WORDS for w in words)
    if spanish != english:
        return "es" if spanish > english else "en"
    found = _detector().detect_language_of(reply)
    return "es" if found == Language.SPANISH else "en"


def phones():
    for code, n in itertools.product(AREA_CODES, range(100, 200)):
        yield f"+1{code}555{n:04d}"


def score(app, area: str, folder: Path) -> Score:
    _, enrolled = AREAS[area]
    rows = texts(area, folder)
    numbers = list(itertools.islice(phones(), len(rows)))
    if enrolled:
        _enroll(app, numbers, rows, paused=area == "resume")
    result = Score(area)
    client = app.test_client()
    with time_machine.travel(NOW, tick=False):
        for phone, row in zip(numbers, rows, strict=True):
            reply = reply_of(post_sms(client, row["text"], phone))
            wrong = _check(app, area, row, phone, reply)
            label = f"[{row['lang']}] {row['text']!r} -> {reply[:90]!r}"
            if wrong:
                result.misses.append(f"{label}: {wrong}")
            else:
                result.right += 1
            if area == "not_opt_out" and row.get("unclear") and "STOP" in reply:
                result.asked += 1
            if reply and _language_counts(area, row) and language_of(reply) != row["lang"]:
                result.wrong_language.append(label)
    return result


def _language_counts(area: str, row: dict) -> bool:
    """Whether the answer must be in the text's language (an enrolled patient is answered
    in their record's, here the text's too); not for near misses (mixed on purpose) nor
    for questions about Spanish, whose English answer says "Se habla Español"."""
    return area != "near_miss" and row.get("kind") != "spanish"


def enroll_at(app, numbers: list[str], languages: list[str], when: dt.datetime) -> None:
    """Enrolled and subscribed patients, the daily reminder at 9 AM in New York."""
    with app.app_context():
        for phone, language in zip(numbers, languages, strict=True):
            pt.enroll(
                db.session,
                pt.Enrollment(
                    "Sam Rivera", phone, language, ["cat-camel", "pelvic-tilt"], dt.time(9),
                    "America/New_York",
                ),
                "test", "staff", when,
            )  # fmt: skip
            db.session.add(
                ConsentEvent(
                    phone=phone, action="opt_in", keyword="yes", source="sms",
                    created_at=when + dt.timedelta(minutes=5),
                )
            )  # fmt: skip
        db.session.commit()


def _enroll(app, numbers: list[str], rows: list[dict], paused: bool) -> None:
    enroll_at(app, numbers, [row["lang"] for row in rows], ENROLLED)
    # Today's reminder went out at 9 AM; the daily time is 6 PM from now on.
    sweep(app, NOW.replace(hour=9, minute=1))
    with app.app_context():
        values = {"reminder_time": dt.time(18)}
        if paused:
            until = dt.datetime.combine(TODAY + dt.timedelta(days=7), dt.time(0), tzinfo=NY)
            values |= {"paused": True, "paused_until": until}
        db.session.execute(update(Patient).where(Patient.phone.in_(numbers)).values(**values))
        db.session.commit()


def _check(app, area: str, row: dict, phone: str, reply: str) -> str | None:
    """What is wrong with the outcome of one text, or None."""
    expect = row.get("expect") or {}
    if area == "red_flag":
        return None if emergency_first(reply) else "no 911 first"
    if area == "near_miss":
        return "911 for a near miss" if emergency_first(reply) else None
    with app.app_context():
        session = db.session
        last_consent = session.scalar(
            select(ConsentEvent.action)
            .where(ConsentEvent.phone == phone, ConsentEvent.action.in_(("opt_in", "opt_out")))
            .order_by(ConsentEvent.id.desc())
            .limit(1)
        )
        patient = session.scalar(select(Patient).where(Patient.phone == phone))
        if area == "opt_out":
            return None if last_consent == "opt_out" else "not opted out"
        if area == "not_opt_out":
            return "opted out" if last_consent == "opt_out" else None
        if area == "question":
            return _question(app, row, reply)
        if area == "reschedule":
            want = dt.time.fromisoformat(expect["time"])
            got = patient.reminder_time
            return None if got == want else f"time {got}, wanted {want}"
        if area == "pause":
            if not patient.paused or patient.paused_until is None:
                return "not paused"
            back = patient.paused_until.astimezone(NY).date().isoformat()
            return None if back in expect["resume_on"] else f"back {back}"
        if area == "resume":
            return "still paused" if patient.paused else None
        if area == "later":
            delivery = session.scalar(
                select(ReminderDelivery).where(ReminderDelivery.patient_id == patient.id)
            )
            return None if delivery and delivery.again_at else "no reminder again today"
        day = session.scalar(select(AdherenceDay).where(AdherenceDay.patient_id == patient.id))
        if day is None:
            return "no DONE recorded"
        want = expect.get("pain") if area == "done_pain" else None
        return None if day.pain == want else f"pain {day.pain}, wanted {want}"


def emergency_first(reply: str) -> bool:
    """The answer's first sentence sends the patient to 911 (the emergency answer; not the
    "if it gets severe, call 911" that other answers end with), or, for thoughts of
    self-harm, to the 988 crisis line (911 follows it, "if you are in danger")."""
    first = re.split(r"(?<=\.)\s|\n", reply, maxsplit=1)[0]
    return "911" in first or "988" in first


SAYS_YES = re.compile(r"^(yes, we accept|si, aceptamos)", re.I)
TIME = re.compile(r"\b\d{1,2}(:\d\d)? ?(am|pm)\b", re.I)


def _question(app, row: dict, reply: str) -> str | None:
    kind, value = row["kind"], str(row.get("value") or "")
    plain = normalize(reply)
    content = app.extensions["content"]
    if kind == "location":
        return None if "44110" in reply else "no address"
    if kind == "hours":
        return None if TIME.search(reply) else "no hours"
    if kind == "phone":
        return None if "723-6800" in reply or "7236800" in reply else "no phone number"
    if kind == "forms":
        return None if re.search(r"\bforms?\b|formulario", plain) else "no forms"
    if kind == "spanish":
        return None if re.search(r"\bspanish\b|\bespanol\b", plain) else "no Spanish"
    if kind == "insurance_yes":
        if not SAYS_YES.match(_plain(reply)):
            return "no yes"
        return None if normalize(value).split()[0] in plain else f"yes, but not to {value}"
    if kind == "insurance_no":
        return "said yes" if SAYS_YES.match(_plain(reply)) else None
    if kind == "exercise":
        exercise = next(e for e in content.exercises if _same_name(e.name, value))
        steps = {normalize(exercise.in_language(lang).steps[0])[:40] for lang in ("en", "es")}
        return None if any(step in plain for step in steps) else f"not the steps of {value}"
    if kind == "area":
        wanted = AREA_OF[value]
        area = next(a for a in content.areas if a.name == wanted)
        names = {
            normalize(e.in_language(lang).name) for e in area.exercises for lang in ("en", "es")
        }
        return None if any(name in plain for name in names) else f"no exercise for {value}"
    raise ValueError(f"unknown question kind {kind!r}")


def _same_name(ours: str, page: str) -> bool:
    """The page's name of an exercise against the content's ("Knee-To-Chest Raise",
    "Hip Outside Leg Stretch" for "... (Bird Dog)")."""
    return normalize(ours).startswith(normalize(page))


def _plain(reply: str) -> str:
    return reply.replace("í", "i").replace("Í", "I")


AREA_OF = {
    "lower back": "lower back",
    "hamstring": "tight hamstrings and legs",
    "hips": "hips and sides",
    "sides": "hips and sides",
    "abdominal": "stomach and core strength",
}


if __name__ == "__main__":  # python -m tests.heldaside [area...]: the figures, on SQLite
    import sys

    for (set_name, where), area in itertools.product(
        SETS.items(), [a for a in sys.argv[1:] if a in AREAS] or AREAS
    ):
        result = on_scratch_database(score, area, where)
        print(f"{set_name} set, {result.line()}")
        if "-q" not in sys.argv:
            for line in result.details():
                print("   ", line)
