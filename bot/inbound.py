"""One inbound text, end to end: idempotency, opt-out, rate limit, reply, log.

This is the webhook's hot path, shared with the chat command and the simulator page.
Everything is in the database before anything is answered to Twilio. It is measured
(benchmarks/webhook.py) and built for it:

1. The answer is worked out first, from the text alone (``candidate``): the reply logic is
   pure, so this needs no database.
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
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
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

from bot.compliance import Keyword, classify, is_spanish_keyword
from bot.models import SMS_CONSENT_ACTIONS, ConsentEvent, Message, Patient
from bot.replies import MAX_READ_CHARS, Replier
from bot.text import normalize

messages = Message.__table__
consents = ConsentEvent.__table__
patients = Patient.__table__

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


@dataclass(frozen=True)
class Candidate:
    """The answer a text would get, before the gate."""

    reply: str
    kind: str
    always: bool = False  # STOP and START: answered whatever the gate says
    consent: Keyword | None = None  # an opt-out or opt-in to record
    keyword: str = ""


def clean_body(body: str) -> str:
    """What can be stored: no NUL characters (PostgreSQL refuses them), at most 1600."""
    return body.replace("\x00", "\ufffd")[:MAX_BODY_CHARS]


def candidate(replier: Replier, body: str, opt_out_type: str | None, now) -> Candidate:
    keyword = classify(body, opt_out_type)
    kind = keyword[0] if keyword else None
    if kind == Keyword.OPT_OUT:
        text = replier.opt_out_text(spanish=is_spanish_keyword(keyword[1]))
        # "stop texting me, I fell down the stairs": opted out, and told to call 911 first.
        red_flag = replier.red_flag(normalize(body[:MAX_READ_CHARS]))
        if red_flag:
            text = f"{red_flag.body}\n\n{text}"
        return Candidate(text, "opt_out", True, Keyword.OPT_OUT, keyword[1])
    if kind == Keyword.OPT_IN:
        text = replier.opt_in_text(spanish=is_spanish_keyword(keyword[1]))
        return Candidate(text, "opt_in", True, Keyword.OPT_IN, keyword[1])
    if kind == Keyword.HELP:
        return Candidate(replier.help_text(spanish=is_spanish_keyword(keyword[1])), "help")
    answer = replier.reply(body, now)
    return Candidate(answer.body, answer.kind)


def gate(answer: Candidate, opted_out: bool, recent: int, rate_limit: int) -> tuple[str, bool]:
    """The kind to log and whether to reply. PostgreSQL runs the same rule in _PG_RECORD."""
    if answer.always:
        return answer.kind, True
    if opted_out:
        return "opted_out", False  # never text a number that said STOP
    if recent >= rate_limit:
        return "rate_limited", False
    return answer.kind, True


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
WITHOUT_DATABASE = frozenset({"emergency", "pain", "help", "opt_out", "opt_in"})


def answer_without_database(replier: Replier, message: Inbound, now) -> Candidate:
    """The answer to a text the database cannot take (``bot.spool`` keeps the text)."""
    answer = candidate(replier, clean_body(message.body), message.opt_out_type, now)
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
) -> Outcome:
    """Record one text and what it is answered. ``answered``: the patient was answered
    already (a spooled text, recorded once the database is back): record that answer."""
    body = clean_body(message.body)
    answer = answered or candidate(replier, body, message.opt_out_type, now)
    if answer.kind == "my_routine":  # rare: the one answer that reads the patient's record
        answer = _own_routine(conn, replier, message.phone) or answer
    values = {
        "phone": message.phone,
        "sid": message.message_sid,
        "body": body,
        "now": now,
        "since": now - HOUR,
        "rate_limit": rate_limit,
        "always": answer.always,
        "candidate_kind": answer.kind[:64],  # the column's width
        "reply": answer.reply,
        "action": answer.consent.value if answer.consent else None,
        "keyword": answer.keyword[:40],
    }
    record = _record_postgresql if conn.dialect.name == "postgresql" else _record_sqlite
    result = record(conn, answer, values)
    if result is None:
        # This MessageSid was stored before (a Twilio retry): answer as it was answered.
        stored = conn.execute(
            select(messages.c.body).where(messages.c.reply_to_sid == message.message_sid)
        ).scalar()
        return Outcome(stored, "duplicate", duplicate=True)
    kind, send = result
    return Outcome(answer.reply if send else None, kind)


def _own_routine(conn: Connection, replier: Replier, phone: str) -> Candidate | None:
    patient = conn.execute(
        select(patients.c.routine, patients.c.language)
        .where(patients.c.phone == phone, patients.c.removed_at.is_(None))
        .limit(1)
    ).first()
    text = patient and replier.routine_text(list(patient.routine or []), patient.language)
    return Candidate(text, "my_routine") if text else None


def _record_postgresql(conn: Connection, answer: Candidate, values: dict):
    # Straight to psycopg: SQLAlchemy's result machinery cost a third of this statement's
    # time, for one row of three plain values.
    try:
        cursor = conn.connection.driver_connection.execute(_PG_RECORD, values)
    except psycopg.OperationalError as exc:  # a timeout, a lost connection: as SQLAlchemy's
        raise OperationalError("the webhook's statement", None, exc) from exc
    inserted, kind, send = cursor.fetchone()
    return (kind, send) if inserted else None


def _record_sqlite(conn: Connection, answer: Candidate, values: dict):
    state = conn.execute(_state_query(), values).one()
    if state.seen is not None:
        return None
    kind, send = gate(answer, state.consent == Keyword.OPT_OUT, state.recent, values["rate_limit"])
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
            {"phone": phone, "direction": "out", "body": answer.reply, "message_sid": None,
             "reply_to_sid": sid, "kind": kind, "created_at": now},
        )  # fmt: skip
    return kind, send


# One statement, one round trip, atomic. "state" reads the number's last consent event and
# its texts in the past hour; "decision" is gate(); the reply and the consent event are
# written only when the inbound row is (the CTE "inbound" is empty for a MessageSid seen
# before). Parameters are psycopg's, passed straight to the driver.
_PG_RECORD = """
WITH state AS (
    SELECT
        coalesce((SELECT action FROM consent_events WHERE phone = %(phone)s
                  AND action IN ('opt_in', 'opt_out')
                  ORDER BY id DESC LIMIT 1), '') = 'opt_out' AS opted_out,
        (SELECT count(*) FROM (SELECT 1 FROM messages WHERE phone = %(phone)s
            AND direction = 'in' AND created_at >= %(since)s
            LIMIT %(rate_limit)s) AS counted) AS recent
), decision AS (
    SELECT
        CASE WHEN %(always)s THEN %(candidate_kind)s
             WHEN opted_out THEN 'opted_out'
             WHEN recent >= %(rate_limit)s THEN 'rate_limited'
             ELSE %(candidate_kind)s END AS kind,
        (%(always)s OR NOT (opted_out OR recent >= %(rate_limit)s)) AS send
    FROM state
), inbound AS (
    INSERT INTO messages (phone, direction, body, message_sid, kind, created_at)
    SELECT %(phone)s, 'in', %(body)s, %(sid)s, kind, %(now)s FROM decision
    ON CONFLICT (message_sid) DO NOTHING
    RETURNING id
), reply AS (
    INSERT INTO messages (phone, direction, body, reply_to_sid, kind, created_at)
    SELECT %(phone)s, 'out', %(reply)s, %(sid)s, decision.kind, %(now)s
    FROM inbound, decision WHERE decision.send
    RETURNING id
), consent AS (
    INSERT INTO consent_events (phone, action, keyword, source, message_sid, created_at)
    SELECT %(phone)s, %(action)s, %(keyword)s, 'sms', %(sid)s, %(now)s
    FROM inbound WHERE %(action)s::varchar IS NOT NULL
    RETURNING id
)
SELECT (SELECT count(*) FROM inbound), decision.kind, decision.send FROM decision
"""


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
    return select(last_consent.label("consent"), recent.label("recent"), seen.label("seen"))


@functools.cache
def _insert_inbound():
    return (
        sqlite.insert(messages)
        .on_conflict_do_nothing(index_elements=[messages.c.message_sid])
        .returning(messages.c.id)
    )
