"""Staff pages of the inbox: the threads that need a person, a thread's conversation, and
replies by text (from a thread, or from the patient's page)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from bot.inbox import saved_replies as saved
from bot.inbox import threads as th
from bot.models import DATABASE_UNAVAILABLE, Patient, StaffUser, Thread, db, utcnow
from bot.patients import records as pt
from bot.sms import undelivered
from bot.sms.alerts import held_today
from bot.sms.phones import staff_facing
from bot.sms.segments import GSM7_BASIC, GSM7_EXTENSION, SPANISH_ACCENTS
from bot.sms.sender import worth_retrying
from bot.web import audit
from bot.web.forms import ActionForm, ReplyForm, earlier_than, submitted
from bot.web.guards import require_sign_in

bp = Blueprint("inbox", __name__)
bp.before_request(require_sign_in)


@bp.app_context_processor
def unread():
    """The unread count in the navigation of every staff page (and the urgent ones among
    them, from which the page's poll tells what is new)."""
    if not current_user.is_authenticated:
        return {}
    try:
        news = th.news(db.session, current_user.id)
        return {"inbox_unread": news["unread"], "inbox_urgent": news["urgent_unread"]}
    except DATABASE_UNAVAILABLE:  # the page itself says so (503)
        db.session.rollback()
        return {}


# For the reply box's counter (bot/static/reply.js): the alphabet as the server has it.
# Spanish's á, í, ó, ú and their plain letters (``SPANISH_ACCENTS``), offered in their stead.
SMS_ALPHABET = {
    "gsm7_basic": "".join(sorted(GSM7_BASIC)),
    "gsm7_extension": "".join(sorted(GSM7_EXTENSION)),
    "accented": "".join(chr(c) for c in SPANISH_ACCENTS),
    "plain_letters": "".join(chr(c) for c in SPANISH_ACCENTS.values()),
}
bp.app_context_processor(lambda: SMS_ALPHABET)


@bp.get("/inbox")
def inbox():
    which = request.args.get("list", "")
    if which not in th.LISTS:  # the older address of the done list: ?status=done
        which = "done" if request.args.get("status") == "done" else "needs_us"
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 10_000 else 1
    rows = th.inbox(db.session, current_user.id, which, page)
    return render_template(
        "inbox.html",
        rows=rows,
        which=which,
        lists=th.LISTS,
        states=th.STATES,
        page=page,
        page_size=th.PAGE,
        counts=th.counts(db.session, current_user.id),
        mark=th.news(db.session, current_user.id)["mark"],
        urgent=th.URGENT,
        alerts_held=held_today(db.session, utcnow()),
        alerts_cap=current_app.config["ALERTS_FROM_STRANGERS_PER_HOUR"],
    )


@bp.get("/inbox/news")
def news():
    """For the staff pages' poll (bot/static/inbox.js): counts and a mark, no patient data.
    It does not keep a session alive (``signin.load_user``): an open tab is not a person."""
    response = jsonify(th.news(db.session, current_user.id))
    response.headers["Cache-Control"] = "no-store"
    return response


def _thread(thread_id: int) -> Thread:
    """The thread, or 404; a removed patient's (the number not enrolled again) only for
    admins, as the removed patient's own page."""
    thread = db.session.get(Thread, thread_id)
    if thread is None:
        abort(404)
    if not current_user.is_admin and _removed_patient_id(thread.phone) is not None:
        abort(404)
    return thread


def _removed_patient_id(phone: str) -> int | None:
    """The removed patient of a number nobody enrolled again, if any."""
    if pt.enrolled(db.session, phone) is not None:
        return None
    return db.session.scalar(
        select(Patient.id)
        .where(Patient.phone == phone, Patient.removed_at.is_not(None))
        .order_by(Patient.removed_at.desc())
        .limit(1)
    )


@bp.get("/inbox/<id:thread_id>")
def thread(thread_id: int):
    record = _thread(thread_id)
    th.mark_read(db.session, record, current_user.id, utcnow())
    patient = pt.enrolled(db.session, record.phone)
    audit.note("view_conversation", _patient_id(record.phone), f"thread {record.id}")
    db.session.commit()
    owners = th.owners(db.session)
    history = pt.number_history(record.phone, patient)
    return render_template(
        "thread.html",
        thread=record,
        state=th.state_of(db.session, record),
        states=th.STATES,
        owners=owners,
        owner_email=next((m.email for m in owners if m.id == record.owner_id), "someone else"),
        news=th.last_text_in(db.session, record, history),
        patient=patient,
        reason=th.REASONS.get(record.reason, record.reason),
        bot_actions=th.bot_actions(db.session, record),
        conversation=pt.conversation(db.session, history, earlier_than()),
        reply=ReplyForm(),
        action=ActionForm(),
        opted_out=bool(pt.opted_out_numbers(db.session, [record.phone])),
        undelivered_since=undelivered.since(db.session, record.phone),
        saved_replies=saved.offered(
            db.session, current_app.extensions["content"].clinic.phone, record.phone, patient
        ),
    )


@bp.post("/inbox/<id:thread_id>/reply")
def reply_in_thread(thread_id: int):
    record = _thread(thread_id)
    form = submitted(ReplyForm)
    then_done = request.form.get("then") == "done"
    sent = _send(record.phone, form.body.data or "", f"thread {record.id}", done_after=then_done)
    if sent and then_done:
        th.mark_done(db.session, _thread(thread_id), current_user.email, utcnow())
        audit.note("close_thread", _patient_id(record.phone), f"thread {record.id}")
        db.session.commit()
        return redirect(url_for("inbox.inbox"))
    return redirect(url_for("inbox.thread", thread_id=record.id, _anchor="reply"))


@bp.post("/inbox/<id:thread_id>/assign")
def assign(thread_id: int):
    """Give the thread to the member who asks ("me"), to a colleague (an active account's
    id), or to nobody ("")."""
    submitted()
    record = _thread(thread_id)
    wanted = request.form.get("owner", "")
    owner = None
    if wanted == "me":
        owner = current_user
    elif wanted:
        an_id = wanted.isascii() and wanted.isdigit() and len(wanted) < 19  # a BIGINT
        owner = db.session.get(StaffUser, int(wanted)) if an_id else None
        if owner is None or not owner.active:
            flash("That staff account does not exist or is deactivated: choose another.", "error")
            return redirect(url_for("inbox.thread", thread_id=record.id))
    th.assign(db.session, record, owner.id if owner else None, utcnow())
    to = f"to {owner.email}" if owner else "to nobody"
    audit.note("assign_thread", _patient_id(record.phone), f"thread {record.id} {to}")
    db.session.commit()
    mine = owner is not None and owner.id == current_user.id
    flash("The thread is yours." if mine else f"The thread is given {to}.", "success")
    return redirect(url_for("inbox.thread", thread_id=record.id))


@bp.post("/patients/<id:patient_id>/reply")
def reply_to_patient(patient_id: int):
    patient = db.session.get(Patient, patient_id)
    if patient is None or patient.removed_at is not None:
        abort(404)
    form = submitted(ReplyForm)
    _send(patient.phone, form.body.data or "", "from the patient's page", patient.id)
    return redirect(url_for("staff.patient", patient_id=patient.id, _anchor="reply"))


def _patient_id(phone: str) -> int | None:
    """The patient of a number for the audit trail: the enrolled one, else a removed one
    (an admin reading a removed patient's thread), else None (not a patient)."""
    patient = pt.enrolled(db.session, phone)
    return patient.id if patient else _removed_patient_id(phone)


_MARKED_DONE = " The thread is marked done."


def _send(
    phone: str, body: str, where: str, patient_id: int | None = None, done_after: bool = False
) -> bool:
    """Send a staff reply and say once how it went; True when it went or will go. With
    ``done_after`` the one message also says the thread is marked done (the caller marks it
    when this returns True): "Send and mark done" confirms once, not twice."""
    done_note = _MARKED_DONE if done_after else ""
    try:
        result = th.send_reply(
            db.session, current_app.extensions["sender"], phone, body, current_user.email,
            utcnow(), current_user.id,
        )  # fmt: skip
    except th.ReplyRefused as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return False
    if patient_id is None:
        patient_id = _patient_id(phone)
    outcome = (
        "sent" if result.ok else "Twilio's answer lost" if result.unknown
        else "waiting in the outbox" if worth_retrying(result) else "not sent"
    )  # fmt: skip
    audit.note("reply", patient_id, f"{where}: {outcome}")
    db.session.commit()
    if result.ok:
        flash("Reply sent." + done_note, "success")
        return True
    if worth_retrying(result):
        flash(
            "Twilio is busy or out of reach: the reply waits and the clock sends it within "
            "minutes (it shows waiting until then). Do not send it again." + done_note,
            "warning",
        )
        return True
    if result.unknown:
        flash(
            "Twilio did not answer in time: the reply shows sending... until Twilio says "
            "whether it went (within minutes). Do not send it again meanwhile." + done_note,
            "warning",
        )
        return True
    flash(f"The reply could not be sent ({staff_facing(result.error or result.status)}).", "error")
    return False


@bp.post("/inbox/<id:thread_id>/done")
def done(thread_id: int):
    submitted()
    record = _thread(thread_id)
    th.mark_done(db.session, record, current_user.email, utcnow())
    audit.note("close_thread", _patient_id(record.phone), f"thread {record.id}")
    db.session.commit()
    flash(
        "Marked done: out of the inbox until the number texts something that needs a person.",
        "success",
    )
    return redirect(url_for("inbox.inbox"))
