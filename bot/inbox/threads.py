"""The staff inbox: which texts need a person, and the threads staff work through.

The webhook's one statement opens or updates a number's thread (``bot.sms.inbound``), from the
reason worked out here from the answer's kind; the staff pages read and close threads with
the functions below (a session each; the caller commits).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, func, not_, or_, select, update
from sqlalchemy.orm import Session

from bot.models import Message, Patient, StaffUser, Thread, ThreadRead
from bot.patients import records as pt
from bot.sms.outgoing import send_one
from bot.sms.segments import to_plain
from bot.sms.sender import Sender, SendResult, worth_retrying

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


# Who waits on whom. An open thread waits on the patient once staff have replied and no
# text came since; any text of the number (the webhook moves ``last_in_at``) puts it back
# to "needs us"; marked done, it is out of the inbox until a text needs a person again.
STATES = {"needs_us": "Needs us", "waiting": "Waiting on the patient", "done": "Done"}
WAITING = and_(
    Thread.status == "open",
    Thread.with_staff.is_(True),
    Thread.last_staff_at.is_not(None),
    Thread.last_staff_at >= Thread.last_in_at,
)
STATE = case((Thread.status != "open", "done"), (WAITING, "waiting"), else_="needs_us")
# The moment a thread last had news for staff: a text came, or it was opened again.
NEWS_AT = case((Thread.opened_at > Thread.last_in_at, Thread.opened_at), else_=Thread.last_in_at)
# The inbox's lists: one per state, and the open threads a member has in hand.
LISTS = {
    "needs_us": "Needs us",
    "waiting": "Waiting on the patient",
    "mine": "Mine",
    "done": "Done",
}


# Open and with news since this member last opened it (or never opened): on a query of
# threads joined to the member's reads (``_with_reads``).
UNREAD = and_(
    Thread.status == "open", or_(ThreadRead.read_at.is_(None), ThreadRead.read_at < NEWS_AT)
)


def _with_reads(query, user_id: int):
    """Threads, each with this member's reading of it, if any (one row a thread)."""
    return query.select_from(Thread).outerjoin(
        ThreadRead, and_(ThreadRead.thread_id == Thread.id, ThreadRead.user_id == user_id)
    )


def _in_list(name: str, user_id: int):
    if name == "mine":
        return and_(Thread.status == "open", Thread.owner_id == user_id)
    if name == "done":
        return Thread.status == "done"
    if name == "waiting":
        return WAITING
    return and_(Thread.status == "open", not_(WAITING))


@dataclass(frozen=True)
class Row:
    """One line of the inbox, as one staff member sees it."""

    thread: Thread
    patient: Patient | None
    last_text: str | None
    state: str
    unread: bool
    owner: str | None  # the owner's email

    @property
    def reason(self) -> str:
        return REASONS.get(self.thread.reason, self.thread.reason)


PAGE = 50


def inbox(session: Session, user_id: int, which: str = "needs_us", page: int = 1) -> list[Row]:
    """A list of threads (``LISTS``), urgent first, then newest text first, each with its
    state, its owner and whether it is unread for this member."""
    owner = StaffUser.__table__.alias("owner")
    rows = session.execute(
        _with_reads(select(Thread, Patient, Message.body, STATE, UNREAD, owner.c.email), user_id)
        .outerjoin(Patient, (Patient.phone == Thread.phone) & Patient.removed_at.is_(None))
        .outerjoin(Message, Message.id == Thread.last_message_id)
        .outerjoin(owner, owner.c.id == Thread.owner_id)
        .where(_in_list(which, user_id))
        .order_by(Thread.urgent.desc(), Thread.last_in_at.desc(), Thread.id.desc())
        .offset((max(page, 1) - 1) * PAGE)
        .limit(PAGE)
    ).all()
    return [Row(*row) for row in rows]


def counts(session: Session, user_id: int) -> dict[str, int]:
    """How many threads each list holds, and how many open ones are unread for this
    member: for the navigation and the inbox's filters."""
    counted = [func.count().filter(_in_list(name, user_id)) for name in LISTS]
    row = session.execute(_with_reads(select(*counted, func.count().filter(UNREAD)), user_id)).one()
    return {**dict(zip(LISTS, row, strict=False)), "unread": row[-1]}


