"""Logging: one line per event, plain text or JSON (``LOG_FORMAT``), each with the id of
the request it belongs to, numbers masked, and no text's words at INFO.

Every request gets an id: the proxy's ``X-Request-Id`` when it sends a sane one, else
Twilio's ``I-Twilio-Idempotency-Token`` (the same in Twilio's own debugger), else a new
one; it is sent back in the response's ``X-Request-Id`` and stamped on every log line
written while the request is handled (``-`` outside a request: the clock, a command).
Numbers and account SIDs are masked in every record (``bot.phones.mask_log_records``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import sys

from flask import Flask, g, has_request_context, request

from bot.phones import mask_log_records

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
PLAIN = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request being handled ("-" outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = "-"
        if has_request_context():
            request_id = g.get("request_id", "-")
        record.request_id = request_id
        return True


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

    @app.before_request
    def _request_id() -> None:
        for header in ("X-Request-Id", "I-Twilio-Idempotency-Token"):
            given = request.headers.get(header, "")
            if REQUEST_ID.fullmatch(given):
                g.request_id = given
                return
        g.request_id = secrets.token_hex(8)

    @app.after_request
    def _send_request_id(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-Id"] = request_id
        return response
