"""A patient's commands by text, carried out against their record.

``bot.commands`` reads the text; this records it, in the caller's transaction (on the
webhook's connection): DONE and a pain score as the day's adherence row (one per patient
per local date), "later" on the day's reminder, a new time, a pause or a resume on the
patient with a ``schedule_changes`` row saying who made the change. Two pain scores of 7 or
more within three days pause the reminders until staff resume them.

Only numbers of enrolled patients have commands; for anyone else the text goes to the
reply logic as any other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot import commands as c
from bot.models import AdherenceDay, Patient, ReminderDelivery, ScheduleChange
from bot.patients import clock as _clock
from bot.patients import in_window

patients = Patient.__table__
days = AdherenceDay.__table__
changes = ScheduleChange.__table__
deliveries = ReminderDelivery.__table__

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
    reason: str | None = None  # an inbox reason (bot.threads.REASONS)
    urgent: bool = False


@dataclass(frozen=True)
class Settings:
    phone: str  # the clinic's, as patients read it
    window: tuple[dt.time, dt.time]  # when reminders may go out


def enrolled(conn: Connection, phone: str):
    return conn.execute(
        select(
            patients.c.id,
            patients.c.name,
            patients.c.language,
            patients.c.timezone,
            patients.c.reminder_time,
            patients.c.paused,
            patients.c.paused_until,
        ).where(patients.c.phone == phone, patients.c.removed_at.is_(None))
    ).first()


def carry_out(
    conn: Connection, settings: Settings, phone: str, command: c.Command, sid: str, now
) -> Result | None:
    """Carry out one command for the patient of this number; None: no enrolled patient."""
    patient = enrolled(conn, phone)
    if patient is None:
        return None
    spanish = patient.language == "es"
    today = now.astimezone(ZoneInfo(patient.timezone)).date()
    if isinstance(command, c.Done):
        return _done(conn, settings, patient, command, sid, now, today, spanish)
    if isinstance(command, c.Later):
        return _later(conn, settings, patient, now, today, spanish)
    if isinstance(command, c.NewTime):
        return _new_time(conn, settings, patient, command.time, now, spanish)
    if isinstance(command, c.Pause):
        return _pause(conn, patient, command, now, today, spanish)
    return _resume(conn, settings, patient, now, spanish)


def record_change(conn: Connection, patient_id: int, change: str, detail: str, by, now) -> None:
    """Keep one change to a patient's reminders; ``by`` is (source, actor)."""
    source, actor = by
    conn.execute(
        insert(changes).values(
            patient_id=patient_id, change=change, detail=detail[:200], source=source,
            actor=actor[:254], created_at=now,
        )
    )  # fmt: skip


# --- DONE ----------------------------------------------------------------------------------


def _done(conn, settings, patient, command: c.Done, sid, now, today, spanish) -> Result:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stored = conn.execute(
        dialect.insert(days)
        .values(patient_id=patient.id, local_date=today, done_at=now, pain=command.pain,
                message_sid=sid)
        .on_conflict_do_nothing(index_elements=[days.c.patient_id, days.c.local_date])
        .returning(days.c.id)
    ).first()  # fmt: skip
    if stored is None:
        text = (
            "Hoy ya quedo anotado como hecho. Gracias!"
            if spanish
            else "Today is already recorded as done. Thank you!"
        )
        return Result(text, "done_again")
    pain = command.pain
    if pain is not None and pain >= HIGH_PAIN:
        return _high_pain(conn, settings, patient, pain, now, today, spanish)
    streak = streak_on(conn, patient.id, today)
    if spanish:
        text = "Buen trabajo hoy!"
        if streak >= STREAK_WORTH_SAYING:
            text += f" Lleva {streak} dias seguidos."
        if pain is not None:
            text += f" Anotamos su dolor: {pain}/10."
    else:
        text = "Great work today!"
        if streak >= STREAK_WORTH_SAYING:
            text += f" That's {streak} days in a row."
        if pain is not None:
            text += f" Pain {pain}/10 noted."
    return Result(text, "done")


