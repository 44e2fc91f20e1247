"""Bulk enrollment from a CSV file (the ``patients import`` command and the upload page).

The header row is ``name,phone,language,routine,reminder_time,timezone``, and an optional
``state`` column; routine is exercise names separated by ``;``, matched as forgivingly as
patients' texts are; reminder_time is ``HH:MM``; language, timezone and state may be empty
(state: whose texting hours hold, else the area code's). Every bad row is reported
with its line number and reason and the good rows are enrolled.

The file is read as spreadsheets write it (``read_file``): UTF-8 with or without a BOM,
or UTF-16 with a BOM; anything else is refused with what is wrong and how to save it. The
separator is ``,`` or ``;`` (Excel in many countries), found from the header. One row is
one line: a quote left open is reported at its line, and the lines after it are read as
they are. A file over ``MAX_FILE_BYTES`` or ``MAX_ROWS`` is refused whole, before anything
is enrolled; a cell over ``MAX_CELL`` characters, or holding a NUL, fails only its row.

A number already enrolled is skipped, so running the same file twice enrolls nobody twice
(and invites, on the second run, anyone the first run enrolled but could not invite).

From the upload page, a file is first previewed (``preview_csv``: what would be enrolled,
invited, held, and which rows are bad), kept for an hour until a staff member confirms it;
a file of more than ``INLINE_ROWS`` rows is then imported on a thread (``start_import_job``)
with its progress in an ``import_jobs`` row.

Invitations go out concurrently through the sender's pipeline (``SEND_CONCURRENCY``
requests in flight, with the retries of 429 and 5xx answers the reminders get), a batch at
a time: each batch claimed (written down) before it is sent and recorded as Twilio
answers, so an interrupted run is reconciled with Twilio before anyone is invited again.
Invitations are held at night where the patient is, and past ``INVITATIONS_PER_DAY``.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from flask import Flask
from sqlalchemy import select, text, update

from bot.models import DATABASE_UNAVAILABLE, ImportJob, Patient, begin_writing, db, utcnow
from bot.patients import records as pt
from bot.sms import outgoing
from bot.sms.phones import staff_facing
from bot.sms.quiet_hours import SendingHours
from bot.sms.sender import limits_from_config, pipelined

log = logging.getLogger(__name__)
COLUMNS = ("name", "phone", "language", "routine", "reminder_time", "timezone")
OPTIONAL_COLUMNS = ("state",)
BATCH = 500
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
MAX_CELL = 300
LINE_BREAK = re.compile(r"\r\n|\r|\n")


class ImportFileError(ValueError):
    """The file itself cannot be read as an enrollment CSV."""


@dataclass
class ImportReport:
    # or "invitations": the waiting ones sent (invite_pending); "invite_again": once more
    kind: str = "import"
    rows: int = 0
    enrolled: int = 0
    duplicates: int = 0
    invited: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    # Enrolled, but no invitation sent: (line of the file or None, why, patient id). No
    # names: the report is kept, and a patient's data can be deleted (the page looks
    # their names up).
    invite_failures: list[tuple[int | None, str, int]] = field(default_factory=list)


Progress = Callable[[str, int, int], None]  # (stage, done, total)


def template_csv(content) -> str:
    """A file to fill in: the header and two example rows (fictional numbers), in the
    clinic's exercise names. Importing it as it is enrolls the two examples."""
    first, second = (e.name for e in content.exercises[:2])
    rows = [
        ",".join(COLUMNS + OPTIONAL_COLUMNS),
        f"Ana Lopez,(202) 555-0101,es,{first}; {second},09:00,,",
        f"Bob Smith,202-555-0102,en,{second},18:30,America/Chicago,TX",
    ]
    return "\r\n".join(rows) + "\r\n"


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (with or without a BOM) or UTF-16 with a BOM, else a clear
    ImportFileError saying what the file is and how to save it."""
    if not data.strip():
        raise ImportFileError("the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(
            f"the file is larger than the {MAX_FILE_BYTES / 1e6:g} MB that can be imported at "
            "once: split it into smaller files; nothing was enrolled"
        )
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):  # fmt: skip
        if data.startswith(bom):
            return _decode(data[len(bom) :], codec)
    sample = data[:200]
    if sample.count(b"\x00") > len(sample) // 4:
        raise ImportFileError(
            "the file looks like UTF-16 without a byte-order mark, which cannot be read "
            "safely: save it from the spreadsheet as 'CSV UTF-8'"
        )
    return _decode(data, "utf-8")


def _decode(data: bytes, codec: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n" if codec == "utf-8" else "\n".encode(codec)) + 1
        byte = data[exc.start]
        hint = (
            " (it looks like Latin-1 or Windows-1252, as older Excel saves 'CSV')"
            if codec == "utf-8" and byte >= 0x80
            else ""
        )
        name = "UTF-8" if codec == "utf-8" else "UTF-16"
        raise ImportFileError(
            f"line {line}: the file is not {name}: byte 0x{byte:02X} is not text in {name}"
            f"{hint}. Save it from the spreadsheet as 'CSV UTF-8' and import it again; "
            "nothing was enrolled"
        ) from None


def read_file(
    data: bytes | str,
) -> tuple[list[tuple[int, dict[str, str]]], list[tuple[int, str]]]:
    """The rows of an enrollment file as (line, {column: cell}), and the lines that could
    not be read, with why. Raises ImportFileError for a file that cannot be read at all."""
    text = decode(data) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    lines = LINE_BREAK.split(text)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise ImportFileError("the file is empty")
    delimiter = ";" if lines[first].count(";") > lines[first].count(",") else ","
    try:
        [header] = csv.reader([lines[first]], delimiter=delimiter, strict=True)
    except csv.Error:
        raise ImportFileError(f"line {first + 1}: the header row cannot be read") from None
    header = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ImportFileError(
            f"line {first + 1}: the header must be {','.join(COLUMNS)} (missing: "
            f"{', '.join(missing)}; found: {', '.join(header)[:200] or 'nothing'})"
        )
    if sum(1 for line in lines[first + 1 :] if line.strip()) > MAX_ROWS:
        raise ImportFileError(
            f"the file has more than {MAX_ROWS:,} rows: split it into smaller files; "
            "nothing was enrolled"
        )
    rows, errors = [], []
    for number, line in enumerate(lines[first + 1 :], start=first + 2):
        if not line.strip():
            continue
        if "\x00" in line:
            errors.append((number, "the row holds a NUL character (is the file damaged?)"))
            continue
        try:
            [cells] = csv.reader([line], delimiter=delimiter, strict=True)
        except csv.Error as exc:
            if "field limit" in str(exc):
                reason = f"a cell is longer than {MAX_CELL} characters"
            elif "end of data" in str(exc) or line.count('"') % 2:
                reason = 'a quote (") opened on this line is not closed'
            else:
                reason = f"the row cannot be read as CSV ({exc})"
            errors.append((number, reason))
            continue
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            errors.append((number, f"{len(cells)} cells, but the header has {len(header)} columns"))
            continue
        if any(len(cell) > MAX_CELL for cell in cells):
            errors.append((number, f"a cell is longer than {MAX_CELL} characters"))
            continue
        rows.append((number, dict(zip(header, cells, strict=False))))
    return rows, errors


def _parse(
    app: Flask, data: bytes | str
) -> tuple[list[tuple[int, pt.Enrollment]], ImportReport, dict[int, str]]:
    """The file's enrollments by line, a report holding its bad rows, and each line's
    fields as written (its name says which row is bad; the preview shows how they read)."""
    report = ImportReport()
    content = app.extensions["content"]
    matcher = pt.RoutineMatcher(content)
    default_tz = app.config["CLINIC_TIMEZONE"]
    hours = SendingHours.from_config(app.config)
    allowed = app.config["ALLOWED_COUNTRIES"]
    rows, unreadable = read_file(data)
    written = dict(rows)

    parsed: list[tuple[int, pt.Enrollment]] = []
    seen: dict[str, int] = {}
    report.rows = len(rows) + len(unreadable)
    report.errors.extend(unreadable)
    for line, row in rows:
        if not any((v or "").strip() for v in row.values()):
            report.rows -= 1
            continue  # a line of separators only
        try:
            enrollment = pt.Enrollment(
                name=pt.check_name(row.get("name")),
                phone=pt.parse_phone(row.get("phone") or "", allowed=allowed),
                language=pt.parse_language(row.get("language") or ""),
                routine=matcher.match(re.split(r"[;,]", row.get("routine") or "")),
                reminder_time=pt.parse_time(row.get("reminder_time") or ""),
                timezone=pt.parse_timezone(row.get("timezone") or "", default_tz),
                state=pt.parse_state(row.get("state") or ""),
            )
            pt.time_allowed(enrollment.reminder_time, enrollment.phone, enrollment.state, hours)
        except pt.EnrollmentError as exc:
            report.errors.append((line, f"{exc.field}: {exc}"))
            continue
        if enrollment.phone in seen:
            report.errors.append((line, f"phone: the same number as line {seen[enrollment.phone]}"))
            continue
        seen[enrollment.phone] = line
        parsed.append((line, enrollment))
    report.errors.sort()
    return parsed, report, written


def _enrolled(session, phones: list[str]) -> dict[str, Patient]:
    """The patients enrolled (not removed) on these numbers, by number."""
    query = select(Patient).where(Patient.phone.in_(phones), Patient.removed_at.is_(None))
    return {p.phone: p for p in session.scalars(query)}


def import_csv(
    app: Flask, data: bytes | str, recorded_by: str, progress: Progress | None = None
) -> ImportReport:
    parsed, report, _ = _parse(app, data)
    to_invite: list[tuple[int, int]] = []  # (line, patient id)
    session = db.session
    for start in range(0, len(parsed), BATCH):
        begin_writing(session)  # it reads the batch's numbers, then enrolls
        batch = parsed[start : start + BATCH]
        enrolled = _enrolled(session, [e.phone for _, e in batch])
        for line, enrollment in batch:
            patient = enrolled.get(enrollment.phone)
            if patient is not None:
                report.duplicates += 1
                to_invite.append((line, patient.id))  # invited below only if never invited
                continue
            patient = pt.enroll(session, enrollment, recorded_by, "import", utcnow())
            report.enrolled += 1
            to_invite.append((line, patient.id))
        session.commit()
        if progress:
            progress("enrolling", min(start + BATCH, len(parsed)), len(parsed))

    reconcile_invitations(app)
    waiting = _never_invited([pid for _, pid in to_invite])
    _invite_all(app, [(line, pid) for line, pid in to_invite if pid in waiting], report, progress)
    return report


@dataclass
class Preview:
    """What importing a file would do, worked out before anything is written or sent."""

    rows: int = 0
    new: int = 0  # would be enrolled
    duplicates: int = 0  # enrolled already: skipped
    invite_now: int = 0  # would be invited at once
    held: int = 0  # outside the sending hours where the patient is: held for the day
    opted_out: int = 0  # the number opted out: not invited
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (line, name, reason)
    read: list[dict] = field(default_factory=list)  # the first rows as written and as read


def preview_csv(app: Flask, data: bytes | str) -> Preview:
    """How many a file would enroll and invite, and which rows are bad and why, by line
    and name: nothing is written and nothing sent. Raises ImportFileError as import_csv."""
    parsed, report, written = _parse(app, data)
    result = Preview(rows=report.rows)
    result.errors = [
        (line, (written.get(line, {}).get("name") or "").strip()[:120], reason)
        for line, reason in report.errors
    ]
    hours, now = SendingHours.from_config(app.config), utcnow()
    content = app.extensions["content"]
    result.read = [
        _as_read(line, written[line], e, hours, content, app.config["CLINIC_TIMEZONE"])
        for line, e in parsed[:READ_SHOWN]
    ]
    session = db.session
    for start in range(0, len(parsed), BATCH):
        batch = parsed[start : start + BATCH]
        phones = [e.phone for _, e in batch]
        existing = {phone: p.id for phone, p in _enrolled(session, phones).items()}
        waiting = _never_invited(list(existing.values()))
        opted_out = pt.opted_out_numbers(session, phones)
        for _, enrollment in batch:
            if enrollment.phone in existing:
                result.duplicates += 1
                if existing[enrollment.phone] not in waiting:
                    continue
            else:
                result.new += 1
            if enrollment.phone in opted_out:
                result.opted_out += 1
            elif pt.within_sending_hours(now, enrollment, hours):
                result.invite_now += 1
            else:
                result.held += 1
    return result


READ_SHOWN = 100  # the preview shows how this many rows were read, the first of the file


def _as_read(line: int, row: dict, e: pt.Enrollment, hours, content, clinic_zone: str) -> dict:
    """One row as written beside how it was read, for the preview: a time written "7pm" or
    a zone left empty (the clinic's) is seen before anyone is texted at the wrong hour."""
    names = {x.id: x.name for x in content.exercises}
    zone_written = (row.get("timezone") or "").strip()
    return {
        "line": line,
        "name": e.name,
        "phone": e.phone,
        "time_written": (row.get("reminder_time") or "").strip()[:40],
        "time": pt.readable_time(e.reminder_time),
        "zone_written": zone_written[:60],
        "zone": e.timezone if zone_written else f"{e.timezone} (the clinic's)",
        "hours": hours.describe(e.phone, e.state),
        "language": pt.LANGUAGES[e.language],
        "routine": [names.get(x, x) for x in e.routine],
    }


def _never_invited(ids: list[int]) -> set[int]:
    """Of these patients, those no invitation was accepted or claimed for and who have not
    answered: one query a batch, after claims left by an interrupted run were settled
    with Twilio."""
    found: set[int] = set()
    for start in range(0, len(ids), BATCH):
        found.update(
            db.session.scalars(
                select(Patient.id).where(
                    Patient.id.in_(ids[start : start + BATCH]),
                    pt.never_invited_filter(),
                    # Not one who answered already (subscribed by texting YES or START):
                    # an opted-out number is kept, to be reported as such.
                    pt.status_expression().in_(("invited", "opted_out")),
                )
            )
        )
    return found


def invite_pending(app: Flask, progress: Progress | None = None) -> ImportReport:
    """Send the invitation to every enrolled patient who never got one (held at night, or
    Twilio was unreachable) and has not answered since; failures name the patient id.
    Invitations an interrupted run may have sent are first settled with Twilio."""
    session = db.session
    reconcile_invitations(app)
    rows = session.execute(
        select(Patient.id, pt.status_from_history()).where(
            Patient.removed_at.is_(None),
            Patient.number_invalid.is_(False),
            pt.never_invited_filter(),
        )
    ).all()
    waiting = [(None, pid) for pid, status in rows if status == "invited"]
    report = ImportReport(kind="invitations", rows=len(waiting))
    _invite_all(app, waiting, report, progress)
    return report


INVITE_AGAIN_AFTER = dt.timedelta(days=2)  # unanswered this long: one more invitation


def invite_again(app: Flask, progress: Progress | None = None) -> ImportReport:
    """The invitation once more to every patient who has not answered one sent
    INVITE_AGAIN_AFTER ago or more (``patients.invite_again_candidates``: once, a patient
    gets two invitations at most), within the sending hours; claims an interrupted run left
    are settled with Twilio first, then the patients are found."""
    reconcile_invitations(app)
    older_than = utcnow() - INVITE_AGAIN_AFTER
    ids = pt.invite_again_candidates(db.session, older_than)
    report = ImportReport(kind="invite_again", rows=len(ids))

    def still(session, batch: list) -> list:  # read again as the batch is claimed
        return _still_to_invite(session, batch, pt.invite_again_candidates, older_than)

    _invite_all(app, [(None, pid) for pid in ids], report, progress, still, AGAIN_BUTTON)
    return report


# --- a large import from the staff page, in the background ---------------------------------

INLINE_ROWS = 100  # a file with more rows is imported in the background
STALE_JOB = dt.timedelta(minutes=2)  # a running job not heard of since: its process died
# A running job's row says it is alive this often, whatever its progress: a Twilio slow to
# answer a batch, or a long settling of an interrupted run's claims, is not a death.
HEARTBEAT = STALE_JOB / 4


PREVIEW_KEPT = dt.timedelta(hours=1)  # an upload waits this long for its confirmation


def forget_stale_previews(session, now: dt.datetime) -> int:
    """Uploads left unconfirmed past PREVIEW_KEPT: their files (whole CSVs of patients)
    dropped, by the next upload and by the clock every hour. How many; the caller commits."""
    return session.execute(
        update(ImportJob)
        .where(ImportJob.status == "preview", ImportJob.created_at < now - PREVIEW_KEPT)
        .values(status="cancelled", upload=None, report=None)
    ).rowcount


def keep_for_confirmation(app: Flask, data: bytes, preview: Preview, recorded_by: str) -> int:
    """Keep an uploaded file until a staff member confirms the import (an ``import_jobs``
    row, status "preview", so any web worker finds it); uploads left unconfirmed past
    PREVIEW_KEPT are forgotten. Returns the row's id."""
    forget_stale_previews(db.session, utcnow())
    job = ImportJob(
        created_by=recorded_by, status="preview", stage="preview", upload=data,
        report={"preview": asdict(preview)}, total=preview.rows,
    )  # fmt: skip
    db.session.add(job)
    db.session.commit()
    return job.id


def cancel_preview(session, job_id: int) -> bool:
    """Cancel an import still waiting for its confirmation: its upload dropped, nobody
    enrolled or texted. False when it was confirmed or cancelled already. The caller
    commits."""
    return bool(
        session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id, ImportJob.status == "preview")
            .values(status="cancelled", upload=None, report=None, updated_at=utcnow())
        ).rowcount
    )


