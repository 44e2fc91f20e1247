"""Database models (SQLAlchemy 2.0 typed mappings). Every moment is stored in UTC
(``UTCDateTime``); ``local_date`` reads the day it falls on where the clinic or a patient
is. Schema changes go through the migrations in ``db/``."""

from __future__ import annotations

import datetime as dt
import functools
import weakref
from zoneinfo import ZoneInfo

from flask_login import UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Connection,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
    exc,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates
from sqlalchemy.types import TypeDecorator

from bot.text import normalize


class UTCDateTime(TypeDecorator):
    """A moment, stored in UTC. PostgreSQL keeps the zone itself; SQLite keeps only the wall
    time it is given, so a reminder due at 9:00 in New York was stored as "09:00" and
    compared with UTC moments as if it were 09:00 UTC. Every aware value is turned into UTC
    before it is stored, and comes back aware, in UTC, on both."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(dt.UTC)
        return value

    def process_result_value(self, value, dialect):
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


# Integer keys that still autoincrement on SQLite (BIGINT keys do not there).
BigId = BigInteger().with_variant(Integer, "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# What a database that is down, unreachable or too slow to answer in time raises.
DATABASE_UNAVAILABLE = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)


# psycopg's connection -> the cursor ``straight`` runs its statements with (gone with it).
_CURSORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def straight(conn: Connection, statement: str, params=None):
    """A statement straight to psycopg on a SQLAlchemy connection to PostgreSQL, for the
    webhook's hot path (SQLAlchemy's statement building and result machinery cost more
    than the database's work for a few plain values); a timeout or a lost connection is
    raised as SQLAlchemy's, so the webhook's breaker and spool take it as any other, and a
    connection it found broken is dropped from the pool (SQLAlchemy does that for its own
    statements only). Each connection's one cursor serves every such statement (a new
    cursor each time cost more than its statement's parameters): a statement's rows are read
    before the next statement is sent."""
    import psycopg

    driver = conn.connection.driver_connection
    try:
        cursor = _CURSORS.get(driver)
        if cursor is None:
            cursor = _CURSORS[driver] = driver.cursor()
        return cursor.execute(statement, params)
    except (psycopg.OperationalError, psycopg.InterfaceError) as error:
        if (driver.broken or driver.closed) and not conn.invalidated:
            conn.invalidate()  # the pool must not hand it out again
        raise exc.OperationalError(statement.split("\n", 1)[0], None, error) from error


def first(conn: Connection, statement, **params):
    """The first row of a prebuilt statement (built once, at import, its values as named
    ``bindparam``), or None. On PostgreSQL it is compiled once and run ``straight``:
    building the statement, its cache key and SQLAlchemy's result cost about 0.4 ms of CPU
    a run, more than the database's work (a number not enrolled asking for "my routine").
    Elsewhere (SQLite) through SQLAlchemy. Its values need no type's conversion (a phone
    number, a MessageSid); the row is read by position."""
    if conn.dialect.name != "postgresql":
        return conn.execute(statement, params).first()
    sql, defaults = _compiled(statement, conn.dialect)
    return straight(conn, sql, {**defaults, **params}).fetchone()


@functools.lru_cache(maxsize=32)
def _compiled(statement, dialect) -> tuple[str, dict]:
    """A prebuilt statement's SQL for psycopg, and its own values (a LIMIT's)."""
    compiled = statement.compile(dialect=dialect)
    own = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
    return compiled.string, own


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def local_date(moment: dt.datetime, zone: str) -> dt.date:
    """The day ``moment`` falls on in a time zone: the clinic's, or a patient's."""
    return moment.astimezone(ZoneInfo(zone)).date()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)


def begin_writing(session) -> None:
    """End the session's transaction and begin the next as a writer. On SQLite a
    transaction that read and then writes fails at once ("database is locked", whatever
    busy_timeout says) when another connection wrote in between; begun as a writer
    (BEGIN IMMEDIATE, ``bot._tune_sqlite``) it holds the write lock from its first read,
    so the other connection waits its turn instead. PostgreSQL ignores the option. For
    short transactions only (one batch of rows): never across a call to Twilio."""
    session.commit()
    session.connection(execution_options={"sqlite_immediate": True})


class Message(db.Model):
    """Every text in or out, as it was sent or received."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(32))  # the patient's number, E.164
    direction: Mapped[str] = mapped_column(String(3))  # "in" or "out"
    body: Mapped[str] = mapped_column(Text)
    # Twilio's MessageSid of an inbound text: unique, so a retried webhook is answered
    # from the log instead of being logged twice.
    message_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # For a reply: the MessageSid of the inbound text it answers.
    reply_to_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str | None] = mapped_column(String(64))  # what the reply answered
    status: Mapped[str | None] = mapped_column(String(20))  # delivery status, when known
    # Twilio's error code when it reported the text undelivered or failed (30007: filtered)
    error_code: Mapped[int | None] = mapped_column(Integer)
    # A reply typed by staff: who sent it (None for the bot's own texts).
    sent_by: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the words were blanked, once older than MESSAGE_RETENTION_DAYS (bot.patients.retention).
    body_removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_messages_phone_created_at", "phone", "created_at"),
        Index(
            "ix_messages_keeping_words",
            "created_at",
            postgresql_where=text("body_removed_at IS NULL"),
            sqlite_where=text("body_removed_at IS NULL"),
        ),
        # The on-call alerts by time: the inbox counts those held in the last day.
        Index(
            "ix_messages_alerts",
            "created_at",
            postgresql_where=text("kind = 'alert'"),
            sqlite_where=text("kind = 'alert'"),
        ),
    )


