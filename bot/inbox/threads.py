"""The staff inbox: which texts need a person, and the threads staff work through.

The webhook's one statement opens or updates a number's thread (``bot.sms.inbound``), from the
reason worked out here from the answer's kind; the staff pages read and close threads with
the functions below (a session each; the caller commits).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.models import Message, Patient, Thread
from bot.patients import records as pt
from bot.sms.outgoing import send_one
from bot.sms.segments import to_plain
from bot.sms.sender import Sender, SendResult

# Why a thread is in the inbox, most serious first; the first three are urgent.
REASONS = {
    "red_flag": "Red-flag symptoms",
    "pain_score": "Pain score 7 or more",
    "exercise_pain": "Pain during an exercise",
    "pain": "Pain report",
    "person": "Asks for a person",
    "question": "Question for the clinic",
    "unknown": "The bot could not answer",
    "follow_up": "New text in an open thread",
    "staff": "Staff texted the patient",
    "undelivered": "The carrier did not deliver our texts",
}
URGENT = frozenset({"red_flag", "pain_score", "exercise_pain"})
# The reply logic's kinds (joined by "+" when a text asks several things) and the reason
# each gives a thread. Spanish answers are "spanish+<kind>".
REASON_OF_KIND = {
    "emergency": "red_flag",
    "warning_sign": "red_flag",
    "pain": "exercise_pain",
    "pain_general": "pain",
    "phone": "person",
    "appointment": "person",
    "ask_clinic": "question",
    "other_body": "question",
    "unknown": "unknown",
    "cita": "person",
}
ORDER = list(REASONS)
# What the bot's answers of these kinds did, as the thread's page says it ("told to call
# 911 at 6:10 AM"): the desk sees what the patient was already told before calling.
ACTIONS = {
    "emergency": "Told to call 911 now",
    "warning_sign": "Told to call their doctor today, or 911 if it is severe",
    "pain": "Told to stop the exercise that hurts and call us",
    "pain_general": "Told to stop any exercise that hurts; 911 if severe",
    "done_high_pain": "Told to stop the exercises and call us (pain 7 or more)",
    "pain_pause": "Reminders paused for pain; told to call us before going on",
    "opt_out": "The number opted out (STOP): no more texts",
}
CRISIS_LINE = "988"  # the crisis answer (kind "emergency") gives the crisis line first
# Answers that stand while a thread is open with staff: safety, the carriers' keywords and
# the patient's own commands. Anything else is answered with "a staff member will reply".
KEPT_WHILE_OPEN = frozenset(
    {"emergency", "warning_sign", "pain", "pain_general", "help", "opt_out", "opt_in"}
    | {"done", "done_again", "done_high_pain", "pain_pause", "later", "later_not_sent"}
    | {"later_again", "later_refused", "time", "time_refused", "pause", "resume"}
    | {"resume_refused"}
)


def reason_for(kind: str) -> str | None:
    """The inbox reason of an answer's kind, the most serious of its parts; None: the
    bot's answer was enough."""
    found = [REASON_OF_KIND[part] for part in kind.split("+") if part in REASON_OF_KIND]
    return min(found, key=ORDER.index) if found else None


def kept_while_open(kind: str) -> bool:
    return any(part in KEPT_WHILE_OPEN for part in kind.split("+"))


@dataclass(frozen=True)
class Row:
    """One line of the inbox."""

    thread: Thread
    patient: Patient | None
    last_text: str | None

    @property
    def reason(self) -> str:
        return REASONS.get(self.thread.reason, self.thread.reason)


PAGE = 50


def inbox(session: Session, status: str = "open", page: int = 1) -> list[Row]:
    """Threads, urgent first, then newest text first; ``status``: "open" or "done"."""
    rows = session.execute(
        select(Thread, Patient, Message.body)
        .outerjoin(Patient, (Patient.phone == Thread.phone) & Patient.removed_at.is_(None))
        .outerjoin(Message, Message.id == Thread.last_message_id)
        .where(Thread.status == status)
        .order_by(Thread.urgent.desc(), Thread.last_in_at.desc(), Thread.id.desc())
        .offset((max(page, 1) - 1) * PAGE)
        .limit(PAGE)
    ).all()
    return [Row(thread, patient, body) for thread, patient, body in rows]


