"""One inbound text, end to end: idempotency, opt-out, rate limit, reply, log.

This is the webhook's hot path, shared with the chat command and the simulator page.
Everything is in the database before anything is answered to Twilio. It is measured
(benchmarks/webhook.py) and built for it:

1. The answer is worked out first, from the text alone (``candidate``): the reply logic is
   pure, so this needs no database. It is written in English and in Spanish: which one is
   sent is the number's language (an enrolled patient's record, else what the number
   asked for with ESPAÑOL or ENGLISH, else the text's own), read in the same statement.
2. Then the gate, the one rule that can hold an answer back: STOP and START are always
   answered and recorded; anything else gets no reply when the number has opted out, or
   has texted more than ``RATE_LIMIT_PER_HOUR`` times in the past hour.
3. Then one write: the inbound row ``ON CONFLICT (message_sid) DO NOTHING`` (a Twilio
   retry, even one arriving at the same moment, is settled by the unique MessageSid and
   answered with what was stored the first time), the reply and any consent event.

On PostgreSQL, steps 2 and 3 are a single statement run in autocommit (data-modifying
CTEs; the gate is its CASE): one round trip per text. Elsewhere (SQLite), the state is
read with a SELECT, the gate is ``gate()`` in Python, and three INSERTs follow, in the
caller's ``BEGIN IMMEDIATE`` transaction. The test suite runs on both.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    Integer,
    String,
    bindparam,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import OperationalError

from bot.inbox import threads
from bot.models import (
    SMS_CONSENT_ACTIONS,
    ConsentEvent,
    Message,
    Patient,
    PhoneLanguage,
    Thread,
    first,
    straight,
)
from bot.patients.records import readable_time
from bot.reminders import checkins
from bot.reminders.commands import DEFAULT_PAUSE_DAYS, Done, Later, Pause, Resume
from bot.replies import MAX_READ_CHARS, Replier
from bot.replies.program import reminder_answer, routine_answer, week_answer
from bot.sms.compliance import Keyword, is_spanish_keyword
from bot.sms.questions import question
from bot.sms.reading import Reading, read
from bot.text import normalize

messages = Message.__table__
consents = ConsentEvent.__table__
patients = Patient.__table__
thread_rows = Thread.__table__
phone_languages = PhoneLanguage.__table__

MAX_BODY_CHARS = 1600  # Twilio's limit for one message
HOUR = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Inbound:
    phone: str
    body: str
    message_sid: str
    opt_out_type: str | None = None


@dataclass(frozen=True)
class Outcome:
    reply: str | None  # None: answer nothing
    kind: str
    duplicate: bool = False
    stored: bool = True  # False: the database could not take it (kept in the spool)
    alert: bool = False  # urgent, and the on-call phone was not told this past hour


@dataclass(frozen=True)
class Candidate:
    """The answer a text would get, before the gate."""

    reply: str
    kind: str
    always: bool = False  # STOP and START: answered whatever the gate says
    consent: Keyword | None = None  # an opt-out or opt-in to record
    keyword: str = ""
    reason: str | None = None  # why a person should see it (bot.inbox.threads.REASONS)
    urgent: bool = False
    language: str = "en"  # what ``reply`` is written in: the text's own language
    # The reply in the other language, sent when the number's language is that one, or how
    # to write it (only then: most numbers have no language of their own but the text's);
    # None: ``reply`` whatever the language (STOP, HELP: the keyword's; a command: the
    # record's).
    translated: str | Callable[[], str] | None = None

    def in_language(self, language: str) -> str:
        if self.translated is None or language == self.language:
            return self.reply
        return self.translated() if callable(self.translated) else self.translated

    def written_in(self, language: str) -> str | None:
        """The reply in ``language`` if it is written already, else None."""
        if self.translated is None or language == self.language:
            return self.reply
        return None if callable(self.translated) else self.translated

    @classmethod
    def of(cls, reply: str, kind: str, **fields) -> Candidate:
        """An answer with the inbox reason its kind gives."""
        reason = threads.reason_for(kind)
        return cls(reply, kind, reason=reason, urgent=reason in threads.URGENT, **fields)


def clean_body(body: str) -> str:
    """What can be stored: no NUL characters (PostgreSQL refuses them), at most 1600."""
    return body.replace("\x00", "\ufffd")[:MAX_BODY_CHARS]


def candidate(replier: Replier, reading: Reading, now) -> Candidate:
    """The answer the text's reading gets: compliance, then safety and the question (the
    reply logic); an enrolled patient's command is decided later, on the database."""
    body, keyword = reading.body, reading.keyword
    if keyword is None:
        understood = replier.understand(body, now)  # read once, written in both languages
        answer = understood.reply()
        language, other = answer.language, OTHER_LANGUAGE[answer.language]
        if answer.kind not in BEFORE_COMMANDS and reading.unclear_stop:
            # "stop the reminders for a week": ask, rather than guess either way (an
            # enrolled patient's pause is carried out, and told the same).
            return Candidate(
                replier.say("stop_which", language), "stop_which", language=language,
                translated=replier.say("stop_which", other),
            )  # fmt: skip
        translated = functools.partial(understood.write, other)  # written if needed
        return Candidate.of(answer.body, answer.kind, language=language, translated=translated)
    kind, word = keyword
    # STOP, START, HELP are answered in the number's language; ALTO, AYUDA... in Spanish.
    fixed = is_spanish_keyword(word)
    language = "es" if fixed else "en"

    # "stop texting me, I fell down the stairs": opted out, told to call 911 first.
    flagged = kind == Keyword.OPT_OUT and replier.flagged(normalize(body[:MAX_READ_CHARS]), "en")

    def said(say, language: str) -> str:
        text = say(language)
        if flagged:
            return f"{replier.emergency(flagged[0], language).body}\n\n{text}"
        return text

    say = {
        Keyword.OPT_OUT: lambda lang: replier.opt_out_text(spanish=lang == "es"),
        Keyword.OPT_IN: lambda lang: replier.opt_in_text(spanish=lang == "es"),
        Keyword.HELP: lambda lang: replier.help_text(spanish=lang == "es"),
    }[kind]
    reply = said(say, language)
    translated = None if fixed else said(say, "es")
    if kind == Keyword.HELP:
        return Candidate(reply, "help", language=language, translated=translated)
    red_flag = kind == Keyword.OPT_OUT and reply != say(language)
    return Candidate(
        reply, kind.value, True, kind, word, "red_flag" if red_flag else None, red_flag,
        language, translated,
    )  # fmt: skip