def confirm_import(app: Flask, job_id: int, recorded_by: str) -> bool:
    """Import a previewed file: small ones at once (the row gets the report), larger ones
    in the background (``start_import_job``). The kept upload is dropped either way. The
    job is claimed by one statement (``status = 'preview'``), so two confirms at once run
    it once: False for the one that did not claim it (confirmed or cancelled already)."""
    data = db.session.scalar(
        select(ImportJob.upload).where(ImportJob.id == job_id, ImportJob.status == "preview")
    )
    claimed = db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.status == "preview")
        .values(upload=None, status="running", stage="reading", report=None, updated_at=utcnow())
    ).rowcount
    db.session.commit()
    if not claimed or data is None:
        return False
    job = db.session.get(ImportJob, job_id)
    rows, _ = read_file(data)
    if len(rows) > INLINE_ROWS:
        start_import_job(app, data, recorded_by, job.id)
        return True
    try:
        report = import_csv(app, data, recorded_by)
    except ImportFileError as exc:
        db.session.rollback()
        _update_job(job.id, status="failed", error=str(exc)[:500])
    else:
        _update_job(job.id, status="done", report=asdict(report))
    return True


def start_import_job(app: Flask, data: bytes, recorded_by: str, job_id: int | None = None) -> int:
    """Run ``import_csv`` on a thread of this process, with its progress and report in an
    ``import_jobs`` row, so the page that started it answers at once (an import of 20,000
    rows and their invitations takes minutes; a web worker is given 30 seconds). Returns
    the job's id. Should this process die meanwhile, every invitation sent is on record
    or claimed, and 'flask --app bot patients invite' (or the same file again) finishes."""
    if job_id is None:
        job = ImportJob(created_by=recorded_by, status="running", stage="reading")
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    _in_background(app, job_id, lambda progress: import_csv(app, data, recorded_by, progress))
    return job_id


