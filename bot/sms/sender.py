"""Outgoing texts: one sender for the whole app.

``TwilioSender`` sends through Twilio's REST API (its base URL is ``TWILIO_API_BASE_URL``,
so tests and benchmarks can point it at a local stand-in); ``ConsoleSender`` logs the text
instead, so the embedded default works end to end without a Twilio account. The factory
picks Twilio when credentials are set and puts the sender in ``app.extensions["sender"]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import random
import sys
import threading
import time
import urllib.request
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol, TypeVar

import aiohttp
import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import NameResolutionError, NewConnectionError

from bot.ops import metrics
from bot.sms.phones import mask

log = logging.getLogger(__name__)

# Twilio error codes that mean something for the patient record.
UNSUBSCRIBED = 21610  # the number replied STOP at the carrier: treat as opted out
BAD_NUMBERS = frozenset({21211, 21614})  # not a valid number / not a mobile number
TOO_MANY_REQUESTS = 20429
CLOCK_SKEW = dt.timedelta(minutes=2)  # between this machine's clock and Twilio's
# Messages to one number asked for when reconciling, newest first: far more than a patient
# is sent between a claim and its reconciliation (CLAIM_TIMEOUT).
LIST_LIMIT = 50


@dataclass(frozen=True)
class SendResult:
    sid: str | None
    status: str  # Twilio's status ("queued", "sent"...), "failed", or "unknown"
    error_code: int | None = None
    error: str | None = None
    http_status: int | None = None
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.sid is not None

    @property
    def unknown(self) -> bool:
        """The request may or may not have reached Twilio (a timeout mid-request)."""
        return self.status == "unknown"


@dataclass(frozen=True)
class Limits:
    """How hard to press Twilio: its account limits and how to back off."""

    in_flight: int = 20  # requests at once (Twilio's API concurrency limit)
    per_second: float = 100.0  # messages per second (the account's or number's rate)
    retries: int = 4  # for 429 and 5xx answers, then recorded as failed
    backoff: float = 0.5  # seconds before the first retry; doubles, with jitter


def limits_from_config(config) -> Limits:
    return Limits(
        in_flight=config["SEND_CONCURRENCY"],
        per_second=config["SEND_RATE_PER_SECOND"],
        retries=config["SEND_RETRIES"],
        backoff=config["SEND_RETRY_BACKOFF"],
    )


T = TypeVar("T")
R = TypeVar("R")
Query = tuple[str, str, dt.datetime]  # (to, body, since): was this text sent?


@dataclass(frozen=True)
class Found:
    """What Twilio says of one text: sent (its ``sid``), not sent, or ``error``: no answer."""

    sid: str | None = None
    error: str | None = None
    retryable: bool = False  # asking again may get an answer (429, 5xx, no connection)


# Hands a batch of (to, body) texts to a pipeline; the future gives the results in order.
Submit = Callable[[list[tuple[str, str]]], "Future[list[SendResult]]"]


class Sender(Protocol):
    def send(self, to: str, body: str) -> SendResult: ...

    def send_many(self, texts: list[tuple[str, str]], limits: Limits) -> list[SendResult]:
        """Send (to, body) pairs concurrently within the limits; results in the same order."""
        ...

    def pipeline(self, limits: Limits) -> contextlib.AbstractContextManager[Submit]:
        """Send batch after batch within the limits, the next starting before the last ends."""
        ...

    def find_sent_many(self, queries: list[Query], limits: Limits) -> list[Found]:
        """For each (to, body, since): this text's MessageSid if Twilio sent it to that number
        since then; asked concurrently within the limits; answers in the same order."""
        ...


class ConsoleSender:
    """Prints each text instead of sending it (no Twilio account configured): the console
    is the patient's phone. The log gets one line without the words."""

    def send(self, to: str, body: str) -> SendResult:
        sid = f"SMconsole{uuid.uuid4().hex}"
        log.info("console sender: text %s to %s (%d characters)", sid, mask(to), len(body))
        print(f"--- text to {mask(to)} ---\n{body}\n---", file=sys.stderr, flush=True)
        return SendResult(sid=sid, status="sent")

    def send_many(self, texts: list[tuple[str, str]], limits: Limits) -> list[SendResult]:
        return [self.send(to, body) for to, body in texts]

    @contextlib.contextmanager
    def pipeline(self, limits: Limits) -> Iterator[Submit]:
        def submit(texts: list[tuple[str, str]]) -> Future[list[SendResult]]:
            done: Future[list[SendResult]] = Future()
            done.set_result(self.send_many(texts, limits))
            return done

        yield submit

    def find_sent_many(self, queries: list[Query], limits: Limits) -> list[Found]:
        return [Found() for _ in queries]  # no record kept: an interrupted text goes again