def news(session: Session, user_id: int) -> dict:
    """What the staff pages' poll reads: this member's unread threads (the urgent ones
    apart, for a notification) and a mark that changes whenever any list would (a text, a
    reply, a thread given, opened or marked done). Counts and times only: no names, no
    words of a text."""
    counted = select(
        func.count().filter(UNREAD),
        func.count().filter(UNREAD, Thread.urgent.is_(True)),
        func.count(),
        func.max(NEWS_AT),
        func.max(Thread.last_staff_at),
        func.max(Thread.assigned_at),
        func.max(Thread.done_at),
        func.count(Thread.owner_id),
        func.count().filter(Thread.status == "open"),
    )
    row = session.execute(_with_reads(counted, user_id)).one()
    unread, urgent, *rest = row
    mark = "|".join("" if value is None else str(value) for value in rest)
    return {"unread": unread, "urgent_unread": urgent, "mark": mark}


def state_of(session: Session, thread: Thread) -> str:
    return session.scalar(select(STATE).where(Thread.id == thread.id))


def thread_of(session: Session, phone: str) -> Thread | None:
    return session.scalar(select(Thread).where(Thread.phone == phone))


def mark_read(session: Session, thread: Thread, user_id: int, now: dt.datetime) -> None:
    """This member has seen the thread as it is now (nobody else's unread changes)."""
    read = session.get(ThreadRead, (user_id, thread.id))
    if read is None:
        session.add(ThreadRead(user_id=user_id, thread_id=thread.id, read_at=now))
    else:
        read.read_at = max(read.read_at, now)


def assign(session: Session, thread: Thread, owner_id: int | None, now: dt.datetime) -> None:
    """Give the thread to a staff member (None: to nobody). The caller checks the member
    may have it (an active account) and commits."""
    thread.owner_id = owner_id
    thread.assigned_at = now if owner_id is not None else None


def owners(session: Session) -> list[StaffUser]:
    """The staff a thread can be given to: active accounts, by email."""
    return list(
        session.scalars(
            select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.email)
        )
    )


def mark_done(session: Session, thread: Thread, by: str, now: dt.datetime) -> None:
    """Out of the inbox until the number texts something that needs a person again."""
    session.execute(
        update(Thread)
        .where(Thread.id == thread.id)
        .values(status="done", urgent=False, with_staff=False, done_at=now, done_by=by)
    )


# --- staff replies -------------------------------------------------------------------------

MAX_REPLY_CHARS = 1600  # Twilio's limit for one message


class ReplyRefused(ValueError):
    """A reply that must not be sent; the message says why, for the staff member."""


def send_reply(
    session: Session,
    sender: Sender,
    phone: str,
    body: str,
    by: str,
    now: dt.datetime,
    by_id: int | None = None,
) -> SendResult:
    """Send a staff member's reply from the clinic's number through the app's one sender,
    claimed before it is sent (``claim_texts`` commits it) and recorded with Twilio's
    answer and who sent it (``by``; ``by_id``: their account, for whom the thread is then
    read). A reply on its way moves the thread to "waiting on the patient". Refused
    (``ReplyRefused``) for an empty or too long text, a number that opted out, or one known
    not to take texts. The caller commits."""
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
        thread = Thread(phone=phone, status="open", urgent=False, reason="staff",
                        with_staff=True, last_in_at=now, opened_at=now)  # fmt: skip
        session.add(thread)
        session.flush()
    else:
        if thread.status != "open":
            thread.status, thread.reason, thread.opened_at = "open", "staff", now
            thread.urgent, thread.done_at, thread.done_by = False, None, None
        thread.with_staff = True
    if result.ok or result.unknown or worth_retrying(result):
        thread.last_staff_at = now  # on its way: the thread now waits on the patient
    if by_id is not None:
        mark_read(session, thread, by_id, now)
    return result


def last_text_in(session: Session, thread: Thread, history) -> Message | None:
    """The text that last brought the thread to the inbox (its page quotes it first), if
    it is of ``history`` (records.History: on a recycled number, never the person before's)."""
    if thread.last_message_id is None:
        return None
    return session.scalar(
        select(Message).where(
            Message.id == thread.last_message_id, history.holds(Message.created_at)
        )
    )


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
