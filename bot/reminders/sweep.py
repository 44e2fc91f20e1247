"""The daily reminder sweep: every reminder due at or before a moment, sent exactly once.

``send_due(session, sender, content, settings, at)`` is the one entry point; the
``reminders send-due`` command and the clock call it. It commits as it goes, because what
protects a patient from a second text is what is already in the database:

1. **Reconcile** claims older than ``CLAIM_TIMEOUT``: the process that made them
   died between claiming and recording. Twilio is asked for the messages it accepted for
   that number since the claim (queued ones included); the reminder found there is
   recorded, and only when there is none is the delivery claimed again, or, once its
   day's sending window has closed, recorded as ``missed``: never sent late.
2. **Plan**: for each subscribed patient (not paused, not opted out, number valid), the
   reminder of the patient's local date is due at its time in the patient's zone, moved
   into the sending window (default 08:00-21:00); a due one gets a ``pending`` delivery
   row. The row is unique per patient and local date, so nothing is ever planned twice. A
   reminder whose window has closed that day is recorded as ``skipped``; a pending one
   whose window closes before it is sent (a sweep died between planning and sending, with
   no sweep again that day) is recorded as ``missed``.
3. **Claim** pending rows in batches (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two
   clocks share the work instead of waiting), commit, send the batch concurrently within
   Twilio's limits, then record every answer in bulk: a handful of statements per batch,
   none per patient.

``at`` chooses what is due (``send-due --at`` catches up after an outage); how old a
claim is and whether a day's window has closed are read on the real clock, the
database's (``real_time``), whatever ``at`` says: a catch-up sweep's fresh claims never look
abandoned to a sweep running beside it, and nothing goes out after its window closed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.content import Content
from bot.models import Message, Patient, ReminderDelivery
from bot.ops import metrics
from bot.patients.records import subscribed_filter
from bot.reminders.checkins import end_pauses
from bot.sms.outgoing import record_refusals
from bot.sms.quiet_hours import SendingHours
from bot.sms.segments import count_segments, is_gsm7
from bot.sms.sender import Limits, Sender, limits_from_config, pipelined
from bot.text import gsm_name

log = logging.getLogger(__name__)
deliveries = ReminderDelivery.__table__
PLAN_BATCH = 1000
BATCHES_AHEAD = 2  # claimed and handed to the sender, not yet recorded
MAX_SEGMENTS = 2
MISSED = "not sent before the day's sending window closed (no sweep ran in time)"


@dataclass(frozen=True)
class ReminderSettings:
    hours: SendingHours = SendingHours()  # the clinic's window and the states' laws
    claim_timeout: dt.timedelta = dt.timedelta(minutes=5)
    batch: int = 1000
    limits: Limits = Limits()

    @classmethod
    def from_config(cls, config) -> ReminderSettings:
        return cls(
            hours=SendingHours.from_config(config),
            claim_timeout=dt.timedelta(seconds=config["CLAIM_TIMEOUT"]),
            batch=config["REMINDER_BATCH"],
            limits=limits_from_config(config),
        )


@dataclass
class SweepReport:
    due: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    reconciled: int = 0
    missed: int = 0  # the day's window closed before it was sent: recorded, never sent late
    unknown: int = 0  # sent perhaps: left claimed, reconciled by a later sweep
    again: int = 0  # sent again an hour after the patient texted "later"
    resumed: int = 0  # patients whose pause ran out

    def line(self) -> str:
        text = f"due {self.due}, sent {self.sent}, skipped {self.skipped}, failed {self.failed}"
        if self.reconciled:
            text += f", found already sent {self.reconciled}"
        if self.missed:
            text += f", missed (window closed) {self.missed}"
        if self.unknown:
            text += f", awaiting Twilio's answer {self.unknown}"
        if self.again:
            text += f", sent again (later) {self.again}"
        if self.resumed:
            text += f", pauses ended {self.resumed}"
        return text


Progress = Callable[[int, int], None]
TimeSource = Callable[[], dt.datetime]  # the real time now, each time it is called


def database_time(session: Session) -> TimeSource:
    """The real time, as the database tells it (one clock for every host running a sweep);
    SQLite lives on this machine, whose clock it is."""
    if session.get_bind().dialect.name == "postgresql":
        return lambda: session.scalar(select(func.clock_timestamp()))
    return lambda: dt.datetime.now(dt.UTC)


# --- the text ------------------------------------------------------------------------------


def reminder_text(content: Content, name: str, language: str, routine: list[str]) -> str:
    """The reminder: first name, today's routine, how to get steps, DONE, STOP; GSM-7, at
    most two segments (a long routine is shortened to what fits)."""
    names = {e.id: e.in_language(language).name for e in content.exercises}
    items = [names[x] for x in routine if x in names]
    first = gsm_name(name.split()[0]) if name.split() else ""
    for shown in range(len(items), 0, -1):
        listed = ", ".join(items[:shown])
        if shown < len(items):
            listed += " " + content.say("more", language, count=len(items) - shown)
        text = content.say("reminder", language, name=first, routine=listed)
        if is_gsm7(text) and count_segments(text).segments <= MAX_SEGMENTS:
            return text
    return content.say("reminder", language, name=first, routine=items[0] if items else "")


# --- when ----------------------------------------------------------------------------------


def due_moment(
    local_date: dt.date, at_time: dt.time, zone: ZoneInfo, window: tuple[dt.time, dt.time]
) -> tuple[dt.datetime, dt.datetime]:
    """(when the reminder is due, when its window closes), both aware, for a local date and
    that day's sending hours where the patient is.

    A time that does not exist that day (spring forward) is read with the offset before
    the change, so 2:30 becomes 3:30; a time that exists twice (fall back) is its first
    occurrence. Either way the day has one reminder, as the delivery row is per date."""
    start, end = window
    due = dt.datetime.combine(local_date, max(at_time, start), tzinfo=zone)
    closes = dt.datetime.combine(local_date, end, tzinfo=zone)
    return due, closes


# --- the sweep -----------------------------------------------------------------------------


@contextlib.contextmanager
def sweep_session(engine: Engine) -> Iterator[Session]:
    """The session a sweep runs in. On SQLite each transaction takes the write lock when it
    begins, so two sweeps at once wait for each other instead of failing mid-way."""
    if engine.dialect.name == "sqlite":
        engine = engine.execution_options(sqlite_immediate=True)
    with Session(engine) as session:
        yield session


def send_due(
    session: Session,
    sender: Sender,
    content: Content,
    settings: ReminderSettings,
    at: dt.datetime,
    dry_run: bool = False,
    progress: Progress | None = None,
    real_time: TimeSource | None = None,
) -> SweepReport:
    report = SweepReport()
    real_time = real_time or database_time(session)
    if not dry_run:
        reconcile(session, sender, settings, real_time(), report)
        report.resumed = end_pauses(session.connection(), real_time())
        session.commit()
    if dry_run:
        plan(session, content, settings, at, report, dry_run)
        return report
    planner = planning(session, content, settings, at, report, dry_run)
    next(planner, None)  # the first patients planned; the rest while texts are in flight
    expire(session, real_time(), report)
    pending = session.scalar(
        select(func.count()).where(deliveries.c.status == "pending", deliveries.c.due_at <= at)
    )
    done = 0
    # A pipeline: while batches are with Twilio, the next is claimed and the oldest one
    # recorded, so the database never keeps Twilio waiting; the sender starts a batch's
    # texts as the last ones of the batch before it finish.
    # A claim records when it was made on the real clock: a long sweep's late claims, or
    # a catch-up sweep's (``--at`` in the past), never look abandoned to a second sweep.

    # Planning goes on a chunk of patients per batch claimed, so the first texts leave
    # while the rest are still being planned (planning 50,000 patients first kept Twilio
    # idle for several seconds).

    def claim_next() -> list:
        while True:
            planned = next(planner, None)
            batch = claim_batch(session, settings, at, report, real_time())
            if batch or planned is None:
                return batch

    claims = iter(claim_next, [])
    with sender.pipeline(settings.limits) as submit:
        for batch, results in pipelined(submit, claims, _texts, BATCHES_AHEAD):
            record(session, batch, results, at, report)
            session.commit()
            done += len(batch)
            if progress:
                progress(done, max(pending or 0, done))
    expire(session, real_time(), report)  # what was planned meanwhile but is too late to send
    send_again(session, sender, settings, real_time(), report)
    return report


def send_again(
    session: Session, sender: Sender, settings: ReminderSettings, now: dt.datetime, report
) -> None:
    """The day's reminder again, once, for patients who texted "later" an hour ago: claimed
    (``again_sent_at``, committed) before it is sent, so it goes out at most once; not sent
    to a patient who stopped or paused meanwhile, nor outside the sending window."""
    due = session.execute(
        update(deliveries)
        .where(
            deliveries.c.again_at <= now,
            deliveries.c.again_sent_at.is_(None),
            deliveries.c.status == "sent",
        )
        .values(again_sent_at=now)
        .returning(deliveries.c.patient_id, deliveries.c.phone, deliveries.c.body)
    ).all()
    session.commit()
    if not due:
        return
    where = {
        p.id: p
        for p in session.execute(
            select(Patient.id, Patient.timezone, Patient.phone, Patient.state).where(
                subscribed_filter(), Patient.id.in_([row.patient_id for row in due])
            )
        ).all()
    }
    for row in due:
        p = where.get(row.patient_id)
        if p is None or not settings.hours.open_at(now, p.timezone, p.phone, p.state):
            continue
        result = sender.send(row.phone, row.body)
        metrics.text_out("reminder_again", "sent" if result.ok else "failed")
        if result.ok:
            report.again += 1
            session.execute(
                insert(Message.__table__),
                _logged(row, result.sid, result.status, now, kind="reminder_again"),
            )
    session.commit()


def _texts(batch) -> list[tuple[str, str]]:
    return [(row.phone, row.body) for row in batch]


def plan(*args, **kwargs) -> None:
    """Make a pending row for each reminder due by ``at`` and not planned yet: ``planning``
    (same arguments) to its end."""
    for _ in planning(*args, **kwargs):
        pass


def planning(
    session: Session,
    content: Content,
    settings: ReminderSettings,
    at: dt.datetime,
    report: SweepReport,
    dry_run: bool,
) -> Iterator[int]:
    """``plan``, a chunk of patients at a time (each committed): yields the last patient id
    of each chunk, so a sweep can send what is planned while it plans the rest."""
    last_id = 0
    zones: dict[str, ZoneInfo] = {}
    while True:
        patients = session.execute(
            select(
                Patient.id,
                Patient.name,
                Patient.phone,
                Patient.language,
                Patient.routine,
                Patient.reminder_time,
                Patient.timezone,
                Patient.state,
            )
            .where(subscribed_filter(), Patient.id > last_id)
            .order_by(Patient.id)
            .limit(PLAN_BATCH)
        ).all()
        if not patients:
            return
        last_id = patients[-1].id
        dates = {}
        for p in patients:
            zone = zones.setdefault(p.timezone, ZoneInfo(p.timezone))
            dates[p.id] = at.astimezone(zone).date()
        planned = {
            (patient_id, local_date)
            for patient_id, local_date in session.execute(
                select(deliveries.c.patient_id, deliveries.c.local_date).where(
                    deliveries.c.patient_id.in_(list(dates)),
                    deliveries.c.local_date.in_(set(dates.values())),
                )
            ).all()
        }
        rows = []
        for p in patients:
            local_date = dates[p.id]
            if (p.id, local_date) in planned:
                continue
            hours = settings.hours.on(local_date, p.phone, p.state)
            window = hours or (settings.hours.window[0],) * 2  # no texts that day: closed
            due, closes = due_moment(local_date, p.reminder_time, zones[p.timezone], window)
            if due > at:
                continue
            row = {
                "patient_id": p.id,
                "local_date": local_date,
                "phone": p.phone,
                "due_at": due,
                "expires_at": closes,
                "attempts": 0,
                "created_at": at,
            }
            if at >= closes:
                row.update(status="skipped", body="", note=held_note(settings, p, hours))
                report.skipped += 1
            else:
                row.update(
                    status="pending",
                    note=None,
                    body=reminder_text(content, p.name, p.language, p.routine),
                )
                if dry_run:
                    report.due += 1
            rows.append(row)
        if rows and not dry_run:
            dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
            session.execute(
                dialect.insert(deliveries).on_conflict_do_nothing(
                    index_elements=[deliveries.c.patient_id, deliveries.c.local_date]
                ),
                rows,
            )
            session.commit()
        yield last_id


def held_note(settings: ReminderSettings, patient, hours) -> str:
    """Why a reminder was not sent: the day's sending hours where the patient is had closed
    (or the patient's state allows none that day) by the time it was due."""
    described = settings.hours.describe(patient.phone, patient.state)
    if hours is None:
        return f"held: no texts on this day of the week where the patient is ({described})"
    return f"held: outside the sending hours {described} by the time it was due"[:200]


def still_open(now: dt.datetime):
    """SQL condition: the delivery's sending window has not closed (rows made before
    windows were recorded have none)."""
    return or_(deliveries.c.expires_at.is_(None), deliveries.c.expires_at > now)


def expire(session: Session, now: dt.datetime, report: SweepReport) -> None:
    """Pending deliveries whose day's window has closed: recorded as missed, never sent."""
    missed = session.execute(
        update(deliveries)
        .where(deliveries.c.status == "pending", ~still_open(now))
        .values(status="missed", note=MISSED)
    ).rowcount
    session.commit()
    report.missed += missed or 0


def claim(
    session: Session, size: int, at: dt.datetime, claimed_at: dt.datetime | None = None
) -> list:
    """Claim up to ``size`` pending deliveries due by ``at`` whose window is still open at
    ``claimed_at`` (the real time of the claim; default ``at``): rows another sweep holds
    are skipped."""
    claimed_at = claimed_at or at
    ids = (
        select(deliveries.c.id)
        .where(deliveries.c.status == "pending", deliveries.c.due_at <= at)
        .where(still_open(claimed_at))
        .order_by(deliveries.c.id)
        .limit(size)
        .with_for_update(skip_locked=True)
    )
    return session.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(ids.scalar_subquery()))
        .values(status="claimed", claimed_at=claimed_at, attempts=deliveries.c.attempts + 1)
        .returning(deliveries.c.id, deliveries.c.patient_id, deliveries.c.phone, deliveries.c.body)
    ).all()