# Where a page says how to send the invitations still waiting (held for the night or the
# day's cap, Twilio out of reach): the button on every import's result, which runs
# ``invite_pending`` as a job of its own (as 'flask --app bot patients invite' does).
WAITING_BUTTON = "'Send the waiting invitations' on the import's page"
# Reasons no invitation went that no button would change (a report offers none for them).
OPTED_OUT = "the number has opted out (STOP)"
MEANWHILE = "invited by another run at the same moment (not sent twice)"
FINAL = (OPTED_OUT, MEANWHILE)
AGAIN_BUTTON = "'Send the invitation again' on this page"  # a re-send's report, as the list


# The jobs that send invitations, and what each runs: one of them at a time, so that two
# never settle an interrupted run's claims with Twilio at once.
INVITATION_JOBS: dict[str, Callable[[Flask, Progress], ImportReport]] = {
    "invitations": invite_pending,  # the waiting ones
    "invite_again": invite_again,  # once more
}


def new_invite_job(session, recorded_by: str, kind: str = "invitations") -> tuple[int, bool]:
    """The row of a new job of ``kind`` (INVITATION_JOBS) and True; or the one already
    sending invitations and False (a button pressed twice, or the other one: one run at a
    time). The caller commits, then starts a new one (``start_invite_job``)."""
    if kind not in INVITATION_JOBS:
        raise ValueError(f"no such invitation job: {kind!r}")
    # One request at a time from the look to the caller's commit, so two buttons pressed
    # at once cannot both find none running: SQLite's writer lock, PostgreSQL's advisory.
    begin_writing(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('invitation jobs'))"))
    running = session.scalar(
        select(ImportJob.id).where(
            ImportJob.status == "running",
            ImportJob.kind.in_(INVITATION_JOBS),
            ImportJob.updated_at > utcnow() - STALE_JOB,
        )
    )
    if running is not None:
        return running, False
    job = ImportJob(created_by=recorded_by, status="running", stage="inviting", kind=kind)
    session.add(job)
    session.flush()
    return job.id, True