# The actions that decide whether a number may be texted: the last of these wins. An
# "in_person" agreement recorded by staff never undoes a STOP.
SMS_CONSENT_ACTIONS = ("opt_in", "opt_out")


class ConsentEvent(db.Model):
    """Opt-outs and opt-ins, kept as history: rows are added, never changed."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(32))
    # "opt_out" or "opt_in" (by text), or "in_person" (staff recorded the patient's agreement)
    action: Mapped[str] = mapped_column(String(16))
    keyword: Mapped[str] = mapped_column(String(40))  # what the patient texted, or the staff
    source: Mapped[str] = mapped_column(String(16))  # "sms", "staff" or "import"
    recorded_by: Mapped[str | None] = mapped_column(String(254))  # the staff member, if any
    message_sid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_consent_events_phone_id", "phone", "id"),
        Index("ix_consent_events_action_created_at", "action", "created_at"),
    )


class StaffUser(UserMixin, db.Model):
    """A person at the clinic who signs in to the staff pages."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="staff")  # accounts.auth.ROLES
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # The signed-in session this object was loaded for (not stored): what Flask-Login keeps
    # in the session cookie, so that every request is checked against ``staff_sessions``.
    session_token = None

    def get_id(self) -> str | None:  # Flask-Login
        return self.session_token

    @property
    def is_active(self) -> bool:  # Flask-Login: a deactivated user cannot sign in
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def home(self) -> str:
        """The page a member lands on after signing in: a clinician's caseload, else the
        patients."""
        return "reports.caseload_page" if self.role == "clinician" else "staff.patients"


class StaffSession(db.Model):
    """A signed-in session, checked on every request: signing out, a password change or
    deactivating the account deletes it, and it ends after ``STAFF_IDLE_MINUTES`` without a
    request or ``STAFF_SESSION_HOURS`` after signing in, whatever the cookie says."""

    __tablename__ = "staff_sessions"

    # SHA-256 of the random token in the cookie: the table alone cannot open a session.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SignInThrottle(db.Model):
    """Failed sign-ins in the current window, per key: an account ("account:EMAIL"), a
    client address ("address:IP") or both ("pair:EMAIL IP"). Counted with one atomic
    upsert, so attempts sent at once are all counted."""

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(Integer)


