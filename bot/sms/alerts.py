"""The on-call phone (``ALERT_NUMBER``): told of an urgent text, at most once an hour per
number (``threads.alerted_at``, set by the webhook's statement), with no health details.
Enrolled patients' alerts are never capped; numbers not enrolled page it at most
``ALERTS_FROM_STRANGERS_PER_HOUR`` times an hour (outsiders texting red flags from many
numbers), the rest held and counted on the inbox page."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select, update

from bot.models import DATABASE_UNAVAILABLE, Message, Thread, db, utcnow
from bot.ops import metrics
from bot.patients.records import enrolled
from bot.sms.outgoing import claim_texts, record_claims
from bot.sms.phones import mask
from bot.sms.sender import worth_retrying

log = logging.getLogger(__name__)


FROM_A_STRANGER = "Clinic text line: urgent text from a number not enrolled"


def alert_text(name: str | None, phone: str, link: str | None = None) -> str:
    """What the on-call phone reads, with no health details: who, by initial and the
    number's last two digits (two patients called J. are told apart), and the thread's
    page (opened after signing in), else "see the inbox"."""
    ending = f"number ending {phone[-2:]}"
    if name and name.strip():
        who = f"Clinic text line: urgent text from a patient ({name.strip()[0].upper()}., {ending})"
    else:
        who = f"{FROM_A_STRANGER} ({ending})"
    return f"{who}: {link}" if link else f"{who}, see the inbox."


def thread_link(base_url: str | None, thread_id: int | None) -> str | None:
    """The thread's page at PUBLIC_BASE_URL (the inbox blueprint's /inbox/<id>), if set."""
    if not base_url or thread_id is None:
        return None
    return f"{base_url.rstrip('/')}/inbox/{thread_id}"


HELD = "held"  # an alert not sent: too many from numbers not enrolled this hour


def strangers_paged(session, now: dt.datetime) -> int:
    """Alerts of urgent texts from numbers not enrolled in the last hour (sent or going)."""
    return session.scalar(
        select(func.count()).select_from(Message).where(
            Message.kind == "alert", Message.body.startswith(FROM_A_STRANGER),
            Message.created_at >= now - dt.timedelta(hours=1), Message.status != HELD,
        )
    )  # fmt: skip


def held_today(session, now: dt.datetime) -> int:
    """Alerts held in the last day, for the inbox to say so."""
    return session.scalar(
        select(func.count()).select_from(Message).where(
            Message.kind == "alert", Message.status == HELD,
            Message.created_at >= now - dt.timedelta(days=1),
        )
    )  # fmt: skip


def send_alert(app, phone: str) -> None:
    """Text the on-call phone about an urgent text from ``phone``, when it is set."""
    number = app.config.get("ALERT_NUMBER")
    if not number:
        return
    with app.app_context():
        now = utcnow()
        try:
            patient = enrolled(db.session, phone)
            name = patient.name if patient else None
            cap = app.config["ALERTS_FROM_STRANGERS_PER_HOUR"]
            held = patient is None and strangers_paged(db.session, now) >= cap
            thread_id = db.session.scalar(select(Thread.id).where(Thread.phone == phone))
        except DATABASE_UNAVAILABLE:  # safety first: paged, uncounted
            db.session.rollback()
            name, held, thread_id = None, False, None
        text = alert_text(name, phone, thread_link(app.config.get("PUBLIC_BASE_URL"), thread_id))
        if held:  # outsiders cannot page the on-call phone all night: shown in the inbox
            [claim] = claim_texts(db.session, [(number, text)], "alert", now)
            db.session.execute(update(Message).where(Message.id == claim).values(status=HELD))
            db.session.commit()
            db.session.remove()
            metrics.text_out("alert", "held")
            log.warning("the on-call phone not paged for %s: %d numbers not enrolled this hour",
                        mask(phone), cap)  # fmt: skip
            return
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