def start_invite_job(app: Flask, job_id: int, kind: str = "invitations") -> None:
    """Run the invitation job ``kind`` (INVITATION_JOBS) on a thread of this process, with
    its progress and report in the job's ``import_jobs`` row."""
    work = INVITATION_JOBS[kind]
    _in_background(app, job_id, lambda progress: work(app, progress))


def _in_background(app: Flask, job_id: int, work: Callable[[Progress], ImportReport]) -> None:
    thread = threading.Thread(target=_run_job, args=(app, job_id, work), name=f"import-{job_id}")
    app.extensions.setdefault("import_threads", []).append(thread)
    thread.start()


def _run_job(app: Flask, job_id: int, work: Callable[[Progress], ImportReport]) -> None:
    stop = threading.Event()
    beats = threading.Thread(
        target=_heartbeat, args=(app, job_id, stop), name=f"import-{job_id}-heartbeat"
    )
    beats.start()
    try:
        _work_on(app, job_id, work)
    finally:
        stop.set()
        beats.join()


def _work_on(app: Flask, job_id: int, work: Callable[[Progress], ImportReport]) -> None:
    with app.app_context():
        last = [0.0]

        def progress(stage: str, done: int, total: int) -> None:
            if time.monotonic() - last[0] < 1 and done < total:
                return  # at most one row update a second
            last[0] = time.monotonic()
            _update_job(job_id, stage=stage, done=done, total=total)

        try:
            report = work(progress)
        except ImportFileError as exc:
            db.session.rollback()
            _update_job(job_id, status="failed", error=str(exc)[:500])
        except Exception as exc:  # noqa: BLE001 - recorded for the page, then logged
            db.session.rollback()
            log.exception("import job %s failed", job_id)
            _update_job(job_id, status="failed", error=staff_facing(repr(exc))[:500])
        else:
            _update_job(job_id, status="done", report=asdict(report))
        finally:
            db.session.remove()


