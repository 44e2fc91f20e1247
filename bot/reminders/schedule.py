"""Changes to a patient's reminders (pause, resume, a new time), made by a page, a text or
the app, each kept in ``schedule_changes`` with who made it: the patient's page lists
them, and a pain pause is told from the patient's own pause by its detail."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, update

from bot.models import Patient, ScheduleChange
from bot.patients import records as pt

patients, changes = Patient.__table__, ScheduleChange.__table__


def set_paused(
    conn: Connection,
    patient_id: int,
    paused: bool,
    detail: str,
    by,
    now,
    until: dt.datetime | None = None,
    reason: str | None = None,
) -> None:
    """Pause a patient's reminders (until a moment, or until someone resumes them) or
    resume them, and keep the change (with why, where staff said): the one way pages, texts
    and the app do it. ``by`` is (source, actor); the caller commits."""
    conn.execute(
        update(patients)
        .where(patients.c.id == patient_id)
        .values(paused=paused, paused_until=until if paused else None)
    )
    record_change(conn, patient_id, "pause" if paused else "resume", detail, by, now, reason)


def record_change(
    conn: Connection, patient_id: int, change: str, detail: str, by, now, reason=None
) -> None:
    """Keep one change to a patient's reminders; ``by`` is (source, actor)."""
    source, actor = by
    conn.execute(
        insert(changes).values(
            patient_id=patient_id, change=change, detail=detail[:200], source=source,
            actor=actor[:254], created_at=now, reason=reason,
        )
    )  # fmt: skip


# A pause staff set from the patient's page: until a day (at most a year on) or until
# someone resumes it, with an optional reason the patient's page shows.
STAFF_PAUSE_MAX_DAYS = 365
REASON_MAX = 120
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class PauseRefused(ValueError):
    """What is wrong with a pause staff asked for, in words for the page."""


def staff_pause(
    conn: Connection, patient: Patient, resume_on: str, reason: str, by, now: dt.datetime
) -> dt.date | None:
    """Pause the patient's reminders from their page: ``resume_on`` a day as a date field
    gives it (YYYY-MM-DD) or empty (until someone resumes them), ``reason`` free words or
    empty. Every problem is said at once (PauseRefused); the day reminders start again (at
    midnight where the patient is), or None. The caller commits."""
    first, last = staff_pause_days(patient, now)
    reason = " ".join(_CONTROL.sub(" ", reason or "").split())
    problems, day = [], None
    if resume_on.strip():
        try:
            day = dt.date.fromisoformat(resume_on.strip())
        except ValueError:
            problems.append("The day reminders start again is not a date.")
    if day is not None and not first <= day <= last:
        problems.append(
            f"The day reminders start again must be after today and at most a year on "
            f"({_day(first)} to {_day(last)}, where the patient is)."
        )
    if len(reason) > REASON_MAX:
        problems.append(f"The reason is {len(reason)} characters; at most {REASON_MAX}.")
    if problems:
        raise PauseRefused(" ".join(problems))
    until = dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(patient.timezone)) if day else None
    detail = f"Paused until {_day(day)}" if day else "Paused"
    set_paused(conn, patient.id, True, detail, by, now, until, reason or None)
    return day


def staff_pause_days(patient: Patient, now: dt.datetime) -> tuple[dt.date, dt.date]:
    """The first and last day a staff pause may end on: tomorrow where the patient is, and
    a year on."""
    today = now.astimezone(ZoneInfo(patient.timezone)).date()
    return today + dt.timedelta(days=1), today + dt.timedelta(days=STAFF_PAUSE_MAX_DAYS)


def _day(day: dt.date) -> str:
    return f"{day:%b} {day.day}, {day.year}"


def edit_patient(session, patient: Patient, values: dict, by, now: dt.datetime) -> list[str]:
    """Change a patient's details from the edit page; a new reminder time or time zone is
    kept as a change to the reminders (as a text's "7pm" is). The fields that changed;
    the caller commits."""
    was = (patient.reminder_time, patient.timezone)
    changed = [field for field, value in values.items() if getattr(patient, field) != value]
    for field, value in values.items():
        setattr(patient, field, value)
    if (patient.reminder_time, patient.timezone) != was:
        detail = (
            f"Daily time {pt.readable_time(patient.reminder_time)} {patient.timezone} "
            f"(was {pt.readable_time(was[0])} {was[1]})"
        )
        record_change(session.connection(), patient.id, "time", detail, by, now)
    return changed
