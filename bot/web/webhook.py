"""The Twilio webhook: verify the signature, hand the text over, answer TwiML."""

from __future__ import annotations

import functools
import logging
import re
import time
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, request
from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    compare,
    get_signature_algorithm,
)
from twilio.twiml.messaging_response import MessagingResponse

from bot.models import DATABASE_UNAVAILABLE, db, utcnow
from bot.ops import metrics
from bot.sms import undelivered
from bot.sms.answering import answer, replay_spool
from bot.sms.inbound import Inbound

bp = Blueprint("webhook", __name__)
log = logging.getLogger("bot.webhook")


def signed_url() -> str:
    """The URL Twilio signed, as Twilio wrote it: the configured public base URL, or the
    scheme and host this request came to (honouring X-Forwarded-* through ProxyFix), then
    the path and the query string as sent, still percent-encoded (a decoded query string
    is Twilio's error 57012, "Signature invalid")."""
    app, asked = current_app._get_current_object(), request._get_current_object()
    base = app.config.get("PUBLIC_BASE_URL")
    url = base or f"{asked.scheme}://{asked.host}{quote(asked.root_path)}"
    url += quote(asked.path, safe="/:@!$&'()*+,;=~")
    query = asked.query_string.decode("latin-1")
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
        asked = request._get_current_object()  # once: each use of the proxy costs a lookup
        settings = asked.headers.get(SIGNATURE_SETTINGS_HEADER)
        if settings:
            validator = current_app.extensions["twilio_shared_key_validator"]
            algorithm = get_signature_algorithm(settings)
            missing = "TWILIO_SHARED_KEY_SECRET is not set (the request is signed with a SharedKey)"
        else:
            validator = current_app.extensions["twilio_validator"]
            algorithm = None
            missing = "TWILIO_AUTH_TOKEN is not set"
        if validator is None:
            log.warning("refused %s: %s", asked.path, missing)
            abort(403)
        signature = asked.headers.get("X-Twilio-Signature", "")
        if not signature or not signature_valid(
            validator, signed_url(), asked.form, signature, algorithm
        ):
            log.warning("refused %s: bad or missing X-Twilio-Signature", asked.path)
            abort(403)
        return view(*args, **kwargs)

    return checked


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
    alerts: list = []  # the on-call phone, once the patient's answer has gone
    outcome = answer(message, alerts.append)
    response = twiml(outcome.reply)
    metrics.text_in(outcome.kind)
    if outcome.reply:
        metrics.text_out("reply", "answered")
    if outcome.stored:
        _replay_after(response)
    for alert in alerts:
        response.call_on_close(alert)
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
    with db.engine.begin() as conn:
        refused = undelivered.record_status(
            conn, sid, status, code, current_app.config["UNDELIVERED_PAUSE_AFTER"], utcnow()
        )
    if refused:
        log.info("the carrier did not deliver %s: %s (error %s)", sid, status, code)
    else:
        log.debug("status %s for %s%s", status, sid, f" (error {code})" if code else "")
    return Response(status=204)