def streak_on(conn: Connection, patient_id: int, today: dt.date) -> int:
    """Days in a row with a DONE, ending today."""
    dates = conn.execute(
        select(days.c.local_date)
        .where(days.c.patient_id == patient_id, days.c.local_date <= today)
        .order_by(days.c.local_date.desc())
        .limit(400)
    ).scalars()
    streak, expected = 0, today
    for day in dates:
        if day != expected:
            break
        streak += 1
        expected -= dt.timedelta(days=1)
    return streak


def _high_pain(conn, settings, patient, pain, now, today, spanish) -> Result:
    since = today - dt.timedelta(days=PAIN_PAUSE_DAYS - 1)
    high = conn.execute(
        select(func.count()).where(
            days.c.patient_id == patient.id,
            days.c.local_date >= since,
            days.c.pain >= HIGH_PAIN,
        )
    ).scalar_one()
    if high >= PAIN_PAUSE_SCORES and not patient.paused:
        conn.execute(
            update(patients)
            .where(patients.c.id == patient.id)
            .values(paused=True, paused_until=None)
        )
        record_change(conn, patient.id, "pause", PAIN_PAUSE_DETAIL, ("app", "the app"), now)
        if spanish:
            text = (
                f"Su dolor fue de 7 o mas dos veces en 3 dias, asi que pausamos sus "
                f"recordatorios. Llamenos al {settings.phone} antes de seguir con los "
                "ejercicios. Si el dolor es fuerte o tiene entumecimiento o debilidad, llame "
                "al 911."
            )
        else:
            text = (
                f"Your pain was 7 or more twice in 3 days, so we paused your reminders. "
                f"Please call us at {settings.phone} before you go on with the exercises. "
                "If the pain is severe or you have numbness or weakness, call 911."
            )
        return Result(text, "pain_pause", "pain_score", urgent=True)
    if spanish:
        text = (
            f"Gracias por avisarnos. Un dolor de {pain}/10 es alto: deje los ejercicios y "
            f"llamenos al {settings.phone} antes de hacerlos otra vez. Si el dolor es fuerte o "
            "tiene entumecimiento o debilidad, llame al 911."
        )
    else:
        text = (
            f"Thanks for telling us. Pain of {pain}/10 is high: please stop the exercises and "
            f"call us at {settings.phone} before you do them again. If the pain is severe or "
            "you have numbness or weakness, call 911."
        )
    return Result(text, "done_high_pain", "pain_score", urgent=True)


# --- the schedule ----------------------------------------------------------------------------


def _window_text(settings: Settings, spanish: bool) -> str:
    start, end = settings.window
    closes = "12:00 AM" if end == dt.time.max else _clock(end)
    if spanish:
        return f"entre las {_clock(start)} y las {closes}"
    return f"between {_clock(start)} and {closes}"


def _later(conn, settings, patient, now, today, spanish) -> Result:
    zone = ZoneInfo(patient.timezone)
    delivery = conn.execute(
        select(deliveries.c.id, deliveries.c.status, deliveries.c.again_at).where(
            deliveries.c.patient_id == patient.id, deliveries.c.local_date == today
        )
    ).first()
    again = now + LATER
    if delivery is None or delivery.status != "sent":
        if spanish:
            text = (
                f"Su recordatorio de hoy todavia no ha salido: llega a las "
                f"{_clock(patient.reminder_time)}."
            )
        else:
            at = _clock(patient.reminder_time)
            text = f"Today's reminder has not gone out yet: it comes at {at}."
        return Result(text, "later_not_sent")
    if delivery.again_at is not None:
        at = _clock(delivery.again_at.astimezone(zone).time())
        if spanish:
            text = f"Ya pidio otro recordatorio hoy: le escribimos otra vez a las {at}."
        else:
            text = f"You asked for a later reminder already: it comes again at {at}."
        return Result(text, "later_again")
    local = again.astimezone(zone)
    if local.date() != today or not in_window(local.time(), settings.window):
        window = _window_text(settings, spanish)
        if spanish:
            text = f"Seria muy tarde hoy: solo enviamos mensajes {window}. Hasta manana!"
        else:
            text = f"That would be too late today: we only text {window}. See you tomorrow!"
        return Result(text, "later_refused")
    conn.execute(update(deliveries).where(deliveries.c.id == delivery.id).values(again_at=again))
    at = _clock(local.time())
    record_change(conn, patient.id, "later", f"Today's reminder again at {at}", BY_TEXT, now)
    if spanish:
        return Result(f"Muy bien: le enviamos sus ejercicios otra vez a las {at}.", "later")
    return Result(f"OK: we'll text your exercises again at {at}.", "later")