OTHER_LANGUAGE = {"en": "es", "es": "en"}


# Answers a patient's command never overrides: safety and the carriers' keywords.
BEFORE_COMMANDS = frozenset({"opt_out", "opt_in", "help", "emergency", "warning_sign"})


@contextlib.contextmanager
def webhook_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for ``handle_inbound`` whose work is committed when the block ends.

    PostgreSQL: the engine runs in autocommit and the write is one atomic statement.
    SQLite: one ``BEGIN IMMEDIATE`` transaction, so that two requests for the same text
    never both read "not seen".
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            yield conn
    else:
        with engine.execution_options(sqlite_immediate=True).begin() as conn:
            yield conn


# What the patient is answered when the database cannot take the text: these need no
# database (safety first, and STOP, START and HELP as carriers require); anything else is
# told to call, as the gate (opted out? too many texts?) cannot be asked.
WITHOUT_DATABASE = frozenset({"emergency", "warning_sign", "pain", "help", "opt_out", "opt_in"})


def answer_without_database(replier: Replier, message: Inbound, now) -> Candidate:
    """The answer to a text the database cannot take (``bot.sms.spool`` keeps the text)."""
    answer = candidate(replier, read(clean_body(message.body), message.opt_out_type), now)
    if answer.kind in WITHOUT_DATABASE:
        return answer
    return Candidate(replier.unavailable_text(), "db_unavailable")


