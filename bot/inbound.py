"""One inbound text, end to end: idempotency, opt-out, rate limit, reply, log.

This is the webhook's hot path, shared with the chat command and the simulator page. It
runs SQLAlchemy Core statements on the models' tables over a connection whose transaction
the caller owns (and commits before anything is answered to Twilio), in three round trips:

1. one SELECT: the number's last consent event, its texts in the past hour, and whether
   this MessageSid was answered before (a Twilio retry) and with what;
2. INSERT the inbound row, ``ON CONFLICT (message_sid) DO NOTHING``: when a retry of the
   same text is being handled at the same moment, the database settles it, and the loser
   answers with what the winner stored;
3. INSERT the reply (and a consent event for STOP/START).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from sqlalchemy import Connection, DateTime, String, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.compliance import Keyword, classify
from bot.models import ConsentEvent, Message
from bot.replies import Replier

messages = Message.__table__
consents = ConsentEvent.__table__

MAX_BODY_CHARS = 1600  # Twilio's limit for one message


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


def clean_body(body: str) -> str:
    """What can be stored: no NUL characters (PostgreSQL refuses them), at most 1600."""
    return body.replace("\x00", "\ufffd")[:MAX_BODY_CHARS]


def handle_inbound(
    conn: Connection, replier: Replier, message: Inbound, now: dt.datetime, rate_limit: int
) -> Outcome:
    phone, sid = message.phone, message.message_sid
    body = clean_body(message.body)
    state = conn.execute(_state_query(), {"phone": phone, "sid": sid, "since": now - HOUR}).one()
    if state.seen is not None:
        return Outcome(state.reply, "duplicate", duplicate=True)

    keyword = classify(body, message.opt_out_type)
    opted_out = state.consent == Keyword.OPT_OUT
    if keyword and keyword[0] == Keyword.OPT_OUT:
        reply, kind = replier.opt_out_text(), "opt_out"
    elif keyword and keyword[0] == Keyword.OPT_IN:
        reply, kind = replier.opt_in_text(), "opt_in"
    elif opted_out:
        reply, kind = None, "opted_out"  # never text a number that said STOP
    elif state.recent >= rate_limit:
        reply, kind = None, "rate_limited"
    elif keyword and keyword[0] == Keyword.HELP:
        reply, kind = replier.help_text(), "help"
    else:
        answer = replier.reply(body, now)
        reply, kind = answer.body, answer.kind

    row = {"phone": phone, "direction": "in", "body": body, "message_sid": sid, "kind": kind}
    inserted = conn.execute(_insert_inbound(conn.dialect.name), {**row, "created_at": now}).first()
    if inserted is None:  # a retry of this text was stored a moment ago: answer as it was
        stored = conn.execute(
            select(messages.c.body).where(messages.c.reply_to_sid == sid)
        ).scalar()
        return Outcome(stored, "duplicate", duplicate=True)
    if keyword and keyword[0] in (Keyword.OPT_OUT, Keyword.OPT_IN):
        conn.execute(
            insert(consents),
            {
                "phone": phone,
                "action": keyword[0].value,
                "keyword": keyword[1][:40],
                "source": "sms",
                "message_sid": sid,
                "created_at": now,
            },
        )
    if reply is not None:
        conn.execute(
            insert(messages),
            {
                "phone": phone,
                "direction": "out",
                "body": reply,
                "message_sid": None,
                "reply_to_sid": sid,
                "kind": kind,
                "created_at": now,
            },
        )
    return Outcome(reply, kind)


HOUR = dt.timedelta(hours=1)


@functools.cache
def _state_query():
    """The number's consent, its texts this hour, and a stored answer to this MessageSid."""
    phone = bindparam("phone", type_=String)
    sid = bindparam("sid", type_=String)
    since = bindparam("since", type_=DateTime(timezone=True))
    last_consent = (
        select(consents.c.action)
        .where(consents.c.phone == phone)
        .order_by(consents.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    recent = (
        select(func.count())
        .select_from(messages)
        .where(messages.c.phone == phone, messages.c.created_at >= since)
        .where(messages.c.direction == "in")
        .scalar_subquery()
    )
    seen = select(messages.c.id).where(messages.c.message_sid == sid).scalar_subquery()
    reply = select(messages.c.body).where(messages.c.reply_to_sid == sid).limit(1).scalar_subquery()
    return select(
        last_consent.label("consent"),
        recent.label("recent"),
        seen.label("seen"),
        reply.label("reply"),
    )


@functools.cache
def _insert_inbound(dialect_name: str):
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return (
        dialect.insert(messages)
        .on_conflict_do_nothing(index_elements=[messages.c.message_sid])
        .returning(messages.c.id)
    )