class Patient(db.Model):
    """A patient enrolled by staff for daily exercise reminders.

    Whether the patient is invited, subscribed or opted out is read from the consent events
    of the patient's number (``bot.patients.records.status``), never stored twice.
    """

    __tablename__ = "patients"
    __table_args__ = (
        Index(
            "uq_patients_phone_enrolled",
            "phone",
            unique=True,
            postgresql_where=text("removed_at IS NULL"),
            sqlite_where=text("removed_at IS NULL"),
        ),  # fmt: skip
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    # The name as searched: lower case, no accents, apostrophes or punctuation ("garcia"
    # finds María García, "oconnor" O'Connor). Kept in step with ``name`` (``_searchable``).
    search_name: Mapped[str | None] = mapped_column(String(120))
    # E.164. One patient at a time holds a number: a removed patient's record keeps it
    # beside the record of a new person enrolled on it later (a recycled number).
    phone: Mapped[str] = mapped_column(String(32), index=True)
    language: Mapped[str] = mapped_column(String(2), default="en")  # "en" or "es"
    routine: Mapped[list[str]] = mapped_column(JSON, default=list)  # exercise ids, in order
    reminder_time: Mapped[dt.time] = mapped_column(Time)  # local time of day
    timezone: Mapped[str] = mapped_column(String(64))
    # The US state whose sending hours hold for the patient (postal code); None: read from
    # the number's area code, else the clinic's (bot/quiet_hours.py).
    state: Mapped[str | None] = mapped_column(String(2))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # A pause with an end: reminders start again at this moment (midnight where the patient
    # is, on the day they resume); None while paused: until someone resumes them.
    paused_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    number_invalid: Mapped[bool] = mapped_column(Boolean, default=False)
    enrolled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    enrolled_by: Mapped[str] = mapped_column(String(254))  # staff email, or "import"
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # A new person enrolled on a number a removed patient had: the number's texts and
    # consents are this record's from this moment on (``bot.patients.records.history``); None:
    # all of them. The former patient's record ends here.
    history_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The number's last opt-in or opt-out by text, copied from consent_events by database
    # triggers (migration 0012) so that pages counting thousands of patients' statuses read
    # one table. What decides whether a number is texted is always consent_events itself.
    sms_consent: Mapped[str | None] = mapped_column(String(16))
    sms_consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    sms_consent_id: Mapped[int | None] = mapped_column(BigId)
    # When the number last texted the clinic, copied from messages by a database trigger
    # (migration 0013) so that the list sorts thousands of patients by it from one table.
    last_text_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @validates("name")
    def _searchable(self, _key: str, name: str) -> str:
        self.search_name = normalize(name or "")[:120]
        return name


class ReminderDelivery(db.Model):
    """One patient's reminder for one local date: claimed before it is sent, at most one.

    pending -> claimed -> sent | failed; or skipped (quiet hours, opted out); or missed (the
    day's sending window closed before it was sent). A claim whose send never finished is
    reconciled with Twilio before anything is sent again.
    """

    __tablename__ = "reminder_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    local_date: Mapped[dt.date] = mapped_column(Date)
    phone: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # When the day's sending window closes: never sent after it (none on older rows).
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    message_sid: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(200))  # why skipped or failed
    # What the carrier said of it (Twilio's status callback): delivered, undelivered...
    delivery_status: Mapped[str | None] = mapped_column(String(20))
    # "later": the patient asked for the day's reminder again, at this moment (once).
    again_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    again_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("patient_id", "local_date", name="uq_reminder_deliveries_patient_day"),
        Index("ix_reminder_deliveries_status_due", "status", "due_at"),
        # The dashboard's range of days, read from the index alone.
        Index("ix_reminder_deliveries_day", "local_date", "status", "delivery_status"),
        Index("ix_reminder_deliveries_message_sid", "message_sid"),
        Index(
            "ix_reminder_deliveries_keeping_words",
            "created_at",
            postgresql_where=text("body <> ''"),
            sqlite_where=text("body <> ''"),
        ),
        # The caseload's reminders of the last 7 days, counted from the index alone.
        Index(
            "ix_reminder_deliveries_sent_day",
            "local_date",
            "patient_id",
            postgresql_where=text("status = 'sent'"),
            sqlite_where=text("status = 'sent'"),
        ),
    )


class AuditEvent(db.Model):
    """What a staff member did to patients' data, for the record: rows are added, never
    changed. ``patient_id`` is no foreign key, so the line outlives the patient's row."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_actor_id", "actor", "id"),
        Index("ix_audit_events_action_id", "action", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(254))  # the staff member's email
    action: Mapped[str] = mapped_column(String(40))
    patient_id: Mapped[int | None] = mapped_column(BigId, index=True)
    detail: Mapped[str] = mapped_column(String(500), default="")
    address: Mapped[str | None] = mapped_column(String(64))  # the client's address


class ImportJob(db.Model):
    """A CSV import run in the background (a large file from the staff page): its progress
    and, once done, its report, for the page that follows it."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # preview (waiting for confirmation), cancelled, running, done, failed
    status: Mapped[str] = mapped_column(String(16), default="running")
    # "import" (a file), or "invitations" (the waiting ones sent: one such run at a time)
    kind: Mapped[str] = mapped_column(String(16), default="import", server_default="import")
    stage: Mapped[str] = mapped_column(String(16), default="reading")
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(500))
    # The uploaded file while it waits for a staff member to confirm the preview; dropped
    # once confirmed, cancelled, or an hour old.
    upload: Mapped[bytes | None] = mapped_column(LargeBinary)


class Thread(db.Model):
    """A number's conversation with the clinic as the staff inbox sees it: one row per
    number, written by the webhook's one statement when a text needs a person.

    open: in the inbox until staff mark it done; a new text that needs a person opens it
    again. While it is open, every text of the number lands in it. Once staff have replied
    (``with_staff``), until they mark it done, the bot answers only safety, STOP/HELP and
    the patient's own commands, the rest with "a staff member will reply" instead of
    guessing. Unread is each staff member's own (``ThreadRead``)."""

    __tablename__ = "threads"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(8), default="open")  # "open" or "done"
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(32))  # why it is in the inbox (REASONS)
    with_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    last_in_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_message_id: Mapped[int | None] = mapped_column(BigId)  # the last text in
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    done_by: Mapped[str | None] = mapped_column(String(254))
    # The last time the on-call phone (ALERT_NUMBER) was told of this number: at most hourly.
    alerted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The staff member who has it in hand (assigned by themselves or a colleague), if any.
    owner_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("staff_users.id", ondelete="SET NULL"), index=True
    )
    assigned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The last reply staff sent: no text since then, the thread waits on the patient.
    last_staff_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_threads_inbox", "status", "urgent", "last_in_at"),)


