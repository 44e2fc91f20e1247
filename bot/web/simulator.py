"""A development page to text the bot as a patient would, without Twilio.

Served only when SIMULATOR is on (by default with ``flask run --debug``). Texts go through
the same code as the webhook, and are logged like real ones under the number typed. The page
needs no sign-in, so it shows only the texts typed on it (their MessageSids begin with
``SM-sim-``), never a patient's real conversation.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from sqlalchemy import or_, select

from bot.models import Message, db
from bot.sms.answering import answer, local_sid
from bot.sms.inbound import Inbound

bp = Blueprint("simulator", __name__, url_prefix="/simulator")

DEFAULT_PHONE = "+12025550100"
SIM = "SM-sim-"


@bp.get("/")
def page():
    phone = request.args.get("phone", DEFAULT_PHONE)
    typed_here = or_(Message.message_sid.startswith(SIM), Message.reply_to_sid.startswith(SIM))
    rows = db.session.scalars(
        select(Message)
        .where(Message.phone == phone, typed_here)
        .order_by(Message.id.desc())
        .limit(50)
    ).all()
    return render_template("simulator.html", phone=phone, messages=list(reversed(rows)))


@bp.post("/")
def send():
    phone = request.form.get("phone", DEFAULT_PHONE).strip() or DEFAULT_PHONE
    body = request.form.get("body", "")
    answer(Inbound(phone=phone[:32], body=body, message_sid=local_sid(SIM)))
    return redirect(url_for("simulator.page", phone=phone))
