"""Database models (SQLAlchemy 2.0 typed mappings). Times are stored in UTC."""

from __future__ import annotations

import datetime as dt

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BigInteger, DateTime, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Integer keys that still autoincrement on SQLite (BIGINT keys do not there).
BigId = BigInteger().with_variant(Integer, "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)


class Message(db.Model):
    """Every text in or out, as it was sent or received."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(32))  # the patient's number, E.164
    direction: Mapped[str] = mapped_column(String(3))  # "in" or "out"
    body: Mapped[str] = mapped_column(Text)
    # Twilio's MessageSid of an inbound text: unique, so a retried webhook is answered
    # from the log instead of being logged twice.
    message_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # For a reply: the MessageSid of the inbound text it answers.
    reply_to_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str | None] = mapped_column(String(64))  # what the reply answered
    status: Mapped[str | None] = mapped_column(String(20))  # delivery status, when known
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_messages_phone_created_at", "phone", "created_at"),)


class ConsentEvent(db.Model):
    """Opt-outs and opt-ins, kept as history: rows are added, never changed."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))  # "opt_out" or "opt_in"
    keyword: Mapped[str] = mapped_column(String(40))  # what the patient texted, or "staff"
    source: Mapped[str] = mapped_column(String(16))  # "sms" or "staff"
    message_sid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_consent_events_phone_id", "phone", "id"),)
