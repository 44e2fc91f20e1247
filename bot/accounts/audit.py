"""The audit trail: who read or changed a patient's data, when, what and from where.

Every staff action on patients' data adds a row to ``audit_events`` (``note`` in a
request, ``record`` anywhere else, such as a command); rows are only ever added: the
database refuses to change or delete one (migration 0017). Admins read the trail on the
``/audit`` page, filtered by who, what, which patient and when, and export it as CSV. A
row names the patient by id, never by name or number, so the trail holds no patient data
itself and outlives a patient whose data was deleted.
"""

from __future__ import annotations

import csv
import datetime as dt
import getpass
import io
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bot.models import AuditEvent, Patient, utcnow
from bot.patients.search import search_condition
from bot.text import safe_cell

# What a row's action means, in the page's words.
ACTIONS = {
    "view_patient": "Viewed a patient's page and texts",
    "view_conversation": "Viewed a conversation in the inbox",
    "enroll": "Enrolled a patient",
    "edit": "Edited a patient",
    "pause": "Paused reminders",
    "resume": "Resumed reminders",
    "invite": "Sent the invitation",
    "invite_again": "Sent invitations again",
    "invite_waiting": "Sent the waiting invitations",
    "remove": "Removed a patient",
    "reply": "Replied by text",
    "close_thread": "Marked a conversation done",
    "assign_thread": "Gave a conversation to a staff member",
    "import": "Imported patients",
    "export_adherence": "Exported adherence",
    "export_patient": "Exported a patient's data",
    "delete_patient_data": "Deleted a patient's data",
    "staff_create": "Created a staff account",
    "staff_deactivate": "Deactivated a staff account",
    "staff_activate": "Activated a staff account",
    "staff_role": "Changed a staff member's role",
    "own_password": "Changed their own password",
    "saved_reply_add": "Added a saved reply",
    "saved_reply_change": "Changed a saved reply",
    "saved_reply_delete": "Deleted a saved reply",
    "staff_password": "Changed a staff password",
    "view_audit": "Viewed the audit trail",
    "export_audit": "Exported the audit trail",
}
PAGE = 100
EXPORT_LIMIT = 100_000
CSV_COLUMNS = ["id", "time_utc", "who", "action", "patient_id", "detail", "address"]


def record(
    session: Session,
    actor: str,
    action: str,
    address: str | None = None,
    patient_id: int | None = None,
    detail: str = "",
    now: dt.datetime | None = None,
) -> None:
    """Add one row to the trail, in the caller's transaction."""
    if action not in ACTIONS:
        raise ValueError(f"{action!r} is not an audited action")
    session.add(
        AuditEvent(
            created_at=now or utcnow(),
            actor=actor[:254],
            action=action,
            patient_id=patient_id,
            detail=detail[:500],
            address=(address or None) and address[:64],
        )
    )


def command_line() -> str:
    """Who ran a command: the operating system's user, for the trail."""
    try:
        return f"command line ({getpass.getuser()})"
    except (KeyError, OSError):
        return "command line"


# --- reading it ------------------------------------------------------------------------------


# The dates a filter may name: any the trail can hold, and a day after it still a date.
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(9998, 12, 31)


@dataclass
class Filters:
    who: str = ""
    action: str = ""
    patient: int | None = None  # an id
    patient_named: str = ""  # or a name (or part of a number), as the patients list searches
    first: dt.date | None = None
    last: dt.date | None = None
    zone: str = "UTC"

    @classmethod
    def from_args(cls, args, zone: str) -> tuple[Filters, list[str]]:
        """The filters of the page's query string, and what was wrong with any of them."""
        errors = []
        who = (args.get("who") or "").strip()[:254]
        if any(ord(ch) < 0x20 for ch in who):
            errors.append("Who is a staff member's email address.")
            who = ""
        filters = cls(zone=zone, who=who)
        action = args.get("action") or ""
        if action and action not in ACTIONS:
            errors.append("Choose an action from the list.")
        else:
            filters.action = action
        patient = "".join(ch for ch in (args.get("patient") or "")[:100] if ch.isprintable())
        patient = patient.strip()
        if patient.isascii() and patient.isdigit():
            if len(patient) < 19:
                filters.patient = int(patient)
            else:
                errors.append(
                    "A patient id is at most 18 digits (the number in the patient page address)."
                )
        elif patient:
            filters.patient_named = patient
        for name, label in (("first", "From"), ("last", "To")):
            raw = (args.get(name) or "").strip()
            if raw:
                try:
                    day = dt.date.fromisoformat(raw)
                except ValueError:
                    day = None
                if day is None or not EARLIEST <= day <= LATEST:
                    errors.append(f"{label} must be a date such as 2026-11-30.")
                else:
                    setattr(filters, name, day)
        return filters, errors

    def query(self) -> Select:
        query = select(AuditEvent)
        if self.who:
            query = query.where(AuditEvent.actor == self.who.lower())
        if self.action:
            query = query.where(AuditEvent.action == self.action)
        if self.patient is not None:
            query = query.where(AuditEvent.patient_id == self.patient)
        named = search_condition(self.patient_named) if self.patient_named else None
        if named is not None:
            query = query.where(AuditEvent.patient_id.in_(select(Patient.id).where(named)))
        zone = ZoneInfo(self.zone)
        if self.first:
            start = dt.datetime.combine(self.first, dt.time(), tzinfo=zone)
            query = query.where(AuditEvent.created_at >= start)
        if self.last:
            end = dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), tzinfo=zone)
            query = query.where(AuditEvent.created_at < end)
        return query

    def args(self) -> dict[str, str]:
        """The filters as query arguments, for the next page's and the export's links."""
        values = {
            "who": self.who,
            "action": self.action,
            "patient": self.patient_named if self.patient is None else str(self.patient),
            "first": self.first.isoformat() if self.first else "",
            "last": self.last.isoformat() if self.last else "",
        }
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class Line:
    """A row of the trail as the page shows it: the event and its patient's name (None: no
    patient, or one whose data was deleted)."""

    event: AuditEvent
    patient_name: str | None


def trail(session: Session, filters: Filters, before: int | None = None) -> list[Line]:
    """A page of the trail, newest first; ``before``: older than this row."""
    query = (
        filters.query()
        .add_columns(Patient.name)
        .outerjoin(Patient, Patient.id == AuditEvent.patient_id)
    )
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = session.execute(query.order_by(AuditEvent.id.desc()).limit(PAGE))
    return [Line(event, name) for event, name in rows]


def export_rows(session: Session, filters: Filters) -> Iterator[str]:
    """The trail as CSV lines (UTF-8 with a BOM, for Excel), oldest first."""
    out = io.StringIO()
    writer = csv.writer(out)

    def line(row) -> str:
        writer.writerow(row)
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    yield "\ufeff" + line(CSV_COLUMNS)
    rows = session.scalars(
        filters.query()
        .order_by(AuditEvent.id)
        .limit(EXPORT_LIMIT)
        .execution_options(yield_per=1000)
    )
    for event in rows:
        yield line(
            [
                event.id,
                event.created_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
                safe_cell(event.actor),
                event.action,
                "" if event.patient_id is None else event.patient_id,
                safe_cell(event.detail),
                safe_cell(event.address),
            ]
        )