@dataclass(frozen=True)
class Timeouts:
    """Seconds to connect to Twilio, and to wait for its answer (``TWILIO_*_TIMEOUT``)."""

    connect: float = 5.0
    read: float = 10.0


def timeouts_from_config(config) -> Timeouts:
    return Timeouts(config["TWILIO_CONNECT_TIMEOUT"], config["TWILIO_READ_TIMEOUT"])


class QuickHttpClient(TwilioHttpClient):
    """Twilio's HTTP client, reading proxy and CA settings from the environment once, with a
    connect and a read timeout on every request, and Twilio's last answer's headers kept
    (its ``Retry-After``).

    ``requests`` otherwise re-reads every environment variable on each request to look for
    proxies: a third of the CPU time of a send, measured (benchmarks/reminders.py).
    """

    def __init__(self, timeouts: Timeouts = Timeouts()):
        super().__init__(proxy=urllib.request.getproxies())
        # requests takes (connect, read); Twilio's client checks only a single number.
        self.timeout = (timeouts.connect, timeouts.read)
        self.last_headers: dict = {}
        self.session.trust_env = False
        self.session.verify = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, HTTPAdapter(pool_connections=4, pool_maxsize=4))

    def request(self, *args, **kwargs):
        self.last_headers = {}
        response = super().request(*args, **kwargs)
        self.last_headers = response.headers or {}
        return response

    def retry_after(self) -> float | None:
        """Twilio's ``Retry-After`` on its last answer, in seconds, when it gave one."""
        try:
            return max(0.0, float(self.last_headers.get("Retry-After")))
        except (TypeError, ValueError):
            return None