def _new_time(conn, settings, patient, wanted: dt.time, now, spanish) -> Result:
    if not in_window(wanted, settings.window):
        window = _window_text(settings, spanish)
        if spanish:
            text = (
                f"No enviamos recordatorios a las {_clock(wanted)}: solo {window}. Escriba "
                "una hora en ese horario, por ejemplo 7PM."
            )
        else:
            text = (
                f"We can't send reminders at {_clock(wanted)}: only {window}. Text a time in "
                "those hours, like 7PM."
            )
        return Result(text, "time_refused")
    conn.execute(update(patients).where(patients.c.id == patient.id).values(reminder_time=wanted))
    detail = f"Daily time {_clock(wanted)} (was {_clock(patient.reminder_time)})"
    record_change(conn, patient.id, "time", detail, BY_TEXT, now)
    if spanish:
        return Result(f"Listo: su recordatorio diario ahora es a las {_clock(wanted)}.", "time")
    return Result(f"Done: your daily reminder is now at {_clock(wanted)}.", "time")


ES_DAYS = ("lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo")
ES_MONTHS = "ene feb mar abr may jun jul ago sep oct nov dic".split()


def day_text(day: dt.date, spanish: bool) -> str:
    if spanish:
        return f"{ES_DAYS[day.weekday()]} {day.day} de {ES_MONTHS[day.month - 1]}"
    return f"{day:%A}, {day:%b} {day.day}"


def _pause(conn, patient, command: c.Pause, now, today, spanish) -> Result:
    resumes = c.resume_date(command, today)
    until = dt.datetime.combine(resumes, dt.time(0), tzinfo=ZoneInfo(patient.timezone))
    conn.execute(
        update(patients).where(patients.c.id == patient.id).values(paused=True, paused_until=until)
    )
    record_change(
        conn, patient.id, "pause", f"Paused until {resumes:%b} {resumes.day}", BY_TEXT, now
    )
    if spanish:
        text = (
            f"Sus recordatorios quedan en pausa hasta el {day_text(resumes, True)}. "
            "Escriba REANUDAR para volver antes."
        )
    else:
        text = (
            f"Your reminders are paused until {day_text(resumes, False)}. Text RESUME to "
            "start them sooner."
        )
    return Result(text, "pause")


def paused_for_pain(conn: Connection, patient_id: int) -> bool:
    """The patient's last pause was the pain pause: only staff lift it."""
    last = conn.execute(
        select(changes.c.detail)
        .where(changes.c.patient_id == patient_id, changes.c.change.in_(("pause", "resume")))
        .order_by(changes.c.id.desc())
        .limit(1)
    ).scalar()
    return last == PAIN_PAUSE_DETAIL


def _resume(conn, settings, patient, now, spanish) -> Result:
    at = _clock(max(patient.reminder_time, settings.window[0]))
    if patient.paused and paused_for_pain(conn, patient.id):
        if spanish:
            text = f"Llamenos al {settings.phone} antes de seguir con los ejercicios, por favor."
        else:
            text = f"Please call us at {settings.phone} before you go on with the exercises."
        return Result(text, "resume_refused", "person")
    if patient.paused:
        conn.execute(
            update(patients)
            .where(patients.c.id == patient.id)
            .values(paused=False, paused_until=None)
        )
        record_change(conn, patient.id, "resume", "Reminders resumed", BY_TEXT, now)
    if spanish:
        return Result(f"Sus recordatorios siguen: cada dia a las {at}.", "resume")
    return Result(f"Your reminders are on: every day at {at}.", "resume")


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
