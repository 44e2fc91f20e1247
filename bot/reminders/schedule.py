"""Changes to a patient's reminders (pause, resume, a new time), made by a page, a text or
the app, each kept in ``schedule_changes`` with who made it: the patient's page lists
them, and a pain pause is told from the patient's own pause by its detail."""

from __future__ import annotations

import datetime as dt

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
) -> None:
    """Pause a patient's reminders (until a moment, or until someone resumes them) or
    resume them, and keep the change: the one way pages, texts and the app do it. ``by``
    is (source, actor); the caller commits."""
    conn.execute(
        update(patients)
        .where(patients.c.id == patient_id)
        .values(paused=paused, paused_until=until if paused else None)
    )
    record_change(conn, patient_id, "pause" if paused else "resume", detail, by, now)


def record_change(conn: Connection, patient_id: int, change: str, detail: str, by, now) -> None:
    """Keep one change to a patient's reminders; ``by`` is (source, actor)."""
    source, actor = by
    conn.execute(
        insert(changes).values(
            patient_id=patient_id, change=change, detail=detail[:200], source=source,
            actor=actor[:254], created_at=now,
        )
    )  # fmt: skip


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