def handle_inbound(
    conn: Connection,
    replier: Replier,
    message: Inbound,
    now: dt.datetime,
    rate_limit: int,
    answered: Candidate | None = None,
    settings: checkins.Settings | None = None,
) -> Outcome:
    """Record one text and what it is answered. ``answered``: the patient was answered
    already (a spooled text, recorded once the database is back): record that answer.
    ``settings``: for an enrolled patient's commands (DONE, "7pm", "pause"...)."""
    body = clean_body(message.body)
    reading = read(body, message.opt_out_type) if answered is None else None
    answer = answered or candidate(replier, reading, now)
    program = _asks_own_program(reading, answer) if answered is None else None
    following = (  # MORE after a part of an answer sent in parts: the next part
        reading and reading.more and answer.kind not in BEFORE_COMMANDS
        and _more(conn, replier, message.phone)
    )  # fmt: skip
    if following:
        answer, program = following, None
    elif program:  # rare: the answers that read the patient's record
        resuming = (  # "ya pueden enviarme los ejercicios otra vez"
            program[0] == "routine" and isinstance(reading.command, Resume) and not reading.asks
        )
        own = _own_program(conn, replier, message.phone, program, now, settings, resuming)
        answer = own or answer
        program = program if own or not resuming else None  # paused: a RESUME after all
    language = reading.language_asked if reading and settings else None
    if language and answer.kind not in BEFORE_COMMANDS:
        with _transaction(conn):  # ESPAÑOL, ENGLISH: remembered for the number
            if _taken(conn, message.message_sid):
                return _record(conn, replier, message, body, answer, now, rate_limit)
            done = checkins.set_language(conn, settings, message.phone, language, now)
            answer = Candidate(done.reply, done.kind, language=language)
            return _record(conn, replier, message, body, answer, now, rate_limit)
    command = None
    if reading and settings and answer.kind not in BEFORE_COMMANDS and not program:
        # "I'm done with my exercises for today" is read by the reply logic: DONE too.
        command = reading.command or (Done() if answer.kind == "done" else None)
        clinic = isinstance(command, Later) and ABOUT_THE_CLINIC.search(normalize(body))
        if clinic and question(normalize(body), body):
            command = None  # "¿abris los viernes por la tarde?": the hours, no reminder
    if command is not None and checkins.once_by_itself(command) and _postgresql(conn):
        # DONE, the commonest: the patient read, the text, its answer and the day written,
        # all in one statement; a number not enrolled, or opted out, is answered as any.
        done = _record_done(conn, settings, message, body, command.pain, now, rate_limit)
        return done or _record(conn, replier, message, body, answer, now, rate_limit)
    if command is not None:
        # Rare, and it writes more than one row: one transaction, on its own path.
        with _transaction(conn):
            # The same text's other request did it (a DONE needs no look: once by itself).
            if not checkins.once_by_itself(command) and _taken(conn, message.message_sid):
                return _record(conn, replier, message, body, answer, now, rate_limit)
            done = checkins.carry_out(
                conn, settings, message.phone, command, message.message_sid, now
            )
            if done is not None:
                reply = done.reply
                if answer.kind == "stop_which" and done.kind == "pause":
                    reply = f"{reply} {settings.say('stop_all', done.language)}"
                answer = Candidate(reply, done.kind, reason=done.reason, urgent=done.urgent)
            return _record(conn, replier, message, body, answer, now, rate_limit)
    return _record(conn, replier, message, body, answer, now, rate_limit)


_PG_LOCK = "SELECT pg_advisory_xact_lock(hashtext(%s))"


def _taken(conn: Connection, sid: str) -> bool:
    """Inside a command's transaction: this text was recorded already (a Twilio retry), or
    by another request of it sent at the same moment. On PostgreSQL the second waits on a
    lock the first holds to its commit, then finds the text, so a command is carried out
    once; SQLite's webhook transaction is one writer at a time already."""
    if _postgresql(conn):  # straight to psycopg, as the record (cost)
        straight(conn, _PG_LOCK, (sid,))
    return _seen(conn, sid)


def _seen(conn: Connection, sid: str) -> bool:
    return (
        conn.execute(select(messages.c.id).where(messages.c.message_sid == sid)).first() is not None
    )


@contextlib.contextmanager
def _transaction(conn: Connection) -> Iterator[None]:
    """PostgreSQL's webhook connection runs in autocommit: a transaction of its own here.
    SQLite's is in one already (``webhook_connection``)."""
    if not _postgresql(conn):
        yield
        return
    # BEGIN and COMMIT as plain statements: psycopg's transaction() block (savepoints,
    # nesting) cost more than the statements it wraps.
    straight(conn, "BEGIN")
    try:
        yield
    except BaseException:
        try:
            straight(conn, "ROLLBACK")
        except OperationalError:  # never back in the pool inside a transaction
            if not conn.invalidated:
                conn.invalidate()
        raise
    straight(conn, "COMMIT")


