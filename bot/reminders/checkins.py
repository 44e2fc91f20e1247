"""A patient's commands by text, carried out against their record.

``bot.reminders.commands`` reads the text; this records it, in the caller's transaction (on the
webhook's connection): DONE and a pain score as the day's adherence row (one per patient
per local date), "later" on the day's reminder, a new time, a pause or a resume on the
patient with a ``schedule_changes`` row saying who made the change. Two pain scores of 7 or
more within three days pause the reminders until staff resume them.

Only numbers of enrolled patients have commands; for anyone else the text goes to the
reply logic as any other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.models import (
    AdherenceDay,
    Patient,
    PhoneLanguage,
    ReminderDelivery,
    ScheduleChange,
    local_date,
)
from bot.patients.records import readable_time
from bot.reminders import commands as c
from bot.reminders.schedule import record_change, set_paused
from bot.sms.quiet_hours import SendingHours, in_window

patients = Patient.__table__
days = AdherenceDay.__table__
changes = ScheduleChange.__table__
deliveries = ReminderDelivery.__table__
languages = PhoneLanguage.__table__

HIGH_PAIN = 7  # a pain score this high or higher is urgent
PAIN_PAUSE_SCORES = 2  # this many high scores ...
PAIN_PAUSE_DAYS = 3  # ... within this many days (today included) pause the reminders
PAIN_PAUSE_DETAIL = "Paused: two pain scores of 7 or more within 3 days"
STREAK_WORTH_SAYING = 2
LATER = dt.timedelta(hours=1)
BY_TEXT = ("text", "the patient")


@dataclass(frozen=True)
class Result:
    """What the command did: the reply, the kind to log, and why staff should look."""

    reply: str
    kind: str
    reason: str | None = None  # an inbox reason (bot.inbox.threads.REASONS)
    urgent: bool = False
    language: str = "en"  # the patient's, which the reply is written in


@dataclass(frozen=True)
class Settings:
    say: Callable[..., str]  # the content's catalogue (``Content.say``)
    hours: SendingHours  # when reminders may go out (the clinic's, the state's)
    calendar: dict  # the content's day and month names (``Content.calendar``)
    # A DONE's answers by pain score, written once (``done_answers``).
    answers: dict = field(default_factory=dict, compare=False, repr=False)

    def done_answers(self, pain: int | None) -> dict[str, str]:
        """A DONE's answers in each language, for PostgreSQL's record of it to choose from
        (``bot.sms.inbound``, ``_PG_RECORD_DONE``): "again_en" (today is done already),
        "one_en" (the day's first, no streak worth saying), "many_en" (with the days in a
        row: a ``format()`` string, its ``%s`` the days), and the same in "es". Written
        once a pain score (a DONE's are None and 0 to 6): the same for every DONE."""
        answers = self.answers.get(pain)
        if answers is None:
            answers = self.answers[pain] = {}
            for language in ("en", "es"):
                many = _well_done_text(self.say, language, pain, days="\x00")
                answers[f"again_{language}"] = self.say("done_again", language)
                answers[f"one_{language}"] = _well_done_text(self.say, language, pain)
                answers[f"many_{language}"] = many.replace("%", "%%").replace("\x00", "%s")
        return answers


def enrolled(conn: Connection, phone: str):
    """The enrolled patient of a number, with the number's last opt-in or opt-out by text
    (``sms_consent``: consent_events' own, copied by its triggers in the same transaction)."""
    return conn.execute(
        select(
            patients.c.id,
            patients.c.name,
            patients.c.language,
            patients.c.timezone,
            patients.c.phone,
            patients.c.state,
            patients.c.reminder_time,
            patients.c.paused,
            patients.c.paused_until,
            patients.c.sms_consent,
        ).where(patients.c.phone == phone, patients.c.removed_at.is_(None))
    ).first()


def once_by_itself(command: c.Command) -> bool:
    """A DONE without a high pain score is carried out once however often its text comes
    (one adherence day per patient and date, the text stored once per MessageSid): no
    lock or look for the text first is needed (the webhook's cost)."""
    return isinstance(command, c.Done) and (command.pain is None or command.pain < HIGH_PAIN)


def carry_out(
    conn: Connection, settings: Settings, phone: str, command: c.Command, sid: str, now
) -> Result | None:
    """Carry out one command for the patient of this number; None: no enrolled patient, or
    one who opted out (STOP): their record is not changed by texts until they opt back in,
    and the gate answers them nothing."""
    patient = enrolled(conn, phone)
    if patient is None or patient.sms_consent == "opt_out":
        return None
    language = patient.language  # the patient's language: every answer is said in it
    result = _carry_out(conn, settings, patient, command, sid, now, language)
    return replace(result, language=language)


def _carry_out(conn, settings, patient, command, sid, now, language) -> Result:
    today = local_date(now, patient.timezone)
    if isinstance(command, c.Done):
        return _done(conn, settings, patient, command, sid, now, today, language)
    if isinstance(command, c.Later):
        return _later(conn, settings, patient, now, today, language)
    if isinstance(command, c.NewTime):
        return _new_time(conn, settings, patient, _wanted(command, patient), now, language)
    if isinstance(command, c.Pause):
        return _pause(conn, settings, patient, command, now, today, language)
    return _resume(conn, settings, patient, now, language)


# --- DONE ----------------------------------------------------------------------------------


def _done(conn, settings, patient, command: c.Done, sid, now, today, language) -> Result:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stored = conn.execute(
        dialect.insert(days)
        .values(patient_id=patient.id, local_date=today, done_at=now, pain=command.pain,
                message_sid=sid)
        .on_conflict_do_nothing(index_elements=[days.c.patient_id, days.c.local_date])
        .returning(days.c.id)
    ).first()  # fmt: skip
    say = settings.say
    if stored is None:
        return Result(say("done_again", language), "done_again")
    pain = command.pain
    if pain is not None and pain >= HIGH_PAIN:
        return _high_pain(conn, settings, patient, pain, now, today, language)
    return _well_done(say, streak_on(conn, patient.id, today), pain, language)


def _well_done(say, streak: int, pain: int | None, language: str) -> Result:
    days = streak if streak >= STREAK_WORTH_SAYING else None
    return Result(_well_done_text(say, language, pain, days), "done", language=language)


def _well_done_text(say, language: str, pain: int | None, days: object = None) -> str:
    """Well done, then the days in a row (``days``: None when not worth saying), then the
    pain score noted (when given)."""
    parts = [say("done_great", language)]
    if days is not None:
        parts.append(say("done_streak", language, days=days))
    if pain is not None:
        parts.append(say("done_pain", language, pain=pain))
    return " ".join(parts)


def streak_on(conn: Connection, patient_id: int, today: dt.date) -> int:
    """Days in a row with a DONE, ending today."""
    dates = conn.execute(
        select(days.c.local_date)
        .where(days.c.patient_id == patient_id, days.c.local_date <= today)
        .order_by(days.c.local_date.desc())
        .limit(400)
    ).scalars()
    return _in_a_row(dates, today)


def _in_a_row(dates, last: dt.date) -> int:
    """How many of ``dates`` (newest first) are days in a row ending on ``last``."""
    streak, expected = 0, last
    for day in dates:
        if day != expected:
            break
        streak += 1
        expected -= dt.timedelta(days=1)
    return streak


@dataclass(frozen=True)
class Week:
    done: int  # days with a DONE in the last 7, today included
    streak: int  # days in a row, ending today (or yesterday, when today is not done yet)
    last_pain: int | None


def week_of(conn: Connection, patient_id: int, today: dt.date) -> Week:
    """A patient's last week, for "whats my streak"."""
    rows = conn.execute(
        select(days.c.local_date, days.c.pain)
        .where(days.c.patient_id == patient_id, days.c.local_date <= today)
        .order_by(days.c.local_date.desc())
        .limit(400)
    ).all()
    dates = [row.local_date for row in rows]
    done = sum(day > today - dt.timedelta(days=7) for day in dates)
    expected = today if dates and dates[0] == today else today - dt.timedelta(days=1)
    streak = 0
    for day in dates:
        if day > expected:
            continue
        if day != expected:
            break
        streak += 1
        expected -= dt.timedelta(days=1)
    last_pain = next((row.pain for row in rows if row.pain is not None), None)
    return Week(done, streak, last_pain)


def _high_pain(conn, settings, patient, pain, now, today, language) -> Result:
    since = today - dt.timedelta(days=PAIN_PAUSE_DAYS - 1)
    high = conn.execute(
        select(func.count()).where(
            days.c.patient_id == patient.id,
            days.c.local_date >= since,
            days.c.pain >= HIGH_PAIN,
        )
    ).scalar_one()
    if high >= PAIN_PAUSE_SCORES and not patient.paused:
        set_paused(conn, patient.id, True, PAIN_PAUSE_DETAIL, ("app", "the app"), now)
        return Result(settings.say("pain_pause", language), "pain_pause", "pain_score", urgent=True)
    text = settings.say("pain_high", language, pain=pain)
    return Result(text, "done_high_pain", "pain_score", urgent=True)


# --- the schedule ----------------------------------------------------------------------------


def _window_text(settings: Settings, patient, language: bool) -> str:
    start, end = _usual(settings, patient)
    closes = "12:00 AM" if end == dt.time.max else readable_time(end)
    return settings.say("window", language, start=readable_time(start), end=closes)


def _usual(settings: Settings, patient) -> tuple[dt.time, dt.time]:
    """The hours reminders go out on most days where the patient is."""
    return settings.hours.usual(patient.phone, patient.state)


def _later(conn, settings, patient, now, today, language) -> Result:
    zone = ZoneInfo(patient.timezone)
    delivery = conn.execute(
        select(deliveries.c.id, deliveries.c.status, deliveries.c.again_at).where(
            deliveries.c.patient_id == patient.id, deliveries.c.local_date == today
        )
    ).first()
    again = now + LATER
    say = settings.say
    if delivery is None or delivery.status != "sent":
        text = say("later_not_sent", language, time=readable_time(patient.reminder_time))
        return Result(text, "later_not_sent")
    if delivery.again_at is not None:
        at = readable_time(delivery.again_at.astimezone(zone).time())
        return Result(say("later_again", language, time=at), "later_again")
    local = again.astimezone(zone)
    hours = settings.hours
    if local.date() != today or not hours.open_at(
        again, patient.timezone, patient.phone, patient.state
    ):
        window = _window_text(settings, patient, language)
        return Result(say("later_too_late", language, window=window), "later_refused")
    conn.execute(update(deliveries).where(deliveries.c.id == delivery.id).values(again_at=again))
    at = readable_time(local.time())
    record_change(conn, patient.id, "later", f"Today's reminder again at {at}", BY_TEXT, now)
    return Result(say("later", language, time=at), "later")


def _wanted(command: c.NewTime, patient) -> dt.time:
    """The new daily time: as given, or "an hour later" than the present one."""
    if command.time is not None:
        return command.time
    moved = dt.datetime.combine(dt.date(2000, 1, 2), patient.reminder_time)
    return (moved + dt.timedelta(minutes=command.shift)).time()


def _new_time(conn, settings, patient, wanted: dt.time, now, language) -> Result:
    if not in_window(wanted, _usual(settings, patient)):
        window = _window_text(settings, patient, language)
        text = settings.say("time_refused", language, time=readable_time(wanted), window=window)
        return Result(text, "time_refused")
    conn.execute(update(patients).where(patients.c.id == patient.id).values(reminder_time=wanted))
    detail = f"Daily time {readable_time(wanted)} (was {readable_time(patient.reminder_time)})"
    record_change(conn, patient.id, "time", detail, BY_TEXT, now)
    return Result(settings.say("time_changed", language, time=readable_time(wanted)), "time")


def day_text(day: dt.date, language: str, settings: Settings) -> str:
    """A date as the patient's language writes it ("Monday, Dec 7", "lunes 7 de dic")."""
    language = language if language in settings.calendar["days"] else "en"
    weekday = settings.calendar["days"][language][day.weekday()]
    month = settings.calendar["months"][language][day.month - 1]
    return settings.say("date", language, weekday=weekday, day=day.day, month=month)


def _pause(conn, settings, patient, command: c.Pause, now, today, language) -> Result:
    resumes = c.resume_date(command, today)
    until = dt.datetime.combine(resumes, dt.time(0), tzinfo=ZoneInfo(patient.timezone))
    detail = f"Paused until {resumes:%b} {resumes.day}"
    set_paused(conn, patient.id, True, detail, BY_TEXT, now, until)
    date = day_text(resumes, language, settings)
    return Result(settings.say("paused", language, date=date), "pause")


def last_pause(conn: Connection, patient_id: int):
    """The change that paused the patient's reminders (its detail, source, actor, when and
    the reason staff gave),
    if their last pause or resume was a pause; None otherwise."""
    last = conn.execute(
        select(changes.c.change, changes.c.detail, changes.c.source, changes.c.actor,
               changes.c.created_at, changes.c.reason)
        .where(changes.c.patient_id == patient_id, changes.c.change.in_(("pause", "resume")))
        .order_by(changes.c.id.desc())
        .limit(1)
    ).first()  # fmt: skip
    return last if last is not None and last.change == "pause" else None


def paused_for_pain(conn: Connection, patient_id: int) -> bool:
    """The patient's last pause was the pain pause: only staff lift it."""
    last = last_pause(conn, patient_id)
    return last is not None and last.detail == PAIN_PAUSE_DETAIL


def _resume(conn, settings, patient, now, language) -> Result:
    at = readable_time(max(patient.reminder_time, _usual(settings, patient)[0]))
    if patient.paused and paused_for_pain(conn, patient.id):
        return Result(settings.say("resume_refused", language), "resume_refused", "person")
    if patient.paused:
        set_paused(conn, patient.id, False, "Reminders resumed", BY_TEXT, now)
    return Result(settings.say("resumed", language, time=at), "resume")


def end_pauses(conn: Connection, now: dt.datetime) -> int:
    """Resume the patients whose pause ran out (the sweep calls this each minute)."""
    ended = (
        conn.execute(
            update(patients)
            .where(
                patients.c.paused.is_(True),
                patients.c.paused_until.is_not(None),
                patients.c.paused_until <= now,
            )
            .values(paused=False, paused_until=None)
            .returning(patients.c.id)
        )
        .scalars()
        .all()
    )
    for patient_id in ended:
        record_change(conn, patient_id, "resume", "Pause ended", ("app", "the app"), now)
    return len(ended)


# --- the language --------------------------------------------------------------------------


def set_language(conn: Connection, settings: Settings, phone: str, language: str, now) -> Result:
    """ESPAÑOL or ENGLISH: the number is answered in that language from now on. An enrolled
    patient's language is their record's (their reminders follow it too); any other
    number's is kept apart. The caller owns the transaction."""
    patient = enrolled(conn, phone)
    if patient is not None:
        conn.execute(update(patients).where(patients.c.id == patient.id).values(language=language))
    else:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(languages).values(phone=phone, language=language, changed_at=now)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[languages.c.phone],
                set_={"language": language, "changed_at": now},
            )
        )
    return Result(settings.say("language_set", language), "language")
