"""The Twilio webhook: verify the signature, hand the text over, answer TwiML."""

from __future__ import annotations

import functools
import logging
import re
import time
import uuid
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy import update
from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    compare,
    get_signature_algorithm,
)
from twilio.twiml.messaging_response import MessagingResponse

from bot import metrics, undelivered
from bot.alerts import send_alert
from bot.compliance import Keyword
from bot.inbound import (
    Candidate,
    Inbound,
    Outcome,
    answer_without_database,
    clean_body,
    handle_inbound,
    webhook_connection,
)
from bot.models import DATABASE_UNAVAILABLE, Message, ReminderDelivery, db, utcnow
from bot.phones import mask
from bot.spool import Spooled

bp = Blueprint("webhook", __name__)
log = logging.getLogger(__name__)


def signed_url() -> str:
    """The URL Twilio signed, as Twilio wrote it: the configured public base URL, or the
    scheme and host this request came to (honouring X-Forwarded-* through ProxyFix), then
    the path and the query string as sent, still percent-encoded (a decoded query string
    is Twilio's error 57012, "Signature invalid")."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    url = base or f"{request.scheme}://{request.host}{quote(request.root_path)}"
    url += quote(request.path, safe="/:@!$&'()*+,;=~")
    query = request.query_string.decode("latin-1")
    return f"{url}?{query}" if query else url


def signature_valid(
    validator: RequestValidator, url: str, params, signature: str, algorithm: str | None = None
) -> bool:
    """Twilio's check, cheapest first: one HMAC over the URL as it came, which is what
    Twilio signs; only when that fails, the library's whole check, which also tries the
    URL with and without its port (two more), and refuses an algorithm it does not know."""
    try:
        if compare(validator.compute_signature(url, params, algorithm), signature):
            return True
    except ValueError:  # an algorithm the library does not know: validate() logs it
        pass
    return validator.validate(url, params, signature, algorithm)


def twilio_signed(view):
    """Refuse (403) any request not signed by Twilio: with the account's auth token, or,
    when the request says so in X-Twilio-Webhooks-Signature-Settings, with the SharedKey
    of a Twilio Webhook Setting (TWILIO_SHARED_KEY_SECRET) and the algorithm it names."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        settings = request.headers.get(SIGNATURE_SETTINGS_HEADER)
        if settings:
            validator = current_app.extensions["twilio_shared_key_validator"]
            algorithm = get_signature_algorithm(settings)
            missing = "TWILIO_SHARED_KEY_SECRET is not set (the request is signed with a SharedKey)"
        else:
            validator = current_app.extensions["twilio_validator"]
            algorithm = None
            missing = "TWILIO_AUTH_TOKEN is not set"
        if validator is None:
            log.warning("refused %s: %s", request.path, missing)
            abort(403)
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not signature_valid(
            validator, signed_url(), request.form, signature, algorithm
        ):
            log.warning("refused %s: bad or missing X-Twilio-Signature", request.path)
            abort(403)
        return view(*args, **kwargs)

    return checked


def reply_to(message: Inbound) -> Outcome:
    """Handle one inbound text in its own transaction, committed before it is answered.

    When the database cannot take it within ``WEBHOOK_DB_TIMEOUT`` (down, or a lock held
    too long), the patient is still answered (``answer_without_database``) and the text is
    kept in the spool, to be recorded once the database is back."""
    app = current_app._get_current_object()
    spool = app.extensions["spool"]
    if message.message_sid in spool.sids:  # Twilio again, for a text answered meanwhile
        return Outcome(None, "duplicate", duplicate=True)
    breaker = app.extensions["db_breaker"]
    if breaker.open():  # the database just timed out: answer at once, without it
        return _without_database(app, message, CircuitOpen("the database timed out lately"))
    try:
        with webhook_connection(app.extensions["webhook_engine"]) as conn:
            outcome = handle_inbound(
                conn,
                app.extensions["replier"],
                message,
                utcnow(),
                app.config["RATE_LIMIT_PER_HOUR"],
                settings=app.extensions["checkin_settings"],
            )
    except DATABASE_UNAVAILABLE as exc:
        breaker.trip(app.config["WEBHOOK_BREAKER_SECONDS"])
        return _without_database(app, message, exc)
    # Every text is in the database, counted in the metrics, and on gunicorn's access line
    # with its request id; this line, for following texts live, is DEBUG: formatting and
    # writing it costs about 16 us a text, 2% of the webhook's CPU, within a 5% budget.
    log.debug(
        "sms in from=%s sid=%s kind=%s replied=%s",
        mask(message.phone),
        message.message_sid,
        outcome.kind,
        outcome.reply is not None,
    )
    return outcome


class CircuitOpen(Exception):
    """The database timed out within the last WEBHOOK_BREAKER_SECONDS: not asked again yet."""


class Breaker:
    """After the database fails the webhook (a timeout, a lost connection), this process
    answers texts without it for ``WEBHOOK_BREAKER_SECONDS``, then tries it again: a burst
    of texts under a hung database costs each worker one wait of WEBHOOK_DB_TIMEOUT, not
    one per text (ten texts on two workers were answered at 5, 10, 15, 20 and 25 s)."""

    def __init__(self):
        self.open_until = 0.0

    def open(self) -> bool:
        return time.monotonic() < self.open_until

    def trip(self, seconds: float) -> None:
        self.open_until = time.monotonic() + seconds