def _record(
    conn: Connection,
    replier: Replier,
    message: Inbound,
    body: str,
    answer: Candidate,
    now,
    rate_limit,
) -> Outcome:
    """Record the text and its answer, through the gate."""
    values = {
        "phone": message.phone,
        "sid": message.message_sid,
        "body": body,
        "now": now,
        "since": now - HOUR,
        "rate_limit": rate_limit,
        "always": answer.always,
        "candidate_kind": answer.kind[:64],  # the column's width
        "reply_en": answer.written_in("en"),
        "reply_es": answer.written_in("es"),
        "text_language": answer.language,
        "action": answer.consent.value if answer.consent else None,
        "keyword": answer.keyword[:40],
        "keeps": answer.always or threads.kept_while_open(answer.kind),
        # While staff have the thread: no guessing (bot.inbox.threads).
        "held_en": replier.held["en"],
        "held_es": replier.held["es"],
        "reason": answer.reason,
        "urgent": answer.urgent,
    }
    if _postgresql(conn):
        result = _record_postgresql(conn, answer, values, _PG_RECORD)
    else:
        result = _record_sqlite(conn, answer, values)
    if result is None:
        return _answered_before(conn, message.message_sid)
    kind, send, reply, alert = result
    return Outcome(reply if send else None, kind, alert=alert)


_ANSWER_OF = select(messages.c.body).where(messages.c.reply_to_sid == bindparam("sid")).limit(1)


def _answered_before(conn: Connection, sid: str) -> Outcome:
    """This MessageSid was stored before (a Twilio retry): answered as it was then."""
    stored = first(conn, _ANSWER_OF, sid=sid)
    return Outcome(stored and stored[0], "duplicate", duplicate=True)


def _record_done(
    conn: Connection,
    settings: checkins.Settings,
    message: Inbound,
    body: str,
    pain,
    now,
    rate_limit: int,
) -> Outcome | None:
    """A DONE (``checkins.once_by_itself``) on PostgreSQL, in one statement: the enrolled
    patient's day written with the text and its answer, through the gate. None: no enrolled
    patient of this number who has not opted out (nothing written)."""
    values = {
        "phone": message.phone, "sid": message.message_sid, "body": body, "now": now,
        "since": now - HOUR, "rate_limit": rate_limit, "pain": pain,
        **settings.done_answers(pain),
    }  # fmt: skip
    row = straight(conn, _PG_RECORD_DONE, values).fetchone()
    if row is None:
        return None
    inserted, kind, send, reply = row
    if not inserted:
        return _answered_before(conn, message.message_sid)
    return Outcome(reply if send else None, kind)


# The general answers that are about the patient's own program, for an enrolled patient:
# "which exercises am I to do?", "my time?".
ABOUT_PROGRAM = {"my_routine": ("routine", ()), "reminders": ("reminder", ())}
# A question about the clinic: a "later" in it ("¿abris los viernes por la tarde?") is part
# of the question, not a request for the reminder again.
ABOUT_THE_CLINIC = re.compile(
    r"\b(open|opens|abren|abris|abre|abierto|abiertos|close|closes|cierran|cierra|hours|horario|"
    r"address|direccion|located|ubicad\w*|insurance|seguro|aseguranza|parking|estacionamiento|"
    r"appointment|cita)\b"
)
# The clinic's list of exercises ("q ejercicios me tocan", "the exercise list") is, for an
# enrolled patient, their own routine, unless the text asks for all of the clinic's.
CLINIC_LIST = re.compile(
    r"\b(all|todos|todas|every|your|yours|sus|tus|clinic|clinica|other|others|otros|otras|"
    r"available|disponibles|have|tienen|tiene|offer|ofrecen|hay|else|mas|more)\b"
)


def _asks_own_program(reading: Reading, answer: Candidate) -> tuple[str, tuple] | None:
    """What the text asks about the patient's own program, when that is what it asks:
    not safety or the carriers' keywords, and a request ("pause my reminders") is a
    command, not a question about the reminder."""
    if answer.kind in BEFORE_COMMANDS:
        return None
    program = reading.program or ABOUT_PROGRAM.get(answer.kind)
    if program is None and answer.kind == "list":
        program = None if CLINIC_LIST.search(normalize(reading.body)) else ("routine", ())
    command = reading.command
    if program is None or command is None or reading.asks:
        return program  # "am I on pause?", "is it still 8am for my reminder?": asked
    # "how many days have I done?", "como se hacia el numero 2 de mi lista" ask; "could the
    # text come at 8:45 am?" is a request; "send me my exercises again" asks for the list.
    status = isinstance(command, Done | Resume) or command == Pause(days=DEFAULT_PAUSE_DAYS)
    if (status and question(normalize(reading.body), reading.body)) or (
        program[0] == "routine" and isinstance(command, Resume | Later)
    ):
        return program
    return None