def claim_batch(
    session: Session, settings: ReminderSettings, at, report: SweepReport, claimed_at=None
) -> list:
    """Claim the next batch and commit; drop (as skipped) any patient who stopped, paused
    or was removed since planning: checked once for the whole batch. Empty: all done."""
    while batch := claim(session, settings.batch, at, claimed_at):
        report.due += len(batch)
        still = set(
            session.scalars(
                select(Patient.id).where(
                    Patient.id.in_([row.patient_id for row in batch]), subscribed_filter()
                )
            )
        )
        dropped = [row.id for row in batch if row.patient_id not in still]
        if dropped:
            session.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(dropped))
                .values(status="skipped", note="opted out, paused or removed before sending")
            )
            report.skipped += len(dropped)
        session.commit()  # claimed before anything is sent
        kept = [row for row in batch if row.patient_id in still]
        if kept:
            return kept
    session.commit()
    return []


def record(session: Session, rows, results, at: dt.datetime, report: SweepReport) -> None:
    """Write every answer of a batch: deliveries, messages, and what errors mean."""
    sent, failures, messages, refusals = [], [], [], []
    for row, result in zip(rows, results, strict=True):
        if result.unknown:
            report.unknown += 1
            continue  # stays claimed: reconciled with Twilio before any second try
        if result.ok:
            report.sent += 1
            sent.append((row.id, result.sid))
            messages.append(_logged(row, result.sid, result.status, at))
            continue
        report.failed += 1
        failures.append(
            {"b_id": row.id, "b_code": result.error_code, "b_note": (result.error or "")[:200]}
        )
        refusals.append((row.patient_id, row.phone, result.error_code))
    metrics.text_out("reminder", "sent", len(sent))
    metrics.text_out("reminder", "failed", len(failures))
    metrics.text_out("reminder", "unknown", len(rows) - len(sent) - len(failures))
    if sent:
        session.execute(
            update(deliveries)
            .where(deliveries.c.id == bindparam("b_id"))
            .values(status="sent", message_sid=bindparam("b_sid"), sent_at=at),
            [{"b_id": delivery_id, "b_sid": sid} for delivery_id, sid in sent],
        )
    if failures:
        session.execute(
            update(deliveries)
            .where(deliveries.c.id == bindparam("b_id"))
            .values(status="failed", error_code=bindparam("b_code"), note=bindparam("b_note")),
            failures,
        )
    if messages:
        session.execute(insert(Message.__table__), messages)
    record_refusals(session, refusals, at)