class SavedReply(db.Model):
    """A reply the desk sends often, managed by admins, in English and (optionally)
    Spanish, with merge fields ({first_name}, {clinic_phone}, {reminder_time}) filled for
    the patient when chosen (``bot.inbox.saved_replies``)."""

    __tablename__ = "saved_replies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(String(80), unique=True)
    body_en: Mapped[str] = mapped_column(Text)
    body_es: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(254))


class ThreadRead(db.Model):
    """When a staff member last opened a thread: what came after it is unread for them
    (each person's own unread; one person opening a thread clears it for nobody else)."""

    __tablename__ = "thread_reads"

    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    thread_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True
    )
    read_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AdherenceDay(db.Model):
    """A patient's answer to one day's routine ("DONE", "done, pain 3"): one row per patient
    per local date; a second DONE the same day changes nothing."""

    __tablename__ = "adherence_days"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    local_date: Mapped[dt.date] = mapped_column(Date)
    done_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    pain: Mapped[int | None] = mapped_column(Integer)  # 0-10, when the patient gave one
    message_sid: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("patient_id", "local_date", name="uq_adherence_days_patient_day"),
        Index("ix_adherence_days_day", "local_date", "pain", "patient_id"),
    )


class ClockBeat(db.Model):
    """The clock process's heartbeat: written after every minute's sweep, read by /readyz."""

    __tablename__ = "clock_beats"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)  # "clock"
    beat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sweep_result: Mapped[str] = mapped_column(String(200))  # the sweep's line, or "failed"


class PhoneLanguage(db.Model):
    """The language a number that is not a patient's asked for by text (ESPAÑOL, ENGLISH).
    An enrolled patient's language is on the patient row (the same texts change it)."""

    __tablename__ = "phone_languages"

    phone: Mapped[str] = mapped_column(String(32), primary_key=True)  # E.164
    language: Mapped[str] = mapped_column(String(2))  # "en" or "es"
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DailyFigure(db.Model):
    """The dashboard's counts of one settled local date (``adherence.roll_up``): written
    once the day can no longer change, so that a 90-day dashboard adds 90 rows instead of
    counting every reminder and DONE again. Counts only: no patient in them."""

    __tablename__ = "daily_figures"

    local_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    sent: Mapped[int] = mapped_column(Integer)  # reminders Twilio accepted
    delivered: Mapped[int] = mapped_column(Integer)  # of those, the carrier confirmed
    done: Mapped[int] = mapped_column(Integer)  # patients who texted DONE
    pain_total: Mapped[int] = mapped_column(Integer)  # the sum of the pain scores given
    pain_count: Mapped[int] = mapped_column(Integer)  # how many DONEs gave one
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaseloadFigure(db.Model):
    """One patient's counts of the caseload's settled days (``caseload.roll_up``): the
    7-day window's first five days, written by the clock every hour, so the caseload adds
    10,000 rows of these to the last two days' reminders and DONEs instead of counting a
    week of them for every patient on every page. ``through`` is the last day counted."""

    __tablename__ = "caseload_figures"

    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    through: Mapped[dt.date] = mapped_column(Date)
    done: Mapped[int] = mapped_column(Integer)  # days with a DONE
    sent: Mapped[int] = mapped_column(Integer)  # reminders sent
    pain_total: Mapped[int] = mapped_column(Integer)  # the sum of the pain scores given
    pain_count: Mapped[int] = mapped_column(Integer)  # how many DONEs gave one
    last_done: Mapped[dt.date | None] = mapped_column(Date)  # the last of those days


class ScheduleChange(db.Model):
    """A change to a patient's reminders (time, pause, resume, "later"), by the patient by
    text, by staff, or by the app itself (the pain pause): kept, never changed."""

    __tablename__ = "schedule_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    change: Mapped[str] = mapped_column(String(16))  # time, pause, resume, later
    detail: Mapped[str] = mapped_column(String(200))  # "Paused until Dec 7", "Time 7:00 PM"
    source: Mapped[str] = mapped_column(String(16))  # "text", "staff" or "app"
    actor: Mapped[str] = mapped_column(String(254))  # "the patient", a staff email, "the app"
    reason: Mapped[str | None] = mapped_column(String(200))  # why staff paused ("surgery")
