"""Keeping texts no longer than needed, and a patient's own copy of their data.

``MESSAGE_RETENTION_DAYS`` (unset: keep everything): the clock blanks, once a day, the
words of every text older than that, in or out, and of each daily reminder; what stays is
the metadata (who, when, which way, what kind, delivery status) and the consent history,
which proves the clinic texted only with consent. ``flask --app bot retention apply`` does
the same by hand.

``patient_export`` gathers one patient's data (their record, texts, daily reminders,
consent history, schedule changes and DONE days) for an admin to hand over on request, as
JSON or as one CSV; deleting it is ``bot.patients.records.delete_patient_data``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.models import (
    AdherenceDay,
    Message,
    Patient,
    ReminderDelivery,
    ScheduleChange,
)
from bot.patients import records as pt
from bot.text import safe_cell

BATCH = 5000
messages = Message.__table__
deliveries = ReminderDelivery.__table__


@dataclass
class Blanked:
    texts: int = 0
    reminders: int = 0

    def line(self) -> str:
        return f"blanked {self.texts} texts and {self.reminders} daily reminders"


def blank_old_texts(session: Session, now: dt.datetime, days: int, batch: int = BATCH) -> Blanked:
    """Blank the words of texts and reminders older than ``days`` days, in batches (each
    committed: a long run holds no lock for long, and a run cut short is taken up by the
    next). Only rows still holding words are read (partial indexes, migration 0018)."""
    cutoff = now - dt.timedelta(days=days)
    result = Blanked()
    while True:
        ids = select(messages.c.id).where(
            messages.c.body_removed_at.is_(None), messages.c.created_at < cutoff
        )
        done = session.execute(
            update(messages)
            .where(messages.c.id.in_(ids.order_by(messages.c.created_at).limit(batch)))
            .values(body="", body_removed_at=now)
        ).rowcount
        session.commit()
        result.texts += done
        if done < batch:
            break
    while True:
        ids = select(deliveries.c.id).where(
            deliveries.c.body != "", deliveries.c.created_at < cutoff
        )
        done = session.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(ids.order_by(deliveries.c.created_at).limit(batch)))
            .values(body="")
        ).rowcount
        session.commit()
        result.reminders += done
        if done < batch:
            break
    return result


# --- a patient's data ------------------------------------------------------------------------


def _when(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds") if moment else ""


def _of_patient(session: Session, model, patient: Patient, order):
    return session.scalars(select(model).where(model.patient_id == patient.id).order_by(order))


def patient_export(session: Session, patient: Patient, status: str) -> dict:
    """Everything the clinic holds on one patient, newest last, times in UTC (ISO 8601)."""
    record = pt.history(session, patient)  # on a recycled number, this patient's part
    texts = session.scalars(
        select(Message)
        .where(Message.phone == patient.phone, record.holds(Message.created_at))
        .order_by(Message.id)
    )
    reminders = _of_patient(session, ReminderDelivery, patient, ReminderDelivery.local_date)
    consent = pt.consent_history(session, record)
    changes = _of_patient(session, ScheduleChange, patient, ScheduleChange.id)
    days = _of_patient(session, AdherenceDay, patient, AdherenceDay.local_date)
    return {
        "patient": {
            "id": patient.id,
            "name": patient.name,
            "phone": patient.phone,
            "language": patient.language,
            "routine": list(patient.routine),
            "reminder_time": patient.reminder_time.strftime("%H:%M"),
            "timezone": patient.timezone,
            "state": patient.state,
            "status": status,
            "paused": patient.paused,
            "enrolled_at": _when(patient.enrolled_at),
            "enrolled_by": patient.enrolled_by,
            "removed_at": _when(patient.removed_at),
        },
        "texts": [
            {
                "time": _when(m.created_at),
                "direction": m.direction,
                "kind": m.kind or "",
                "text": m.body,
                "text_removed": _when(m.body_removed_at),
                "status": m.status or "",
                "sent_by": m.sent_by or "",
            }
            for m in texts
        ],
        "daily_reminders": [
            {
                "date": r.local_date.isoformat(),
                "status": r.status,
                "sent_at": _when(r.sent_at),
                "delivery_status": r.delivery_status or "",
                "text": r.body,
                "note": r.note or "",
            }
            for r in reminders
        ],
        "consent_history": [
            {
                "time": _when(c.created_at),
                "action": c.action,
                "keyword": c.keyword or "",
                "source": c.source,
                "recorded_by": c.recorded_by or "",
            }
            for c in consent
        ],
        "schedule_changes": [
            {"time": _when(c.created_at), "change": c.change, "detail": c.detail, "by": c.actor}
            for c in changes
        ],
        "days_done": [
            {"date": d.local_date.isoformat(), "pain": "" if d.pain is None else d.pain}
            for d in days
        ],
    }


CSV_COLUMNS = ["section", "time", "what", "text", "status", "by"]


def export_csv(data: dict) -> str:
    """The export as one CSV (UTF-8 with a BOM, for Excel): one row per item, its section
    first; no cell a spreadsheet would run as a formula."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    record = data["patient"]
    for key, value in record.items():
        shown = "; ".join(value) if isinstance(value, list) else value
        writer.writerow(["patient", "", key, safe_cell("" if shown is None else shown), "", ""])
    for t in data["texts"]:
        words = t["text"] if not t["text_removed"] else f"(removed {t['text_removed']})"
        writer.writerow(
            ["text " + t["direction"], t["time"], t["kind"], safe_cell(words), t["status"],
             safe_cell(t["sent_by"])]
        )  # fmt: skip
    for r in data["daily_reminders"]:
        writer.writerow(
            ["daily reminder", r["sent_at"] or r["date"], r["status"], safe_cell(r["text"]),
             r["delivery_status"], safe_cell(r["note"])]
        )  # fmt: skip
    for c in data["consent_history"]:
        writer.writerow(
            ["consent", c["time"], c["action"], safe_cell(c["keyword"]), c["source"],
             safe_cell(c["recorded_by"])]
        )  # fmt: skip
    for c in data["schedule_changes"]:
        writer.writerow(
            ["schedule change", c["time"], c["change"], safe_cell(c["detail"]), "",
             safe_cell(c["by"])]
        )  # fmt: skip
    for d in data["days_done"]:
        writer.writerow(["done", d["date"], "pain", d["pain"], "", ""])
    return "\ufeff" + out.getvalue()
