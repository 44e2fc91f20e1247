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
import logging
import os
import random
import sys
import threading
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

from bot import metrics
from bot.phones import mask

log = logging.getLogger(__name__)

# Twilio error codes that mean something for the patient record.
UNSUBSCRIBED = 21610  # the number replied STOP at the carrier: treat as opted out
BAD_NUMBERS = frozenset({21211, 21614})  # not a valid number / not a mobile number
TOO_MANY_REQUESTS = 20429
CLOCK_SKEW = dt.timedelta(minutes=2)  # between this machine's clock and Twilio's
# Messages to one number asked for when reconciling, newest first: far more than a patient
# is sent between a claim and its reconciliation (REMINDER_CLAIM_TIMEOUT).
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


class QuickHttpClient(TwilioHttpClient):
    """Twilio's HTTP client, reading proxy and CA settings from the environment once.

    ``requests`` otherwise re-reads every environment variable on each request to look for
    proxies: a third of the CPU time of a send, measured (benchmarks/reminders.py).
    """

    def __init__(self):
        super().__init__(proxy=urllib.request.getproxies())
        self.session.trust_env = False
        self.session.verify = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, HTTPAdapter(pool_connections=4, pool_maxsize=4))


class TwilioSender:
    """Sends through Twilio's Messages API; safe to share between threads."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        base_url: str,
        status_callback: str | None = None,
    ):
        self.account_sid, self.auth_token = account_sid, auth_token
        self.from_number, self.base_url = from_number, base_url
        # Twilio posts delivery status (queued, sent, delivered, failed...) here.
        self.extra = {"status_callback": status_callback} if status_callback else {}
        self._local = threading.local()

    @property
    def client(self) -> Client:
        client = getattr(self._local, "client", None)
        if client is None:  # one client (and HTTP session) per thread
            client = Client(self.account_sid, self.auth_token, http_client=QuickHttpClient())
            client.api.base_url = self.base_url
            self._local.client = client
        return client

    def send(self, to: str, body: str) -> SendResult:
        try:
            message = self.client.messages.create(
                to=to, from_=self.from_number, body=body, **self.extra
            )
        except TwilioRestException as exc:
            metrics.twilio_error(exc.code)
            log.warning("twilio refused text to %s: %s %s", mask(to), exc.code, exc.msg)
            return SendResult(None, "failed", exc.code, str(exc.msg), exc.status)
        except (TwilioException, requests.RequestException) as exc:  # unreachable, timeouts
            log.warning("twilio unreachable for text to %s: %s", mask(to), exc)
            return SendResult(None, "failed", None, str(exc))
        return SendResult(message.sid, message.status or "queued")

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
            connector=aiohttp.TCPConnector(limit=max(limits.in_flight, 1))
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

        return await self._retrying(create, _retryable)

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
                return Found(error=error, retryable=exc.status == 429 or exc.status >= 500)
            except (aiohttp.ClientError, TimeoutError, TwilioException) as exc:
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


def _retryable(result: SendResult) -> bool:
    if result.ok or result.unknown:
        return False
    if result.http_status is None:  # could not connect
        return result.error_code is None
    return result.http_status == 429 or result.http_status >= 500


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
        )
    return ConsoleSender()
