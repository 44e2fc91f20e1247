"""Texts sent once that must not be lost, the on-call alert and the staff's replies: when
Twilio was too busy (429), failing (5xx) or out of reach, they wait in the outbox (their
conversation row's status ``outbox``) and the clock sends them again every minute, until
they go or ``OUTBOX_GIVE_UP_HOURS`` pass (then "failed", for staff to see).

A text whose answer was lost (a timeout mid-request) stays claimed: the clock first asks
Twilio's message list whether it went (``patients.reconcile_claims``), after
``CLAIM_TIMEOUT``; found, it is sent; not found, it joins the outbox. Nothing is
sent twice: each row is claimed in the database before it is sent again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.models import Message
from bot.patients import records as pt
from bot.sms import outgoing
from bot.sms.sender import Limits, Sender, worth_retrying


@dataclass
class OutboxReport:
    found: int = 0  # claims whose answer was lost, found at Twilio: sent
    sent: int = 0  # sent again from the outbox
    waiting: int = 0  # still in the outbox (Twilio still busy)
    given_up: int = 0  # in the outbox too long: failed

    def line(self) -> str:
        return (
            f"outbox: found sent {self.found}, sent again {self.sent}, still waiting "
            f"{self.waiting}, given up {self.given_up}"
        )


def run(
    session: Session,
    sender: Sender,
    limits: Limits,
    now: dt.datetime,
    claim_timeout: dt.timedelta,
    give_up: dt.timedelta,
) -> OutboxReport:
    """Reconcile lost answers, then send what waits. Commits as it goes."""
    report = OutboxReport()
    report.found, _ = outgoing.reconcile_claims(session, sender, limits, now, claim_timeout)
    waiting = session.execute(
        select(Message.id, Message.phone, Message.body, Message.kind, Message.created_at)
        .where(Message.status == outgoing.OUTBOX)
        .order_by(Message.id)
    ).all()
    for row in waiting:
        if row.created_at <= now - give_up:
            session.execute(
                update(Message)
                .where(Message.id == row.id, Message.status == outgoing.OUTBOX)
                .values(status="failed")
            )
            session.commit()
            report.given_up += 1
            continue
        claimed = session.execute(
            update(Message)
            .where(Message.id == row.id, Message.status == outgoing.OUTBOX)
            .values(status=outgoing.CLAIMED)
        ).rowcount
        session.commit()  # claimed before it is sent: another clock sends nothing twice
        if not claimed:
            continue
        result = sender.send(row.phone, row.body)
        patient = pt.enrolled(session, row.phone)
        outgoing.record_claims(
            session, [(row.id, patient.id if patient else None, row.phone, result)], now, row.kind
        )
        session.commit()
        if result.ok:
            report.sent += 1
        elif worth_retrying(result):  # back in the outbox (record_claims)
            report.waiting += 1
    return report
