"""Answering a text once it is received, wherever it came from (Twilio's webhook, the
simulator, ``flask chat``): in its own transaction, committed before it is answered; or,
with the database away, answered without it and kept in the spool, recorded later
(``replay_spool``); then the on-call phone alerted when the answer calls for it."""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Callable

from flask import current_app

from bot.models import DATABASE_UNAVAILABLE, utcnow
from bot.sms.alerts import send_alert
from bot.sms.compliance import Keyword
from bot.sms.inbound import (
    Candidate,
    Inbound,
    Outcome,
    answer_without_database,
    clean_body,
    handle_inbound,
    webhook_connection,
)
from bot.sms.phones import mask
from bot.sms.spool import Spooled

log = logging.getLogger("bot.webhook")  # the name operators follow texts by


def answer(message: Inbound, defer: Callable[[Callable[[], None]], None] | None = None) -> Outcome:
    """The text answered (``reply_to``), and the on-call phone alerted when the answer
    calls for it: at once, or handed to ``defer`` (the webhook runs it once Twilio has
    the patient's answer)."""
    outcome = reply_to(message)
    if outcome.alert:
        alert = functools.partial(send_alert, current_app._get_current_object(), message.phone)
        if defer is None:
            alert()
        else:
            defer(alert)
    return outcome


def reply_to(message: Inbound) -> Outcome:
    """Handle one inbound text in its own transaction, committed before it is answered.

    When the database cannot take it within ``WEBHOOK_DB_TIMEOUT`` (down, or a lock held
    too long), the patient is still answered (``answer_without_database``) and the text is
    kept in the spool, to be recorded once the database is back."""
    app = current_app._get_current_object()
    spool = app.extensions["spool"]
    if message.message_sid in spool.sids:  # Twilio again, for a text answered meanwhile
        return Outcome(None, "duplicate", duplicate=True)
    breaker = app.extensions["db_breaker"]
    if breaker.open():  # the database just timed out: answer at once, without it
        return _without_database(app, message, CircuitOpen("the database timed out lately"))
    try:
        with webhook_connection(app.extensions["webhook_engine"]) as conn:
            outcome = handle_inbound(
                conn,
                app.extensions["replier"],
                message,
                utcnow(),
                app.config["RATE_LIMIT_PER_HOUR"],
                settings=app.extensions["checkin_settings"],
            )
    except DATABASE_UNAVAILABLE as exc:
        breaker.trip(app.config["WEBHOOK_BREAKER_SECONDS"])
        return _without_database(app, message, exc)
    # Every text is in the database, counted in the metrics, and on gunicorn's access line
    # with its request id; this line, for following texts live, is DEBUG: formatting and
    # writing it costs about 16 us a text, 2% of the webhook's CPU, within a 5% budget.
    if log.isEnabledFor(logging.DEBUG):  # the masking costs, even for a line not written
        log.debug(
            "sms in from=%s sid=%s kind=%s replied=%s",
            mask(message.phone),
            message.message_sid,
            outcome.kind,
            outcome.reply is not None,
        )
    return outcome


class CircuitOpen(Exception):
    """The database timed out within the last WEBHOOK_BREAKER_SECONDS: not asked again yet."""


class Breaker:
    """After the database fails the webhook (a timeout, a lost connection), this process
    answers texts without it for ``WEBHOOK_BREAKER_SECONDS``, then tries it again: a burst
    of texts under a hung database costs each worker one wait of WEBHOOK_DB_TIMEOUT, not
    one per text (ten texts on two workers were answered at 5, 10, 15, 20 and 25 s)."""

    def __init__(self):
        self.open_until = 0.0

    def open(self) -> bool:
        return time.monotonic() < self.open_until

    def trip(self, seconds: float) -> None:
        self.open_until = time.monotonic() + seconds


def _without_database(app, message: Inbound, exc: Exception) -> Outcome:
    now = utcnow()
    answer = answer_without_database(app.extensions["replier"], message, now)
    kept = app.extensions["spool"].add(
        Spooled(
            phone=message.phone,
            body=clean_body(message.body),
            message_sid=message.message_sid,
            received_at=now.isoformat(),
            reply=answer.reply,
            kind=answer.kind,
            consent=answer.consent.value if answer.consent else None,
            keyword=answer.keyword,
            opt_out_type=message.opt_out_type,
        )
    )
    log.error(
        "database unavailable (%s): text %s from %s %s, answered %s",
        type(exc).__name__,
        message.message_sid,
        mask(message.phone),
        "kept in the spool" if kept else "LOST (the spool could not be written)",
        answer.kind,
    )
    return Outcome(answer.reply, answer.kind, stored=False)


def replay_spool(app) -> int:
    """Record the texts kept while the database was unavailable (``bot.sms.spool``)."""

    def record(entries: list[Spooled]) -> None:
        with webhook_connection(app.extensions["webhook_engine"]) as conn:
            for entry in entries:
                message = Inbound(entry.phone, entry.body, entry.message_sid, entry.opt_out_type)
                answered = Candidate.of(
                    entry.reply or "",
                    entry.kind,
                    always=True,  # it was answered: record the answer as sent
                    consent=Keyword(entry.consent) if entry.consent else None,
                    keyword=entry.keyword,
                )  # with the inbox reason its kind gives: a red flag lands, even late
                handle_inbound(
                    conn, app.extensions["replier"], message, entry.received,
                    app.config["RATE_LIMIT_PER_HOUR"], answered,
                )  # fmt: skip

    return app.extensions["spool"].replay(record, DATABASE_UNAVAILABLE)


def local_sid(prefix: str) -> str:
    """A MessageSid for texts that did not come through Twilio (chat, simulator)."""
    return prefix + uuid.uuid4().hex