_LAST_SENT = (
    select(messages.c.body)
    .where(messages.c.phone == bindparam("phone"), messages.c.direction == "out")
    .order_by(messages.c.id.desc())
    .limit(1)
)


def _more(conn: Connection, replier: Replier, phone: str) -> Candidate | None:
    """MORE: the part that follows the last text this number was sent, when that was a
    part of an answer sent in parts; None otherwise (the general answer stands)."""
    last = first(conn, _LAST_SENT, phone=phone)
    following = last and replier.continuation(last[0])
    if not following:
        return None
    text, language = following
    return Candidate(text, "more", language=language)


# An enrolled patient's program, by number ("my routine", "my time?").
_PROGRAM = (
    select(
        patients.c.id, patients.c.routine, patients.c.language, patients.c.timezone,
        patients.c.reminder_time, patients.c.paused, patients.c.paused_until,
    )
    .where(patients.c.phone == bindparam("phone"), patients.c.removed_at.is_(None))
    .limit(1)
)  # fmt: skip


def _own_program(
    conn: Connection, replier: Replier, phone: str, program, now, settings, resuming=False
):
    """The answer about the patient's own reminder, routine or week, in their language,
    from their record; None for a number not enrolled (the general answer stands).
    ``resuming``: the text's words also resume the reminders ("ya pueden enviarme los
    ejercicios otra vez"): for a paused patient that is what it asks (None)."""
    patient = first(conn, _PROGRAM, phone=phone)
    if patient is None:
        return None
    patient_id, routine, language, timezone, reminder_time, paused, paused_until = patient
    what, positions = program
    if resuming and paused:
        return None
    if what == "routine":
        text = routine_answer(replier, list(routine or []), positions, language)
        return Candidate(text, "my_routine", language=language) if text else None
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    if what == "reminder":
        until = paused_until and paused_until.astimezone(zone).date()
        text = reminder_answer(
            replier, readable_time(reminder_time), paused,
            until and checkins.day_text(until, language, settings),
            paused and checkins.paused_for_pain(conn, patient_id), language,
        )  # fmt: skip
        return Candidate(text, "my_reminder", language=language)
    week = checkins.week_of(conn, patient_id, today)
    text = week_answer(replier, week.done, week.streak, week.last_pain, language)
    return Candidate(text, "my_week", language=language)


