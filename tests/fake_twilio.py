"""A local stand-in for the part of Twilio's Messages API the app uses.

Speaks ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (create) and ``GET`` on the
same path (list, newest first, filtered by ``To``, ``From`` and ``DateSent>``/``DateSent<``
by whole days, as Twilio documents), with Basic auth, and answers as Twilio does (JSON, 201
on create, errors as ``{"code", "message", "status"}``). As at Twilio, a message waits
``queued`` with no ``date_sent`` for ``queue_seconds`` (a long code sends about one a
second, so thousands of reminders wait in its queue), and the ``DateSent`` filter does not
find it meanwhile. ``clock`` is the stand-in's time (real time unless a test sets it).
It records every message and can add latency, refuse requests beyond a number in flight
with 429 (Twilio's API concurrency limit, error 20429), fail a share of requests with 500,
and answer chosen numbers with an error code (21610 unsubscribed, 21211 invalid...).

For ``flask --app bot doctor`` it also answers ``GET /2010-04-01/Accounts/{Sid}.json`` (the
account, ``account_status``) and ``GET .../IncomingPhoneNumbers.json?PhoneNumber=`` (the
account's ``numbers``: number -> its messaging webhook's ``sms_url`` and ``sms_method``),
as Twilio's API description (twilio_api_v2010.json) describes them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import email.utils
import itertools
import random
import threading
import urllib.parse
from dataclasses import dataclass, field

from aiohttp import web

ACCOUNT_SID = "AC" + "1" * 32
GATHER_WAIT = 10.0  # seconds
AUTH_TOKEN = "fake-twilio-auth-token"


@dataclass
class Sent:
    sid: str
    to: str
    from_: str
    body: str
    date_created: dt.datetime
    date_sent: dt.datetime | None = None  # None while queued


@dataclass
class FakeTwilio:
    latency: float = 0.0  # seconds added to every request
    max_in_flight: int | None = None  # more at once get 429 / 20429
    fail_share: float = 0.0  # share of creates answered 500
    fail_first: int = 0  # the first creates for each number answered 500 (deterministic)
    errors: dict[str, int] = field(default_factory=dict)  # To number -> Twilio error code
    list_failing: set[str] = field(default_factory=set)  # To numbers whose list gets 500
    seed: int = 1
    queue_seconds: float = 0.0  # how long a message waits "queued", with no date_sent
    # Answer nothing until this many requests are in flight at once (or GATHER_WAIT passes):
    # a test of concurrency that does not hang on the machine's speed.
    gather: int = 0
    clock: object = None  # () -> aware datetime; default: the real time
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    account_status: str = "active"
    # The account's phone numbers: E.164 -> {"sms_url": ..., "sms_method": ..., "sms": bool}.
    numbers: dict[str, dict] = field(default_factory=dict)
    # Twilio's bad moments:
    retry_after: float | None = None  # the Retry-After header on every 429
    refuse_first: int = 0  # the first creates (any number) answered 429 / 20429
    stalls: dict[str, float] = field(default_factory=dict)  # To -> seconds a create's answer
    # takes (the message is accepted first, as when Twilio's answer is lost on the way)
    list_errors: dict[str, int] = field(default_factory=dict)  # To -> HTTP status of its list
    lookup_errors: dict[str, int] = field(default_factory=dict)  # "account"/"numbers" -> status
    max_page_size: int | None = None  # list pages hold at most this many (then next_page_uri)

    def __post_init__(self):
        self.messages: list[Sent] = []
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, params)
        self.refused = 0
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._in_flight = 0
        self.max_in_flight_seen = 0
        self._tries: dict[str, int] = {}
        self._counter = itertools.count(1)
        self._random = random.Random(self.seed)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._enough: asyncio.Event | None = None
        self._port = 0

    # -- running ---------------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        """Serve on a free loopback port, from an event loop in a background thread."""
        loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
            loop.run_until_complete(site.start())
            self._port = site._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True, name="fake-twilio")
        self._thread.start()
        ready.wait(10)
        self._loop = loop
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @contextlib.contextmanager
    def wait_for_messages(self, count: int, timeout: float):
        """Block until ``count`` messages have arrived (or fail after ``timeout``)."""
        with self._arrived:
            arrived = self._arrived.wait_for(lambda: len(self.messages) >= count, timeout)
        if not arrived:
            raise AssertionError(f"only {len(self.messages)} of {count} messages arrived")
        yield

    def sent_to(self, number: str) -> list[Sent]:
        with self._lock:
            return [m for m in self.messages if m.to == number]

    # -- the API ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method, path = request.method, request.path
        if path == "/_stats":  # for benchmarks; not part of Twilio's API, not counted
            return web.json_response(self.stats())
        source = await request.post() if method == "POST" else request.query
        params = {key: source[key] for key in source}
        with self._lock:
            self.requests.append((method, path, params))
            over = self.max_in_flight is not None and self._in_flight >= self.max_in_flight
            if over:
                self.refused += 1
            else:
                self._in_flight += 1
                self.max_in_flight_seen = max(self.max_in_flight_seen, self._in_flight)
        if over:
            return self._respond(*self._error(429, 20429, "Too Many Requests"))
        try:
            if self.gather:
                await self._gathered()
            if self.latency:
                await asyncio.sleep(self.latency)  # the stand-in's network and API time
            status, payload = self._answer(
                request.headers.get("Authorization"), method, path, params
            )
            stall = self.stalls.get(params.get("To", "")) if method == "POST" else None
            if stall:
                await asyncio.sleep(stall)  # accepted, its answer late
        finally:
            with self._lock:  # no longer in flight once the answer is ready
                self._in_flight -= 1
        return self._respond(status, payload)

    def _respond(self, status: int, payload: dict) -> web.Response:
        headers = {}
        if status == 429 and self.retry_after is not None:
            headers["Retry-After"] = f"{self.retry_after:g}"
        return web.json_response(payload, status=status, headers=headers)

    async def _gathered(self) -> None:
        """Wait until ``gather`` requests are in flight together (then let every one go)."""
        if self._enough is None:
            self._enough = asyncio.Event()
        with self._lock:
            if self._in_flight >= self.gather:
                self._enough.set()
        try:
            await asyncio.wait_for(self._enough.wait(), GATHER_WAIT)
        except TimeoutError:
            self._enough.set()  # they never came together: the test will say so

    def stats(self) -> dict:
        with self._lock:
            return {
                "messages": len(self.messages),
                "recipients": len({m.to for m in self.messages}),
                "refused": self.refused,
                "max_in_flight_seen": self.max_in_flight_seen,
                "requests": len(self.requests),
            }

    def _answer(self, authorization, method: str, path: str, params: dict) -> tuple[int, dict]:
        if not self._authorised(authorization):
            return self._error(401, 20003, "Authenticate")
        account = f"/2010-04-01/Accounts/{self.account_sid}"
        if method == "GET" and path == f"{account}.json":
            if "account" in self.lookup_errors:
                return self._error(self.lookup_errors["account"], 20500, "refused")
            return 200, self._account()
        if method == "GET" and path == f"{account}/IncomingPhoneNumbers.json":
            if "numbers" in self.lookup_errors:
                return self._error(self.lookup_errors["numbers"], 20500, "refused")
            return 200, self._numbers(params.get("PhoneNumber"))
        if path != f"{account}/Messages.json":
            return self._error(404, 20404, "The requested resource was not found")
        if method == "POST":
            return self._create(params)
        return self._list(path, params)

    def _authorised(self, authorization: str | None) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return authorization == f"Basic {expected}"

    def _create(self, params: dict) -> tuple[int, dict]:
        to, body, from_ = params.get("To", ""), params.get("Body", ""), params.get("From", "")
        if not to or not (from_ or params.get("MessagingServiceSid")):
            return self._error(400, 21604, "A 'To' and a 'From' are required")
        if not body:
            return self._error(400, 21602, "Message body is required")
        with self._lock:
            self._tries[to] = self._tries.get(to, 0) + 1
            failing = self._tries[to] <= self.fail_first or (
                self.fail_share and self._random.random() < self.fail_share
            )
            refusing = self.refuse_first > 0
            self.refuse_first -= refusing
        if refusing:
            return self._error(429, 20429, "Too Many Requests")
        if failing:
            return self._error(500, 20500, "Internal Server Error")
        if to in self.errors:
            return self._error(400, self.errors[to], "refused by the stand-in")
        now = self.now()
        with self._lock:
            # "fa": never the SID of an inbound text a test makes up (tests.conftest.new_sid).
            sent = Sent(f"SMfa{next(self._counter):030x}", to, from_, body, now)
            self.messages.append(sent)
            self._arrived.notify_all()
        return 201, self._resource(sent, just_created=True)

    def now(self) -> dt.datetime:
        return self.clock() if self.clock else dt.datetime.now(dt.UTC)

    def _sent_at(self, m: Sent) -> dt.datetime | None:
        """When the message left Twilio's queue: None while it is still queued."""
        sent = m.date_created + dt.timedelta(seconds=self.queue_seconds)
        return sent if sent <= self.now() else None

    def _list(self, path: str, params: dict) -> tuple[int, dict]:
        if params.get("To") in self.list_failing:
            return self._error(500, 20500, "Internal Server Error")
        if params.get("To") in self.list_errors:
            status = self.list_errors[params["To"]]
            return self._error(status, {401: 20003, 404: 20404, 429: 20429}.get(status, 20500),
                               "refused by the stand-in")  # fmt: skip
        after = params.get("DateSent>")
        before = params.get("DateSent<")
        with self._lock:
            found = [m for m in self.messages if not params.get("To") or m.to == params["To"]]
        if params.get("From"):
            found = [m for m in found if m.from_ == params["From"]]
        for bound, keep in ((after, dt.date.__ge__), (before, dt.date.__le__)):
            if bound:  # by whole days, and only messages that have been sent
                day = dt.date.fromisoformat(bound[:10])
                found = [
                    m
                    for m in found
                    if (sent := self._sent_at(m)) is not None and keep(sent.date(), day)
                ]
        found.sort(key=lambda m: m.date_created, reverse=True)
        page_size = int(params.get("PageSize") or 50)
        if self.max_page_size:
            page_size = min(page_size, self.max_page_size)
        page = int(params.get("Page") or 0)
        more = len(found) > (page + 1) * page_size
        found = found[page * page_size : (page + 1) * page_size]
        query = {k: v for k, v in params.items() if k not in ("Page", "PageToken")}
        next_uri = None
        if more:
            query |= {"Page": str(page + 1), "PageSize": str(page_size)}
            next_uri = f"{path}?{urllib.parse.urlencode(query)}"
        return (
            200,
            {
                "messages": [self._resource(m) for m in found],
                "first_page_uri": path,
                "next_page_uri": next_uri,
                "previous_page_uri": None,
                "page": page,
                "page_size": page_size,
                "uri": path,
                "end": max(len(found) - 1, 0),
                "start": 0,
            },
        )

    def _resource(self, m: Sent, just_created: bool = False) -> dict:
        """The message as Twilio shows it; just created, it is always queued."""
        created = email.utils.format_datetime(m.date_created, usegmt=True)
        sent_at = None if just_created else self._sent_at(m)
        sent = email.utils.format_datetime(sent_at, usegmt=True) if sent_at else None
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": m.body,
            "date_created": created,
            "date_sent": sent,
            "date_updated": sent or created,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": m.from_,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": m.sid,
            "status": "sent" if sent_at else "queued",
            "to": m.to,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{m.sid}.json",
        }

    def _account(self) -> dict:
        return {
            "sid": self.account_sid,
            "owner_account_sid": self.account_sid,
            "friendly_name": "Clinic",
            "status": self.account_status,
            "type": "Full",
            "date_created": email.utils.format_datetime(dt.datetime(2026, 1, 5, tzinfo=dt.UTC)),
            "uri": f"/2010-04-01/Accounts/{self.account_sid}.json",
        }

    def _numbers(self, wanted: str | None) -> dict:
        path = f"/2010-04-01/Accounts/{self.account_sid}/IncomingPhoneNumbers.json"
        found = [
            {
                "sid": f"PN{i:032x}",
                "account_sid": self.account_sid,
                "phone_number": number,
                "friendly_name": number,
                "sms_url": settings.get("sms_url"),
                "sms_method": settings.get("sms_method", "POST"),
                "status": "in-use",
                "capabilities": {
                    "sms": settings.get("sms", True),
                    "mms": True,
                    "voice": True,
                    "fax": False,
                },  # fmt: skip
            }
            for i, (number, settings) in enumerate(sorted(self.numbers.items()), start=1)
            if wanted is None or number == wanted
        ]
        return {
            "incoming_phone_numbers": found, "start": 0, "end": max(len(found) - 1, 0),
            "page": 0, "page_size": 50, "first_page_uri": path, "next_page_uri": None,
            "previous_page_uri": None, "uri": path,
        }  # fmt: skip

    def _error(self, status: int, code: int, message: str) -> tuple[int, dict]:
        more = f"https://www.twilio.com/docs/errors/{code}"
        return status, {"code": code, "message": message, "more_info": more, "status": status}


def main() -> None:
    """Run the stand-in as its own process (benchmarks): prints its base URL, then serves.
    GET /_stats answers what it has seen, as JSON."""
    import argparse

    parser = argparse.ArgumentParser(description="A local stand-in for Twilio's Messages API")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--max-in-flight", type=int, default=None, help="429 beyond this")
    parser.add_argument("--account-sid", default=ACCOUNT_SID)
    parser.add_argument("--auth-token", default=AUTH_TOKEN)
    args = parser.parse_args()
    fake = FakeTwilio(
        latency=args.latency,
        max_in_flight=args.max_in_flight,
        account_sid=args.account_sid,
        auth_token=args.auth_token,
    ).start()
    print(fake.base_url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