def counts(session: Session) -> dict[str, int]:
    """Open, unread among them, and done: for the navigation and the inbox's filters."""
    row = session.execute(
        select(
            func.count().filter(Thread.status == "open"),
            func.count().filter(Thread.status == "open", Thread.unread.is_(True)),
            func.count().filter(Thread.status == "done"),
        )
    ).one()
    return {"open": row[0], "unread": row[1], "done": row[2]}


def unread_count(session: Session) -> int:
    return session.scalar(
        select(func.count()).where(Thread.status == "open", Thread.unread.is_(True))
    )


def thread_of(session: Session, phone: str) -> Thread | None:
    return session.scalar(select(Thread).where(Thread.phone == phone))


def mark_read(session: Session, thread: Thread) -> None:
    if thread.unread:
        thread.unread = False


def mark_done(session: Session, thread: Thread, by: str, now: dt.datetime) -> None:
    """Out of the inbox until the number texts something that needs a person again."""
    session.execute(
        update(Thread)
        .where(Thread.id == thread.id)
        .values(
            status="done", urgent=False, unread=False, with_staff=False, done_at=now, done_by=by
        )
    )


# --- staff replies -------------------------------------------------------------------------

MAX_REPLY_CHARS = 1600  # Twilio's limit for one message


class ReplyRefused(ValueError):
    """A reply that must not be sent; the message says why, for the staff member."""


def send_reply(
    session: Session, sender: Sender, phone: str, body: str, by: str, now: dt.datetime
) -> SendResult:
    """Send a staff member's reply from the clinic's number through the app's one sender,
    claimed before it is sent (``claim_texts`` commits it) and recorded with Twilio's
    answer and who sent it. Refused (``ReplyRefused``) for an empty or too long text, a
    number that opted out, or one known not to take texts. The caller commits."""
    text = to_plain(body).strip()
    if not text:
        raise ReplyRefused("Type a reply first.")
    if any(ord(ch) < 0x20 and ch not in "\n\r\t" for ch in text):
        raise ReplyRefused("The reply holds a control character (such as NUL): retype it.")
    if len(text) > MAX_REPLY_CHARS:
        raise ReplyRefused(
            f"The reply is {len(text)} characters; one text holds {MAX_REPLY_CHARS} at most."
        )
    if pt.opted_out_numbers(session, [phone]):
        raise ReplyRefused(
            "Not sent: this number opted out of texts (it texted STOP or its carrier said "
            "so). It can be texted again only after the patient texts START; call instead."
        )
    patient = pt.enrolled(session, phone)
    if patient is not None and patient.number_invalid:
        raise ReplyRefused("Not sent: Twilio said this number cannot take texts. Call instead.")
    patient_id = patient.id if patient else None
    result = send_one(session, sender, phone, text, "staff_reply", now, patient_id, sent_by=by)
    thread = thread_of(session, phone)
    if thread is None:
        session.add(
            Thread(phone=phone, status="open", urgent=False, reason="staff", unread=False,
                   with_staff=True, last_in_at=now, opened_at=now)
        )  # fmt: skip
    else:
        if thread.status != "open":
            thread.status, thread.reason, thread.opened_at = "open", "staff", now
            thread.urgent, thread.done_at, thread.done_by = False, None, None
        thread.with_staff = True
    return result


def bot_actions(session: Session, thread: Thread) -> list[tuple[dt.datetime, str]]:
    """What the bot's answers did since the thread opened, oldest first: (when, what)."""
    rows = session.execute(
        select(Message.created_at, Message.kind, Message.body)
        .where(
            Message.phone == thread.phone,
            Message.direction == "out",
            Message.created_at >= thread.opened_at,
            Message.sent_by.is_(None),
        )
        .order_by(Message.id)
    ).all()
    actions = []
    for at, kind, body in rows:
        for part in (kind or "").split("+"):
            what = ACTIONS.get(part)
            if part == "emergency" and CRISIS_LINE in (body or ""):
                what = "Given the crisis line (988), and 911 if in danger"
            if what:
                actions.append((at, what))
    return actions
