"""Texts out, whoever sends them (an invitation, a reminder, an alert, a staff reply): each
is claimed (written down, committed) before it goes to Twilio and recorded with Twilio's
answer, so a text Twilio accepted is on record whatever happens to the process; a claim
left behind is reconciled with Twilio before the number gets that text again; Twilio's
refusals say what they mean about the number (an opt-out at the carrier, a bad number).
``send_one`` is the one way a single text goes out."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from bot.models import ConsentEvent, Message, Patient
from bot.ops import metrics
from bot.sms.sender import BAD_NUMBERS, UNSUBSCRIBED, Sender, SendResult, worth_retrying


def send_one(
    session: Session,
    sender: Sender,
    phone: str,
    body: str,
    kind: str,
    now: dt.datetime,
    patient_id: int | None = None,
    sent_by: str | None = None,
) -> SendResult:
    """Send one text: claimed first (this commits the claim), then sent, then recorded with
    Twilio's answer (the caller commits the answer)."""
    [claim] = claim_texts(session, [(phone, body)], kind, now, sent_by=sent_by)
    result = sender.send(phone, body)
    record_claims(session, [(claim, patient_id, phone, result)], now, kind)
    return result


CLAIMED = "claimed"  # a text written down before it is sent, its answer not yet recorded
# A text sent once that did not go (Twilio busy or away), waiting for the clock to send it
# again (bot/outbox.py): the on-call alert and staff replies, which must not be lost.
OUTBOX = "outbox"
RETRIED_KINDS = frozenset({"alert", "staff_reply"})


def claim_texts(
    session: Session, texts: list[tuple[str, str]], kind: str, now, sent_by: str | None = None
) -> list[int]:
    """Write down texts (phone, body) about to be sent, as "claimed" rows of the
    conversation, and commit: whatever happens to this process once they are sent, the
    texts are on record, and a claim left behind is reconciled with Twilio
    (``reconcile_claims``) before the number gets that text again. Their ids, in order."""
    if not texts:
        return []
    rows = [
        {"phone": phone, "direction": "out", "body": body, "message_sid": None, "kind": kind,
         "status": CLAIMED, "created_at": now, "sent_by": sent_by}
        for phone, body in texts
    ]  # fmt: skip
    ids = session.scalars(
        insert(Message).returning(Message.id, sort_by_parameter_order=True), rows
    ).all()
    session.commit()
    return list(ids)


def record_claims(
    session: Session,
    claims: list[tuple[int, int, str, SendResult]],
    now: dt.datetime,
    kind: str,
) -> None:
    """Twilio's answers for claimed texts of a kind, as (message id, patient id, phone,
    result): the MessageSid and status of an accepted one, "failed" for a refused one (an
    alert or a staff reply Twilio was too busy for, or could not be reached for: to the
    outbox); one whose answer was lost stays claimed, for reconciliation. The caller
    commits."""
    for message_id, _, _, result in claims:
        metrics.text_out(kind, result_label(result))
        if result.unknown:
            continue
        failed = OUTBOX if kind in RETRIED_KINDS and worth_retrying(result) else "failed"
        session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(message_sid=result.sid, status=result.status if result.ok else failed)
        )
    record_refusals(session, [(pid, phone, r.error_code) for _, pid, phone, r in claims], now)


def reconcile_claims(
    session: Session, sender: Sender, limits, now: dt.datetime, older_than: dt.timedelta
) -> tuple[int, int]:
    """Claimed texts older than ``older_than`` (their process died between sending and
    recording, or Twilio's answer was lost): Twilio is asked whether it accepted each;
    found, it is recorded as sent; not found, as not sent (the number may get it again; an
    alert or a staff reply goes to the outbox); no answer: left claimed. Returns (found
    sent, not sent). Commits."""
    stale = session.execute(
        select(Message.id, Message.phone, Message.body, Message.created_at, Message.kind)
        .where(Message.status == CLAIMED, Message.created_at <= now - older_than)
        .order_by(Message.id)
    ).all()
    session.commit()  # no transaction open while Twilio is asked (nor a stale snapshot)
    if not stale:
        return 0, 0
    answers = sender.find_sent_many([(r.phone, r.body, r.created_at) for r in stale], limits)
    found = not_sent = 0
    for row, answer in zip(stale, answers, strict=True):
        if answer.error:
            continue
        again = OUTBOX if row.kind in RETRIED_KINDS else "not sent"
        values = {"message_sid": answer.sid, "status": "sent"} if answer.sid else {
            "status": again
        }  # fmt: skip
        session.execute(
            update(Message).where(Message.id == row.id, Message.status == CLAIMED).values(values)
        )
        found, not_sent = (found + 1, not_sent) if answer.sid else (found, not_sent + 1)
    session.commit()
    return found, not_sent


def result_label(result: SendResult) -> str:
    """What became of a text, for the metrics: sent, failed, or unknown (answer lost)."""
    return "unknown" if result.unknown else "sent" if result.ok else "failed"


def record_refusals(session: Session, refusals: list[tuple[int, str, int | None]], now) -> None:
    """What Twilio's error codes say about numbers, for (patient id, phone, code) triples:
    21610 (unsubscribed at the carrier) is an opt-out; 21211/21614 an invalid number."""
    opted_out = [phone for _, phone, code in refusals if code == UNSUBSCRIBED]
    invalid = [patient_id for patient_id, _, code in refusals if code in BAD_NUMBERS]
    for phone in opted_out:
        session.add(
            ConsentEvent(
                phone=phone,
                action="opt_out",
                keyword="carrier (21610)",
                source="twilio",
                created_at=now,
            )
        )
    if invalid:
        session.execute(update(Patient).where(Patient.id.in_(invalid)).values(number_invalid=True))


# --- deleting a patient's data -------------------------------------------------------------
