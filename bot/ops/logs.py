"""Logging: one line per event, plain text or JSON (``LOG_FORMAT``), each with the id of
the request it belongs to, numbers masked, and no text's words at INFO.

Every request gets an id: the proxy's ``X-Request-Id`` when it sends a sane one, else
Twilio's ``I-Twilio-Idempotency-Token`` (the same in Twilio's own debugger), else a new
one; it is sent back in the response's ``X-Request-Id`` and stamped on every log line
written while the request is handled (``-`` outside a request: the clock, a command).
Numbers and account SIDs are masked in every record (``bot.sms.phones.mask_log_records``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import re
import sys

from flask import Flask, has_request_context, request

from bot.sms.phones import mask_log_records

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
ENVIRON_KEY = "bot.request_id"
PLAIN = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request being handled ("-" outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = "-"
        if has_request_context():
            request_id = request.environ.get(ENVIRON_KEY, "-")
        record.request_id = request_id
        return True


class RequestIds:
    """WSGI middleware: each request's id, in the environ for the log lines and in the
    answer's X-Request-Id (cheaper than a pair of Flask hooks on every webhook request)."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        request_id = None
        for key in ("HTTP_X_REQUEST_ID", "HTTP_I_TWILIO_IDEMPOTENCY_TOKEN"):
            given = environ.get(key)
            if given and REQUEST_ID.fullmatch(given):
                request_id = given
                break
        # A new id needs to be unique, not secret: the fast generator, not a system call.
        request_id = environ[ENVIRON_KEY] = request_id or f"{random.getrandbits(64):016x}"

        def start(status, headers, exc_info=None):
            headers.append(("X-Request-Id", request_id))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, request id, message, and the
    traceback as one string when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def handler(log_format: str, stream=None) -> logging.Handler:
    """The handler every log line of the process goes through."""
    out = logging.StreamHandler(stream or sys.stderr)
    out.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(PLAIN))
    out.addFilter(RequestIdFilter())
    return out


def configure(app: Flask) -> None:
    """The root logger writes through one handler of the chosen format, at LOG_LEVEL."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "bot_handler", False)]:
        root.removeHandler(old)
    new = handler(app.config["LOG_FORMAT"])
    new.bot_handler = True  # type: ignore[attr-defined]
    root.addHandler(new)
    root.setLevel(app.config["LOG_LEVEL"])
    # The twilio library logs every request's URL and headers at INFO.
    logging.getLogger("twilio").setLevel(logging.WARNING)
    mask_log_records()  # no phone number or account SID in any log line
    app.wsgi_app = RequestIds(app.wsgi_app)
