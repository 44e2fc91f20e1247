"""Removing a patient: no more reminders, off the lists and out of the desk's inbox; the
texts and the consent history stay on record (deleting them, on the patient's request, is
``records.delete_patient_data``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from bot.inbox import threads
from bot.models import Patient


def remove(session: Session, patient: Patient, by: str, now: dt.datetime) -> None:
    """Remove the patient, and mark an open thread of theirs done by ``by``; the caller
    commits."""
    patient.removed_at = now
    thread = threads.thread_of(session, patient.phone)
    if thread is not None and thread.status == "open":
        threads.mark_done(session, thread, by, now)