def _heartbeat(app: Flask, job_id: int, stop: threading.Event) -> None:
    """Every HEARTBEAT until ``stop``: the running job's row touched, so that only a job
    whose process died goes STALE_JOB unheard of (``job_state``: interrupted; another run
    may then start). A beat the database could not take is tried again at the next."""
    with app.app_context():
        try:
            while not stop.wait(HEARTBEAT.total_seconds()):
                try:
                    _beat(job_id)
                except DATABASE_UNAVAILABLE as exc:
                    db.session.rollback()
                    log.warning("import job %s: its heartbeat not written (%s)", job_id, exc)
        finally:
            db.session.remove()


def _beat(job_id: int) -> None:
    _update_job(job_id, ImportJob.status == "running")  # a job ended is left as it ended


def _update_job(job_id: int, *where, **values) -> None:
    begin_writing(db.session)  # the job's reads may still hold a snapshot (SQLite)
    db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, *where)
        .values(updated_at=utcnow(), **values)
    )
    db.session.commit()


def job_state(job: ImportJob, now: dt.datetime) -> str:
    """running, done, failed, or interrupted (its process died: not heard of lately)."""
    if job.status == "running" and now - job.updated_at > STALE_JOB:
        return "interrupted"
    return job.status


def reconcile_invitations(app: Flask) -> tuple[int, int]:
    """Invitations claimed by a run that died before recording Twilio's answers (claimed
    longer ago than CLAIM_TIMEOUT): recorded as Twilio has them."""
    return outgoing.reconcile_claims(
        db.session,
        app.extensions["sender"],
        limits_from_config(app.config),
        utcnow(),
        dt.timedelta(seconds=app.config["CLAIM_TIMEOUT"]),
    )


