"""The on-call phone (``ALERT_NUMBER``): told of an urgent text, at most once an hour per
number (``threads.alerted_at``, set by the webhook's statement), with no health details."""

from __future__ import annotations

import logging

from bot import metrics
from bot.models import DATABASE_UNAVAILABLE, db, utcnow
from bot.patients import claim_texts, enrolled, record_claims
from bot.phones import mask
from bot.sender import worth_retrying

log = logging.getLogger(__name__)


def alert_text(name: str | None) -> str:
    """What the on-call phone reads: who, by initial only, and where to look."""
    who = f"{name.strip()[0].upper()}." if name and name.strip() else "a number not enrolled"
    return f"Clinic text line: urgent text from a patient ({who}), see the inbox."


def send_alert(app, phone: str) -> None:
    """Text the on-call phone about an urgent text from ``phone``, when it is set."""
    number = app.config.get("ALERT_NUMBER")
    if not number:
        return
    with app.app_context():
        try:
            patient = enrolled(db.session, phone)
            name = patient.name if patient else None
        except DATABASE_UNAVAILABLE:
            name = None
        text = alert_text(name)
        sender = app.extensions["sender"]
        try:  # written down first: if Twilio is busy or away, the clock sends it again
            [claim] = claim_texts(db.session, [(number, text)], "alert", utcnow())
        except DATABASE_UNAVAILABLE:
            db.session.rollback()
            claim = None
        try:
            result = sender.send(number, text)
            if claim is not None:
                record_claims(db.session, [(claim, None, number, result)], utcnow(), "alert")
                db.session.commit()
            else:
                metrics.text_out("alert", "sent" if result.ok else "failed")
        except DATABASE_UNAVAILABLE:
            db.session.rollback()
        finally:
            db.session.remove()
    if result.ok:
        log.info("on-call phone alerted of an urgent text from %s", mask(phone))
    elif claim is not None and not result.unknown and worth_retrying(result):
        log.warning(
            "the on-call phone's alert of an urgent text from %s waits in the outbox: %s",
            mask(phone), result.error or result.status,
        )  # fmt: skip
    else:
        log.error(
            "the on-call phone could not be alerted of an urgent text from %s: %s",
            mask(phone),
            result.error or result.status,
        )