def _without_database(app, message: Inbound, exc: Exception) -> Outcome:
    now = utcnow()
    answer = answer_without_database(app.extensions["replier"], message, now)
    kept = app.extensions["spool"].add(
        Spooled(
            phone=message.phone,
            body=clean_body(message.body),
            message_sid=message.message_sid,
            received_at=now.isoformat(),
            reply=answer.reply,
            kind=answer.kind,
            consent=answer.consent.value if answer.consent else None,
            keyword=answer.keyword,
            opt_out_type=message.opt_out_type,
        )
    )
    log.error(
        "database unavailable (%s): text %s from %s %s, answered %s",
        type(exc).__name__,
        message.message_sid,
        mask(message.phone),
        "kept in the spool" if kept else "LOST (the spool could not be written)",
        answer.kind,
    )
    return Outcome(answer.reply, answer.kind, stored=False)


def replay_spool(app) -> int:
    """Record the texts kept while the database was unavailable (``bot.spool``)."""

    def record(entries: list[Spooled]) -> None:
        with webhook_connection(app.extensions["webhook_engine"]) as conn:
            for entry in entries:
                message = Inbound(entry.phone, entry.body, entry.message_sid, entry.opt_out_type)
                answered = Candidate.of(
                    entry.reply or "",
                    entry.kind,
                    always=True,  # it was answered: record the answer as sent
                    consent=Keyword(entry.consent) if entry.consent else None,
                    keyword=entry.keyword,
                )  # with the inbox reason its kind gives: a red flag lands, even late
                handle_inbound(
                    conn, app.extensions["replier"], message, entry.received,
                    app.config["RATE_LIMIT_PER_HOUR"], answered,
                )  # fmt: skip

    return app.extensions["spool"].replay(record, DATABASE_UNAVAILABLE)


def _replay_after(response: Response) -> Response:
    """Once this text was taken, the ones kept while the database was away are recorded,
    after the answer has gone to Twilio."""
    app = current_app._get_current_object()
    if app.extensions["spool"].waiting:

        def replay() -> None:
            with app.app_context():
                try:
                    replay_spool(app)
                except DATABASE_UNAVAILABLE:
                    log.warning("spool not replayed: the database is still unavailable")

        response.call_on_close(replay)
    return response


def local_sid(prefix: str) -> str:
    """A MessageSid for texts that did not come through Twilio (chat, simulator)."""
    return prefix + uuid.uuid4().hex


def twiml(reply: str | None) -> Response:
    return Response(_twiml(reply), mimetype="text/xml")


@functools.lru_cache(maxsize=512)
def _twiml(reply: str | None) -> str:
    """TwiML for a reply; the same few answers (hours, the menu) go out all day."""
    response = MessagingResponse()
    if reply:
        response.message(reply)
    return str(response)


@bp.post("/sms")
@twilio_signed
def inbound_sms():
    started = time.perf_counter()
    form = request.form
    phone, sid = form.get("From", "").strip(), form.get("MessageSid", "").strip()
    if not phone or not sid:
        return Response("From and MessageSid are required\n", status=400, mimetype="text/plain")
    if not (phone.isprintable() and sid.isprintable()):  # Twilio never sends a NUL here
        return Response("From and MessageSid must be text\n", status=400, mimetype="text/plain")
    message = Inbound(
        phone=phone[:32],
        body=form.get("Body", ""),
        message_sid=sid[:64],
        opt_out_type=form.get("OptOutType"),
    )
    outcome = reply_to(message)
    response = twiml(outcome.reply)
    metrics.text_in(outcome.kind)
    if outcome.reply:
        metrics.text_out("reply", "answered")
    if outcome.stored:
        _replay_after(response)
    if outcome.alert:  # the on-call phone, once the patient's answer has gone
        app = current_app._get_current_object()
        response.call_on_close(lambda: send_alert(app, message.phone))
    metrics.WEBHOOK_SECONDS.observe(time.perf_counter() - started)
    return response


STATUSES = frozenset(
    "accepted queued sending sent delivered undelivered failed read canceled scheduled "
    "receiving received".split()
)


SID = re.compile(r"[A-Za-z0-9]{2,64}")  # Twilio's SIDs: two letters and 32 hex digits


@bp.post("/sms/status")
@twilio_signed
def status_callback():
    """Twilio's delivery status callback for a text the app sent: kept on its message row."""
    sid = request.form.get("MessageSid", "").strip()
    status = request.form.get("MessageStatus", "").strip().lower()
    if not SID.fullmatch(sid) or status not in STATUSES:
        message = "MessageSid and a MessageStatus are required\n"
        return Response(message, 400, mimetype="text/plain")
    code_text = request.form.get("ErrorCode", "").strip()
    code = int(code_text) if code_text.isdigit() and len(code_text) <= 6 else None
    refused = undelivered.carrier_refused(status, code)
    with db.engine.begin() as conn:
        conn.execute(
            update(Message.__table__)
            .where(Message.__table__.c.message_sid == sid)
            .values(status=status, error_code=code)
        )
        conn.execute(  # a daily reminder's: for the dashboard's "delivered"
            update(ReminderDelivery.__table__)
            .where(ReminderDelivery.__table__.c.message_sid == sid)
            .values(delivery_status=status)
        )
        if refused:
            undelivered.reported(
                conn, sid, status, code, current_app.config["UNDELIVERED_PAUSE_AFTER"], utcnow()
            )
    if refused:
        log.info("the carrier did not deliver %s: %s (error %s)", sid, status, code)
    else:
        log.debug("status %s for %s%s", status, sid, f" (error {code})" if code else "")
    return Response(status=204)