def _invite_all(
    app: Flask,
    to_invite,
    report: ImportReport,
    progress: Progress | None,
    still: Callable[[object, list], list] | None = None,
    button: str = "",
) -> None:
    """Send the invitations, many at once: each batch claimed (written down and
    committed) before it is sent, and Twilio's answers recorded as they come, so an
    invitation Twilio accepted is on record whatever happens to this process. ``still``:
    of a batch about to be claimed, those still to be invited, read in the claiming
    transaction (by default: never invited); ``button``: what sends those held later (by
    default WAITING_BUTTON; the day's cap, by default, the patient's page or the
    command)."""
    still = still or _still_never_invited
    cap_how = button or pt.INVITE_BY_HAND
    button = button or WAITING_BUTTON
    session = db.session
    content, sender = app.extensions["content"], app.extensions["sender"]
    ids = [pid for _, pid in to_invite]
    line_of = {pid: line for line, pid in to_invite}
    patients = {p.id: p for p in session.scalars(select(Patient).where(Patient.id.in_(ids)))}

    def failed(pid: int, why: str) -> None:
        report.invite_failures.append((line_of[pid], why, pid))

    opted_out = pt.opted_out_numbers(session, [p.phone for p in patients.values()])
    for pid in ids:
        if patients[pid].phone in opted_out:
            failed(pid, OPTED_OUT)
    # Never at night where the patient is: those invitations wait for a staff member.
    hours, now = SendingHours.from_config(app.config), utcnow()
    jobs, held = [], []
    for pid in ids:
        patient = patients[pid]
        if patient.phone in opted_out or patient.number_invalid:
            continue
        if not pt.within_sending_hours(now, patient, hours):
            held.append(pid)
            continue
        jobs.append((pid, patient.phone, pt.invitation_text(content, patient)))
    for pid in sorted(held, key=lambda pid: (line_of[pid] or 0, pid)):
        failed(pid, pt.held_for_the_night(hours, patients[pid], button))
    per_day = app.config["INVITATIONS_PER_DAY"]
    left = pt.invitations_left(session, now, per_day, app.config["CLINIC_TIMEZONE"])
    for pid, _, _ in jobs[left:]:  # toll fraud and mistakes alike: a day's worth at most
        failed(pid, pt.held_for_the_day(per_day, cap_how))
    jobs = jobs[:left]

    def claimed_batches():
        for start in range(0, len(jobs), BATCH):
            batch = jobs[start : start + BATCH]
            begin_writing(session)  # after this run's reads: the claims write at once
            kept = still(session, batch)
            for pid in {job[0] for job in batch} - {job[0] for job in kept}:
                failed(pid, MEANWHILE)  # counted, so the report adds up
            batch = kept
            texts = [(phone, text) for _, phone, text in batch]
            claims = outgoing.claim_texts(session, texts, "invitation", utcnow())
            yield [(claim, *job) for claim, job in zip(claims, batch, strict=True)]

    done = 0
    with sender.pipeline(limits_from_config(app.config)) as submit:
        for batch, results in pipelined(submit, claimed_batches(), _texts):
            answers = [
                (claim, pid, phone, result)
                for (claim, pid, phone, _), result in zip(batch, results, strict=True)
            ]
            outgoing.record_claims(session, answers, utcnow(), "invitation")
            session.commit()
            for _, pid, _, result in answers:
                if result.ok:
                    report.invited += 1
                elif result.unknown:
                    failed(pid, "no answer from Twilio: checked with Twilio before the number "
                           f"is invited again ({button})")  # fmt: skip
                else:
                    failed(pid, staff_facing(result.error or result.status))
            done += len(batch)
            if progress:
                progress("inviting", done, len(jobs))


def _still_never_invited(session, batch: list) -> list:
    """Of a batch about to be claimed, those still never invited and not answered
    (``_still_to_invite``): two runs at once (the button pressed twice, the command beside
    it) never invite anyone twice."""
    return _still_to_invite(session, batch, lambda _, ids: _never_invited(ids))


def _still_to_invite(session, batch: list, which: Callable, *args) -> list:
    """Of a batch about to be claimed, those ``which(session, *args, ids=...)`` still
    finds, read in the claiming transaction with the patients' rows locked, so that a run
    beside this one (the button pressed twice) cannot have claimed them meanwhile. On
    SQLite the transaction is a writer from its start (BEGIN IMMEDIATE), which serialises
    runs as the lock does."""
    ids = [pid for pid, _, _ in batch]
    session.execute(select(Patient.id).where(Patient.id.in_(ids)).with_for_update()).all()
    found = set(which(session, *args, ids=ids))
    return [job for job in batch if job[0] in found]


def _texts(batch) -> list[tuple[str, str]]:
    return [(phone, text) for _, _, phone, text in batch]
