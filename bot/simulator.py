"""A development page to text the bot as a patient would, without Twilio.

Served only when SIMULATOR is on (by default with ``flask run --debug``). Texts go through
the same code as the webhook, and are logged like real ones under the number typed.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from sqlalchemy import select

from bot.inbound import Inbound
from bot.models import Message, db
from bot.webhook import local_sid, reply_to

bp = Blueprint("simulator", __name__, url_prefix="/simulator")

DEFAULT_PHONE = "+12025550100"


@bp.get("/")
def page():
    phone = request.args.get("phone", DEFAULT_PHONE)
    rows = db.session.scalars(
        select(Message).where(Message.phone == phone).order_by(Message.id.desc()).limit(50)
    ).all()
    return render_template("simulator.html", phone=phone, messages=list(reversed(rows)))


@bp.post("/")
def send():
    phone = request.form.get("phone", DEFAULT_PHONE).strip() or DEFAULT_PHONE
    body = request.form.get("body", "")
    reply_to(Inbound(phone=phone[:32], body=body, message_sid=local_sid("SM-sim-")))
    return redirect(url_for("simulator.page", phone=phone))
