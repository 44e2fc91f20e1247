"""Bulk enrollment from a CSV file (the ``patients import`` command and the upload page).

The header row is ``name,phone,language,routine,reminder_time,timezone``; routine is
exercise names separated by ``;``, matched as forgivingly as patients' texts are;
reminder_time is ``HH:MM``; language and timezone may be empty. Every bad row is reported
with its line number and reason and the good rows are enrolled. A number already enrolled
is skipped, so running the same file twice enrolls nobody twice (and invites, on the
second run, anyone the first run enrolled but could not invite).

Invitations go out concurrently through the sender's ``send_many`` (``SEND_CONCURRENCY``
requests in flight, with the retries of 429 and 5xx answers the reminders get), a batch at
a time, each batch recorded as soon as Twilio has answered it.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import select

from bot import patients as pt
from bot.models import Patient, db, utcnow
from bot.sender import limits_from_config, pipelined

COLUMNS = ("name", "phone", "language", "routine", "reminder_time", "timezone")
BATCH = 500


class ImportFileError(ValueError):
    """The file itself cannot be read as an enrollment CSV."""


@dataclass
class ImportReport:
    rows: int = 0
    enrolled: int = 0
    duplicates: int = 0
    invited: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    invite_failures: list[tuple[int, str]] = field(default_factory=list)


Progress = Callable[[str, int, int], None]  # (stage, done, total)


def import_csv(
    app: Flask, lines: Iterable[str], recorded_by: str, progress: Progress | None = None
) -> ImportReport:
    report = ImportReport()
    content = app.extensions["content"]
    matcher = pt.RoutineMatcher(content)
    default_tz = app.config["CLINIC_TIMEZONE"]
    reader = csv.DictReader(lines)
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ImportFileError(
            f"line 1: the header must be {','.join(COLUMNS)} (missing: {', '.join(missing)})"
        )
    reader.fieldnames = header

    parsed: list[tuple[int, pt.Enrollment]] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # blank line
        report.rows += 1
        try:
            enrollment = pt.Enrollment(
                name=pt.check_name(row.get("name")),
                phone=pt.parse_phone(row.get("phone") or ""),
                language=pt.parse_language(row.get("language") or ""),
                routine=matcher.match((row.get("routine") or "").split(";")),
                reminder_time=pt.parse_time(row.get("reminder_time") or ""),
                timezone=pt.parse_timezone(row.get("timezone") or "", default_tz),
            )
        except pt.EnrollmentError as exc:
            report.errors.append((line, f"{exc.field}: {exc}"))
            continue
        if enrollment.phone in seen:
            report.errors.append((line, f"phone: the same number as line {seen[enrollment.phone]}"))
            continue
        seen[enrollment.phone] = line
        parsed.append((line, enrollment))

    to_invite: list[tuple[int, int]] = []  # (line, patient id)
    session = db.session
    for start in range(0, len(parsed), BATCH):
        batch = parsed[start : start + BATCH]
        phones = [e.phone for _, e in batch]
        existing = {
            p.phone: p for p in session.scalars(select(Patient).where(Patient.phone.in_(phones)))
        }
        for line, enrollment in batch:
            patient = existing.get(enrollment.phone)
            if patient is not None and patient.removed_at is None:
                report.duplicates += 1
                if pt.never_invited(session, patient):
                    to_invite.append((line, patient.id))
                continue
            patient = pt.enroll(session, enrollment, recorded_by, "import", utcnow())
            report.enrolled += 1
            to_invite.append((line, patient.id))
        session.commit()
        if progress:
            progress("enrolling", min(start + BATCH, len(parsed)), len(parsed))

    _invite_all(app, to_invite, report, progress)
    return report


def invite_pending(app: Flask, progress: Progress | None = None) -> ImportReport:
    """Send the invitation to every enrolled patient who never got one (held at night, or
    Twilio was unreachable) and has not answered since; failures name the patient id."""
    session = db.session
    rows = session.execute(
        select(Patient, *pt.status_columns()).where(
            Patient.removed_at.is_(None),
            Patient.number_invalid.is_(False),
            pt.never_invited_filter(),
        )
    ).all()
    waiting = [(p.id, p.id) for p, action, at in rows if pt.status_of(p, action, at) == "invited"]
    report = ImportReport(rows=len(waiting))
    _invite_all(app, waiting, report, progress)
    return report


def _invite_all(app: Flask, to_invite, report: ImportReport, progress: Progress | None) -> None:
    """Send the invitations, many at once, and record each answer."""
    session = db.session
    content, sender = app.extensions["content"], app.extensions["sender"]
    ids = [pid for _, pid in to_invite]
    line_of = {pid: line for line, pid in to_invite}
    patients = {p.id: p for p in session.scalars(select(Patient).where(Patient.id.in_(ids)))}
    opted_out = pt.opted_out_numbers(session, [p.phone for p in patients.values()])
    jobs = [
        (patients[pid], patients[pid].phone, pt.invitation_text(content, patients[pid]))
        for pid in ids
        if patients[pid].phone not in opted_out and not patients[pid].number_invalid
    ]
    for pid in ids:
        if patients[pid].phone in opted_out:
            report.invite_failures.append((line_of[pid], "the number has opted out (STOP)"))
    # Never at night where the patient is: those invitations wait for a staff member.
    window, now = app.config["REMINDER_WINDOW"], utcnow()
    held = {p.id for p, _, _ in jobs if not pt.within_sending_hours(now, p.timezone, window)}
    for patient_id in sorted(held, key=line_of.__getitem__):
        report.invite_failures.append((line_of[patient_id], pt.held_for_the_night(window)))
    jobs = [job for job in jobs if job[0].id not in held]
    batches = [jobs[start : start + BATCH] for start in range(0, len(jobs), BATCH)]
    done = 0
    with sender.pipeline(limits_from_config(app.config)) as submit:
        for batch, results in pipelined(submit, batches, _texts):
            for (patient, _phone, text), result in zip(batch, results, strict=True):
                pt.record_send(session, patient, text, "invitation", result, utcnow())
                if result.ok:
                    report.invited += 1
                else:
                    failure = result.error or result.status
                    report.invite_failures.append((line_of[patient.id], failure))
            session.commit()
            done += len(batch)
            if progress:
                progress("inviting", done, len(jobs))


def _texts(batch) -> list[tuple[str, str]]:
    return [(phone, text) for _, phone, text in batch]
