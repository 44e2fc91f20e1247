"""Saved replies: what the desk sends often, written once by an admin in English and
(optionally) Spanish, with merge fields filled for the patient when a member picks one.

Fields: ``{first_name}`` (the patient's), ``{clinic_phone}`` (the clinic page's),
``{reminder_time}`` (the patient's, "6:00 PM"). A reply whose field has no value for this
number (a number not enrolled has no first name) is offered as not available, never sent
with a hole in it. The text is chosen in the number's language: the patient's, else the
one the number asked for by text, else English; Spanish falls back to English when the
reply has no Spanish text (and says so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.inbox.threads import MAX_REPLY_CHARS
from bot.models import Patient, PhoneLanguage, SavedReply, utcnow
from bot.patients.records import readable_time
from bot.sms.segments import count_segments, to_plain

FIELDS = {
    "first_name": "the patient's first name",
    "clinic_phone": "the clinic's phone number",
    "reminder_time": "the patient's reminder time",
}
FIELD = re.compile(r"\{([^{}]*)\}")
MAX_TITLE = 80


class SavedReplyError(ValueError):
    """A saved reply that cannot be kept as written; the message says why, for the admin."""


@dataclass(frozen=True)
class Offered:
    """A saved reply as offered in one conversation's reply box."""

    id: int
    title: str
    text: str | None  # filled in; None: not available here (``why_not``)
    segments: int
    language: str  # what ``text`` is written in
    why_not: str | None = None


def check(body: str, where: str) -> str:
    """The body as kept (spaces trimmed), or SavedReplyError naming what is wrong."""
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise SavedReplyError(f"{where}: write the reply.")
    if any(ord(ch) < 0x20 and ch not in "\n\t" for ch in body):
        raise SavedReplyError(f"{where}: it holds a control character; retype it.")
    unknown = sorted({name for name in FIELD.findall(body) if name not in FIELDS})
    if unknown:
        known = ", ".join("{" + name + "}" for name in FIELDS)
        raise SavedReplyError(
            f"{where}: {', '.join('{' + n + '}' for n in unknown)} is not a field ({known})."
        )
    if FIELD.sub("", body).count("{") or FIELD.sub("", body).count("}"):
        raise SavedReplyError(
            f"{where}: a brace without its pair; fields are written {{first_name}}."
        )
    if len(body) > MAX_REPLY_CHARS:
        raise SavedReplyError(f"{where}: {len(body)} characters; a text holds {MAX_REPLY_CHARS}.")
    return body


def save(
    session: Session,
    reply: SavedReply | None,
    title: str,
    body_en: str,
    body_es: str,
    by: str,
) -> SavedReply:
    """Add (``reply`` None) or change a saved reply. The caller commits."""
    title = " ".join((title or "").split())
    if not title:
        raise SavedReplyError("Title: give the reply a short name.")
    if len(title) > MAX_TITLE:
        raise SavedReplyError(f"Title: {len(title)} characters; at most {MAX_TITLE}.")
    same = session.scalar(select(SavedReply).where(SavedReply.title == title))
    if same is not None and same is not reply:
        raise SavedReplyError(f"Title: a saved reply is called {title!r} already.")
    english = check(body_en, "English")
    spanish = check(body_es, "Spanish") if (body_es or "").strip() else None
    if reply is None:
        reply = SavedReply(title=title, body_en=english, body_es=spanish, updated_by=by)
        session.add(reply)
    reply.title, reply.body_en, reply.body_es = title, english, spanish
    reply.updated_at, reply.updated_by = utcnow(), by
    session.flush()
    return reply


def all_replies(session: Session) -> list[SavedReply]:
    return list(session.scalars(select(SavedReply).order_by(SavedReply.title)))


def language_of(session: Session, phone: str, patient: Patient | None) -> str:
    if patient is not None:
        return patient.language
    asked = session.get(PhoneLanguage, phone)
    return asked.language if asked else "en"


def fill(body: str, values: dict[str, str | None]) -> str | None:
    """The body with its fields filled; None when one has no value here."""
    missing = [name for name in FIELD.findall(body) if not values.get(name)]
    if missing:
        return None
    return FIELD.sub(lambda m: values[m.group(1)], body)


def offered(
    session: Session, clinic_phone: str, phone: str, patient: Patient | None
) -> list[Offered]:
    """Every saved reply, filled in for this number, in its language."""
    language = language_of(session, phone, patient)
    values = {
        "first_name": patient.name.split()[0] if patient and patient.name.split() else None,
        "clinic_phone": clinic_phone,
        "reminder_time": readable_time(patient.reminder_time) if patient else None,
    }
    result = []
    for reply in all_replies(session):
        body, written = reply.body_en, "en"
        if language == "es" and reply.body_es:
            body, written = reply.body_es, "es"
        text = fill(body, values)
        if text is None:
            needs = [FIELDS[n] for n in FIELD.findall(body) if not values.get(n)]
            why = f"needs {needs[0]}: this number is not an enrolled patient's"
            result.append(Offered(reply.id, reply.title, None, 0, written, why))
            continue
        segments = count_segments(to_plain(text)).segments
        result.append(Offered(reply.id, reply.title, text, segments, written))
    return result