def _postgresql(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _record_postgresql(conn: Connection, answer: Candidate, values: dict, statement: str):
    # Straight to psycopg: SQLAlchemy's result machinery cost a third of this statement's
    # time, for one row of a few plain values.
    row = straight(conn, statement, values).fetchone()
    inserted, kind, send, reply, untranslated, reply_id, alert = row
    if not inserted:
        return None
    if untranslated:  # the number's language is not the text's: written now, and kept
        reply = answer.in_language(OTHER_LANGUAGE[answer.language])
        if reply_id is not None:
            straight(conn, "UPDATE messages SET body = %s WHERE id = %s", (reply, reply_id))
    return kind, send, reply, alert


def _record_sqlite(conn: Connection, answer: Candidate, values: dict):
    state = conn.execute(_state_query(), values).one()
    if state.seen is not None:
        return None
    thread = conn.execute(select(thread_rows).where(thread_rows.c.phone == values["phone"])).first()
    thread_open = thread is not None and thread.status == "open"
    with_staff = thread_open and thread.with_staff
    language = state.language or values["text_language"]
    kind, send, reply = gate(
        answer, state.consent == Keyword.OPT_OUT, state.recent, values, with_staff, language
    )
    phone, sid, now = values["phone"], values["sid"], values["now"]
    inserted = conn.execute(
        _insert_inbound(),
        {"phone": phone, "direction": "in", "body": values["body"], "message_sid": sid,
         "kind": kind, "created_at": now},
    ).first()  # fmt: skip
    if inserted is None:
        return None
    if answer.consent:
        conn.execute(
            insert(consents),
            {"phone": phone, "action": values["action"], "keyword": values["keyword"],
             "source": "sms", "message_sid": sid, "created_at": now},
        )  # fmt: skip
    if send:
        conn.execute(
            insert(messages),
            {"phone": phone, "direction": "out", "body": reply, "message_sid": None,
             "reply_to_sid": sid, "kind": kind, "created_at": now},
        )  # fmt: skip
    reason = values["reason"] or ("follow_up" if thread_open else None)
    alert = False
    if reason:
        alert = _write_thread(conn, thread, reason, values, inserted.id)
    return kind, send, reply, alert


def gate(
    answer: Candidate,
    opted_out: bool,
    recent: int,
    values: dict,
    with_staff: bool = False,
    language: str = "en",
) -> tuple[str, bool, str]:
    """The kind to log, whether to reply, and the reply in the number's ``language``.
    PostgreSQL runs the same rule in _PG_RECORD's "decision"."""
    reply = answer.in_language(language)
    if answer.always:
        return answer.kind, True, reply
    if opted_out:
        return "opted_out", False, reply  # never text a number that said STOP
    if recent >= values["rate_limit"]:
        return "rate_limited", False, reply
    if with_staff and not values["keeps"]:
        return "held_for_staff", True, values["held_es" if language == "es" else "held_en"]
    return answer.kind, True, reply


def _write_thread(conn: Connection, thread, reason: str, values: dict, message_id: int) -> bool:
    """Open or update the number's thread as _PG_RECORD's "thread" does; whether to alert
    the on-call phone (urgent, and not alerted in the past hour)."""
    now, urgent = values["now"], values["urgent"]
    if thread is None:
        conn.execute(
            insert(thread_rows),
            {"phone": values["phone"], "status": "open", "urgent": urgent, "reason": reason,
             "with_staff": False, "last_in_at": now, "last_message_id": message_id,
             "opened_at": now, "alerted_at": now if urgent else None},
        )  # fmt: skip
        return urgent
    still_open = thread.status == "open"
    keep_reason = still_open and (reason == "follow_up" or (thread.urgent and not urgent))
    alert = urgent and (thread.alerted_at is None or thread.alerted_at < values["since"])
    conn.execute(
        thread_rows.update()
        .where(thread_rows.c.id == thread.id)
        .values(
            status="open", urgent=urgent or (still_open and thread.urgent),
            reason=thread.reason if keep_reason else reason, last_in_at=now,
            last_message_id=message_id, opened_at=thread.opened_at if still_open else now,
            with_staff=still_open and thread.with_staff, done_at=None, done_by=None,
            alerted_at=now if alert else thread.alerted_at,
        )
    )  # fmt: skip
    return alert


# One statement, one round trip, atomic. "state" reads the number's last consent event, its
# texts in the past hour, whether its thread is open with staff and its language (the
# patient's, else the one it asked for, else the text's); "decision" is gate(), with
# "untranslated" when the reply in that language was not written (only the text's was);
# the reply, the consent event and the thread are written only when the inbound row is
# (the CTE "inbound" is empty for a MessageSid seen before); "thread" is _write_thread().
# Parameters are psycopg's, passed straight to the driver. "state" is MATERIALIZED in both
# statements: read once, by "decision" alone, PostgreSQL would fold it in, and every use
# of one of its columns would run its lookup again (EXPLAIN showed the last consent event
# and the hour's texts read twice, the language three times; reading them once saved
# 3.5% of PostgreSQL's CPU per text).
#
# What both statements below read of the number (its last consent event, its texts this
# hour, whether its thread is open) and how both write the text and its answer.
_NUMBER_STATE = """
        coalesce((SELECT action FROM consent_events WHERE phone = %(phone)s
                  AND action IN ('opt_in', 'opt_out')
                  ORDER BY id DESC LIMIT 1), '') = 'opt_out' AS opted_out,
        (SELECT count(*) FROM (SELECT 1 FROM messages WHERE phone = %(phone)s
            AND direction = 'in' AND created_at >= %(since)s
            LIMIT %(rate_limit)s) AS counted) AS recent,
        coalesce(th.status = 'open', false) AS thread_open,
"""
_TEXTS_WRITTEN = """
), inbound AS (
    INSERT INTO messages (phone, direction, body, message_sid, kind, created_at)
    SELECT %(phone)s, 'in', %(body)s, %(sid)s, decision.kind, %(now)s FROM decision
    ON CONFLICT (message_sid) DO NOTHING
    RETURNING id
), reply AS (
    INSERT INTO messages (phone, direction, body, reply_to_sid, kind, created_at)
    SELECT %(phone)s, 'out', decision.reply, %(sid)s, decision.kind, %(now)s
    FROM inbound, decision WHERE decision.send
    RETURNING id
"""
_PG_RECORD = """
WITH state AS MATERIALIZED (
    SELECT
{NUMBER_STATE}        coalesce(th.status = 'open' AND th.with_staff, false) AS with_staff,
        coalesce((SELECT language FROM patients WHERE phone = %(phone)s
                  AND removed_at IS NULL),
                 (SELECT language FROM phone_languages WHERE phone = %(phone)s),
                 %(text_language)s) = 'es' AS spanish
    FROM (SELECT 1) AS one LEFT JOIN threads AS th ON th.phone = %(phone)s
), decision AS (
    SELECT
        CASE WHEN %(always)s THEN %(candidate_kind)s
             WHEN opted_out THEN 'opted_out'
             WHEN recent >= %(rate_limit)s THEN 'rate_limited'
             WHEN with_staff AND NOT %(keeps)s THEN 'held_for_staff'
             ELSE %(candidate_kind)s END AS kind,
        (%(always)s OR NOT (opted_out OR recent >= %(rate_limit)s)) AS send,
        CASE WHEN NOT %(always)s AND with_staff AND NOT %(keeps)s THEN
                  CASE WHEN spanish THEN %(held_es)s ELSE %(held_en)s END
             WHEN spanish THEN coalesce(%(reply_es)s, %(reply_en)s)
             ELSE coalesce(%(reply_en)s, %(reply_es)s) END AS reply,
        NOT (NOT %(always)s AND with_staff AND NOT %(keeps)s)
            AND CASE WHEN spanish THEN %(reply_es)s::text IS NULL
                     ELSE %(reply_en)s::text IS NULL END AS untranslated,
        coalesce(%(reason)s::varchar, CASE WHEN thread_open THEN 'follow_up' END) AS reason
    FROM state
{TEXTS_WRITTEN}), consent AS (
    INSERT INTO consent_events (phone, action, keyword, source, message_sid, created_at)
    SELECT %(phone)s, %(action)s, %(keyword)s, 'sms', %(sid)s, %(now)s
    FROM inbound WHERE %(action)s::varchar IS NOT NULL
    RETURNING id
), thread AS (
    INSERT INTO threads AS t (phone, status, urgent, reason, with_staff, last_in_at,
                              last_message_id, opened_at, alerted_at)
    SELECT %(phone)s, 'open', %(urgent)s, decision.reason, false, %(now)s, inbound.id,
           %(now)s, CASE WHEN %(urgent)s THEN %(now)s END
    FROM inbound, decision WHERE decision.reason IS NOT NULL
    ON CONFLICT (phone) DO UPDATE SET
        status = 'open',
        urgent = excluded.urgent OR (t.status = 'open' AND t.urgent),
        reason = CASE WHEN t.status = 'open' AND (excluded.reason = 'follow_up'
                          OR (t.urgent AND NOT excluded.urgent)) THEN t.reason
                      ELSE excluded.reason END,
        last_in_at = excluded.last_in_at,
        last_message_id = excluded.last_message_id,
        opened_at = CASE WHEN t.status = 'open' THEN t.opened_at ELSE excluded.opened_at END,
        with_staff = t.status = 'open' AND t.with_staff,
        done_at = NULL,
        done_by = NULL,
        alerted_at = CASE WHEN excluded.urgent AND (t.alerted_at IS NULL
                              OR t.alerted_at < %(since)s) THEN excluded.last_in_at
                          ELSE t.alerted_at END
    RETURNING %(urgent)s AND t.alerted_at = %(now)s AS alert
)
SELECT (SELECT count(*) FROM inbound), decision.kind, decision.send, decision.reply,
       decision.untranslated, (SELECT id FROM reply),
       coalesce((SELECT alert FROM thread), false)
FROM decision
"""
# A DONE (checkins.once_by_itself) of an enrolled patient who has not opted out, in one
# statement: "patient" is empty for anyone else, and then nothing is written. The day is
# the patient's own date of %(now)s (their zone); "streak" counts the days in a row before
# it (the n-th latest is today - n while they run); the answer is the patient's language's
# (checkins.Settings.done_answers). A CTE's writes are not seen by the statement's reads:
# "again" is today written before this text. The gate is _PG_RECORD's for a kind kept
# while a thread is open (no reason of its own: a thread open gets "follow_up"). The day
# is written whatever the gate says (a DONE counts whether or not it is answered), only
# when the text is new (a Twilio retry writes nothing); a day found written (two DONEs at
# one moment) is left as it is.
_PG_RECORD_DONE = """
WITH patient AS (
    SELECT id, language = 'es' AS es, (%(now)s AT TIME ZONE timezone)::date AS today
    FROM patients WHERE phone = %(phone)s AND removed_at IS NULL
        AND sms_consent IS DISTINCT FROM 'opt_out'
), state AS MATERIALIZED (
    SELECT patient.*,
{NUMBER_STATE}        EXISTS (SELECT FROM adherence_days WHERE patient_id = patient.id
                AND local_date = today) AS again,
        1 + (SELECT count(*) FROM (
            SELECT local_date, row_number() OVER (ORDER BY local_date DESC) AS n
            FROM adherence_days WHERE patient_id = patient.id AND local_date < today
            ORDER BY local_date DESC LIMIT 400) AS before
            WHERE local_date = today - n::integer) AS streak
    FROM patient LEFT JOIN threads AS th ON th.phone = %(phone)s
), decision AS (
    SELECT id AS patient_id, today, thread_open,
        CASE WHEN opted_out THEN 'opted_out'
             WHEN recent >= %(rate_limit)s THEN 'rate_limited'
             WHEN again THEN 'done_again' ELSE 'done' END AS kind,
        NOT (opted_out OR recent >= %(rate_limit)s) AS send,
        CASE WHEN again THEN CASE WHEN es THEN %(again_es)s ELSE %(again_en)s END
             WHEN streak < STREAK_WORTH_SAYING THEN
                  CASE WHEN es THEN %(one_es)s ELSE %(one_en)s END
             ELSE format(CASE WHEN es THEN %(many_es)s ELSE %(many_en)s END, streak)
             END AS reply
    FROM state
{TEXTS_WRITTEN}), day AS (
    INSERT INTO adherence_days (patient_id, local_date, done_at, pain, message_sid)
    SELECT patient_id, today, %(now)s, %(pain)s::integer, %(sid)s FROM inbound, decision
    ON CONFLICT (patient_id, local_date) DO NOTHING
), thread AS (
    UPDATE threads AS t SET status = 'open', urgent = t.status = 'open' AND t.urgent,
        reason = CASE WHEN t.status = 'open' THEN t.reason ELSE 'follow_up' END,
        opened_at = CASE WHEN t.status = 'open' THEN t.opened_at ELSE %(now)s END,
        with_staff = t.status = 'open' AND t.with_staff, last_in_at = %(now)s,
        last_message_id = inbound.id, done_at = NULL, done_by = NULL
    FROM inbound, decision WHERE t.phone = %(phone)s AND decision.thread_open
)
SELECT (SELECT count(*) FROM inbound), kind, send, reply FROM decision
""".replace("STREAK_WORTH_SAYING", str(checkins.STREAK_WORTH_SAYING))
# Runs of spaces as one: psycopg keeps its parsing of a statement of at most 4,096
# characters (MAX_CACHED_STATEMENT_LENGTH) and parses a longer one on every text again.
_PG_RECORD, _PG_RECORD_DONE = (
    " ".join(sql.replace("{NUMBER_STATE}", _NUMBER_STATE)
             .replace("{TEXTS_WRITTEN}", _TEXTS_WRITTEN).split())
    for sql in (_PG_RECORD, _PG_RECORD_DONE)
)  # fmt: skip


@functools.cache
def _state_query():
    """The number's consent, its texts this hour, and whether this MessageSid was seen."""
    phone = bindparam("phone", type_=String)
    last_consent = (
        select(consents.c.action)
        .where(consents.c.phone == phone, consents.c.action.in_(SMS_CONSENT_ACTIONS))
        .order_by(consents.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    counted = (  # up to the limit: a number flooding the clinic costs no more per text
        select(messages.c.id)
        .where(messages.c.phone == phone, messages.c.direction == "in")
        .where(messages.c.created_at >= bindparam("since", type_=DateTime(timezone=True)))
        .limit(bindparam("rate_limit", type_=Integer))
        .subquery()
    )
    recent = select(func.count()).select_from(counted).scalar_subquery()
    seen = (
        select(messages.c.id)
        .where(messages.c.message_sid == bindparam("sid", type_=String))
        .scalar_subquery()
    )
    language = func.coalesce(
        select(patients.c.language)
        .where(patients.c.phone == phone, patients.c.removed_at.is_(None))
        .scalar_subquery(),
        select(phone_languages.c.language)
        .where(phone_languages.c.phone == phone)
        .scalar_subquery(),
    )
    return select(
        last_consent.label("consent"),
        recent.label("recent"),
        seen.label("seen"),
        language.label("language"),
    )


@functools.cache
def _insert_inbound():
    return (
        sqlite.insert(messages)
        .on_conflict_do_nothing(index_elements=[messages.c.message_sid])
        .returning(messages.c.id)
    )