def _logged(row, sid: str, status: str, at: dt.datetime, kind: str = "reminder") -> dict:
    """The conversation's row for a reminder Twilio accepted."""
    return {
        "phone": row.phone,
        "direction": "out",
        "body": row.body,
        "message_sid": sid,
        "reply_to_sid": None,
        "kind": kind,
        "status": status,
        "created_at": at,
    }


def reconcile(session: Session, sender: Sender, settings, now, report: SweepReport) -> None:
    """Settle claims whose process died before recording what Twilio answered (claimed
    more than ``claim_timeout`` ago on the real clock, ``now``): Twilio is asked about all
    of them at once; a claim Twilio cannot be asked about stays claimed. One Twilio has
    not sent goes back to pending, or is missed once its window has closed."""
    stale = session.execute(
        select(
            deliveries.c.id,
            deliveries.c.phone,
            deliveries.c.body,
            deliveries.c.claimed_at,
            deliveries.c.expires_at,
        )
        .where(
            deliveries.c.status == "claimed",
            deliveries.c.claimed_at <= now - settings.claim_timeout,
        )
        .order_by(deliveries.c.id)
    ).all()
    if not stale:
        return
    claimed = [r.claimed_at for r in stale]
    answers = sender.find_sent_many(
        [(row.phone, row.body, when) for row, when in zip(stale, claimed, strict=True)],
        settings.limits,
    )
    found, not_sent, missed = [], [], []
    for row, when, answer in zip(stale, claimed, answers, strict=True):
        if answer.sid:
            found.append((row, when, answer.sid))
        elif answer.error:
            report.unknown += 1  # asked again by the next sweep; never sent meanwhile
        elif row.expires_at is not None and row.expires_at <= now:
            missed.append(row.id)
        else:
            not_sent.append(row.id)
    if found:
        session.execute(
            update(deliveries)
            .where(deliveries.c.id == bindparam("b_id"))
            .values(
                status="sent",
                message_sid=bindparam("b_sid"),
                sent_at=bindparam("b_at"),
                note="found at Twilio after an interrupted sweep",
            ),
            [{"b_id": row.id, "b_sid": sid, "b_at": when} for row, when, sid in found],
        )
        session.execute(
            insert(Message.__table__),
            [_logged(row, sid, "sent", when) for row, when, sid in found],
        )
        report.reconciled += len(found)
    if not_sent:
        session.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(not_sent), deliveries.c.status == "claimed")
            .values(status="pending")
        )
    if missed:
        session.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(missed), deliveries.c.status == "claimed")
            .values(status="missed", note=MISSED)
        )
        report.missed += len(missed)
    session.commit()
