"""Outgoing texts: one sender for the whole app.

``TwilioSender`` sends through Twilio's REST API (its base URL is ``TWILIO_API_BASE_URL``,
so tests and benchmarks can point it at a local stand-in); ``ConsoleSender`` logs the text
instead, so the embedded default works end to end without a Twilio account. The factory
picks Twilio when credentials are set and puts the sender in ``app.extensions["sender"]``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Protocol

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from bot.phones import mask

log = logging.getLogger(__name__)

# Twilio error codes that mean something for the patient record.
UNSUBSCRIBED = 21610  # the number replied STOP at the carrier: treat as opted out
BAD_NUMBERS = frozenset({21211, 21614})  # not a valid number / not a mobile number
TOO_MANY_REQUESTS = 20429


@dataclass(frozen=True)
class SendResult:
    sid: str | None
    status: str  # Twilio's status ("queued", "sent"...), or "failed"
    error_code: int | None = None
    error: str | None = None
    http_status: int | None = None

    @property
    def ok(self) -> bool:
        return self.sid is not None


class Sender(Protocol):
    def send(self, to: str, body: str) -> SendResult: ...


class ConsoleSender:
    """Logs each text instead of sending it (no Twilio account configured)."""

    def send(self, to: str, body: str) -> SendResult:
        log.info("console sender: text to %s:\n%s", mask(to), body)
        return SendResult(sid=f"SMconsole{uuid.uuid4().hex}", status="sent")


class TwilioSender:
    """Sends through Twilio's Messages API; safe to share between threads."""

    def __init__(self, account_sid: str, auth_token: str, from_number: str, base_url: str):
        self.account_sid, self.auth_token = account_sid, auth_token
        self.from_number, self.base_url = from_number, base_url
        self._local = threading.local()

    @property
    def client(self) -> Client:
        client = getattr(self._local, "client", None)
        if client is None:  # one client (and HTTP session) per thread
            client = Client(self.account_sid, self.auth_token)
            client.api.base_url = self.base_url
            self._local.client = client
        return client

    def send(self, to: str, body: str) -> SendResult:
        try:
            message = self.client.messages.create(to=to, from_=self.from_number, body=body)
        except TwilioRestException as exc:
            log.warning("twilio refused text to %s: %s %s", mask(to), exc.code, exc.msg)
            return SendResult(None, "failed", exc.code, str(exc.msg), exc.status)
        except (TwilioException, requests.RequestException) as exc:  # unreachable, timeouts
            log.warning("twilio unreachable for text to %s: %s", mask(to), exc)
            return SendResult(None, "failed", None, str(exc))
        return SendResult(message.sid, message.status or "queued")


def make_sender(config) -> Sender:
    if config.get("TWILIO_ACCOUNT_SID"):
        return TwilioSender(
            config["TWILIO_ACCOUNT_SID"],
            config["TWILIO_AUTH_TOKEN"],
            config["TWILIO_FROM_NUMBER"],
            config["TWILIO_API_BASE_URL"],
        )
    return ConsoleSender()
