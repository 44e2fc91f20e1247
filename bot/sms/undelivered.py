"""Texts the carrier did not deliver, as Twilio reports them on the status callback
(30003 unreachable, 30005 unknown number, 30006 landline, 30007 filtered as spam: the
clinic's number unregistered for A2P 10DLC, or its texts flagged; 30008 unknown error):
counted by code, shown to staff on the patient's page and the thread ("the carrier has not
delivered our texts to this number since Dec 2"), and a number whose last
``UNDELIVERED_PAUSE_AFTER`` reminders were all undelivered has its reminders paused, with
a thread in the inbox: texting on into a filter only deepens it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, insert, select, update

from bot.models import Message, Patient, ReminderDelivery, Thread
from bot.ops import metrics
from bot.reminders.schedule import set_paused

CARRIER_CODES = frozenset({30003, 30005, 30006, 30007, 30008})
UNDELIVERED = frozenset({"undelivered", "failed"})
PAUSE_DETAIL = "Paused: the carrier did not deliver the last reminders"

messages, patients, threads = Message.__table__, Patient.__table__, Thread.__table__
deliveries = ReminderDelivery.__table__


def carrier_refused(status: str, code: int | None) -> bool:
    return status in UNDELIVERED and code in CARRIER_CODES


def record_status(conn: Connection, sid: str, status: str, code: int | None, pause_after: int,
                  now: dt.datetime) -> bool:  # fmt: skip
    """Twilio's delivery status for a text the app sent, on its message row (and a daily
    reminder's row, for the dashboard's "delivered"); a refusal by the carrier
    ``reported``. Whether the carrier refused it."""
    conn.execute(
        update(messages).where(messages.c.message_sid == sid).values(status=status, error_code=code)
    )
    conn.execute(
        update(deliveries).where(deliveries.c.message_sid == sid).values(delivery_status=status)
    )
    refused = carrier_refused(status, code)
    if refused:
        reported(conn, sid, status, code, pause_after, now)
    return refused


def reported(conn: Connection, sid: str, status: str, code: int | None, pause_after: int,
             now: dt.datetime) -> None:  # fmt: skip
    """A status callback's report of a text the carrier refused: counted; and when it was
    the last of ``pause_after`` reminders in a row to that number all refused, the
    patient's reminders paused (0: never) and the thread opened for staff."""
    metrics.undelivered(code)
    row = conn.execute(
        select(messages.c.phone, messages.c.kind).where(messages.c.message_sid == sid)
    ).first()
    if row is None or row.kind != "reminder" or pause_after < 1:
        return
    last = conn.execute(
        select(messages.c.status, messages.c.error_code)
        .where(messages.c.phone == row.phone, messages.c.kind == "reminder")
        .order_by(messages.c.id.desc())
        .limit(pause_after)
    ).all()
    if len(last) < pause_after or not all(carrier_refused(s, c) for s, c in last):
        return
    patient = conn.execute(
        select(patients.c.id).where(
            patients.c.phone == row.phone, patients.c.removed_at.is_(None),
            patients.c.paused.is_(False),
        )
    ).first()  # fmt: skip
    if patient is None:
        return
    detail = f"{PAUSE_DETAIL} ({pause_after}, error {code})"
    set_paused(conn, patient.id, True, detail, ("app", "the app"), now)
    _open_thread(conn, row.phone, now)


def _open_thread(conn: Connection, phone: str, now: dt.datetime) -> None:
    found = conn.execute(select(threads.c.id, threads.c.status).where(threads.c.phone == phone))
    thread = found.first()
    if thread is None:
        conn.execute(
            insert(threads).values(
                phone=phone, status="open", urgent=False, reason="undelivered",
                with_staff=False, last_in_at=now, opened_at=now,
            )
        )  # fmt: skip
    elif thread.status != "open":
        conn.execute(
            update(threads).where(threads.c.id == thread.id).values(
                status="open", reason="undelivered", opened_at=now, done_at=None,
                done_by=None,
            )
        )  # fmt: skip


def since(session, phone: str) -> dt.datetime | None:
    """When the carrier began refusing our texts to this number: the first of the run of
    refused texts that the newest outgoing text ends (None: the newest was not refused)."""
    rows = session.execute(
        select(messages.c.created_at, messages.c.status, messages.c.error_code)
        .where(messages.c.phone == phone, messages.c.direction == "out",
               messages.c.status.is_not(None))
        .order_by(messages.c.id.desc())
        .limit(50)
    ).all()  # fmt: skip
    first = None
    for row in rows:
        if not carrier_refused(row.status, row.error_code):
            break
        first = row.created_at
    return first