class TwilioSender:
    """Sends through Twilio's Messages API; safe to share between threads."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        base_url: str,
        status_callback: str | None = None,
        timeouts: Timeouts = Timeouts(),
        limits: Limits = Limits(),
        single_within: float = 8.0,
    ):
        self.account_sid, self.auth_token = account_sid, auth_token
        self.from_number, self.base_url = from_number, base_url
        self.timeouts, self.limits, self.single_within = timeouts, limits, single_within
        # Twilio posts delivery status (queued, sent, delivered, failed...) here.
        self.extra = {"status_callback": status_callback} if status_callback else {}
        self._local = threading.local()

    @property
    def client(self) -> Client:
        client = getattr(self._local, "client", None)
        if client is None:  # one client (and HTTP session) per thread
            http = QuickHttpClient(self.timeouts)
            client = Client(self.account_sid, self.auth_token, http_client=http)
            client.api.base_url = self.base_url
            self._local.client = client
        return client

    def send(self, to: str, body: str) -> SendResult:
        """One text, now (a staff reply, the on-call alert, an invitation, "later"): a 429
        or 5xx, or no connection, is tried again with backoff (Twilio's ``Retry-After`` when
        it gives one) while within ``single_within`` seconds; an answer that did not come
        in time is "unknown" (reconciled with Twilio's list, never sent again blindly)."""
        started = time.monotonic()
        attempt = 1
        while True:
            result = self._send_once(to, body, attempt)
            if attempt > self.limits.retries or not worth_retrying(result):
                return result
            wait = self.client.http_client.retry_after()
            if wait is None:
                wait = self.limits.backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
            if time.monotonic() - started + wait > self.single_within:
                return result
            time.sleep(wait)
            attempt += 1

    def _send_once(self, to: str, body: str, attempt: int) -> SendResult:
        try:
            message = self.client.messages.create(
                to=to, from_=self.from_number, body=body, **self.extra
            )
        except TwilioRestException as exc:
            metrics.twilio_error(exc.code)
            log.warning("twilio refused text to %s: %s %s", mask(to), exc.code, exc.msg)
            return SendResult(None, "failed", exc.code, str(exc.msg), exc.status, attempt)
        except requests.RequestException as exc:
            if _never_reached(exc):  # safe to try again
                log.warning("twilio unreachable for text to %s: %r", mask(to), exc)
                return SendResult(None, "failed", None, repr(exc), None, attempt)
            # Sent, perhaps: left claimed, and reconciled with Twilio's list.
            log.warning("twilio answer lost for text to %s: %r", mask(to), exc)
            return SendResult(None, "unknown", None, repr(exc), None, attempt)
        except TwilioException as exc:
            log.warning("twilio answer unreadable for text to %s: %r", mask(to), exc)
            return SendResult(None, "unknown", None, repr(exc), None, attempt)
        return SendResult(message.sid, message.status or "queued", attempts=attempt)

    def find_sent_many(self, queries: list[Query], limits: Limits) -> list[Found]:
        """Twilio's Messages list, for each query at once (``_Batches.find``)."""
        return asyncio.run(self._find_all(queries, limits))

    async def _find_all(self, queries: list[Query], limits: Limits) -> list[Found]:
        batches = await self._open(limits)
        try:
            return list(await asyncio.gather(*(batches.find(*q) for q in queries)))
        finally:
            await batches.close()

    def send_many(self, texts: list[tuple[str, str]], limits: Limits) -> list[SendResult]:
        with self.pipeline(limits) as submit:
            return submit(texts).result()

    @contextlib.contextmanager
    def pipeline(self, limits: Limits) -> Iterator[Submit]:
        """Batches of texts sent on one event loop in a worker thread, through one pool of
        connections and within one set of limits: the next batch's requests start as soon
        as the last ones of the batch before free their places, instead of after them.
        Twilio's async client (aiohttp) costs a third of the CPU of a thread per request,
        measured (benchmarks/reminders.py)."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="twilio-send", daemon=True)
        thread.start()

        def call(coroutine) -> Future:
            return asyncio.run_coroutine_threadsafe(coroutine, loop)

        try:
            batches = call(self._open(limits)).result()
            try:
                yield lambda texts: call(batches.send(texts))
            finally:
                call(batches.close()).result()
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

    async def _open(self, limits: Limits) -> _Batches:
        # Its aiohttp session is made here, on the loop, with room for every request the
        # limits allow in flight (aiohttp's own default would cap them at 100).
        http = AsyncTwilioHttpClient(timeout=30, pool_connections=False)
        http.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max(limits.in_flight, 1)),
            timeout=aiohttp.ClientTimeout(
                sock_connect=self.timeouts.connect, sock_read=self.timeouts.read
            ),
        )
        client = Client(self.account_sid, self.auth_token, http_client=http)
        client.api.base_url = self.base_url
        return _Batches(self, client, http, limits)

    async def _create(self, client: Client, to: str, body: str, attempt: int) -> SendResult:
        try:
            message = await client.messages.create_async(
                to=to, from_=self.from_number, body=body, **self.extra
            )
        except TwilioRestException as exc:
            metrics.twilio_error(exc.code)
            return SendResult(None, "failed", exc.code, str(exc.msg), exc.status, attempt)
        except aiohttp.ClientConnectorError as exc:  # never reached Twilio: safe to retry
            return SendResult(None, "failed", None, str(exc), None, attempt)
        except (aiohttp.ClientError, TimeoutError, TwilioException) as exc:
            # Sent, perhaps: the claim is reconciled with Twilio before any second try.
            log.warning("twilio answer lost for text to %s: %r", mask(to), exc)
            return SendResult(None, "unknown", None, repr(exc), None, attempt)
        return SendResult(message.sid, message.status or "queued", attempts=attempt)


class _Batches:
    """The sending state shared by every batch of a pipeline (lives on its event loop)."""

    def __init__(self, sender: TwilioSender, client: Client, http, limits: Limits):
        self.sender, self.client, self.http, self.limits = sender, client, http, limits
        self.gate = asyncio.Semaphore(limits.in_flight)
        self.pace = Pace(limits.per_second)

    async def send(self, texts: list[tuple[str, str]]) -> list[SendResult]:
        return list(await asyncio.gather(*(self.one(to, body) for to, body in texts)))

    async def one(self, to: str, body: str) -> SendResult:
        async def create(attempt: int) -> SendResult:
            return await self.sender._create(self.client, to, body, attempt)

        return await self._retrying(create, worth_retrying)

    async def find(self, to: str, body: str, since: dt.datetime) -> Found:
        """Twilio's newest messages to this number, matched by body and by when Twilio
        accepted them (``date_created``). Not filtered by ``DateSent``: a text still in
        Twilio's queue (a number sends about one a second) has no ``date_sent`` yet, and
        that filter works by whole days."""

        async def ask(_attempt: int) -> Found:
            try:
                found = await self.client.messages.list_async(
                    to=to, from_=self.sender.from_number, limit=LIST_LIMIT
                )
            except TwilioRestException as exc:
                metrics.twilio_error(exc.code)
                error = f"{exc.status} {exc.code} {exc.msg}"
                return Found(error=error, retryable=_retry_status(exc.status))
            except TwilioException as exc:  # a list page's error: the status in its answer
                status, code = page_error(exc)
                metrics.twilio_error(code if code is not None else status)
                error = f"{status} {code} {exc.args[0] if exc.args else ''}"
                return Found(error=error, retryable=status is None or _retry_status(status))
            except (aiohttp.ClientError, TimeoutError) as exc:
                return Found(error=repr(exc), retryable=True)
            return Found(sid=_sent_sid(found, body, since))

        answer = await self._retrying(ask, lambda found: found.retryable)
        if answer.error:
            log.warning("cannot ask Twilio what was sent to %s: %s", mask(to), answer.error)
        return answer

    async def _retrying(self, request: Callable[[int], Awaitable[R]], retryable) -> R:
        """One request within the limits (in flight, per second); 429, 5xx and the like are
        tried again with exponential backoff and jitter, up to ``retries`` times."""
        limits = self.limits
        attempt = 1
        while True:
            async with self.gate:
                await self.pace.wait()
                result = await request(attempt)
            if attempt > limits.retries or not retryable(result):
                return result
            await asyncio.sleep(limits.backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
            attempt += 1

    async def close(self) -> None:
        await self.http.close()


def _sent_sid(messages, body: str, since: dt.datetime) -> str | None:
    """The message with this body that Twilio accepted since ``since`` (queued, sending or
    sent alike); one whose creation time is unknown counts, the cautious side."""
    for message in messages:
        accepted = message.date_created
        if message.body == body and (accepted is None or accepted >= since - CLOCK_SKEW):
            return message.sid
    return None


def _retry_status(status: int) -> bool:
    """Asking again may get an answer: too many requests (429, ``TOO_MANY_REQUESTS``) or
    Twilio's own fault (5xx); never 401, 403 or 404, which say the same every time."""
    return status == 429 or status >= 500


def page_error(exc: TwilioException) -> tuple[int | None, int | None]:
    """The HTTP status and Twilio's error code of a list page Twilio refused: the library
    raises its plain ``TwilioException("Unable to fetch page", response)`` without them."""
    response = exc.args[1] if len(exc.args) > 1 else None
    status = getattr(response, "status_code", None)
    try:
        code = json.loads(getattr(response, "text", "") or "{}").get("code")
    except (ValueError, AttributeError):
        code = None
    return (status if isinstance(status, int) else None), (code if isinstance(code, int) else None)


def _never_reached(exc: requests.RequestException) -> bool:
    """The request never reached Twilio: no connection made (refused, DNS, connect timeout);
    a read timeout or a connection lost mid-answer may have reached it."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | NameResolutionError)


def worth_retrying(result: SendResult) -> bool:
    """A text Twilio did not take, that asking again may get taken: 429, 5xx, or no
    connection made (not a refusal of the text or the number, not an answer lost)."""
    if result.ok or result.unknown:
        return False
    if result.http_status is None:  # could not connect
        return result.error_code is None
    return _retry_status(result.http_status) or result.error_code == TOO_MANY_REQUESTS


class Pace:
    """At most ``per_second`` starts a second, spread evenly."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.next = 0.0

    async def wait(self) -> None:
        if not self.interval:
            return
        now = asyncio.get_running_loop().time()
        start = max(now, self.next)
        self.next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


def pipelined(
    submit: Submit,
    batches: Iterable[list[T]],
    texts: Callable[[list[T]], list[tuple[str, str]]],
    ahead: int = 2,
) -> Iterator[tuple[list[T], list[SendResult]]]:
    """Hands the batches to a pipeline, at most ``ahead`` of them not yet given back, and
    yields each with its answers, in order. The next batch is taken (claimed, say) while
    the ones before it are with Twilio; few are ever sent and not yet recorded."""
    source = iter(batches)
    pending: deque[tuple[list[T], Future[list[SendResult]]]] = deque()
    while True:
        while len(pending) < ahead and (batch := next(source, None)):
            pending.append((batch, submit(texts(batch))))
        if not pending:
            return
        batch, answers = pending.popleft()
        yield batch, answers.result()


def make_sender(config) -> Sender:
    if config.get("TWILIO_ACCOUNT_SID"):
        public = config.get("PUBLIC_BASE_URL")
        return TwilioSender(
            config["TWILIO_ACCOUNT_SID"],
            config["TWILIO_AUTH_TOKEN"],
            config["TWILIO_FROM_NUMBER"],
            config["TWILIO_API_BASE_URL"],
            status_callback=f"{public}/sms/status" if public else None,
            timeouts=timeouts_from_config(config),
            limits=limits_from_config(config),
            single_within=config["SEND_SINGLE_WITHIN"],
        )
    return ConsoleSender()
